//! Bodies of the fuzz targets, shared with the tests that replay saved crashes, so a
//! finding reproduces under plain `cargo test`. Each function panics exactly when the
//! property it checks is broken.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::filter;
use crate::scim::schema::ResourceSchema;

/// The User schema, parsed once per process: fuzzers call in thousands of times a second.
fn users() -> &'static ResourceSchema {
    static SCHEMA: OnceLock<ResourceSchema> = OnceLock::new();
    SCHEMA.get_or_init(crate::scim::schema::user_resource)
}

/// The Group schema, parsed once per process.
fn groups() -> &'static ResourceSchema {
    static SCHEMA: OnceLock<ResourceSchema> = OnceLock::new();
    SCHEMA.get_or_init(crate::scim::schema::group_resource)
}

/// `filter_parser`: parsing never panics; on success the canonical form re-parses to the
/// same tree and is a fixed point of printing.
pub fn filter_parser(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = filter::parse(src) {
        let printed = f.to_string();
        let again = filter::parse(&printed)
            .unwrap_or_else(|e| panic!("canonical form {printed:?} of {src:?} fails: {e}"));
        assert_eq!(again, f, "round trip changed the tree of {src:?}");
        assert_eq!(again.to_string(), printed, "canonical form is not stable");
    } else if let Err(e) = filter::parse(src) {
        // Rendering must cope with every span the parser reports.
        let _ = e.render(src);
        let _ = e.to_string();
    }
}

/// `filter_eval`: evaluating any parsed filter against any JSON resource never panics,
/// and `not f` is the negation of `f` wherever `f` evaluates.
pub fn filter_eval(filter_src: &str, resource: &Value) {
    let Ok(f) = filter::parse(filter_src) else {
        return;
    };
    for schema in [None, Some(users())] {
        let direct = filter::matches(&f, resource, schema);
        let negated = filter::matches(&filter::Filter::negate(f.clone()), resource, schema);
        match (direct, negated) {
            (Ok(a), Ok(b)) => assert_eq!(a, !b, "not ({f}) is not the negation of {f}"),
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("{f}: direct {a:?} but negated {b:?}"),
        }
    }
}

/// `filter_eval`'s structured input: a resource shaped like a SCIM user and a filter.
///
/// The filter is the last field, so `arbitrary` gives it the rest of the input verbatim
/// and a seed file is "resource bytes, then filter text".
#[derive(Debug, Clone)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub struct FilterEvalInput {
    pub resource: FuzzObject,
    pub filter: String,
}

/// `filter_eval` over a decoded [`FilterEvalInput`].
pub fn filter_eval_input(input: &FilterEvalInput) {
    filter_eval(&input.filter, &input.resource.to_value());
}

/// Deepest nesting of arrays and objects in a [`FuzzJson`]; SCIM resources need three
/// (`emails` → element → `value`), the extension's `manager` four.
pub const FUZZ_JSON_DEPTH: u32 = 4;
/// Most members of one fuzzed object or elements of one fuzzed array.
pub const FUZZ_JSON_WIDTH: u32 = 6;

/// Attribute names the fuzzer mostly draws from, so filters over real SCIM paths hit.
pub const FUZZ_ATTR_NAMES: &[&str] = &[
    "userName",
    "emails",
    "value",
    "type",
    "primary",
    "name",
    "givenName",
    "active",
    "meta",
    "created",
    "members",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "manager",
    "employeeNumber",
];

/// String values the fuzzer mostly draws from: equal to common filter literals, differing
/// only in case, or one RFC 3339 instant written two ways.
pub const FUZZ_STRINGS: &[&str] = &[
    "work",
    "Work",
    "home",
    "a@b.c",
    "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "2011-08-01T18:29:49.793Z",
    "2011-08-01T20:29:49.793+02:00",
    "",
];

/// A JSON value bounded in depth ([`FUZZ_JSON_DEPTH`]) and width ([`FUZZ_JSON_WIDTH`]),
/// convertible to [`serde_json::Value`].
#[derive(Debug, Clone, PartialEq)]
pub enum FuzzJson {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Array(Vec<FuzzJson>),
    Object(FuzzObject),
}

