//! RFC 7644 §3.4.2.2 filters, the whole grammar, as [`Filter`] trees: attribute paths
//! (URI-qualified, with sub-attributes), every comparison operator over every `compValue`,
//! `pr`, value paths (`emails[type eq "work"]`, `emails[…].value`), and `and` / `or` / `not`
//! nested. Printed with `Display`, a tree is the filter text a client sends; the parser reads
//! it back to the same tree. Plus filter-like noise for a parser's totality.

use proptest::prelude::*;
use serde_json::Number;

use crate::filter::{AttrExp, AttrOp, AttrPath, CompValue, CompareOp, Filter, ValuePath};

/// URNs an `attrPath` is prefixed with mostly: the core User, the enterprise extension
/// (RFC 7643 §4.3), and a custom extension as Entra writes one.
const URNS: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User",
];

/// The filter grammar's words (RFC 7644 §3.4.2.2, figure 3 and its ABNF), which an
/// `ATTRNAME` never is here.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "pr", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "true",
    "false", "null",
];

/// SCIM's attribute names from the one list the fuzz targets draw from too
/// (`scimock::fuzzing::SCIM_ATTR_NAMES`); URNs are left out, as `attrPath` takes its URN
/// prefix apart ([`attr_path`] adds URNs itself).
fn names() -> Vec<&'static str> {
    crate::fuzzing::SCIM_ATTR_NAMES
        .iter()
        .copied()
        .filter(|n| !n.starts_with("urn:"))
        .collect()
}

/// An `ATTRNAME` (RFC 7643 §2.1): mostly SCIM's own (`userName`, `emails`, `members`, …),
/// sometimes a random one that is no keyword of the filter grammar.
pub fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(names()).prop_map(str::to_owned),
        1 => "[a-zA-Z][a-zA-Z0-9_-]{0,7}"
            .prop_filter("keyword", |s| !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s))),
    ]
}

/// A schema URI that prefixes an `attrPath`: SCIM's URNs mostly, sometimes any RFC 3986
/// URI a filter word can carry (a scheme; an authority or a rootless path; a query; a
/// fragment).
pub fn schema_uri() -> impl Strategy<Value = String> {
    let pchars = "[a-zA-Z0-9._~!$&'*+,;=:@-]";
    let other = (
        regex("[a-zA-Z][a-zA-Z0-9+.-]{0,4}"),
        prop_oneof![
            Just(String::new()),
            regex(&format!("{pchars}{{1,6}}(/{pchars}{{0,4}}){{0,2}}")),
            regex(&format!(
                "//[a-z0-9.-]{{0,6}}(:[0-9]{{1,4}})?(/{pchars}{{0,4}}(%[0-9a-fA-F]{{2}})?){{0,2}}"
            )),
        ],
        regex("(\\?[a-zA-Z0-9/?:@-]{0,4})?"),
        regex("(#[a-zA-Z0-9/?:@-]{0,4})?"),
    )
        .prop_map(|(scheme, hier, query, fragment)| format!("{scheme}:{hier}{query}{fragment}"));
    prop_oneof![
        4 => proptest::sample::select(URNS).prop_map(str::to_owned),
        1 => other,
    ]
}

/// A string strategy from a regex known to be valid; one that is not (a bug here) gives
/// the empty string rather than a panic.
fn regex(r: &str) -> BoxedStrategy<String> {
    match proptest::string::string_regex(r) {
        Ok(s) => s.boxed(),
        Err(_) => Just(String::new()).boxed(),
    }
}

/// An `attrPath` (RFC 7644 §3.4.2.2): optionally URI-qualified, optionally with a
/// sub-attribute.
pub fn attr_path() -> impl Strategy<Value = AttrPath> {
    (
        proptest::option::weighted(0.15, schema_uri()),
        attr_name(),
        proptest::option::weighted(0.3, attr_name()),
    )
        .prop_map(|(urn, name, sub)| AttrPath {
            urn,
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

/// A `compValue` (RFC 7644 §3.4.2.2): any JSON string, integers, finite floats, booleans,
/// `null`.
pub fn comp_value() -> impl Strategy<Value = CompValue> {
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

/// Trees of `and` / `or` / `not` over `leaf`, with n-ary operators of 2–4 operands.
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

/// `valFilter`: what may stand inside `[…]` (no nested value paths).
fn val_filter() -> BoxedStrategy<Filter> {
    logic(attr_exp().boxed(), 2)
}

fn value_path() -> impl Strategy<Value = ValuePath> {
    (top_level_path(), val_filter()).prop_map(|(attr, f)| ValuePath {
        attr,
        filter: Box::new(f),
    })
}

/// A filter as RFC 7644 §3.4.2.2 writes them: any tree the parser can produce
/// (`filter.to_string()` is its text). [`entra_filter`](super::entra_filter) is the
/// narrow set Entra sends.
pub fn filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        6 => attr_exp(),
        1 => value_path().prop_map(Filter::ValuePath),
        1 => (value_path(), attr_name(), attr_op()).prop_map(|(vp, sub, op)| {
            Filter::ValuePathAttr { value_path: vp, sub_attr: sub, op }
        }),
    ];
    logic(leaf.boxed(), 4)
}

/// Filter-like text: the grammar's tokens glued with random spacing, plus raw noise;
/// mostly invalid. For a parser's totality (it answers every input, never panics).
pub fn filter_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        proptest::sample::select(KEYWORDS).prop_map(str::to_owned),
        attr_name(),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("\"".to_owned()),
        any::<String>().prop_map(|s| format!("{s:?}")),
        regex("-?[0-9]{1,3}(\\.[0-9])?"),
        any::<char>().prop_map(String::from),
    ];
    let sep = prop_oneof![Just(" "), Just(""), Just("  "), Just("\t")];
    proptest::collection::vec((token, sep), 0..12)
        .prop_map(|parts| parts.into_iter().map(|(t, s)| t + s).collect())
}
