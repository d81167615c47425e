//! Group membership against a model, shared by the `membership` fuzz target and the
//! membership property tests (`tests/testsuite/membership.rs`): one step type
//! ([`MembershipStep`]), one model ([`MembershipModel`]) that says what each step must do
//! ([`Expected`]), and one driver ([`run_membership`]) over a small trait
//! ([`MembershipTarget`]) with two implementations: the store in-process (here) and the
//! server over HTTP (in the tests). RFC 7644 §3.5.2 PATCH on `members`, in both Entra
//! dialects (the legacy PascalCase value lists and `aadOptscim062020`'s filter paths).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::scim::PatchRequest;
use crate::scim::ResourceKind;
use crate::store::Store;

/// One membership step. Slots are small numbers mapped onto a few users and groups; a
/// member number is a user slot when even, a group slot when odd, so nested groups,
/// deleted ids and self-membership all come up.
#[derive(Debug, Clone)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum MembershipStep {
    CreateUser(u8),
    DeleteUser(u8),
    CreateGroup(u8),
    DeleteGroup(u8),
    Add {
        group: u8,
        members: Vec<u8>,
        legacy: bool,
    },
    Remove {
        group: u8,
        members: Vec<u8>,
        legacy: bool,
    },
    Replace {
        group: u8,
        members: Vec<u8>,
    },
    RemoveAll {
        group: u8,
    },
}

/// How many user slots the model plays with; user slot numbers wrap around it.
pub const MEMBERSHIP_USERS: u8 = 4;
/// How many group slots the model plays with.
pub const MEMBERSHIP_GROUPS: u8 = 3;
/// Steps of one sequence the driver runs; the rest are ignored.
pub const MEMBERSHIP_MAX_STEPS: usize = 64;
/// Members of one step the model reads; the rest are ignored.
const MAX_MEMBERS: usize = 8;

/// What the model expects one step to do to the system under test.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Nothing to send: the slot is already full (create) or empty (delete), or the
    /// step names a group that does not exist.
    Nothing,
    /// Create a resource with `body`; it must succeed. The driver tells the model the
    /// new id with [`MembershipModel::created`].
    Create {
        kind: ResourceKind,
        slot: u8,
        body: Value,
    },
    /// Delete `id`; it must succeed.
    Delete { kind: ResourceKind, id: String },
    /// PATCH group `group` with `ops`. It succeeds exactly when `ok`: an add or replace
    /// naming a missing id or the group itself fails as a whole and changes nothing.
    Patch {
        group: String,
        ops: Vec<Value>,
        ok: bool,
    },
}

/// The model: which slots hold which ids, and each group's members.
#[derive(Debug, Default)]
pub struct MembershipModel {
    users: BTreeMap<u8, String>,
    groups: BTreeMap<u8, String>,
    members: BTreeMap<String, BTreeSet<String>>,
    /// Last id each slot held, so deleted ids get used again.
    last: BTreeMap<(ResourceKind, u8), String>,
    created: usize,
}

impl MembershipModel {
    /// Each live group's id and the members it must have.
    pub fn members(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.members
    }

    fn live(&self, kind: ResourceKind) -> &BTreeMap<u8, String> {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }

    fn slot(kind: ResourceKind, n: u8) -> u8 {
        match kind {
            ResourceKind::User => n % MEMBERSHIP_USERS,
            ResourceKind::Group => n % MEMBERSHIP_GROUPS,
        }
    }

    /// The live group in slot `n`, if any.
    fn group(&self, n: u8) -> Option<String> {
        self.groups
            .get(&Self::slot(ResourceKind::Group, n))
            .cloned()
    }

    /// The id member number `m` names: the live resource in its slot, else the last one
    /// deleted from it, else an id that never existed.
    fn member_id(&self, m: u8) -> String {
        let kind = if m.is_multiple_of(2) {
            ResourceKind::User
        } else {
            ResourceKind::Group
        };
        let slot = Self::slot(kind, m / 2);
        self.live(kind)
            .get(&slot)
            .or_else(|| self.last.get(&(kind, slot)))
            .cloned()
            .unwrap_or_else(|| format!("never-{m}"))
    }

    fn member_ids(&self, members: &[u8]) -> Vec<String> {
        members
            .iter()
            .take(MAX_MEMBERS)
            .map(|m| self.member_id(*m))
            .collect()
    }

    fn exists(&self, id: &str) -> bool {
        self.users
            .values()
            .chain(self.groups.values())
            .any(|v| v == id)
    }

    /// Whether every id may become a member of `group`: it exists and is not the group.
    fn may_join(&self, group: &str, ids: &[String]) -> bool {
        ids.iter().all(|id| self.exists(id) && id != group)
    }