/// A JSON object whose member names are mostly SCIM attribute names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FuzzObject(pub Vec<(String, FuzzJson)>);

impl FuzzJson {
    /// The `serde_json` value; non-finite floats become `null`, as JSON has no such numbers.
    pub fn to_value(&self) -> Value {
        match self {
            FuzzJson::Null => Value::Null,
            FuzzJson::Bool(b) => Value::Bool(*b),
            FuzzJson::Int(i) => Value::from(*i),
            FuzzJson::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            FuzzJson::String(s) => Value::String(s.clone()),
            FuzzJson::Array(items) => Value::Array(items.iter().map(FuzzJson::to_value).collect()),
            FuzzJson::Object(o) => o.to_value(),
        }
    }
}

impl FuzzObject {
    /// The `serde_json` object; a repeated name keeps its last value, as `serde_json` does.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        for (name, value) in &self.0 {
            map.insert(name.clone(), value.to_value());
        }
        Value::Object(map)
    }
}

#[cfg(any(feature = "fuzzing", test))]
mod arbitrary_json {
    //! Hand-written `Arbitrary` impls: a derived recursive enum would have no depth bound.

    use arbitrary::{Arbitrary, Result, Unstructured};

    use super::{FuzzJson, FuzzObject, FUZZ_ATTR_NAMES, FUZZ_JSON_DEPTH, FUZZ_JSON_WIDTH};

    fn pick(u: &mut Unstructured<'_>, known: &[&str]) -> Result<String> {
        // Seven times in eight a known word, else anything.
        if u.ratio(7u8, 8u8)? {
            Ok((*u.choose(known)?).to_owned())
        } else {
            String::arbitrary(u)
        }
    }

    fn json(u: &mut Unstructured<'_>, depth: u32) -> Result<FuzzJson> {
        let kinds = if depth == 0 { 5 } else { 7 };
        Ok(match u.choose_index(kinds)? {
            0 => FuzzJson::Null,
            1 => FuzzJson::Bool(u.arbitrary()?),
            2 => FuzzJson::Int(u.arbitrary()?),
            3 => FuzzJson::Float(u.arbitrary()?),
            4 => FuzzJson::String(pick(u, super::FUZZ_STRINGS)?),
            5 => {
                let n = u.int_in_range(0..=FUZZ_JSON_WIDTH)?;
                FuzzJson::Array((0..n).map(|_| json(u, depth - 1)).collect::<Result<_>>()?)
            }
            _ => FuzzJson::Object(object(u, depth - 1)?),
        })
    }

    fn object(u: &mut Unstructured<'_>, depth: u32) -> Result<FuzzObject> {
        let n = u.int_in_range(0..=FUZZ_JSON_WIDTH)?;
        (0..n)
            .map(|_| Ok((pick(u, FUZZ_ATTR_NAMES)?, json(u, depth)?)))
            .collect::<Result<_>>()
            .map(FuzzObject)
    }

    impl<'a> Arbitrary<'a> for FuzzJson {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            json(u, FUZZ_JSON_DEPTH)
        }
    }

    impl<'a> Arbitrary<'a> for FuzzObject {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            object(u, FUZZ_JSON_DEPTH - 1)
        }
    }
}

/// `patch_path`: parsing a PATCH path never panics; on success the printed form re-parses
/// to the same path and is a fixed point of printing.
pub fn patch_path(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match filter::parse_path(src) {
        Ok(path) => {
            let printed = path.to_string();
            let again = filter::parse_path(&printed)
                .unwrap_or_else(|e| panic!("printed path {printed:?} of {src:?} fails: {e}"));
            assert_eq!(again, path, "round trip changed the path {src:?}");
            assert_eq!(again.to_string(), printed, "printed path is not stable");
        }
        Err(e) => {
            let _ = e.render(src);
        }
    }
}

