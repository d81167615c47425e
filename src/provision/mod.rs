//! `scimock provision`: Entra's provisioning cycles, simulated against any SCIM endpoint.
//!
//! Owns the provisioning engine: the directory input (`directory`, Graph JSON), the
//! compiled app configuration (`config`: it compiles the `[provisioning]` TOML section,
//! whose data [`crate::profile::provisioning`] owns), one cycle per
//! entra-engine §4.1 ([`Engine::run_cycle`]), the state kept between cycles (`state`),
//! the requests in Entra's wire shapes (`wire`) and the provisioning logs ([`log`]).
//! Expressions and scoping filters come from [`crate::expr`] and [`crate::scope`]; HTTP
//! from the replay client. Behaviour, decisions on what Microsoft leaves unstated, and
//! every format are in `docs/provision.md`.
//!
//! Order within a cycle: users (create / update) → user disables and deletes → manager
//! references → groups (create / update) → group deletes → memberships. Within a pass up
//! to [`Knobs::concurrency`] objects are in flight at once; their results are merged in
//! directory order, so the recorded requests, log entries and state do not depend on
//! scheduling (only the order the endpoint receives requests in does).
//!
//! ```
//! use scimock::provision::{AppConfig, Directory, Engine, State, Target};
//! use scimock::{MockServer, profile::Profile};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let mock = MockServer::builder().token("t").start_blocking();
//! let engine = Engine::new(AppConfig::for_profile(&Profile::builtin("entra-generic").unwrap()));
//! let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
//! let mut state = State::default();
//!
//! let mut dir = Directory::from_json(r#"{
//!   "users": [{"id": "u1", "userPrincipalName": "ada@contoso.com", "displayName": "Ada",
//!              "accountEnabled": true, "mailNickname": "ada"}],
//!   "assignments": [{"principalId": "u1", "principalType": "User"}]}"#).unwrap();
//! let first = engine.run_cycle(&target, &dir, &mut state).await;
//! assert_eq!(first.stats.created, 1);
//!
//! // Ada is disabled in the directory: the next cycle sends only `active`.
//! dir.users[0].raw.insert("accountEnabled".into(), false.into());
//! let second = engine.run_cycle(&target, &dir, &mut state).await;
//! assert_eq!(second.stats.disabled, 1);
//! assert_eq!(mock.users()[0]["active"], false);
//! # }
//! ```

pub(crate) mod config;
pub(crate) mod directory;
mod engine;
mod evaluate;
mod group_sync;
mod groups;
mod knobs;
pub mod log;
mod ondemand;
pub(crate) mod progress;
mod references;
pub(crate) mod state;
mod sync;
pub(crate) mod target;
#[cfg(test)]
mod testkit;
mod user_sync;
mod users;
pub(crate) mod wire;
mod workers;
mod writes;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

// Data of the section that callers name here (owned by entra and profile::provisioning).
pub use config::{AppConfig, ConfigError};
pub use directory::{Directory, DirectoryError};
pub use knobs::{EscrowRules, Knobs, Order, DEFAULT_CONCURRENCY};
use log::Entry;
pub use ondemand::OnDemandError;
pub use progress::{Phase, Progress, Tick};
pub use state::{JournalError, LinkChange, LinkKind, Quarantine, State};
pub use target::{Request, Target};
pub use users::UserScope;

use crate::clock::{Clock, IdGenerator, RandomIds, SystemClock};
use crate::profile::provisioning::Action as TargetAction;
use engine::Cycle;
use state::DisableReason;
use workers::{Key, Meter, Shared, Throttle};

/// The portal's cycle statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub processed: u64,
    pub created: u64,
    pub updated: u64,
    pub disabled: u64,
    pub deleted: u64,
    pub skipped: u64,
    pub failed: u64,
    pub staged: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.processed += o.processed;
        self.created += o.created;
        self.updated += o.updated;
        self.disabled += o.disabled;
        self.deleted += o.deleted;
        self.skipped += o.skipped;
        self.failed += o.failed;
        self.staged += o.staged;
    }
}

