//! The state behind the store's one lock: resources by id plus the secondary indexes that
//! keep Entra's hot paths O(1)/O(log n): `userName` and group `displayName` (case-folded,
//! RFC 7643 §4.1.1 / Entra §2.2 uniqueness), `externalId`, and the member → groups reverse
//! index. Group members live in an [`IndexMap`] per group, so adding one member costs the
//! same in a 10-member group as in a 10,000-member one.
//!
//! Everything here is infallible bookkeeping; validation happens in `store/mod.rs` before
//! any of these functions is called.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::match_index::{same, type_eq, MatchIndex};
use super::ResourceKind;
use crate::filter::{AttrOp, CompValue, CompareOp, Filter};

/// One stored resource. `members` is empty for users.
///
/// The resource is kept as its compact JSON text (~700 bytes for an Entra user) rather
/// than a `serde_json::Value` (~6 KB with `preserve_order`: an `IndexMap` per object and
/// a heap `String` per key), and parsed when read (a few µs). The text is [`Bytes`], so a
/// GET can send it as the response body without a copy.
#[derive(Debug, Clone, Default)]
pub(crate) struct Entry {
    /// The resource (always a JSON object) without `members`, with `meta` kept current,
    /// as compact JSON.
    pub(crate) text: Bytes,
    /// The number in `meta.version` (`W/"n"`).
    pub(crate) version: u64,
    /// True when the default projection (no `attributes` / `excludedAttributes`) returns
    /// the resource unchanged, so its text can be sent as is.
    pub(crate) plain: bool,
    /// `displayName`, else `userName`: a member's `display` (RFC 7643 §4.2), kept so
    /// rendering a 10,000-member group parses no member.
    pub(crate) display: Option<Box<str>>,
    /// Member id → member object as the client sent it (nulls dropped); `None` while
    /// empty, so a user's entry (and its B-tree slot) is 64 bytes smaller.
    pub(crate) members: Option<Box<Members>>,
}

/// Value → ids of the resources that have it, keyed by a 64-bit hash of the value
/// instead of the value itself (at 100,000 users, ~70 bytes less per user and index).
/// Only candidates come out of it: a query runs the whole filter on every id it proposes,
/// so two values that share a hash cost one extra evaluation, never a wrong answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueIds {
    hasher: std::collections::hash_map::RandomState,
    ids: HashMap<u64, Ids>,
}

/// The ids under one hash: almost always one (externalIds and work emails are unique in
/// practice), which then needs no vector of its own.
#[derive(Debug, Clone)]
enum Ids {
    One(Box<str>),
    Many(Vec<Box<str>>),
}

impl Ids {
    fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many) = match self {
            Ids::One(id) => (Some(id.as_ref()), &[][..]),
            Ids::Many(ids) => (None, &ids[..]),
        };
        one.into_iter().chain(many.iter().map(AsRef::as_ref))
    }
}

