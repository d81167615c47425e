//! Every proptest strategy of the suite, in one place.

use proptest::prelude::*;
use serde_json::{json, Map, Number, Value};

use scimock::filter::{AttrExp, AttrOp, AttrPath, CompValue, CompareOp, Filter, ValuePath};

const NAMES: &[&str] = &[
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
    "manager",
    "employeeNumber",
];
const URNS: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User",
];
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "pr", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "true",
    "false", "null",
];

/// An attribute name: mostly SCIM's own, sometimes a random ATTRNAME that is no keyword.
pub(crate) fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(NAMES).prop_map(str::to_owned),
        1 => "[a-zA-Z][a-zA-Z0-9_-]{0,7}"
            .prop_filter("keyword", |s| !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s))),
    ]
}

/// `attrPath`, optionally URN-qualified and with a sub-attribute.
pub(crate) fn attr_path() -> impl Strategy<Value = AttrPath> {
    (
        proptest::option::weighted(0.15, proptest::sample::select(URNS)),
        attr_name(),
        proptest::option::weighted(0.3, attr_name()),
    )
        .prop_map(|(urn, name, sub)| AttrPath {
            urn: urn.map(str::to_owned),
            name,
            sub_attr: sub,
        })
}

fn top_level_path() -> impl Strategy<Value = AttrPath> {
    attr_path().prop_map(|p| AttrPath {
        sub_attr: None,
        ..p
    })
}

/// `compValue`: any JSON string, integers, finite floats, booleans, null.
pub(crate) fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        4 => any::<String>().prop_map(CompValue::String),
        1 => any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        1 => any::<f64>()
            .prop_filter_map("finite", Number::from_f64)
            .prop_map(CompValue::Number),
        1 => any::<bool>().prop_map(CompValue::Bool),
        1 => Just(CompValue::Null),
    ]
}

fn attr_op() -> impl Strategy<Value = AttrOp> {
    prop_oneof![
        1 => Just(AttrOp::Present),
        6 => (proptest::sample::select(CompareOp::ALL.to_vec()), comp_value())
            .prop_map(|(op, v)| AttrOp::Compare(op, v)),
    ]
}

fn attr_exp() -> impl Strategy<Value = Filter> {
    (attr_path(), attr_op()).prop_map(|(path, op)| Filter::Attr(AttrExp { path, op }))
}

/// Trees of `and`/`or`/`not` over `leaf`, with n-ary operators of 2–4 operands.
fn logic(leaf: BoxedStrategy<Filter>, depth: u32) -> BoxedStrategy<Filter> {
    leaf.prop_recursive(depth, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..=4).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 2..=4).prop_map(Filter::Or),
            inner.prop_map(Filter::negate),
        ]
    })
    .boxed()
}

/// `valFilter`: what may stand inside `[...]` (no nested value paths).
fn val_filter() -> BoxedStrategy<Filter> {
    logic(attr_exp().boxed(), 2)
}

fn value_path() -> impl Strategy<Value = ValuePath> {
    (top_level_path(), val_filter()).prop_map(|(attr, f)| ValuePath {
        attr,
        filter: Box::new(f),
    })
}

/// Any filter the parser can produce.
pub(crate) fn filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        6 => attr_exp(),
        1 => value_path().prop_map(Filter::ValuePath),
        1 => (value_path(), attr_name(), attr_op()).prop_map(|(vp, sub, op)| {
            Filter::ValuePathAttr { value_path: vp, sub_attr: sub, op }
        }),
    ];
    logic(leaf.boxed(), 4)
}

/// Filter-like text: tokens glued with random spacing, plus raw noise. Mostly invalid.
pub(crate) fn filter_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        proptest::sample::select(KEYWORDS).prop_map(str::to_owned),
        attr_name(),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("\"".to_owned()),
        any::<String>().prop_map(|s| format!("{:?}", s)),
        "-?[0-9]{1,3}(\\.[0-9])?".prop_map(|s| s),
        any::<char>().prop_map(String::from),
    ];
    let sep = prop_oneof![Just(" "), Just(""), Just("  "), Just("\t")];
    proptest::collection::vec((token, sep), 0..12)
        .prop_map(|parts| parts.into_iter().map(|(t, s)| t + s).collect())
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-20i64..20).prop_map(Value::from),
        "[a-zA-Z0-9@. ]{0,6}".prop_map(Value::String),
        Just(json!("2018-03-27T19:59:26.000Z")),
    ]
}

/// A resource-like JSON object keyed by SCIM attribute names.
pub(crate) fn resource() -> impl Strategy<Value = Value> {
    let leaf = scalar();
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(attr_name(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    });
    proptest::collection::btree_map(attr_name(), value, 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}