/// What one cycle did.
#[derive(Debug, Clone, Serialize)]
pub struct CycleReport {
    pub cycle_id: String,
    pub initial: bool,
    pub entries: Vec<Entry>,
    pub requests: Vec<Request>,
    /// Requests sent (also when [`Knobs::record_requests`] is off).
    pub sent: u64,
    /// Requests that got an HTTP answer (any status).
    pub answered: u64,
    /// Of those, the ones answered 404 (see [`CycleReport::all_not_found`]).
    pub not_found: u64,
    pub stats: Stats,
    pub quarantine: Option<Quarantine>,
    /// The escrow threshold was reached in the initial cycle: errors pruned, no quarantine.
    pub escrows_pruned: bool,
    /// Why the cycle stopped sending before its end, if it did: the start-of-cycle test
    /// connection got no answer, or requests kept timing out ([`Knobs::max_timeouts`]).
    pub stopped: Option<String>,
    /// The start-of-cycle test connection got no answer at all: nothing was provisioned.
    pub unreachable: bool,
}

impl CycleReport {
    /// The endpoint answered, and every answer was 404: a tenant URL whose path is not the
    /// SCIM base (the start-of-cycle test connection, the first request, fails so, and
    /// nothing else is sent).
    pub fn all_not_found(&self) -> bool {
        self.answered > 0 && self.not_found == self.answered
    }
}

/// Called with the state after each pass of a cycle (see [`Engine::with_checkpoint`]).
pub type Checkpoint = Arc<dyn Fn(&State) + Send + Sync>;

/// Called with each link change the moment its answer arrives (see
/// [`Engine::with_journal`]).
pub type Journal = Arc<dyn Fn(&LinkChange) + Send + Sync>;

/// The provisioning engine for one app.
#[derive(Clone)]
pub struct Engine {
    config: AppConfig,
    knobs: Knobs,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    progress: Option<Arc<dyn Progress>>,
    checkpoint: Option<Checkpoint>,
    journal: Option<Journal>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("knobs", &self.knobs)
            .finish_non_exhaustive()
    }
}

/// A staged deprovisioning action.
#[derive(Debug, Clone, PartialEq)]
enum Deprov {
    Disable(String, DisableReason),
    DeleteUser(String),
    DeleteGroup(String),
    /// A link to forget without a request (not managed any more, or Delete is off).
    Drop(String),
}

impl Deprov {
    /// Counts for the accidental-deletion threshold.
    fn counts(&self) -> bool {
        !matches!(self, Deprov::Drop(_))
    }
}

impl Engine {
    pub fn new(config: AppConfig) -> Engine {
        Engine {
            config,
            knobs: Knobs::default(),
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            progress: None,
            checkpoint: None,
            journal: None,
        }
    }

    /// Hands the state to `checkpoint` after each pass of a cycle (users,
    /// deprovisioning, references, groups, memberships), so a caller can persist the links
    /// of every request already sent before the cycle ends.
    pub fn with_checkpoint(mut self, checkpoint: Checkpoint) -> Engine {
        self.checkpoint = Some(checkpoint);
        self
    }

    /// Hands `journal` every change an answer makes to an object's link or escrow (a
    /// create's new link, an update's exported values, a delete's removal, a failure's
    /// escrow), as the answer arrives, before the pass ends. With [`Engine::with_checkpoint`]
    /// this is what keeps a cycle killed between checkpoints from forgetting links: the
    /// caller appends each change to a journal, folds it into the state it loads
    /// ([`State::fold_journal`]) and empties it once a checkpoint is written, as
    /// `scimock provision --state` does (the design and its reasons: docs/provision.md,
    /// *The state file*).
    pub fn with_journal(mut self, journal: Journal) -> Engine {
        self.journal = Some(journal);
        self
    }

    fn checkpoint(&self, state: &State) {
        if let Some(save) = &self.checkpoint {
            save(state);
        }
    }

    pub fn with_knobs(mut self, knobs: Knobs) -> Engine {
        self.knobs = knobs;
        self
    }

    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Engine {
        self.clock = Arc::new(clock);
        self
    }