impl ValueIds {
    fn key(&self, value: &str) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(value)
    }

    fn add(&mut self, value: &str, id: &str) {
        let key = self.key(value);
        match self.ids.get_mut(&key) {
            None => {
                self.ids.insert(key, Ids::One(id.into()));
            }
            Some(ids) if ids.iter().any(|i| i == id) => {}
            Some(ids) => {
                let mut all: Vec<Box<str>> = ids.iter().map(Box::from).collect();
                all.push(id.into());
                *ids = Ids::Many(all);
            }
        }
    }

    fn remove(&mut self, value: &str, id: &str) {
        let key = self.key(value);
        let Some(ids) = self.ids.get(&key) else {
            return;
        };
        let rest: Vec<Box<str>> = ids.iter().filter(|i| *i != id).map(Box::from).collect();
        match rest.len() {
            0 => {
                self.ids.remove(&key);
            }
            1 => {
                let one = rest.into_iter().next().unwrap_or_default();
                self.ids.insert(key, Ids::One(one));
            }
            _ => {
                self.ids.insert(key, Ids::Many(rest));
            }
        }
    }

    /// The ids that may have `value` (a superset; see the type's comment).
    fn get(&self, value: &str) -> Vec<String> {
        self.ids
            .get(&self.key(value))
            .map(|ids| ids.iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

/// A group's members: member id → member object.
pub(crate) type Members = IndexMap<String, Map<String, Value>>;

/// `value` as compact JSON in an allocation of exactly its size: serialized once into a
/// reused per-thread buffer, then copied out (a copy of a few hundred bytes costs less
/// than the second serialization a counting pass needs).
fn exact_json(value: &Value) -> Bytes {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| {
        let Ok(mut buf) = scratch.try_borrow_mut() else {
            // Re-entered (never expected): serialize without the shared buffer.
            return serde_json::to_vec(value).map_or_else(|_| Bytes::new(), Bytes::from);
        };
        buf.clear();
        let text = match serde_json::to_writer(&mut *buf, value) {
            Ok(()) => Bytes::copy_from_slice(&buf),
            Err(_) => Bytes::new(),
        };
        // A huge resource (a 10,000-member group) does not keep its buffer size.
        if buf.capacity() > 64 * 1024 {
            *buf = Vec::new();
        }
        text
    })
}

impl Entry {
    /// The members, in order (none for a user).
    pub(crate) fn members(&self) -> impl Iterator<Item = (&String, &Map<String, Value>)> {
        self.members.iter().flat_map(|m| m.iter())
    }

    /// Is `id` a member?
    pub(crate) fn has_member(&self, id: &str) -> bool {
        self.members.as_ref().is_some_and(|m| m.contains_key(id))
    }

    /// An entry for `resource` (a JSON object) at `version`.
    pub(crate) fn new(resource: &Value, version: u64, plain: bool) -> Entry {
        // Written straight into an exact-size allocation: a growing Vec would leave its
        // doubling steps and a shrinking copy behind, 100,000 times while a seed loads.
        Entry::with_text(exact_json(resource), resource, version, plain)
    }

    /// The stored resource, parsed. The text was written by [`Entry::new`], so it parses;
    /// a failure is a scimock defect, never a client's doing: debug builds (every test and
    /// fuzz run) stop on it, release builds see an empty resource.
    pub(crate) fn resource(&self) -> Value {
        let parsed = serde_json::from_slice(&self.text);
        debug_assert!(parsed.is_ok(), "a stored entry does not parse: {parsed:?}");
        parsed.unwrap_or_default()
    }

    /// An entry whose text is `text` (the compact JSON of `resource`, shared).
    pub(crate) fn with_text(text: Bytes, resource: &Value, version: u64, plain: bool) -> Entry {
        let display = resource
            .get("displayName")
            .or_else(|| resource.get("userName"))
            .and_then(Value::as_str)
            .map(Box::from);
        Entry {
            text,
            version,
            plain,
            display,
            members: None,
        }
    }

    /// The stored resource parsed down to the members `projection` keeps (what a filter
    /// or a sort reads). Fails only as [`Entry::resource`] does.
    pub(crate) fn project(&self, projection: &crate::filter::Projection) -> Value {
        let parsed = projection.parse(&self.text);
        debug_assert!(parsed.is_ok(), "a stored entry does not parse: {parsed:?}");
        parsed.unwrap_or_default()
    }

    /// The value a member's `display` derives from: `displayName`, else `userName`.
    pub(crate) fn display_value(&self) -> Option<Value> {
        match &self.display {
            Some(d) => Some(Value::String(d.to_string())),
            // Only a non-string name (which validation refuses) gets here.
            None => {
                let r = self.resource();
                r.get("displayName").or_else(|| r.get("userName")).cloned()
            }
        }
    }
}

/// All resources and their indexes.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) users: BTreeMap<String, Entry>,
    pub(crate) groups: BTreeMap<String, Entry>,
    /// Folded unique name → id, in order: `eq` is a lookup, and `sw`/`gt`/`ge`/`lt`/`le`
    /// are a range (see [`State::range_candidates`]).
    user_names: BTreeMap<String, String>,
    group_names: BTreeMap<String, String>,
    /// externalId → ids (a short Vec: externalIds are almost always unique, and a
    /// BTreeSet node per user costs ~300 bytes at 100,000 users).
    user_external: ValueIds,
    group_external: ValueIds,
    /// Member id (user or group) → ids of the groups it belongs to.
    member_of: HashMap<String, BTreeSet<String>>,
    /// A vendor profile's other matching attributes (`emails[type eq "work"].value`).
    matching: Vec<MatchIndex>,
}

