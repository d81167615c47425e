//! Provision on demand (*Provision a user or group on demand in Microsoft Entra ID*,
//! <https://learn.microsoft.com/en-us/entra/identity/app-provisioning/provision-on-demand>):
//! one user through the five steps — test connection, import, scope, match, action —
//! without touching anyone else, in the legacy dialect (the `aadOptscim062020` flag is not
//! applied on demand).

use super::config::AppConfig;
use super::directory::Directory;
use super::engine::Draft;
use super::log::{Action, Status, StepType};
use super::state::State;
use super::target::Target;
use super::workers::Throttle;
use super::{CycleReport, Engine};
use crate::entra::Dialect;

/// Why an on-demand run could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnDemandError {
    #[error("no user with id `{0}` in the directory")]
    UnknownUser(String),
}

impl Engine {
    /// Runs one user on demand. The state's links and exported values are updated; the
    /// cycle count and watermark are not (on-demand runs are not cycles).
    pub async fn on_demand(
        &self,
        target: &Target,
        dir: &Directory,
        state: &mut State,
        user_id: &str,
    ) -> Result<CycleReport, OnDemandError> {
        let user = dir
            .user(user_id)
            .ok_or_else(|| OnDemandError::UnknownUser(user_id.to_owned()))?;
        let mut spec = self.config.spec.clone();
        spec.dialect = Dialect::Legacy;
        let config = AppConfig::from_spec(spec).unwrap_or_else(|_| self.config.clone());
        let cycles = state.cycles;
        let watermark = state.watermark.clone();
        let throttle = Throttle::default();
        let mut shared = self.shared(target, &throttle, false);
        shared.config = &config;
        let mut c = shared.cycle(state, false);
        // On demand re-evaluates the user whether or not it changed: import, scoping, a
        // read of the target, then the export or a `RedundantExport` skip (Graph
        // *synchronizationJob: provisionOnDemand*, its example's steps).
        c.process_all = true;
        // Step 1, test connection: a query for a user that does not exist (a random GUID
        // as the matching value); shown only when it fails.
        if let Err(f) = c.test_connection().await {
            let mut d = Draft::new("User", &user.id, &user.display());
            d.step(
                "TestConnection",
                StepType::Import,
                Status::Failure,
                "Test connection: the query for a test user failed".into(),
            );
            c.fail(d, Action::Other, "TestConnection", "query", f, false);
            return Ok(c.report(None, false));
        }
        let assigned = dir.assigned_users();
        let scope = c.user_scope(dir, &assigned, user);
        let linked = c.state.users.get(&user.id).cloned();
        if scope.in_scope() {
            c.user(user, &scope).await;
            c.references(user).await;
        } else if linked.is_some_and(|l| l.disabled.is_none()) {
            // On demand can disable a user who was unassigned.
            c.disable_user(user, scope.reason()).await;
        } else {
            c.skip_out_of_scope(user, &scope);
        }
        if c.stats.processed == 0 {
            let mut d = Draft::new("User", &user.id, &user.display());
            d.target_id = c
                .state
                .users
                .get(&user.id)
                .map(|l| l.target_id.clone())
                .unwrap_or_default();
            let desc = format!("The state of the user in both the source and target systems already match. No change to the User '{}' currently needs to be made.", d.name);
            d.step(
                "EntrySynchronizationSkip",
                StepType::Export,
                Status::Skipped,
                desc,
            );
            c.finish(
                d,
                Action::Other,
                Status::Skipped,
                Some(super::log::error(
                    "RedundantExport",
                    "The state of the user in both the source and target systems already match."
                        .into(),
                )),
            );
        }
        let report = c.report(None, false);
        state.cycles = cycles;
        state.watermark = watermark;
        Ok(report)
    }
}