    /// Log-entry, change and cycle ids.
    pub fn with_ids(mut self, ids: impl IdGenerator + 'static) -> Engine {
        self.ids = Arc::new(ids);
        self
    }

    /// Tells `progress` how each cycle advances (the CLI draws a progress bar with it).
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Engine {
        self.progress = Some(progress);
        self
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    /// Runs one cycle: the initial one when `state` is empty, else an incremental one
    /// with `dir` as the new source snapshot. `state` is updated in place.
    pub async fn run_cycle(
        &self,
        target: &Target,
        dir: &Directory,
        state: &mut State,
    ) -> CycleReport {
        let initial = state.is_initial();
        let throttle = Throttle::default();
        let shared = self.shared(target, &throttle, initial);
        let mut c = shared.cycle(state, false);
        if let Err(f) = c.test_connection().await {
            return connection_failed(c, f);
        }
        let assigned = dir.assigned_users();
        let scopes: Vec<UserScope> = dir
            .users
            .iter()
            .map(|u| c.user_scope(dir, &assigned, u))
            .collect();
        let in_scope: BTreeSet<String> = dir
            .users
            .iter()
            .zip(&scopes)
            .filter(|(_, s)| s.in_scope())
            .map(|(u, _)| u.id.clone())
            .collect();
        let groups_in_scope = c.groups_in_scope(dir);
        let plan = self.deprovisioning(&c, dir, &scopes, &groups_in_scope);
        let threshold = self.config.spec.deletion_threshold;
        let deletions = plan.iter().filter(|p| p.counts()).count() as u64;
        let stage = threshold.is_some_and(|t| deletions > t) && !self.knobs.allow_deletes;

        let mut users: Vec<(&directory::User, &UserScope)> =
            dir.users.iter().zip(&scopes).collect();
        if self.knobs.order == Order::SourceId {
            users.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        }
        if !self.config.users.enabled {
            users.clear();
        }
        let referencing: Vec<&directory::User> = dir
            .users
            .iter()
            .filter(|u| in_scope.contains(&u.id))
            .collect();
        let groups: Vec<&directory::Group> = dir
            .groups
            .iter()
            .filter(|g| groups_in_scope.contains(&g.id))
            .collect();
        let mut meter = Meter {
            observer: self.progress.as_deref(),
            phase: Phase::Users,
            done: 0,
            total: (users.len() + plan.len() + referencing.len() + 2 * groups.len()) as u64,
        };

        meter.phase(Phase::Users);
        c.pass(
            users,
            &mut meter,
            |c, (u, s)| {
                let wanted =
                    s.in_scope() || (initial && s.assigned && !c.state.users.contains_key(&u.id));
                wanted.then(|| c.own(Key::User(u.id.clone()), false))
            },
            |sh, mut st, (u, s)| async move {
                let mut w = sh.cycle(&mut st, true);
                if s.in_scope() {
                    w.user(u, s).await;
                } else {
                    w.skip_out_of_scope(u, s);
                }
                w.done().with(st)
            },
        )
        .await;

        self.checkpoint(c.state);
        meter.phase(Phase::Deprovisioning);
        c.staged = stage;
        // `Directory::user` is a scan; thousands of disables want an index.
        let by_id: BTreeMap<&str, &directory::User> =
            dir.users.iter().map(|u| (u.id.as_str(), u)).collect();
        for p in &plan {
            match p {
                // Held back: logged as staged, nothing sent (group deletes too, counted
                // in the group phase).
                _ if stage => {
                    if p.counts() {
                        c.stage(p, &by_id);
                    }
                    if matches!(p, Deprov::DeleteGroup(_)) {
                        continue;
                    }
                }
                Deprov::Disable(id, reason) => {
                    if let Some(u) = by_id.get(id.as_str()) {
                        c.disable_user(u, *reason).await;
                    }
                }
                Deprov::DeleteUser(id) | Deprov::Drop(id) => c.delete_user(id).await,
                Deprov::DeleteGroup(_) => continue,
            }
            meter.step();
        }

        self.checkpoint(c.state);
        meter.phase(Phase::References);
        let references = self.config.users.mappings.iter().any(|m| m.reference);
        c.pass(
            referencing,
            &mut meter,
            |c, u| {
                let manager = u.manager().filter(|_| references)?;
                let manager_link = c.state.users.get(&manager)?;
                let link = state::Link {
                    target_id: manager_link.target_id.clone(),
                    ..state::Link::default()
                };
                if !c.state.users.contains_key(&u.id) {
                    return None;
                }
                let (key, mut st) = c.own(Key::User(u.id.clone()), true);
                st.users.entry(manager).or_insert(link);
                Some((key, st))
            },
            |sh, mut st, u| async move {
                let mut w = sh.cycle(&mut st, true);
                w.references(u).await;
                w.done().with(st)
            },
        )
        .await;

        self.checkpoint(c.state);
        meter.phase(Phase::Groups);
        c.pass(
            groups.clone(),
            &mut meter,
            |c, g| Some(c.own(Key::Group(g.id.clone()), false)),
            |sh, mut st, g| async move {
                let mut w = sh.cycle(&mut st, true);
                w.group(g).await;
                w.done().with(st)
            },
        )
        .await;
        for p in &plan {
            if let Deprov::DeleteGroup(id) = p {
                if !stage {
                    c.delete_group(id).await;
                }
                meter.step();
            }
        }

        self.checkpoint(c.state);
        meter.phase(Phase::Memberships);
        let members = self
            .config
            .groups
            .as_ref()
            .is_some_and(|g| g.mappings.iter().any(|m| m.members));
        let in_scope = &in_scope;
        c.pass(
            groups,
            &mut meter,
            |c, g| {
                if !members || !c.state.groups.contains_key(&g.id) {
                    return None;
                }
                let mut stubs = BTreeMap::new();
                for m in &g.members {
                    if let Some(l) = c.state.users.get(m) {
                        let link = state::Link {
                            target_id: l.target_id.clone(),
                            ..state::Link::default()
                        };
                        stubs.insert(m.clone(), link);
                    }
                }
                let (key, mut st) = c.own(Key::Group(g.id.clone()), false);
                st.users = stubs;
                Some((key, st))
            },
            |sh, mut st, g| async move {
                let mut w = sh.cycle(&mut st, true);
                w.memberships(g, in_scope).await;
                w.done().with(st)
            },
        )
        .await;

        let processed = c.stats.processed;
        let any_success = c.successes > 0;
        let (quarantine, pruned) = c.verdict(processed);
        let previous = c.state.quarantine.take();
        // Any successful export lifts an earlier quarantine (quarantine page).
        c.state.quarantine = match (quarantine.clone(), previous) {
            (Some(q), _) => Some(q),
            (None, Some(p)) if !any_success => Some(p),
            _ => None,
        };
        c.state.cycles += 1;
        c.state.watermark = Some(c.now());
        let q = c.state.quarantine.clone();
        c.report(q, pruned)
    }

    /// The inputs every worker of a cycle shares.
    pub(crate) fn shared<'a>(
        &'a self,
        target: &'a Target,
        throttle: &'a Throttle,
        initial: bool,
    ) -> Shared<'a> {
        Shared {
            config: &self.config,
            knobs: &self.knobs,
            clock: &self.clock,
            ids: &self.ids,
            target,
            throttle,
            journal: self.journal.as_ref(),
            cycle_id: self.ids.next_id(),
            initial,
        }
    }

    /// Disables and deletes this cycle would make, users then groups (they count for the
    /// accidental-deletion threshold).
    fn deprovisioning(
        &self,
        c: &Cycle<'_>,
        dir: &Directory,
        scopes: &[UserScope],
        groups_in_scope: &std::collections::BTreeSet<String>,
    ) -> Vec<Deprov> {
        let mut plan = Vec::new();
        let by_id: std::collections::BTreeMap<&str, &UserScope> = dir
            .users
            .iter()
            .map(|u| u.id.as_str())
            .zip(scopes)
            .collect();
        let can_disable = self.config.users.mappings.iter().any(|m| m.soft_delete)
            && !self.config.spec.skip_out_of_scope_deletions;
        for (id, link) in &c.state.users {
            match by_id.get(id.as_str()) {
                None => {
                    let managed = link.disabled != Some(DisableReason::OutOfScope);
                    if managed && self.config.users.allows(TargetAction::Delete) {
                        plan.push(Deprov::DeleteUser(id.clone()));
                    } else {
                        plan.push(Deprov::Drop(id.clone()));
                    }
                }
                Some(s) if !s.in_scope() && link.disabled.is_none() && can_disable => {
                    plan.push(Deprov::Disable(id.clone(), s.reason()))
                }
                Some(_) => {}
            }
        }
        for id in c.state.groups.keys() {
            if !groups_in_scope.contains(id) {
                plan.push(Deprov::DeleteGroup(id.clone()));
            }
        }
        plan
    }
}