/// A scalar in a fuzzed PATCH value.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum FuzzScalar {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
}

/// A fuzzed PATCH `value`: absent, a scalar, an object of scalars, or a list of objects.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum FuzzValue {
    Absent,
    Scalar(FuzzScalar),
    Object(Vec<(String, FuzzScalar)>),
    List(Vec<Vec<(String, FuzzScalar)>>),
}

/// A fuzzed PATCH `path`: one of [`PATCH_PATHS`] (by index), raw text, or none.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum FuzzPath {
    None,
    Known(u8),
    Raw(String),
}

/// Paths Entra sends (entra-provisioning.md §4, §7) and a few RFC corner cases.
pub const PATCH_PATHS: &[&str] = &[
    "userName",
    "active",
    "nickName",
    "name.givenName",
    "name",
    "emails",
    "emails[type eq \"work\"].value",
    "emails[type eq \"work\"].primary",
    "emails[type eq \"work\"]",
    "addresses[type eq \"work\"].postalCode",
    "roles[primary eq \"True\"].value",
    "roles",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag",
    "manager",
    "members",
    "members[value eq \"m1\"]",
    "members[type eq \"User\"]",
    "displayName",
    "id",
    "meta.version",
    "groups",
];

/// One fuzzed operation.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub struct FuzzOp {
    pub op: String,
    pub path: FuzzPath,
    pub value: FuzzValue,
}

/// The structured input of `patch_apply`: a resource built from fields, and operations.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub struct PatchApplyInput {
    /// Patch a Group (members become member ops) instead of a User.
    pub group: bool,
    pub strict: bool,
    pub name: String,
    pub nick_name: Option<String>,
    pub active: Option<bool>,
    pub given_name: Option<String>,
    /// `(value, type, primary)` per email.
    pub emails: Vec<(String, String, bool)>,
    pub employee_number: Option<String>,
    pub ops: Vec<FuzzOp>,
}

fn scalar(s: &FuzzScalar) -> Value {
    match s {
        FuzzScalar::Null => Value::Null,
        FuzzScalar::Bool(b) => Value::Bool(*b),
        FuzzScalar::Int(i) => Value::from(*i),
        FuzzScalar::Str(s) => Value::String(s.clone()),
    }
}

fn object(fields: &[(String, FuzzScalar)]) -> Value {
    Value::Object(fields.iter().map(|(k, v)| (k.clone(), scalar(v))).collect())
}

impl PatchApplyInput {
    /// The resource this input describes.
    pub fn resource(&self) -> Value {
        use crate::scim::urn;
        use serde_json::json;
        let mut r = if self.group {
            json!({"schemas": [urn::GROUP], "id": "g1", "displayName": self.name})
        } else {
            json!({"schemas": [urn::USER], "id": "u1", "userName": self.name})
        };
        r["meta"] = json!({"resourceType": if self.group { "Group" } else { "User" }, "version": "W/\"1\""});
        if let Some(n) = &self.nick_name {
            r["nickName"] = json!(n);
        }
        if let Some(a) = self.active {
            r["active"] = json!(a);
        }
        if let Some(g) = &self.given_name {
            r["name"] = json!({ "givenName": g });
        }
        if !self.emails.is_empty() {
            let emails = self
                .emails
                .iter()
                .map(|(v, t, p)| json!({"value": v, "type": t, "primary": p}));
            r["emails"] = Value::Array(emails.collect());
        }
        if let Some(e) = &self.employee_number {
            r[urn::ENTERPRISE_USER] = json!({ "employeeNumber": e });
        }
        r
    }

