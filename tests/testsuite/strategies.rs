//! Every proptest strategy of the test suite, in one place.

use proptest::prelude::*;
use scimock::patch::MemberOp;
use scimock::scim::urn;
use serde_json::{json, Value};

/// Proptest settings: 1,000 cases unless `PROPTEST_CASES` says otherwise.
pub(crate) fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 1000;
    }
    config
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("Barbara".to_owned()),
        "[a-z]{1,6}",
    ]
}

fn email() -> impl Strategy<Value = Value> {
    (
        word(),
        prop_oneof![Just("work"), Just("home"), Just("other")],
    )
        .prop_map(|(v, t)| json!({"value": format!("{v}@example.com"), "type": t}))
}

/// A small User: always an id and a userName, sometimes the optional attributes.
pub(crate) fn user() -> impl Strategy<Value = Value> {
    (
        word(),
        proptest::option::of(word()),
        proptest::option::of(any::<bool>()),
        proptest::option::of((proptest::option::of(word()), proptest::option::of(word()))),
        proptest::collection::vec(email(), 0..3),
    )
        .prop_map(|(user_name, nick, active, name, emails)| {
            let mut u = json!({"schemas": [urn::USER], "id": "u1", "userName": user_name});
            if let Some(n) = nick {
                u["nickName"] = json!(n);
            }
            if let Some(a) = active {
                u["active"] = json!(a);
            }
            if let Some((given, family)) = name {
                let mut n = serde_json::Map::new();
                if let Some(g) = given {
                    n.insert("givenName".into(), json!(g));
                }
                if let Some(f) = family {
                    n.insert("familyName".into(), json!(f));
                }
                if !n.is_empty() {
                    u["name"] = Value::Object(n);
                }
            }
            if !emails.is_empty() {
                u["emails"] = Value::Array(emails);
            }
            u
        })
}

/// An op name in either Entra dialect, or an unknown one now and then.
fn op_name(kind: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(kind.to_owned()),
        2 => Just(format!("{}{}", kind[..1].to_uppercase(), &kind[1..])),
        1 => Just(kind.to_uppercase()),
    ]
}

fn string_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => word().prop_map(Value::from),
        1 => Just(json!("")),
        1 => Just(Value::Null),
        1 => Just(json!(7)),
        1 => Just(json!(true)),
    ]
}

fn bool_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(true)),
        Just(json!(false)),
        Just(json!("True")),
        Just(json!("False")),
        Just(json!("false")),
        Just(json!("maybe")),
        Just(json!(1)),
    ]
}

/// One PATCH operation from the space the reference model covers.
pub(crate) fn model_op() -> impl Strategy<Value = Value> {
    let set = prop_oneof![Just("add"), Just("replace")];
    prop_oneof![
        (set.clone(), prop_oneof![Just("userName"), Just("nickName"), Just("displayName"), Just("name.givenName"), Just("name.familyName")], string_value())
            .prop_flat_map(|(k, p, v)| op_name(k).prop_map(move |op| json!({"op": op, "path": p, "value": v.clone()}))),
        (set.clone(), bool_value())
            .prop_flat_map(|(k, v)| op_name(k).prop_map(move |op| json!({"op": op, "path": "active", "value": v.clone()}))),
        (set.clone(), string_value())
            .prop_flat_map(|(k, v)| op_name(k).prop_map(move |op| json!({"op": op, "path": "emails[type eq \"work\"].value", "value": v.clone()}))),
        prop_oneof![Just("userName"), Just("nickName"), Just("active"), Just("name.givenName"), Just("name"), Just("emails"), Just("emails[type eq \"work\"]")]
            .prop_flat_map(|p| op_name("remove").prop_map(move |op| json!({"op": op, "path": p}))),
        (set, prop_oneof![Just(json!("u1")), Just(json!("u2"))])
            .prop_flat_map(|(k, v)| op_name(k).prop_map(move |op| json!({"op": op, "path": "id", "value": v.clone()}))),
        Just(json!({"op": "move", "path": "nickName", "value": "x"})),
    ]
}

/// A PATCH body of 1 to 5 model operations.
pub(crate) fn model_request() -> impl Strategy<Value = Value> {
    proptest::collection::vec(model_op(), 1..6)
        .prop_map(|ops| json!({"schemas": [urn::PATCH_OP], "Operations": ops}))
}

/// An operation that always fails on [`user`]s: id is readOnly, userName is a string,
/// `move` is no op, and remove needs a path.
pub(crate) fn failing_op() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"op": "replace", "path": "id", "value": "someone-else"})),
        Just(json!({"op": "replace", "path": "userName", "value": 42})),
        Just(json!({"op": "move", "path": "nickName", "value": "x"})),
        Just(json!({"op": "remove"})),
        Just(json!({"op": "add", "path": "emails[type co \"zzz\"].value", "value": "x@y"})),
    ]
}

fn member(id: &'static str) -> Value {
    json!({"value": id})
}

fn member_id() -> impl Strategy<Value = &'static str> + Clone {
    prop_oneof![Just("m1"), Just("m2"), Just("m3"), Just("m4")]
}

/// A member list without duplicate ids.
pub(crate) fn member_list() -> impl Strategy<Value = Vec<Value>> {
    proptest::sample::subsequence(vec!["m1", "m2", "m3", "m4"], 0..=4)
        .prop_map(|ids| ids.into_iter().map(member).collect())
}

/// Any member operation over the ids `m1`..`m4`.
pub(crate) fn member_op() -> impl Strategy<Value = MemberOp> {
    let ids = proptest::collection::vec(member_id(), 0..4);
    prop_oneof![
        ids.clone()
            .prop_map(|v| MemberOp::Add(v.into_iter().map(member).collect())),
        ids.clone()
            .prop_map(|v| MemberOp::Remove(v.into_iter().map(str::to_owned).collect())),
        ids.prop_map(|v| MemberOp::Replace(v.into_iter().map(member).collect())),
        Just(MemberOp::RemoveAll),
        member_id().prop_map(|id| {
            let f =
                scimock::filter::parse(&format!("value eq \"{id}\" or value sw \"m4\"")).unwrap();
            MemberOp::RemoveWhere(f)
        }),
    ]
}