/// The operator and string operand of a comparison on a core attribute of `kind` (no URN,
/// or the resource's own schema URN), the only shape the indexes answer.
fn core_string_compare(
    kind: ResourceKind,
    exp: &crate::filter::AttrExp,
) -> Option<(CompareOp, &String)> {
    let AttrOp::Compare(op, CompValue::String(value)) = &exp.op else {
        return None;
    };
    let core = exp
        .path
        .urn
        .as_deref()
        .is_none_or(|u| u.eq_ignore_ascii_case(kind.schema_urn()));
    core.then_some((*op, value))
}

/// Case folding for the case-insensitive unique attributes (`caseExact: false`).
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase()
}

fn str_attr<'a>(resource: &'a Value, name: &str) -> Option<&'a str> {
    resource.get(name).and_then(Value::as_str)
}

impl State {
    pub(crate) fn map(&self, kind: ResourceKind) -> &BTreeMap<String, Entry> {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }

    pub(crate) fn map_mut(&mut self, kind: ResourceKind) -> &mut BTreeMap<String, Entry> {
        match kind {
            ResourceKind::User => &mut self.users,
            ResourceKind::Group => &mut self.groups,
        }
    }

    fn names(&mut self, kind: ResourceKind) -> &mut BTreeMap<String, String> {
        match kind {
            ResourceKind::User => &mut self.user_names,
            ResourceKind::Group => &mut self.group_names,
        }
    }

    fn externals(&mut self, kind: ResourceKind) -> &mut ValueIds {
        match kind {
            ResourceKind::User => &mut self.user_external,
            ResourceKind::Group => &mut self.group_external,
        }
    }

    /// The id of the resource whose unique name (`userName` / `displayName`) folds to
    /// `name`'s folding.
    pub(crate) fn id_by_name(&self, kind: ResourceKind, name: &str) -> Option<&String> {
        let names = match kind {
            ResourceKind::User => &self.user_names,
            ResourceKind::Group => &self.group_names,
        };
        names.get(&fold(name))
    }

    /// Indexes a profile's matching attribute from now on (call before loading data).
    pub(crate) fn add_match_index(&mut self, index: MatchIndex) {
        self.matching.push(index);
    }

    /// Adds `resource`'s unique name, externalId and matching attributes to the indexes.
    pub(crate) fn index(&mut self, kind: ResourceKind, id: &str, resource: &Value) {
        for m in self.matching.iter_mut().filter(|m| m.kind == kind) {
            for key in m.keys(resource) {
                m.values.add(&key, id);
            }
        }
        if let Some(name) = str_attr(resource, kind.unique_attr()) {
            self.names(kind).insert(fold(name), id.to_owned());
        }
        if let Some(ext) = str_attr(resource, "externalId") {
            self.externals(kind).add(ext, id);
        }
    }

    /// Removes what [`State::index`] added for the same resource.
    pub(crate) fn unindex(&mut self, kind: ResourceKind, id: &str, resource: &Value) {
        for m in self.matching.iter_mut().filter(|m| m.kind == kind) {
            for key in m.keys(resource) {
                m.values.remove(&key, id);
            }
        }
        if let Some(name) = str_attr(resource, kind.unique_attr()) {
            let key = fold(name);
            if self.names(kind).get(&key).is_some_and(|v| v == id) {
                self.names(kind).remove(&key);
            }
        }
        if let Some(ext) = str_attr(resource, "externalId") {
            self.externals(kind).remove(ext, id);
        }
    }

