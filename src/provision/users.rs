//! The user pass of a cycle (entra-engine §4.1 step 2, §4.3, §4.5): scope, match,
//! create or update; disable and delete; the manager reference pass.

use std::collections::VecDeque;

use serde_json::{Map, Value};

use super::directory::{user_source, Directory, User};
use super::engine::{Cycle, Draft};
use super::log::{Action, Status, StepType};
use super::state::DisableReason;
use super::target::Request;
use super::user_sync::UserSync;
use super::wire;
use super::writes::{DeleteSync, PatchSync, Purpose};
use crate::profile::provisioning::{Action as TargetAction, ScopeMode};
use crate::scim::ResourceKind;

/// Why a user is, or is not, in scope.
#[derive(Debug, Clone, PartialEq)]
pub struct UserScope {
    pub assigned: bool,
    pub active: bool,
    pub soft_deleted: bool,
    pub filter: bool,
    /// The clause texts the filter decided on, for the scoping step.
    pub filter_detail: String,
}

impl UserScope {
    pub fn in_scope(&self) -> bool {
        self.assigned && self.active && !self.soft_deleted && self.filter
    }

    /// The reason a linked user is disabled when out of scope.
    pub fn reason(&self) -> DisableReason {
        if self.soft_deleted {
            DisableReason::SoftDeleted
        } else if !self.active {
            DisableReason::Disabled
        } else {
            DisableReason::OutOfScope
        }
    }
}

fn yes_no(b: bool) -> Value {
    Value::String(if b { "True" } else { "False" }.into())
}

