//! Group membership changes and atomic PATCH (RFC 7644 §3.5.2): the PATCH engine in
//! `patch/` computes the new non-member attributes and a list of member operations; this
//! module validates every member id first, applies the operations through the indexes in
//! request order, and undoes them all if one fails, so a PATCH is all or nothing.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::indexes::State;
use super::MemberOp;
use super::{validate, ResourceKind, Store};
use crate::filter::Filter;
use crate::{Error, Result};

/// Checks that every member names an existing user or group (not `group_id` itself) and
/// returns `(id, member object)` pairs.
pub(crate) fn resolve(
    state: &State,
    group_id: Option<&str>,
    members: Vec<Map<String, Value>>,
) -> Result<Vec<(String, Map<String, Value>)>> {
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        let id = m
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if Some(id.as_str()) == group_id {
            return Err(Error::invalid_value(format!(
                "group `{id}` cannot be a member of itself"
            )));
        }
        if !state.users.contains_key(&id) && !state.groups.contains_key(&id) {
            return Err(Error::invalid_value(format!(
                "member `{id}` is neither an existing User nor an existing Group id"
            )));
        }
        out.push((id, m));
    }
    Ok(out)
}

fn objects(values: Vec<Value>) -> Result<Vec<Map<String, Value>>> {
    values.into_iter().map(validate::member_object).collect()
}

/// What to do to put membership back if a later operation fails.
enum Undo {
    Added(String),
    Removed(String, Map<String, Value>),
    Cleared(IndexMap<String, Map<String, Value>>),
}

/// A validated change, ready to apply without further checks (except filters).
enum Ready {
    Add(Vec<(String, Map<String, Value>)>),
    Remove(Vec<String>),
    RemoveWhere(Filter),
    Replace(Vec<(String, Map<String, Value>)>),
    RemoveAll,
    MustMatch(Filter),
}

fn ready(state: &State, group_id: &str, change: MemberOp) -> Result<Ready> {
    Ok(match change {
        MemberOp::Add(v) => Ready::Add(resolve(state, Some(group_id), objects(v)?)?),
        MemberOp::Replace(v) => Ready::Replace(resolve(state, Some(group_id), objects(v)?)?),
        MemberOp::Remove(ids) => Ready::Remove(ids),
        MemberOp::RemoveWhere(f) => Ready::RemoveWhere(f),
        MemberOp::RemoveAll => Ready::RemoveAll,
        MemberOp::MustMatch(f) => Ready::MustMatch(f),
    })
}

impl Store {
    /// Applies `changes` to `group_id`'s members in order, all or nothing. Returns whether
    /// membership changed.
    fn apply_members(
        &self,
        state: &mut State,
        group_id: &str,
        changes: Vec<MemberOp>,
    ) -> Result<bool> {
        let ready: Vec<Ready> = changes
            .into_iter()
            .map(|c| ready(state, group_id, c))
            .collect::<Result<_>>()?;
        let mut undo = Vec::new();
        let mut changed = false;
        let result = self.apply_ready(state, group_id, ready, &mut undo, &mut changed);
        if result.is_err() {
            for step in undo.into_iter().rev() {
                match step {
                    Undo::Added(id) => {
                        state.remove_member(group_id, &id);
                    }
                    Undo::Removed(id, m) => {
                        state.add_member(group_id, &id, m);
                    }
                    Undo::Cleared(old) => {
                        state.clear_members(group_id);
                        for (id, m) in old {
                            state.add_member(group_id, &id, m);
                        }
                    }
                }
            }
        }
        result.map(|()| changed)
    }

    fn apply_ready(
        &self,
        state: &mut State,
        group_id: &str,
        ready: Vec<Ready>,
        undo: &mut Vec<Undo>,
        changed: &mut bool,
    ) -> Result<()> {
        for change in ready {
            match change {
                Ready::Add(members) => {
                    for (id, m) in members {
                        if state.add_member(group_id, &id, m) {
                            undo.push(Undo::Added(id));
                            *changed = true;
                        }
                    }
                }
                Ready::Remove(ids) => {
                    for id in ids {
                        if let Some(m) = state.remove_member(group_id, &id) {
                            undo.push(Undo::Removed(id, m));
                            *changed = true;
                        }
                    }
                }
                Ready::MustMatch(filter) => {
                    if self.matching_members(state, group_id, &filter)?.is_empty() {
                        return Err(Error::no_target(format!(
                            "`members[{filter}]` matched no member; strict RFC mode answers \
                             noTarget (RFC 7644 §3.5.2.3, §3.12)"
                        )));
                    }
                }
                Ready::RemoveWhere(filter) => {
                    let hits = self.matching_members(state, group_id, &filter)?;
                    for id in hits {
                        if let Some(m) = state.remove_member(group_id, &id) {
                            undo.push(Undo::Removed(id, m));
                            *changed = true;
                        }
                    }
                }
                Ready::Replace(members) => {
                    let old = state.clear_members(group_id);
                    let same = old.len() == members.len()
                        && members.iter().all(|(id, _)| old.contains_key(id));
                    undo.push(Undo::Cleared(old));
                    for (id, m) in members {
                        state.add_member(group_id, &id, m);
                    }
                    *changed |= !same;
                }
                Ready::RemoveAll => {
                    let old = state.clear_members(group_id);
                    if !old.is_empty() {
                        undo.push(Undo::Cleared(old));
                        *changed = true;
                    }
                }
            }
        }
        Ok(())
    }

    /// The ids of `group_id`'s members that match `members[<filter>]`, each rendered as
    /// a GET shows it.
    fn matching_members(
        &self,
        state: &State,
        group_id: &str,
        filter: &Filter,
    ) -> Result<Vec<String>> {
        let mut hits = Vec::new();
        if let Some(group) = state.groups.get(group_id) {
            for (id, m) in group.members() {
                let rendered = self.render_member(state, id, m);
                if crate::filter::matches(filter, &rendered, None)? {
                    hits.push(id.clone());
                }
            }
        }
        Ok(hits)
    }

    /// PATCH (RFC 7644 §3.5.2), atomically under the lock. `apply` receives the current
    /// resource (for a group: without `members`) and returns the new resource, the member
    /// changes, and whether the non-member attributes changed. `meta.version` and
    /// `lastModified` move only when something really changed. Returns the resource
    /// (members rendered only when `with_members`, so a 204 PATCH on a 10,000-member group
    /// costs the same as on a 10-member one) and whether it changed.
    pub fn patch_with(
        &self,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&str>,
        with_members: bool,
        apply: impl FnOnce(&Value) -> Result<(Value, Vec<MemberOp>, bool)>,
    ) -> Result<(Value, bool)> {
        let mut state = self.write();
        let entry = Self::current(&state, kind, id, if_match)?;
        let old = entry.resource();
        let (new, changes, attrs_changed) = apply(&old)?;
        let prepared = validate::prepare(kind, new, self.schema(kind))?;
        if attrs_changed {
            self.check_unique(&state, kind, &prepared.resource, Some(id))?;
        }
        if kind == ResourceKind::User && !changes.is_empty() {
            return Err(Error::invalid_path("users have no `members` attribute"));
        }
        let members_changed = self.apply_members(&mut state, id, changes)?;
        let changed = attrs_changed || members_changed;
        if changed {
            let resource = self.store_new_version(&mut state, kind, id, &old, prepared.resource);
            self.bump();
            return Ok((
                self.render_value(&state, kind, id, resource, with_members),
                true,
            ));
        }
        Ok((
            self.render_value(&state, kind, id, old, with_members),
            false,
        ))
    }
}