    /// Records that a [`Expected::Create`] made `id`.
    pub fn created(&mut self, kind: ResourceKind, slot: u8, id: String) {
        self.last.insert((kind, slot), id.clone());
        match kind {
            ResourceKind::User => {
                self.users.insert(slot, id);
            }
            ResourceKind::Group => {
                self.groups.insert(slot, id.clone());
                self.members.insert(id, BTreeSet::new());
            }
        }
    }

    /// Advances the model by `step` (assuming the system under test does what the answer
    /// says) and returns what the system must do.
    pub fn apply(&mut self, step: &MembershipStep) -> Expected {
        use MembershipStep::*;
        match step {
            CreateUser(n) => self.create(ResourceKind::User, *n),
            CreateGroup(n) => self.create(ResourceKind::Group, *n),
            DeleteUser(n) => self.delete(ResourceKind::User, *n),
            DeleteGroup(n) => self.delete(ResourceKind::Group, *n),
            Add {
                group,
                members,
                legacy,
            } => self.add_or_remove(true, *group, members, *legacy),
            Remove {
                group,
                members,
                legacy,
            } => self.add_or_remove(false, *group, members, *legacy),
            Replace { group, members } => {
                let Some(gid) = self.group(*group) else {
                    return Expected::Nothing;
                };
                let ids = self.member_ids(members);
                let ops = vec![json!({"op": "replace", "path": "members", "value": values(&ids)})];
                let ok = self.may_join(&gid, &ids);
                if ok {
                    self.members.insert(gid.clone(), ids.into_iter().collect());
                }
                Expected::Patch {
                    group: gid,
                    ops,
                    ok,
                }
            }
            RemoveAll { group } => {
                let Some(gid) = self.group(*group) else {
                    return Expected::Nothing;
                };
                self.members.insert(gid.clone(), BTreeSet::new());
                Expected::Patch {
                    group: gid,
                    ops: vec![json!({"op": "remove", "path": "members"})],
                    ok: true,
                }
            }
        }
    }

    fn create(&mut self, kind: ResourceKind, n: u8) -> Expected {
        let slot = Self::slot(kind, n);
        if self.live(kind).contains_key(&slot) {
            return Expected::Nothing;
        }
        self.created += 1;
        let body = match kind {
            ResourceKind::User => json!({"userName": format!("u{}", self.created)}),
            ResourceKind::Group => json!({"displayName": format!("g{}", self.created)}),
        };
        Expected::Create { kind, slot, body }
    }

    fn delete(&mut self, kind: ResourceKind, n: u8) -> Expected {
        let slot = Self::slot(kind, n);
        let removed = match kind {
            ResourceKind::User => self.users.remove(&slot),
            ResourceKind::Group => self.groups.remove(&slot),
        };
        let Some(id) = removed else {
            return Expected::Nothing;
        };
        // Deleting a resource removes it from every group (RFC 7644 §3.6 leaves this to
        // the provider; scimock keeps no dangling members).
        self.members.remove(&id);
        for set in self.members.values_mut() {
            set.remove(&id);
        }
        Expected::Delete { kind, id }
    }

    /// Legacy: one `Add`/`Remove` on `members` with a value list; `aadOptscim062020`:
    /// `add` with a list, and one `remove` per id with a `members[value eq "…"]` path.
    fn add_or_remove(&mut self, add: bool, group: u8, members: &[u8], legacy: bool) -> Expected {
        let Some(gid) = self.group(group) else {
            return Expected::Nothing;
        };
        let ids = self.member_ids(members);
        if ids.is_empty() {
            return Expected::Nothing;
        }
        let ops = match (add, legacy) {
            (true, true) => vec![json!({"op": "Add", "path": "members", "value": values(&ids)})],
            (true, false) => vec![json!({"op": "add", "path": "members", "value": values(&ids)})],
            (false, true) => {
                vec![json!({"op": "Remove", "path": "members", "value": values(&ids)})]
            }
            (false, false) => ids
                .iter()
                .map(|id| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}))
                .collect(),
        };
        // Removing an id that is no member succeeds and changes nothing.
        let ok = !add || self.may_join(&gid, &ids);
        if ok {
            let set = self.members.entry(gid.clone()).or_default();
            for id in ids {
                if add {
                    set.insert(id);
                } else {
                    set.remove(&id);
                }
            }
        }
        Expected::Patch {
            group: gid,
            ops,
            ok,
        }
    }
}

fn values(ids: &[String]) -> Vec<Value> {
    ids.iter().map(|id| json!({"value": id})).collect()
}