impl Cycle<'_> {
    pub(crate) fn user_scope(
        &self,
        dir: &Directory,
        assigned: &std::collections::BTreeSet<String>,
        u: &User,
    ) -> UserScope {
        let is_assigned = self.config.spec.scope == ScopeMode::All || assigned.contains(&u.id);
        let active = u.enabled();
        let soft = u.soft_deleted();
        let provisional = !(is_assigned && active && !soft);
        let source = user_source(u, provisional);
        let (filter, filter_detail) = match self.config.users.scoping.evaluate(&source) {
            Ok(d) => {
                let texts: Vec<String> = d
                    .deciding
                    .iter()
                    .map(|c| format!("\"{}\":{}", c.text, c.result))
                    .collect();
                (d.in_scope, format!("{{{}}}", texts.join(",")))
            }
            Err(e) => (false, e.to_string()),
        };
        let _ = dir;
        UserScope {
            assigned: is_assigned,
            active,
            soft_deleted: soft,
            filter,
            filter_detail,
        }
    }

    pub(crate) fn scoping_step(&self, d: &mut Draft, s: &UserScope) {
        let mut details = Map::new();
        details.insert(
            "Active in the source system".into(),
            yes_no(s.active && !s.soft_deleted),
        );
        details.insert("Assigned to the application".into(), yes_no(s.assigned));
        details.insert("Scoping filter evaluation passed".into(), yes_no(s.filter));
        details.insert(
            "ScopeEvaluationResult".into(),
            Value::String(s.filter_detail.clone()),
        );
        let status = if s.in_scope() {
            Status::Success
        } else {
            Status::Skipped
        };
        d.step_with(
            "EntrySynchronizationScoping",
            StepType::Scoping,
            status,
            "Determine if User in scope by evaluating against each scoping filter".into(),
            details,
        );
    }

    /// One in-scope user: update when linked, else match, then create or update
    /// ([`UserSync`]).
    pub(crate) async fn user(&mut self, u: &User, scope: &UserScope) {
        let first = UserSync::start(self, u, scope);
        self.drive(first).await;
    }

    /// The matching queries for `values`: one per matching attribute with a value, in
    /// precedence order (entra-engine §2.2), each with `attr = value` for the log.
    pub(crate) fn match_queries(
        &self,
        kind: ResourceKind,
        values: &[(String, Value)],
    ) -> VecDeque<(Request, String)> {
        let object = match kind {
            ResourceKind::User => Some(&self.config.users),
            ResourceKind::Group => self.config.groups.as_ref(),
        };
        let Some(object) = object else {
            return VecDeque::new();
        };
        object
            .matching()
            .iter()
            .filter_map(|m| values.iter().find(|(p, _)| p == &m.target))
            .map(|(attr, v)| {
                let value = super::engine::text(v);
                let q = wire::filter_query(attr, &value);
                let request = Request::get(match kind {
                    ResourceKind::Group => format!("/Groups?excludedAttributes=members&{q}"),
                    ResourceKind::User => format!("/Users?{q}"),
                });
                (request, format!("{attr} = {value}"))
            })
            .collect()
    }

    /// A never-provisioned user who is assigned but out of scope: logged in the initial
    /// cycle only (incremental cycles import changes, not everyone).
    pub(crate) fn skip_out_of_scope(&mut self, u: &User, scope: &UserScope) {
        let mut d = Draft::new("User", &u.id, &u.display());
        d.import("Add");
        self.scoping_step(&mut d, scope);
        let why = if !scope.active || scope.soft_deleted {
            "it is not active in the source system"
        } else if !scope.assigned {
            "it is not assigned to the application"
        } else {
            "it is out of the scoping filter"
        };
        let mut details = Map::new();
        details.insert(
            "SkipReason".into(),
            Value::String("NotEffectivelyEntitled".into()),
        );
        d.step_with(
            "EntrySynchronizationSkip",
            StepType::Processing,
            Status::Skipped,
            format!("The User '{}' will be skipped because {why}", d.name),
            details,
        );
        self.finish(d, Action::Other, Status::Skipped, None);
    }

    /// Disables a linked user that left scope: the mappings reading `IsSoftDeleted` are
    /// evaluated with it true and the differences PATCHed (`active` false by default).
    pub(crate) async fn disable_user(&mut self, u: &User, reason: DisableReason) {
        let Some(link) = self.state.users.get(&u.id).cloned() else {
            return;
        };
        let mut d = Draft::new("User", &u.id, &u.display());
        d.target_id = link.target_id.clone();
        d.import("Update");
        // A disable is an update of `active`: with Update unticked in Target Object Actions
        // nothing is sent (Microsoft Learn "Tutorial - Customize Microsoft Entra attribute
        // mappings", Target Object Actions). The event is processed: the link records it.
        if !self.config.users.allows(TargetAction::Update) {
            d.step(
                "EntrySynchronizationSkip",
                StepType::Export,
                Status::Skipped,
                format!(
                    "User '{}' is not disabled in {}: Update is not a target object action of this app",
                    d.name,
                    self.app()
                ),
            );
            if let Some(l) = self.state.users.get_mut(&u.id) {
                l.disabled = Some(reason);
            }
            return self.finish(d, Action::Other, Status::Skipped, None);
        }
        let soft: Vec<_> = self
            .config
            .users
            .mappings
            .iter()
            .filter(|m| m.soft_delete)
            .cloned()
            .collect();
        let desired = match self.evaluate(&soft, &user_source(u, true), false) {
            Ok(v) => v,
            Err(f) => {
                return self.fail(d, Action::Disable, "EntryExportUpdate", "disable", f, false)
            }
        };
        let changes = Cycle::diff(&soft, &desired, |p| link.exported.get(p).cloned());
        let first = PatchSync::start(self, d, &u.id, changes, Purpose::Disable(reason));
        self.drive(first).await;
    }

    /// A linked user gone from the directory: DELETE, unless it was disabled by leaving
    /// scope (Entra no longer manages it) or Delete is not a target object action.
    pub(crate) async fn delete_user(&mut self, source_id: &str) {
        let Some(link) = self.state.users.get(source_id).cloned() else {
            return;
        };
        let name = link
            .exported
            .get("userName")
            .map(super::engine::text)
            .unwrap_or_else(|| source_id.to_owned());
        let mut d = Draft::new("User", source_id, &name);
        d.target_id = link.target_id.clone();
        d.import("Delete");
        let managed = link.disabled != Some(DisableReason::OutOfScope);
        if !managed || !self.config.users.allows(TargetAction::Delete) {
            let why = if managed {
                "Delete is not a target object action of this app"
            } else {
                "the user was disabled when it left scope and is no longer managed"
            };
            d.step("EntrySynchronizationSkip", StepType::Processing, Status::Skipped, format!("User '{name}' was deleted in Azure Active Directory; no change is made because {why}"));
            self.state.users.remove(source_id);
            return self.finish(d, Action::Other, Status::Skipped, None);
        }
        let first = DeleteSync::start(self, d, ResourceKind::User);
        self.drive(first).await;
    }
}
