//! Fuzz body for `membership`: store membership through the PATCH engine against a model.

use serde_json::Value;

/// One step of the `membership` target. Slots are small numbers mapped onto a few users
/// and groups; a member number is a user slot when even, a group slot when odd, so nested
/// groups, deleted ids and self-membership all come up.
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

const MEMBERSHIP_USERS: u8 = 4;
const MEMBERSHIP_GROUPS: u8 = 3;

#[derive(Default)]
struct MembershipModel {
    users: std::collections::BTreeMap<u8, String>,
    groups: std::collections::BTreeMap<u8, String>,
    members: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Last id each slot held, so deleted ids get used again.
    last: std::collections::BTreeMap<(bool, u8), String>,
    created: usize,
}

impl MembershipModel {
    fn member_id(&self, m: u8) -> String {
        let (is_group, slot) = if m.is_multiple_of(2) {
            (false, (m / 2) % MEMBERSHIP_USERS)
        } else {
            (true, (m / 2) % MEMBERSHIP_GROUPS)
        };
        let live = if is_group {
            self.groups.get(&slot)
        } else {
            self.users.get(&slot)
        };
        live.or_else(|| self.last.get(&(is_group, slot)))
            .cloned()
            .unwrap_or_else(|| format!("never-{m}"))
    }

    fn exists(&self, id: &str) -> bool {
        self.users
            .values()
            .chain(self.groups.values())
            .any(|v| v == id)
    }
}

/// PATCHes group `gid` with `ops` through the engine, as a 204 group PATCH does.
fn patch_group(
    store: &crate::store::Store,
    gid: &str,
    ops: Vec<Value>,
) -> crate::Result<(Value, bool)> {
    let request = membership_patch(ops);
    store.apply_patch(
        crate::store::ResourceKind::Group,
        gid,
        &request,
        false,
        None,
        false,
    )
}

fn membership_patch(ops: Vec<Value>) -> crate::scim::PatchRequest {
    let ops = ops
        .into_iter()
        .map(|o| serde_json::from_value(o).unwrap_or_else(|e| panic!("test PATCH op: {e}")))
        .collect();
    crate::scim::PatchRequest::new(ops)
}

