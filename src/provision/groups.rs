//! The group pass (after users) and the membership pass (after groups), entra-engine §4.1
//! steps 4–5 and §4.4.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::directory::{group_source, Directory, Group};
use super::engine::{Cycle, Draft};
use super::group_sync::GroupSync;
use super::log::{Action, Status};
use super::writes::{Chunk, DeleteSync, MembershipSync};
use crate::profile::provisioning::{Action as TargetAction, ScopeMode};
use crate::scim::ResourceKind;

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

    /// One in-scope group: match by displayName, create without members, or update
    /// ([`GroupSync`]).
    pub(crate) async fn group(&mut self, g: &Group) {
        let first = GroupSync::start(self, g);
        self.drive(first).await;
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
        let first = DeleteSync::start(self, d, ResourceKind::Group);
        self.drive(first).await;
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
        let mut chunks: VecDeque<Chunk> = VecDeque::new();
        for (add, list) in [(true, adds), (false, removes)] {
            for chunk in list.chunks(size) {
                chunks.push_back((add, chunk.to_vec()));
            }
        }
        let first = MembershipSync::start(self, d, &g.id, chunks);
        self.drive(first).await;
    }
}