    /// Groups that `member_id` belongs to.
    pub(crate) fn groups_of(&self, member_id: &str) -> Vec<String> {
        self.member_of
            .get(member_id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Adds a member; false (and no change) when it is already a member.
    pub(crate) fn add_member(
        &mut self,
        group_id: &str,
        member_id: &str,
        member: Map<String, Value>,
    ) -> bool {
        let Some(group) = self.groups.get_mut(group_id) else {
            return false;
        };
        let members = group.members.get_or_insert_with(Box::default);
        if members.contains_key(member_id) {
            return false;
        }
        members.insert(member_id.to_owned(), member);
        self.member_of
            .entry(member_id.to_owned())
            .or_default()
            .insert(group_id.to_owned());
        true
    }

    /// Removes a member; false when it was not one. Order of the remaining members may
    /// change (`swap_remove`, O(1)); RFC 7643 §2.4 gives multi-valued attributes no order.
    pub(crate) fn remove_member(
        &mut self,
        group_id: &str,
        member_id: &str,
    ) -> Option<Map<String, Value>> {
        let group = self.groups.get_mut(group_id)?;
        let members = group.members.as_mut()?;
        let removed = members.swap_remove(member_id)?;
        if members.is_empty() {
            group.members = None;
        }
        if let Some(set) = self.member_of.get_mut(member_id) {
            set.remove(group_id);
            if set.is_empty() {
                self.member_of.remove(member_id);
            }
        }
        Some(removed)
    }

    /// Removes every member of `group_id`, returning them in order.
    pub(crate) fn clear_members(&mut self, group_id: &str) -> Members {
        let Some(group) = self.groups.get_mut(group_id) else {
            return Members::new();
        };
        let old = group.members.take().map(|m| *m).unwrap_or_default();
        for member_id in old.keys() {
            if let Some(set) = self.member_of.get_mut(member_id) {
                set.remove(group_id);
                if set.is_empty() {
                    self.member_of.remove(member_id);
                }
            }
        }
        old
    }

    /// Ids an `eq` filter can be answered from an index for, or `None` when the filter
    /// needs a scan. Handles `id`, `externalId`, the unique name and (for groups)
    /// `members[.value]`, alone or as one operand of a top-level `and`.
    pub(crate) fn candidates(&self, kind: ResourceKind, filter: &Filter) -> Option<Vec<String>> {
        match filter {
            Filter::Attr(exp) => {
                let (CompareOp::Eq, value) = core_string_compare(kind, exp)? else {
                    return None;
                };
                let path = &exp.path;
                if path.is("id", None) {
                    let hit = self.map(kind).contains_key(value.as_str());
                    Some(if hit { vec![value.clone()] } else { vec![] })
                } else if path.is(kind.unique_attr(), None) {
                    Some(self.id_by_name(kind, value).into_iter().cloned().collect())
                } else if path.is("externalId", None) {
                    let externals = match kind {
                        ResourceKind::User => &self.user_external,
                        ResourceKind::Group => &self.group_external,
                    };
                    Some(externals.get(value))
                } else if kind == ResourceKind::Group
                    && (path.is("members", None) || path.is("members", Some("value")))
                {
                    // Member ids compare case-exactly, like `id`.
                    Some(self.groups_of(value))
                } else {
                    self.matching
                        .iter()
                        .find(|m| {
                            m.kind == kind
                                && m.type_eq.is_none()
                                && same(m.urn.as_deref(), path.urn.as_deref())
                                && m.attr.eq_ignore_ascii_case(&path.name)
                                && same(m.sub.as_deref(), path.sub_attr.as_deref())
                        })
                        .map(|m| m.values.get(&fold(value)))
                }
            }
            // Entra's `emails[type eq "work"].value eq "x"` (entra-provisioning.md §2.2).
            Filter::ValuePathAttr {
                value_path,
                sub_attr,
                op,
            } => {
                let AttrOp::Compare(CompareOp::Eq, CompValue::String(value)) = op else {
                    return None;
                };
                let t = type_eq(&value_path.filter)?;
                let m = self.matching.iter().find(|m| {
                    m.kind == kind
                        && same(m.urn.as_deref(), value_path.attr.urn.as_deref())
                        && m.attr.eq_ignore_ascii_case(&value_path.attr.name)
                        && same(m.type_eq.as_deref(), Some(t))
                        && same(m.sub.as_deref(), Some(sub_attr))
                })?;
                Some(m.values.get(&fold(value)))
            }
            Filter::And(operands) => operands.iter().find_map(|f| self.candidates(kind, f)),
            _ => None,
        }
    }
}

impl State {
    /// Ids an ordered comparison on the unique name (`userName` / group `displayName`) can
    /// be answered from the ordered name index for: `sw`, `gt`, `ge`, `lt` and `le`, alone or
    /// as one operand of a top-level `and`. `None` when the filter needs a scan.
    ///
    /// Only for a unique name the schema declares a case-insensitive string (RFC 7643
    /// §4.1.1 and §4.2 make both `caseExact: false`): the index keys are folded exactly as
    /// the evaluator folds both sides before comparing code points (RFC 7644 §3.4.2.2), so
    /// the range holds exactly the matches. Callers still evaluate the filter on each id.
    pub(crate) fn range_candidates(
        &self,
        kind: ResourceKind,
        filter: &Filter,
    ) -> Option<Vec<String>> {
        match filter {
            Filter::Attr(exp) => {
                let (op, value) = core_string_compare(kind, exp)?;
                if !exp.path.is(kind.unique_attr(), None) {
                    return None;
                }
                let names = match kind {
                    ResourceKind::User => &self.user_names,
                    ResourceKind::Group => &self.group_names,
                };
                let key = fold(value);
                use std::ops::Bound::{Excluded, Included, Unbounded};
                let ids = |range: (std::ops::Bound<&str>, std::ops::Bound<&str>)| {
                    names
                        .range::<str, _>(range)
                        .map(|(_, id)| id.clone())
                        .collect::<Vec<_>>()
                };
                Some(match op {
                    CompareOp::Sw => names
                        .range::<str, _>((Included(key.as_str()), Unbounded))
                        .take_while(|(k, _)| k.starts_with(key.as_str()))
                        .map(|(_, id)| id.clone())
                        .collect(),
                    CompareOp::Gt => ids((Excluded(key.as_str()), Unbounded)),
                    CompareOp::Ge => ids((Included(key.as_str()), Unbounded)),
                    CompareOp::Lt => ids((Unbounded, Excluded(key.as_str()))),
                    CompareOp::Le => ids((Unbounded, Included(key.as_str()))),
                    _ => return None,
                })
            }
            Filter::And(operands) => operands.iter().find_map(|f| self.range_candidates(kind, f)),
            _ => None,
        }
    }

    /// Ids of `kind` in ascending order of their folded unique name (what `sortBy` on it
    /// orders by), for a sort that can stop after the first page.
    pub(crate) fn ids_by_name(
        &self,
        kind: ResourceKind,
    ) -> impl DoubleEndedIterator<Item = &String> {
        let names = match kind {
            ResourceKind::User => &self.user_names,
            ResourceKind::Group => &self.group_names,
        };
        names.values()
    }
}

impl State {
    /// Membership invariants: every member id names an existing user or group; every
    /// member's `value` equals its key; the reverse index is exactly the inverse of the
    /// groups' member maps. `Err` names the first violation.
    pub(crate) fn check_membership(&self) -> Result<(), String> {
        for (gid, group) in &self.groups {
            for (mid, member) in group.members() {
                if !self.users.contains_key(mid) && !self.groups.contains_key(mid) {
                    return Err(format!("group {gid} has dangling member {mid}"));
                }
                if member.get("value").and_then(Value::as_str) != Some(mid.as_str()) {
                    return Err(format!(
                        "group {gid}: member {mid} carries value {:?}",
                        member.get("value")
                    ));
                }
                if !self.member_of.get(mid).is_some_and(|gs| gs.contains(gid)) {
                    return Err(format!("reverse index lacks {mid} → {gid}"));
                }
            }
        }
        for (mid, gids) in &self.member_of {
            if gids.is_empty() {
                return Err(format!("reverse index keeps an empty set for {mid}"));
            }
            for gid in gids {
                if !self.groups.get(gid).is_some_and(|g| g.has_member(mid)) {
                    return Err(format!(
                        "reverse index says {mid} ∈ {gid}, the group disagrees"
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod value_ids {
    use super::ValueIds;

    #[test]
    fn one_many_and_back() {
        let mut v = ValueIds::default();
        assert!(v.get("x").is_empty());
        v.add("x", "a");
        v.add("x", "a");
        assert_eq!(v.get("x"), ["a"]);
        v.add("x", "b");
        v.add("x", "c");
        assert_eq!(v.get("x"), ["a", "b", "c"]);
        v.remove("x", "b");
        assert_eq!(v.get("x"), ["a", "c"]);
        v.remove("x", "a");
        assert_eq!(v.get("x"), ["c"]);
        v.remove("x", "zzz");
        assert_eq!(v.get("x"), ["c"]);
        v.remove("x", "c");
        assert!(v.get("x").is_empty());
        assert!(v.ids.is_empty());
    }
}