    /// The PATCH request this input describes.
    pub fn request(&self) -> crate::scim::PatchRequest {
        let ops = self.ops.iter().map(|op| {
            let path = match &op.path {
                FuzzPath::None => None,
                FuzzPath::Known(i) => PATCH_PATHS
                    .get(usize::from(*i) % PATCH_PATHS.len())
                    .copied(),
                FuzzPath::Raw(s) => Some(s.as_str()),
            };
            let value = match &op.value {
                FuzzValue::Absent => None,
                FuzzValue::Scalar(s) => Some(scalar(s)),
                FuzzValue::Object(fields) => Some(object(fields)),
                FuzzValue::List(items) => {
                    Some(Value::Array(items.iter().map(|o| object(o)).collect()))
                }
            };
            crate::scim::PatchOperation::new(op.op.clone(), path, value)
        });
        crate::scim::PatchRequest::new(ops.collect())
    }
}

/// `patch_apply`: applying any PATCH never panics; on error the input is unchanged; on
/// success `id` and `meta` are unchanged, multi-valued attributes are still lists, a
/// Group's `members` never appear in the resource, and `changed` is truthful.
pub fn patch_apply(input: &PatchApplyInput) {
    use crate::patch::{apply, PatchOptions};
    let resource = input.resource();
    let before = resource.to_string();
    let (schema, members_attr) = if input.group {
        (groups(), Some("members"))
    } else {
        (users(), None)
    };
    let options = PatchOptions {
        strict_rfc: input.strict,
        members_attr,
    };
    let result = apply(&resource, &input.request(), schema, &options);
    assert_eq!(resource.to_string(), before, "apply modified its input");
    let Ok(outcome) = result else {
        return;
    };
    let out = &outcome.resource;
    assert_eq!(out.get("id"), resource.get("id"), "id changed");
    assert_eq!(out.get("meta"), resource.get("meta"), "meta changed");
    assert_eq!(
        outcome.changed,
        out != &resource,
        "`changed` is not truthful"
    );
    if input.group {
        assert!(
            out.get("members").is_none(),
            "members leaked into the group resource"
        );
    }
    for attr in schema.core.attributes.iter().filter(|a| a.multi_valued) {
        if let Some(v) = out.get(&attr.name) {
            assert!(v.is_array(), "multi-valued `{}` is now {v}", attr.name);
        }
    }
}

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
                let result = store.apply_patch(
                    ResourceKind::Group,
                    &gid,
                    &membership_patch(ops),
                    false,
                    None,
                    false,
                );
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
                let result = store.apply_patch(
                    ResourceKind::Group,
                    &gid,
                    &membership_patch(ops),
                    false,
                    None,
                    false,
                );
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
                let result = store.apply_patch(
                    ResourceKind::Group,
                    &gid,
                    &membership_patch(ops),
                    false,
                    None,
                    false,
                );
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