impl Cycle<'_> {
    /// Logs a deprovisioning action held back by accidental-deletion prevention.
    fn stage(&mut self, p: &Deprov, users: &BTreeMap<&str, &directory::User>) {
        let (kind, id) = match p {
            Deprov::Disable(id, _) | Deprov::DeleteUser(id) | Deprov::Drop(id) => ("User", id),
            Deprov::DeleteGroup(id) => ("Group", id),
        };
        let name = match kind {
            "User" => users
                .get(id.as_str())
                .map(|u| u.display())
                .unwrap_or_else(|| id.clone()),
            _ => id.clone(),
        };
        let mut d = engine::Draft::new(kind, id, &name);
        let link = if kind == "User" {
            self.state.users.get(id)
        } else {
            self.state.groups.get(id)
        };
        d.target_id = link.map(|l| l.target_id.clone()).unwrap_or_default();
        d.step(
            "EntryExportStagedDelete",
            log::StepType::Export,
            log::Status::Skipped,
            format!("{kind} '{name}' was not deprovisioned: this cycle's deletions exceed the accidental-deletion threshold"),
        );
        self.finish(d, log::Action::StagedDelete, log::Status::Skipped, None);
    }
}

/// The start-of-cycle test connection failed: nothing else is sent. The failure is logged
/// as one entry (a `TestConnection` step, the call's error code), so every report says why.
/// No answer at all stops the cycle, unreachable (it is not counted); an HTTP error
/// quarantines the job, as Entra does for refused credentials and for "a 404 where 200 is
/// expected" (*Application provisioning in quarantine status*, "SCIM compliance issue").
fn connection_failed(mut c: Cycle<'_>, f: engine::Failure) -> CycleReport {
    let mut d = engine::Draft::new("User", "", "Test connection");
    let why = match f.status {
        Some(404) => "the query for a user that does not exist answered HTTP 404; it must be 200 with an empty ListResponse (is the tenant URL's path right? it should be where /Users and /Groups live, e.g. https://host/scim/v2)".to_owned(),
        Some(status) => format!(
            "the query for a user that does not exist answered HTTP {status}; it must be 200 with an empty ListResponse"
        ),
        None => format!("the query for a user that does not exist got no answer: {}", f.body),
    };
    d.step(
        "TestConnection",
        log::StepType::Import,
        log::Status::Failure,
        format!("Test connection: {why}"),
    );
    let mut error = log::error(&f.code, format!("{why}. {}", f.body));
    error.additional_details = Some(log::endpoint_said(
        f.status,
        f.detail.as_deref(),
        &f.body,
        c.target.secrets(),
    ));
    c.finish(d, log::Action::Other, log::Status::Failure, Some(error));
    if f.status.is_none() {
        c.throttle
            .stop(format!("the start-of-cycle test connection: {why}"));
        let mut report = c.report(None, false);
        report.unreachable = true;
        return report;
    }
    let q = Quarantine {
        reason: "EncounteredQuarantineException".to_owned(),
        rule: format!("the start-of-cycle test connection failed: {why}"),
        current_began: c.now(),
    };
    c.state.quarantine = Some(q.clone());
    c.report(Some(q), false)
}
