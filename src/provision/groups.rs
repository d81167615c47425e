//! The group pass (after users) and the membership pass (after groups), entra-engine §4.1
//! steps 4–5 and §4.4.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::directory::{group_source, Directory, Group};
use super::engine::{Cycle, Draft, Failure};
use super::log::{Action, ModifiedProperty, Status, StepType};
use super::state::Link;
use super::target::Request;
use super::wire::{self, Change};
use crate::profile::provisioning::{Action as TargetAction, ScopeMode};

impl Cycle<'_> {
    /// Groups in scope: assigned (or all), and passing the group scoping filters.
    pub(crate) fn groups_in_scope(&self, dir: &Directory) -> BTreeSet<String> {
        let Some(cfg) = &self.config.groups else {
            return BTreeSet::new();
        };
        if !cfg.enabled {
            return BTreeSet::new();
        }
        let assigned = dir.assigned_groups();
        dir.groups
            .iter()
            .filter(|g| self.config.spec.scope == ScopeMode::All || assigned.contains(&g.id))
            .filter(|g| {
                cfg.scoping
                    .evaluate(&group_source(g))
                    .is_ok_and(|d| d.in_scope)
            })
            .map(|g| g.id.clone())
            .collect()
    }

    /// One in-scope group: match by displayName, create without members, or update.
    pub(crate) async fn group(&mut self, g: &Group) {
        let Some(cfg) = self.config.groups.clone() else {
            return;
        };
        let source = group_source(g);
        let desired = match self.evaluate(
            &cfg.mappings,
            &source,
            !self.state.groups.contains_key(&g.id),
        ) {
            Ok(v) => v,
            Err(f) => {
                return self.fail(
                    Draft::new("Group", &g.id, &g.display()),
                    Action::Create,
                    "EntryExportAdd",
                    "create",
                    f,
                    false,
                )
            }
        };
        if let Some(link) = self.state.groups.get(&g.id).cloned() {
            let changes = Cycle::diff(&cfg.mappings, &desired, |p| link.exported.get(p).cloned());
            if changes.is_empty() {
                return;
            }
            let mut d = Draft::new("Group", &g.id, &g.display());
            d.target_id = link.target_id.clone();
            d.import("Update");
            return self
                .patch_group(d, &g.id, &link.target_id, changes, false)
                .await;
        }
        let mut d = Draft::new("Group", &g.id, &g.display());
        d.import("Add");
        if !cfg
            .matching()
            .iter()
            .any(|m| desired.iter().any(|(p, _)| p == &m.target))
        {
            d.step("EntryImport", StepType::Import, Status::Skipped, format!("Group '{}' has no value for its matching attribute; it and its members are not provisioned", d.name));
            return self.finish(
                d,
                Action::Other,
                Status::Skipped,
                Some(super::log::error(
                    "ImportSkipped",
                    "The group's matching attribute is empty".into(),
                )),
            );
        }
        match self.match_object("Group", "/Groups", &desired).await {
            Err(f) => self.fail(
                d,
                Action::Create,
                "EntrySynchronizationAdd",
                "match",
                f,
                false,
            ),
            Ok(Some(found)) => {
                let id = found
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                d.target_id = id.clone();
                let changes = Cycle::diff(&cfg.mappings, &desired, |p| wire::extract(&found, p));
                self.state.groups.insert(
                    g.id.clone(),
                    Link {
                        target_id: id.clone(),
                        exported: desired.iter().cloned().collect(),
                        ..Link::default()
                    },
                );
                if changes.is_empty() {
                    let mut details = Map::new();
                    details.insert("SkipReason".into(), Value::String("RedundantExport".into()));
                    d.step_with("EntrySynchronizationSkip", StepType::Export, Status::Skipped, format!("The state of the group in both the source and target systems already match. No change to the Group '{}' currently needs to be made.", d.name), details);
                    self.succeeded(&g.id);
                    return self.finish(d, Action::Other, Status::Skipped, None);
                }
                self.patch_group(d, &g.id, &id, changes, true).await;
            }
            Ok(None) => {
                let desc = format!("Group '{}' will be created in {} (Group is active and assigned in Azure Active Directory, but no matching Group was found in {})", d.name, self.app(), self.app());
                d.step(
                    "EntrySynchronizationAdd",
                    StepType::Matching,
                    Status::Success,
                    desc,
                );
                if !cfg.allows(TargetAction::Create) {
                    return self.finish(d, Action::Other, Status::Skipped, None);
                }
                let body = wire::group_body(&desired, &self.config.spec.group_schemas);
                let r = match self
                    .call(Request {
                        method: "POST",
                        path: "/Groups".into(),
                        body: Some(body),
                    })
                    .await
                {
                    Ok(r) => r,
                    Err(f) => {
                        return self.fail(d, Action::Create, "EntryExportAdd", "create", f, false)
                    }
                };
                let Some(id) = r.json.get("id").and_then(Value::as_str).map(str::to_owned) else {
                    let f = Failure::engine(
                        "ServiceIncompatible",
                        format!("the create answer has no id: {}", r.text),
                    );
                    return self.fail(d, Action::Create, "EntryExportAdd", "create", f, false);
                };
                let changes: Vec<Change> = desired
                    .iter()
                    .map(|(p, v)| Change {
                        path: p.clone(),
                        old: None,
                        new: v.clone(),
                    })
                    .collect();
                d.changes(&changes);
                d.target_id = id.clone();
                d.step(
                    "EntryExportAdd",
                    StepType::Export,
                    Status::Success,
                    format!("Group '{}' was created in {}", d.name, self.app()),
                );
                self.state.groups.insert(
                    g.id.clone(),
                    Link {
                        target_id: id,
                        exported: desired.into_iter().collect(),
                        ..Link::default()
                    },
                );
                self.succeeded(&g.id);
                self.finish(d, Action::Create, Status::Success, None);
            }
        }
    }

    async fn patch_group(
        &mut self,
        mut d: Draft,
        source_id: &str,
        target_id: &str,
        changes: Vec<Change>,
        just_matched: bool,
    ) {
        let allowed = self
            .config
            .groups
            .as_ref()
            .is_some_and(|c| c.allows(TargetAction::Update));
        if !allowed {
            return self.finish(d, Action::Other, Status::Skipped, None);
        }
        let body = wire::patch(self.config.dialect(), &changes);
        // A group just matched was read by its matching query; a linked one is read by id.
        let req = Request::patch("Groups", target_id, body);
        let sent = if just_matched {
            self.call(req).await
        } else {
            self.write(req).await
        };
        if let Err(f) = sent {
            return self.fail(d, Action::Update, "EntryExportUpdate", "update", f, false);
        }
        d.changes(&changes);
        d.step(
            "EntryExportUpdate",
            StepType::Export,
            Status::Success,
            format!("Group '{}' was updated in {}", d.name, self.app()),
        );
        if let Some(l) = self.state.groups.get_mut(source_id) {
            l.exported
                .extend(changes.into_iter().map(|c| (c.path, c.new)));
        }
        self.succeeded(source_id);
        self.finish(d, Action::Update, Status::Success, None);
    }

    /// A linked group that left scope or the directory: DELETE (if Delete is a target
    /// object action), else the link is dropped.
    pub(crate) async fn delete_group(&mut self, source_id: &str) {
        let Some(link) = self.state.groups.get(source_id).cloned() else {
            return;
        };
        let name = link
            .exported
            .get("displayName")
            .map(super::engine::text)
            .unwrap_or_else(|| source_id.to_owned());
        let mut d = Draft::new("Group", source_id, &name);
        d.target_id = link.target_id.clone();
        d.import("Delete");
        if !self
            .config
            .groups
            .as_ref()
            .is_some_and(|c| c.allows(TargetAction::Delete))
        {
            self.state.groups.remove(source_id);
            return self.finish(d, Action::Other, Status::Skipped, None);
        }
        let Some(d) = self.export_delete(d, "Groups").await else {
            return;
        };
        self.state.groups.remove(source_id);
        self.succeeded(source_id);
        self.finish(d, Action::Delete, Status::Success, None);
    }

    /// Membership of one linked group: the provisioned direct user members. A member is
    /// added once it is in scope and provisioned; it stays while it is a member in the
    /// directory and provisioned (disabling does not remove it); adds and removes go in
    /// separate PATCHes of at most `members_per_patch` members each.
    pub(crate) async fn memberships(&mut self, g: &Group, in_scope_users: &BTreeSet<String>) {
        let Some(cfg) = &self.config.groups else {
            return;
        };
        if !cfg.mappings.iter().any(|m| m.members) {
            return;
        }
        let Some(link) = self.state.groups.get(&g.id).cloned() else {
            return;
        };
        let mut desired: BTreeMap<String, String> = BTreeMap::new();
        for m in &g.members {
            let Some(user) = self.state.users.get(m) else {
                continue;
            };
            if in_scope_users.contains(m) || link.members.contains_key(m) {
                desired.insert(m.clone(), user.target_id.clone());
            }
        }
        let adds: Vec<(String, String)> = desired
            .iter()
            .filter(|(k, _)| !link.members.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let removes: Vec<(String, String)> = link
            .members
            .iter()
            .filter(|(k, _)| !desired.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if adds.is_empty() && removes.is_empty() {
            return;
        }
        let mut d = Draft::new("Group", &g.id, &g.display());
        d.target_id = link.target_id.clone();
        d.import("Update");
        let size = self.knobs.members_per_patch.max(1);
        // One read of the group, then every membership PATCH (docs/entra.md §3.5: "a group
        // can cause hundreds of requests after one GET").
        let mut read = false;
        for (add, list) in [(true, adds), (false, removes)] {
            for chunk in list.chunks(size) {
                let ids: Vec<String> = chunk.iter().map(|(_, t)| t.clone()).collect();
                let body = wire::members(self.config.dialect(), add, &ids);
                let req = Request::patch("Groups", &link.target_id, body);
                let sent = if read {
                    self.call(req).await
                } else {
                    read = true;
                    self.write(req).await
                };
                if let Err(f) = sent {
                    let done = std::mem::replace(&mut d, Draft::new("Group", &g.id, &g.display()));
                    return self.fail(
                        done,
                        Action::Update,
                        "EntryExportUpdate",
                        "update the members of",
                        f,
                        true,
                    );
                }
                for (s, t) in chunk {
                    d.props.push(ModifiedProperty {
                        display_name: "members".into(),
                        old_value: (!add).then(|| t.clone()),
                        new_value: add.then(|| t.clone()),
                    });
                    if let Some(l) = self.state.groups.get_mut(&g.id) {
                        if add {
                            l.members.insert(s.clone(), t.clone());
                        } else {
                            l.members.remove(s);
                        }
                    }
                }
            }
        }
        d.step(
            "EntryExportUpdate",
            StepType::ReferenceResolution,
            Status::Success,
            format!("Group '{}' was updated in {} (members)", d.name, self.app()),
        );
        self.finish(d, Action::Update, Status::Success, None);
    }
}
