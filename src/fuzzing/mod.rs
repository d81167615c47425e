//! Bodies of the fuzz targets, shared with the tests that replay saved crashes, so a
//! finding reproduces under plain `cargo test`. Each function panics exactly when the
//! property it checks is broken.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::filter;
use crate::scim::ResourceSchema;

mod expr;
mod http;
mod membership;
mod patch;
#[cfg(feature = "entra")]
mod replay;
#[cfg(any(feature = "fuzzing", test))]
mod targets;
mod wire;

pub use expr::{expr_eval, expr_parser, ExprEvalInput, FuzzAttrValue};
pub use http::{http_request, FuzzBody, HttpRequestInput};
pub use membership::{
    membership, patch_group, run_membership, Expected, MembershipModel, MembershipStep,
    MembershipTarget, MEMBERSHIP_GROUPS, MEMBERSHIP_MAX_STEPS, MEMBERSHIP_USERS,
};
pub use patch::{
    patch_apply, patch_path, FuzzOp, FuzzPath, FuzzScalar, FuzzValue, PatchApplyInput, PATCH_PATHS,
};
#[cfg(feature = "entra")]
pub use replay::replay_fixture;
#[cfg(any(feature = "fuzzing", test))]
pub use targets::{committed_inputs, replay_files, FuzzTarget, ReplayFailure};
pub use wire::{http_bytes, BenchServer};

/// The User schema, parsed once per process: fuzzers call in thousands of times a second.
pub(crate) fn users() -> &'static ResourceSchema {
    static SCHEMA: OnceLock<ResourceSchema> = OnceLock::new();
    SCHEMA.get_or_init(crate::scim::user_resource)
}

/// The Group schema, parsed once per process.
pub(crate) fn groups() -> &'static ResourceSchema {
    static SCHEMA: OnceLock<ResourceSchema> = OnceLock::new();
    SCHEMA.get_or_init(crate::scim::group_resource)
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

/// SCIM attribute names (RFC 7643 §4.1, §4.2, §4.3, §3.1) the fuzzers and the proptest
/// strategies mostly draw from, so filters and resources over real SCIM paths hit. The
/// one list: `scimock::strategies` (feature `proptest`) uses it too.
pub const SCIM_ATTR_NAMES: &[&str] = &[
    "userName",
    "displayName",
    "active",
    "emails",
    "value",
    "type",
    "primary",
    "name",
    "givenName",
    "familyName",
    "title",
    "meta",
    "created",
    "lastModified",
    "members",
    "externalId",
    "id",
    "loginCount",
    "roles",
    "nickName",
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

    use super::{FuzzJson, FuzzObject, FUZZ_JSON_DEPTH, FUZZ_JSON_WIDTH, SCIM_ATTR_NAMES};

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
            .map(|_| Ok((pick(u, SCIM_ATTR_NAMES)?, json(u, depth)?)))
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
            // Member 3 is group slot 1 itself: refused, nothing changes.
            Add {
                group: 1,
                members: vec![3],
                legacy: false,
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

    #[test]
    fn replay_fixture_round_trips_every_built_in_scenario() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/azure");
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            replay_fixture(&std::fs::read(entry.path()).unwrap());
        }
        replay_fixture(b"{\"steps\": [");
        replay_fixture(b"\xff");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// any decoded request gets a well-formed SCIM answer and the store stays
        /// consistent: random bytes, decoded into `HttpRequestInput` as libFuzzer's are,
        /// so proptest shrinks a failure to a small input
        #[test]
        fn http_request_answers_any_request_with_scim_errors(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)
        ) {
            use arbitrary::{Arbitrary, Unstructured};
            if let Ok(input) = HttpRequestInput::arbitrary_take_rest(Unstructured::new(&bytes)) {
                http_request(&input);
            }
        }
    }
}
