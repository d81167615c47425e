//! The user pass of a cycle (entra-engine §4.1 step 2, §4.3, §4.5): scope, match,
//! create or update; disable and delete; the manager reference pass.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::directory::{user_source, Directory, User};
use super::engine::{list_hits, Cycle, Draft, Failure};
use super::log::{Action, Status, StepType};
use super::state::{DisableReason, Link};
use super::target::Request;
use super::wire::{self, Change};
use crate::profile::provisioning::{Action as TargetAction, ScopeMode};

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

    fn scoping_step(&self, d: &mut Draft, s: &UserScope) {
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

    /// One in-scope user: update when linked, else match, then create or update.
    pub(crate) async fn user(&mut self, u: &User, scope: &UserScope) {
        let source = user_source(u, false);
        let mappings = &self.config.users.mappings;
        if let Some(link) = self.state.users.get(&u.id).cloned() {
            let desired = match self.evaluate(mappings, &source, false) {
                Ok(d) => d,
                Err(f) => {
                    return self.fail(
                        Draft::new("User", &u.id, &u.display()),
                        Action::Update,
                        "EntryExportUpdate",
                        "update",
                        f,
                        false,
                    )
                }
            };
            let changes = Cycle::diff(mappings, &desired, |p| link.exported.get(p).cloned());
            if changes.is_empty()
                && link.disabled.is_none()
                && !self.state.escrows.contains_key(&u.id)
            {
                return;
            }
            let mut d = Draft::new("User", &u.id, &u.display());
            d.target_id = link.target_id.clone();
            d.import("Update");
            self.scoping_step(&mut d, scope);
            self.update_user(d, &u.id, &link.target_id, changes, &desired, None)
                .await;
            return;
        }
        let mut d = Draft::new("User", &u.id, &u.display());
        d.import("Add");
        self.scoping_step(&mut d, scope);
        let create = match self.evaluate(mappings, &source, true) {
            Ok(c) => c,
            Err(f) => return self.fail(d, Action::Create, "EntryExportAdd", "create", f, false),
        };
        match self.match_object("User", "/Users", &create).await {
            Err(f) => self.fail(
                d,
                Action::Create,
                "EntrySynchronizationAdd",
                "match",
                f,
                false,
            ),
            Ok(None)
                if self
                    .config
                    .users
                    .matching()
                    .iter()
                    .all(|m| !create.iter().any(|(p, _)| p == &m.target)) =>
            {
                d.step(
                    "EntryImport",
                    StepType::Import,
                    Status::Skipped,
                    format!("User '{}' has no value for any matching attribute", d.name),
                );
                let reason = "The user has no value for the matching attribute, so scoping, matching and export cannot be evaluated".to_owned();
                self.finish(
                    d,
                    Action::Other,
                    Status::Skipped,
                    Some(super::log::error("ImportSkipped", reason)),
                );
            }
            Ok(None) => self.create_user(d, &u.id, create).await,
            Ok(Some(found)) => {
                let id = found
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                d.target_id = id.clone();
                let desc = format!("User '{}' will be updated in {} (User is active and assigned in Azure Active Directory, and a matching User was found in {})", d.name, self.app(), self.app());
                d.step(
                    "EntrySynchronizationUpdate",
                    StepType::Matching,
                    Status::Success,
                    desc,
                );
                let desired = match self.evaluate(mappings, &source, false) {
                    Ok(v) => v,
                    Err(f) => {
                        return self.fail(
                            d,
                            Action::Update,
                            "EntryExportUpdate",
                            "update",
                            f,
                            false,
                        )
                    }
                };
                let changes = Cycle::diff(mappings, &desired, |p| wire::extract(&found, p));
                self.update_user(d, &u.id, &id, changes, &desired, Some(found))
                    .await;
            }
        }
    }

    /// Queries the target by each matching attribute in precedence order: `Ok(None)` when
    /// nothing matched, the resource when exactly one did (entra-engine §2.2).
    pub(crate) async fn match_object(
        &mut self,
        kind: &str,
        endpoint: &str,
        values: &[(String, Value)],
    ) -> Result<Option<Value>, Failure> {
        let object = if kind == "User" {
            &self.config.users
        } else {
            match &self.config.groups {
                Some(g) => g,
                None => return Ok(None),
            }
        };
        let matching: Vec<String> = object.matching().iter().map(|m| m.target.clone()).collect();
        for attr in matching {
            let Some((_, v)) = values.iter().find(|(p, _)| p == &attr) else {
                continue;
            };
            let q = wire::filter_query(&attr, &super::engine::text(v));
            let path = if kind == "Group" {
                format!("{endpoint}?excludedAttributes=members&{q}")
            } else {
                format!("{endpoint}?{q}")
            };
            let r = self.call(Request::get(path)).await?;
            match list_hits(&r)? {
                (0, _) => continue,
                (1, found) => return Ok(found),
                (n, _) => {
                    return Err(Failure::engine(
                        "DuplicateTargetEntries",
                        format!(
                            "{n} {kind}s in the target match {attr} = {}",
                            super::engine::text(v)
                        ),
                    ))
                }
            }
        }
        Ok(None)
    }

    async fn create_user(&mut self, mut d: Draft, source_id: &str, create: Vec<(String, Value)>) {
        let desc = format!("User '{}' will be created in {} (User is active and assigned in Azure Active Directory, but no matching User was found in {})", d.name, self.app(), self.app());
        d.step(
            "EntrySynchronizationAdd",
            StepType::Matching,
            Status::Success,
            desc,
        );
        if !self.config.users.allows(TargetAction::Create) {
            d.step(
                "EntrySynchronizationSkip",
                StepType::Export,
                Status::Skipped,
                "Create is not a target object action of this app".into(),
            );
            return self.finish(d, Action::Other, Status::Skipped, None);
        }
        let body = wire::user_body(&create);
        let r = match self
            .call(Request {
                method: "POST",
                path: "/Users".into(),
                body: Some(body),
            })
            .await
        {
            Ok(r) => r,
            Err(f) => return self.fail(d, Action::Create, "EntryExportAdd", "create", f, false),
        };
        let Some(id) = r.json.get("id").and_then(Value::as_str).map(str::to_owned) else {
            let f = Failure::engine(
                "ServiceIncompatible",
                format!("the create answer has no id: {}", r.text),
            );
            return self.fail(d, Action::Create, "EntryExportAdd", "create", f, false);
        };
        let changes: Vec<Change> = create
            .iter()
            .map(|(p, v)| Change {
                path: p.clone(),
                old: None,
                new: v.clone(),
            })
            .collect();
        d.changes(&changes);
        d.target_id = id.clone();
        let mut details = Map::new();
        details.insert("ReportableIdentifier".into(), Value::String(d.name.clone()));
        d.step_with(
            "EntryExportAdd",
            StepType::Export,
            Status::Success,
            format!("User '{}' was created in {}", d.name, self.app()),
            details,
        );
        self.state.users.insert(
            source_id.to_owned(),
            Link {
                target_id: id,
                exported: create.into_iter().collect(),
                ..Link::default()
            },
        );
        self.succeeded(source_id);
        self.finish(d, Action::Create, Status::Success, None);
    }

    /// PATCHes the changed attributes (after reading the object back, which turns a
    /// vanished object into `InvalidAnchor`), then records the link.
    async fn update_user(
        &mut self,
        mut d: Draft,
        source_id: &str,
        target_id: &str,
        changes: Vec<Change>,
        desired: &[(String, Value)],
        matched: Option<Value>,
    ) {
        let mut exported: BTreeMap<String, Value> = self
            .state
            .users
            .get(source_id)
            .map(|l| l.exported.clone())
            .unwrap_or_default();
        if changes.is_empty() {
            let desc = format!("The state of the user in both the source and target systems already match. No change to the User '{}' currently needs to be made.", d.name);
            let mut details = Map::new();
            details.insert("SkipReason".into(), Value::String("RedundantExport".into()));
            d.step_with(
                "EntrySynchronizationSkip",
                StepType::Export,
                Status::Skipped,
                desc,
                details,
            );
            exported.extend(desired.iter().cloned());
            let prior = self.state.users.get(source_id).cloned().unwrap_or_default();
            self.state.users.insert(
                source_id.to_owned(),
                Link {
                    target_id: target_id.to_owned(),
                    exported,
                    disabled: None,
                    ..prior
                },
            );
            self.succeeded(source_id);
            return self.finish(d, Action::Other, Status::Skipped, None);
        }
        if !self.config.users.allows(TargetAction::Update) {
            d.step(
                "EntrySynchronizationSkip",
                StepType::Export,
                Status::Skipped,
                "Update is not a target object action of this app".into(),
            );
            return self.finish(d, Action::Other, Status::Skipped, None);
        }
        let body = wire::patch(self.config.dialect(), &changes);
        let req = Request::patch("Users", target_id, body);
        // A matched user was just read by its matching query; a linked one is read by id.
        let sent = if matched.is_none() {
            self.write(req).await
        } else {
            self.call(req).await
        };
        if let Err(f) = sent {
            return self.fail(d, Action::Update, "EntryExportUpdate", "update", f, false);
        }
        d.changes(&changes);
        let mut details = Map::new();
        details.insert("ReportableIdentifier".into(), Value::String(d.name.clone()));
        d.step_with(
            "EntryExportUpdate",
            StepType::Export,
            Status::Success,
            format!("User '{}' was updated in {}", d.name, self.app()),
            details,
        );
        exported.extend(changes.into_iter().map(|c| (c.path, c.new)));
        exported.extend(desired.iter().cloned());
        let prior = self.state.users.get(source_id).cloned().unwrap_or_default();
        self.state.users.insert(
            source_id.to_owned(),
            Link {
                target_id: target_id.to_owned(),
                exported,
                disabled: None,
                ..prior
            },
        );
        self.succeeded(source_id);
        self.finish(d, Action::Update, Status::Success, None);
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
        if !changes.is_empty() {
            let body = wire::patch(self.config.dialect(), &changes);
            if let Err(f) = self
                .write(Request::patch("Users", &link.target_id, body))
                .await
            {
                return self.fail(d, Action::Disable, "EntryExportUpdate", "disable", f, false);
            }
            d.changes(&changes);
        }
        d.step(
            "EntryExportUpdate",
            StepType::Export,
            Status::Success,
            format!("User '{}' was disabled in {}", d.name, self.app()),
        );
        if let Some(l) = self.state.users.get_mut(&u.id) {
            l.exported
                .extend(changes.into_iter().map(|c| (c.path, c.new)));
            l.disabled = Some(reason);
        }
        self.succeeded(&u.id);
        self.finish(d, Action::Disable, Status::Success, None);
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
        let Some(d) = self.export_delete(d, "Users").await else {
            return;
        };
        self.state.users.remove(source_id);
        for g in self.state.groups.values_mut() {
            g.members.remove(source_id);
        }
        self.succeeded(source_id);
        self.finish(d, Action::Delete, Status::Success, None);
    }
}