/// `replay_fixture`: any bytes as a recorded Entra sequence (`testdata/azure/*.json`
/// format). Loading never panics; a scenario that loads serializes back to JSON that loads
/// to the same scenario; substituting its strings never panics.
pub fn replay_fixture(data: &[u8]) {
    use crate::replay::scenario::{Scenario, Vars};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scenario) = Scenario::from_json(text, "fuzz") else {
        return;
    };
    let json = serde_json::to_string(&scenario).unwrap_or_else(|e| panic!("serialize: {e}"));
    let again = Scenario::from_json(&json, "fuzz").unwrap_or_else(|e| panic!("reload: {e}"));
    assert_eq!(again, scenario, "scenario changed on a JSON round trip");
    let mut vars = Vars::seeded(1);
    for (name, template) in &scenario.vars {
        if let Ok(v) = vars.substitute(template) {
            vars.set(name, v);
        }
    }
    for step in &scenario.steps {
        let _ = vars.substitute(&step.request.path);
        if let Some(body) = &step.request.body {
            let _ = vars.substitute_json(body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_path_survives_valid_invalid_and_non_utf8_input() {
        for src in [
            &b"emails[type eq \"work\"].value"[..],
            b"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            b"members[value eq \"a\" or value eq \"b\"]",
            b"emails[type eq",
            b"",
            b"\xff\xfe",
        ] {
            patch_path(src);
        }
    }

    fn input(group: bool, ops: Vec<FuzzOp>) -> PatchApplyInput {
        PatchApplyInput {
            group,
            strict: false,
            name: "bjensen".into(),
            nick_name: None,
            active: Some(true),
            given_name: Some("Barbara".into()),
            emails: vec![("b@example.com".into(), "work".into(), true)],
            employee_number: None,
            ops,
        }
    }

    fn op(op: &str, path: FuzzPath, value: FuzzValue) -> FuzzOp {
        FuzzOp {
            op: op.into(),
            path,
            value,
        }
    }

    #[test]
    fn patch_apply_holds_its_properties_on_every_known_path() {
        let values = [
            FuzzValue::Absent,
            FuzzValue::Scalar(FuzzScalar::Str("False".into())),
            FuzzValue::Scalar(FuzzScalar::Int(3)),
            FuzzValue::Object(vec![("value".into(), FuzzScalar::Str("m1".into()))]),
            FuzzValue::List(vec![vec![("value".into(), FuzzScalar::Str("m1".into()))]]),
        ];
        for group in [false, true] {
            for i in 0..PATCH_PATHS.len() {
                for name in ["Add", "replace", "remove"] {
                    for v in &values {
                        let i = u8::try_from(i).unwrap();
                        patch_apply(&input(group, vec![op(name, FuzzPath::Known(i), v.clone())]));
                    }
                }
            }
            patch_apply(&input(
                group,
                vec![op("add", FuzzPath::Raw("a[".into()), FuzzValue::Absent)],
            ));
            patch_apply(&input(group, Vec::new()));
        }
    }

    #[test]
    fn membership_model_agrees_on_a_sequence_with_every_step_kind() {
        use MembershipStep::*;
        membership(&[
            CreateUser(0),
            CreateUser(1),
            CreateGroup(0),
            CreateGroup(1),
            Add {
                group: 0,
                members: vec![0, 2, 3],
                legacy: true,
            },
            Add {
                group: 1,
                members: vec![1],
                legacy: false,
            },
            Add {
                group: 1,
                members: vec![7],
                legacy: true,
            },
            DeleteUser(1),
            Add {
                group: 0,
                members: vec![2],
                legacy: false,
            },
            Remove {
                group: 0,
                members: vec![0, 4],
                legacy: false,
            },
            Replace {
                group: 1,
                members: vec![0, 1],
            },
            DeleteGroup(0),
            RemoveAll { group: 1 },
        ]);
    }

    /// Every saved finding in `testdata/fuzz/<target>/` (libFuzzer's raw input bytes,
    /// decoded the way the target decodes them) runs through its target again.
    #[test]
    fn saved_fuzz_findings_replay_without_failing() {
        use arbitrary::{Arbitrary, Unstructured};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fuzz");
        let mut replayed = 0;
        for target in [
            "filter_parser",
            "filter_eval",
            "patch_path",
            "patch_apply",
            "membership",
        ] {
            let Ok(entries) = std::fs::read_dir(root.join(target)) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                let data = std::fs::read(entry.path()).unwrap();
                let u = Unstructured::new(&data);
                match target {
                    "filter_parser" => filter_parser(&data),
                    "patch_path" => patch_path(&data),
                    "replay_fixture" => replay_fixture(&data),
                    "filter_eval" => {
                        if let Ok(input) = FilterEvalInput::arbitrary_take_rest(u) {
                            filter_eval_input(&input);
                        }
                    }
                    "patch_apply" => {
                        if let Ok(input) = PatchApplyInput::arbitrary_take_rest(u) {
                            patch_apply(&input);
                        }
                    }
                    _ => {
                        if let Ok(steps) = Vec::<MembershipStep>::arbitrary_take_rest(u) {
                            membership(&steps);
                        }
                    }
                }
                replayed += 1;
            }
        }
        eprintln!("replayed {replayed} saved fuzz findings");
    }

    #[test]
    fn replay_fixture_round_trips_every_built_in_scenario() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/azure");
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            replay_fixture(&std::fs::read(entry.path()).unwrap());
        }
        replay_fixture(b"{\"steps\": [");
        replay_fixture(b"\xff");
    }
}