/// `membership`: random membership steps applied to the store through the PATCH engine
/// (both Entra dialects) and to a model; after every step the members of every group
/// equal the model's and the store's invariants hold (no duplicates, no dangling ids,
/// reverse index == forward index). Failed steps change nothing.
pub fn membership(steps: &[MembershipStep]) {
    use crate::clock::{SequentialIds, SystemClock};
    use crate::store::{ResourceKind, Store};
    use serde_json::json;
    let store = Store::new(
        std::sync::Arc::new(SystemClock),
        std::sync::Arc::new(SequentialIds::new()),
        "http://fuzz/scim/v2",
    );
    let mut model = MembershipModel::default();
    for step in steps.iter().take(64) {
        match step {
            MembershipStep::CreateUser(s) | MembershipStep::CreateGroup(s) => {
                let group = matches!(step, MembershipStep::CreateGroup(_));
                let slot = s % if group {
                    MEMBERSHIP_GROUPS
                } else {
                    MEMBERSHIP_USERS
                };
                let live = if group { &model.groups } else { &model.users };
                if live.contains_key(&slot) {
                    continue;
                }
                model.created += 1;
                let (kind, body) = if group {
                    (
                        ResourceKind::Group,
                        json!({"displayName": format!("g{}", model.created)}),
                    )
                } else {
                    (
                        ResourceKind::User,
                        json!({"userName": format!("u{}", model.created)}),
                    )
                };
                let created = store
                    .create(kind, body)
                    .unwrap_or_else(|e| panic!("create: {e}"));
                let id = created["id"].as_str().unwrap_or_default().to_owned();
                model.last.insert((group, slot), id.clone());
                if group {
                    model.groups.insert(slot, id.clone());
                    model.members.insert(id, Default::default());
                } else {
                    model.users.insert(slot, id);
                }
            }
            MembershipStep::DeleteUser(s) | MembershipStep::DeleteGroup(s) => {
                let group = matches!(step, MembershipStep::DeleteGroup(_));
                let slot = s % if group {
                    MEMBERSHIP_GROUPS
                } else {
                    MEMBERSHIP_USERS
                };
                let removed = if group {
                    model.groups.remove(&slot)
                } else {
                    model.users.remove(&slot)
                };
                let Some(id) = removed else { continue };
                let kind = if group {
                    ResourceKind::Group
                } else {
                    ResourceKind::User
                };
                store
                    .delete(kind, &id, None)
                    .unwrap_or_else(|e| panic!("delete: {e}"));
                model.members.remove(&id);
                for set in model.members.values_mut() {
                    set.remove(&id);
                }
            }
            MembershipStep::Add {
                group,
                members,
                legacy,
            }
            | MembershipStep::Remove {
                group,
                members,
                legacy,
            } => {
                let Some(gid) = model.groups.get(&(group % MEMBERSHIP_GROUPS)).cloned() else {
                    continue;
                };
                let ids: Vec<String> = members
                    .iter()
                    .take(8)
                    .map(|m| model.member_id(*m))
                    .collect();
                let add = matches!(step, MembershipStep::Add { .. });
                let values: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
                let ops = match (add, legacy) {
                    (true, true) => vec![json!({"op": "Add", "path": "members", "value": values})],
                    (true, false) => vec![json!({"op": "add", "path": "members", "value": values})],
                    (false, true) => vec![json!({"op": "Remove", "path": "members", "value": values})],
                    (false, false) => ids
                        .iter()
                        .map(|id| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}))
                        .collect(),
                };
                if ops.is_empty() || ids.is_empty() {
                    continue;
                }
                let valid = !add || ids.iter().all(|id| model.exists(id) && *id != gid);
                let result = patch_group(&store, &gid, ops);
                assert_eq!(result.is_ok(), valid, "{step:?}: {result:?}");
                if valid {
                    let set = model.members.entry(gid).or_default();
                    for id in ids {
                        if add {
                            set.insert(id);
                        } else {
                            set.remove(&id);
                        }
                    }
                }
            }
            MembershipStep::Replace { group, members } => {
                let Some(gid) = model.groups.get(&(group % MEMBERSHIP_GROUPS)).cloned() else {
                    continue;
                };
                let ids: Vec<String> = members
                    .iter()
                    .take(8)
                    .map(|m| model.member_id(*m))
                    .collect();
                let values: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
                let ops = vec![json!({"op": "replace", "path": "members", "value": values})];
                let valid = ids.iter().all(|id| model.exists(id) && *id != gid);
                let result = patch_group(&store, &gid, ops);
                assert_eq!(result.is_ok(), valid, "{step:?}: {result:?}");
                if valid {
                    model.members.insert(gid, ids.into_iter().collect());
                }
            }
            MembershipStep::RemoveAll { group } => {
                let Some(gid) = model.groups.get(&(group % MEMBERSHIP_GROUPS)).cloned() else {
                    continue;
                };
                let ops = vec![json!({"op": "remove", "path": "members"})];
                let result = patch_group(&store, &gid, ops);
                assert!(result.is_ok(), "{step:?}: {result:?}");
                model.members.insert(gid, Default::default());
            }
        }
        for (gid, want) in &model.members {
            let group = store
                .get(ResourceKind::Group, gid, true)
                .unwrap_or_else(|e| panic!("get: {e}"));
            let got: Vec<String> = group["members"]
                .as_array()
                .map(|ms| {
                    ms.iter()
                        .filter_map(|m| m["value"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let got_set: std::collections::BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(
                got.len(),
                got_set.len(),
                "duplicate members in {gid}: {got:?}"
            );
            assert_eq!(&got_set, want, "members of {gid} after {step:?}");
        }
        if let Err(e) = store.check_invariants() {
            panic!("after {step:?}: {e}");
        }
    }
}