/// A system the membership steps drive. Each method panics when the system answers in a
/// way no step allows (a create that fails, a PATCH that errs with the wrong status).
pub trait MembershipTarget {
    /// Creates a resource and returns its id.
    fn create(&self, kind: ResourceKind, body: Value) -> String;
    /// Deletes a resource.
    fn delete(&self, kind: ResourceKind, id: &str);
    /// PATCHes a group with `ops`; `Err` carries the error for the failure message.
    fn patch(&self, group: &str, ops: Vec<Value>) -> Result<(), String>;
    /// The group's member ids, in the order the system lists them.
    fn members(&self, group: &str) -> Vec<String>;
    /// The system's own consistency checks (no dangling ids, indexes agree).
    fn check_invariants(&self) -> Result<(), String>;
}

/// Runs `steps` (at most [`MEMBERSHIP_MAX_STEPS`]) against `target` and a fresh model;
/// after every step the members of every group equal the model's, without duplicates,
/// and the target's invariants hold. Panics on the first disagreement.
pub fn run_membership(target: &impl MembershipTarget, steps: &[MembershipStep]) {
    let mut model = MembershipModel::default();
    for step in steps.iter().take(MEMBERSHIP_MAX_STEPS) {
        match model.apply(step) {
            Expected::Nothing => continue,
            Expected::Create { kind, slot, body } => {
                let id = target.create(kind, body);
                model.created(kind, slot, id);
            }
            Expected::Delete { kind, id } => target.delete(kind, &id),
            Expected::Patch { group, ops, ok } => {
                let result = target.patch(&group, ops);
                assert_eq!(result.is_ok(), ok, "{step:?}: {result:?}");
            }
        }
        for (gid, want) in model.members() {
            let got = target.members(gid);
            let got_set: BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(
                got.len(),
                got_set.len(),
                "duplicate members in {gid}: {got:?}"
            );
            assert_eq!(&got_set, want, "members of {gid} after {step:?}");
        }
        if let Err(e) = target.check_invariants() {
            panic!("after {step:?}: {e}");
        }
    }
}

/// PATCHes group `gid` with `request` through the PATCH engine inside the store's lock,
/// as the server's 204 group PATCH does (lenient dialect, no `If-Match`, members not
/// rendered). Returns the group and whether it changed.
pub fn patch_group(
    store: &Store,
    gid: &str,
    request: &PatchRequest,
) -> crate::Result<(Value, bool)> {
    let kind = ResourceKind::Group;
    let options = crate::patch::PatchOptions {
        strict_rfc: false,
        members_attr: Some("members"),
    };
    let schema = store.schema(kind);
    store.patch_with(kind, gid, None, false, |current| {
        let outcome = crate::patch::apply(current, request, schema, &options)?;
        Ok((outcome.resource, outcome.members, outcome.changed))
    })
}

/// The store in-process as a [`MembershipTarget`].
struct InProcess(Store);

impl MembershipTarget for InProcess {
    fn create(&self, kind: ResourceKind, body: Value) -> String {
        let created = self
            .0
            .create(kind, body)
            .unwrap_or_else(|e| panic!("create: {e}"));
        created["id"].as_str().unwrap_or_default().to_owned()
    }

    fn delete(&self, kind: ResourceKind, id: &str) {
        self.0
            .delete(kind, id, None)
            .unwrap_or_else(|e| panic!("delete: {e}"));
    }

    fn patch(&self, group: &str, ops: Vec<Value>) -> Result<(), String> {
        let ops = ops
            .into_iter()
            .map(|o| serde_json::from_value(o).unwrap_or_else(|e| panic!("model PATCH op: {e}")))
            .collect();
        patch_group(&self.0, group, &PatchRequest::new(ops))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn members(&self, group: &str) -> Vec<String> {
        let group = self
            .0
            .get(ResourceKind::Group, group, true)
            .unwrap_or_else(|e| panic!("get: {e}"));
        group["members"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .filter_map(|m| m["value"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn check_invariants(&self) -> Result<(), String> {
        self.0.check_invariants()
    }
}

/// `membership`: random membership steps applied to the store through the PATCH engine
/// (both Entra dialects) and to the model; after every step the members of every group
/// equal the model's and the store's invariants hold (no duplicates, no dangling ids,
/// reverse index == forward index). Failed steps change nothing.
pub fn membership(steps: &[MembershipStep]) {
    use crate::clock::{SequentialIds, SystemClock};
    let store = Store::new(
        std::sync::Arc::new(SystemClock),
        std::sync::Arc::new(SequentialIds::new()),
        "http://fuzz/scim/v2",
    );
    run_membership(&InProcess(store), steps);
}
