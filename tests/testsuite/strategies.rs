//! Every proptest strategy of the test suite, in one place: resources to evaluate filters
//! against, PATCH requests and member operations for the PATCH model, membership and store
//! state machines, expressions. Filters and the fuzzer's sequences come from
//! `scimock::strategies`.

use proptest::prelude::*;
use scimock::fuzzing::{MembershipStep, MEMBERSHIP_GROUPS, MEMBERSHIP_USERS};
use scimock::scim::urn;
use scimock::store::MemberOp;
use serde_json::{json, Map, Value};

/// The filter strategies are the library's (`scimock::strategies`, feature `proptest`,
/// which the self dev-dependency in Cargo.toml enables for `cargo test`).
pub(crate) use scimock::strategies::{attr_name, filter, filter_text};

/// Extension URNs resources carry objects under (RFC 7643 §3.3).
const URNS: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User",
];

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

/// [`resource`] plus, sometimes, extension objects under URN keys (in any ASCII case) and
/// members whose names differ from others only in case: what a projection must not lose.
pub(crate) fn resource_with_extensions() -> impl Strategy<Value = Value> {
    let ext = (proptest::sample::select(URNS), any::<bool>(), resource());
    (
        resource(),
        proptest::collection::vec(ext, 0..3),
        proptest::option::weighted(0.3, attr_name()),
    )
        .prop_map(|(mut base, exts, shout)| {
            let obj = base.as_object_mut().expect("resource() is an object");
            for (urn, upper, inner) in exts {
                let key = if upper {
                    urn.to_ascii_uppercase()
                } else {
                    urn.to_owned()
                };
                obj.insert(key, inner);
            }
            if let Some(name) = shout {
                obj.insert(name.to_ascii_uppercase(), json!("SHOUT"));
            }
            base
        })
}

/// A multi-valued complex attribute's value, or `None` for absent: elements whose members
/// (`value` among them, or not) are null, `""`, a string, a boolean or `[]`, so elements
/// come empty, all-null, valueless but present, and full.
pub(crate) fn complex_list() -> impl Strategy<Value = Option<Value>> {
    let member = prop_oneof![
        Just(Value::Null),
        Just(json!("")),
        Just(json!("x")),
        Just(json!(true)),
        Just(json!([])),
    ];
    let element = proptest::collection::btree_map(
        proptest::sample::select(vec!["value", "type", "locality", "display", "primary"]),
        member,
        0..4,
    )
    .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    proptest::option::weighted(
        0.9,
        prop_oneof![
            4 => proptest::collection::vec(element, 0..4).prop_map(Value::Array),
            1 => Just(Value::Null),
        ],
    )
}

// ---- PATCH and membership ----------------------------------------------------------

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

// ---- group membership ----------------------------------------------------------------

/// Settings for properties over real HTTP: 32 cases unless `PROPTEST_CASES` says
/// otherwise (each case starts a server and makes dozens of requests).
pub(crate) fn http_config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 32;
    }
    config
}

/// 1 to 3 member numbers: even ones name user slots, odd ones group slots
/// ([`MembershipStep`]), so nested groups and self-membership come up.
fn member_numbers() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0..2 * MEMBERSHIP_USERS, 1..=3)
}

/// Sequences of steps of the shared membership model (`scimock::fuzzing`), opened by
/// two group creates so the member steps have groups to work on; creates and adds are
/// weighted up so groups fill.
pub(crate) fn membership_steps() -> impl Strategy<Value = Vec<MembershipStep>> {
    let group = || 0..MEMBERSHIP_GROUPS;
    let step = prop_oneof![
        3 => (0..MEMBERSHIP_USERS).prop_map(MembershipStep::CreateUser),
        1 => (0..MEMBERSHIP_USERS).prop_map(MembershipStep::DeleteUser),
        1 => group().prop_map(MembershipStep::CreateGroup),
        1 => group().prop_map(MembershipStep::DeleteGroup),
        3 => (group(), member_numbers(), any::<bool>())
            .prop_map(|(group, members, legacy)| MembershipStep::Add { group, members, legacy }),
        2 => (group(), member_numbers(), any::<bool>())
            .prop_map(|(group, members, legacy)| MembershipStep::Remove { group, members, legacy }),
        1 => (group(), proptest::collection::vec(0..2 * MEMBERSHIP_USERS, 0..=3))
            .prop_map(|(group, members)| MembershipStep::Replace { group, members }),
        1 => group().prop_map(|group| MembershipStep::RemoveAll { group }),
    ];
    proptest::collection::vec(step, 1..16).prop_map(|steps| {
        let open = [
            MembershipStep::CreateGroup(0),
            MembershipStep::CreateGroup(1),
        ];
        open.into_iter().chain(steps).collect()
    })
}

/// Per task: users to add one PATCH at a time, then how many of them to remove again.
pub(crate) fn concurrent_plan() -> impl Strategy<Value = Vec<(Vec<usize>, usize)>> {
    proptest::collection::vec(
        (proptest::collection::vec(0..12usize, 1..4), 0..3usize),
        2..5,
    )
}

// ---- store operations ----------------------------------------------------------------

/// User and group names for the store state machine; they collide on purpose
/// (`userName` and `displayName` are unique case-insensitively).
pub(crate) const NAMES: &[&str] = &["ann", "ANN", "bob", "cy"];

/// One operation of the store state machine; `usize`s are indexes into [`NAMES`] or
/// slots (the n-th live user or group, so some miss).
#[derive(Debug, Clone)]
pub(crate) enum StoreOp {
    CreateUser(usize),
    GetUser(usize),
    ReplaceUser(usize, usize),
    DeleteUser(usize),
    CreateGroup(usize),
    AddMember(usize, usize),
    DeleteGroup(usize),
}

fn name_index() -> impl Strategy<Value = usize> {
    0..NAMES.len()
}

fn store_slot() -> impl Strategy<Value = usize> {
    0..6usize
}

/// Any store operation.
pub(crate) fn store_op() -> impl Strategy<Value = StoreOp> {
    prop_oneof![
        name_index().prop_map(StoreOp::CreateUser),
        store_slot().prop_map(StoreOp::GetUser),
        (store_slot(), name_index()).prop_map(|(s, i)| StoreOp::ReplaceUser(s, i)),
        store_slot().prop_map(StoreOp::DeleteUser),
        name_index().prop_map(StoreOp::CreateGroup),
        (store_slot(), store_slot()).prop_map(|(g, u)| StoreOp::AddMember(g, u)),
        store_slot().prop_map(StoreOp::DeleteGroup),
    ]
}

/// The user operations the HTTP state machine sends: create, get, delete.
pub(crate) fn store_http_op() -> impl Strategy<Value = StoreOp> {
    prop_oneof![
        name_index().prop_map(StoreOp::CreateUser),
        store_slot().prop_map(StoreOp::GetUser),
        store_slot().prop_map(StoreOp::DeleteUser),
    ]
}

// ---- attribute-mapping expressions (`scimock::expr`) --------------------------------------

/// Source attribute names the expression strategies draw from.
const EXPR_ATTRS: &[&str] = &[
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
    "IsSoftDeleted",
    "proxyAddresses",
    "StatusHireDate",
    "country",
    "extension_abc_dept",
];

/// A leaf of an expression: attribute, string (quotes and backslashes included), number
/// literal, hex literal, or constant.
fn expr_leaf() -> BoxedStrategy<scimock::expr::Expr> {
    use scimock::expr::{Constant, Expr};
    prop_oneof![
        3 => proptest::sample::select(EXPR_ATTRS).prop_map(Expr::attr),
        3 => "[a-zA-Z0-9 @.,:\"\\\\()\\[\\]$*+?{}-]{0,10}".prop_map(Expr::Str),
        1 => "-?[0-9]{1,12}(\\.[0-9]{1,4})?".prop_map(Expr::Number),
        1 => any::<u64>().prop_map(Expr::Hex),
        1 => proptest::sample::select(Constant::ALL.to_vec()).prop_map(Expr::Constant),
        1 => Just(Expr::str("2012-03-16-07:00")),
        1 => proptest::sample::select(vec!["d", "m", "yyyy", "ww", "h", "n", "s"]).prop_map(Expr::str),
    ]
    .boxed()
}

/// A call to `func` whose arguments come from `inner`, with a slot count the function
/// accepts and empty slots only where they are optional.
fn expr_call(
    func: scimock::expr::Func,
    inner: BoxedStrategy<scimock::expr::Expr>,
) -> BoxedStrategy<scimock::expr::Expr> {
    use scimock::expr::Expr;
    let min = func.min_args();
    let counts: Vec<usize> = (min..=min + 4).filter(|n| func.accepts(*n)).collect();
    proptest::sample::select(counts)
        .prop_flat_map(move |n| {
            let slots: Vec<BoxedStrategy<Option<Expr>>> = (0..n)
                .map(|i| {
                    if func.slot_optional(i, n) {
                        proptest::option::weighted(0.6, inner.clone()).boxed()
                    } else {
                        inner.clone().prop_map(Some).boxed()
                    }
                })
                .collect();
            slots.prop_map(move |args| Expr::Call { func, args })
        })
        .boxed()
}

/// Expression ASTs the parser can produce: nested calls to every function (but
/// SelectUniqueValue, which must be the whole expression), and comparisons whose operands
/// are not comparisons.
pub(crate) fn expr() -> impl Strategy<Value = scimock::expr::Expr> {
    use scimock::expr::{CompareOp, Expr, Func};
    let funcs: Vec<Func> = Func::ALL
        .iter()
        .copied()
        .filter(|f| *f != Func::SelectUniqueValue)
        .collect();
    let operand = expr_leaf().prop_recursive(4, 32, 7, move |inner| {
        let funcs = funcs.clone();
        proptest::sample::select(funcs)
            .prop_flat_map(move |f| expr_call(f, inner.clone()))
            .boxed()
    });
    let compare = (
        proptest::sample::select(CompareOp::ALL.to_vec()),
        operand.clone(),
        operand.clone(),
    )
        .prop_map(|(op, l, r)| Expr::Compare {
            op,
            left: Box::new(l),
            right: Box::new(r),
        });
    let top = operand.clone();
    prop_oneof![
        6 => operand,
        2 => compare,
        1 => proptest::collection::vec(top, 2..=3)
            .prop_map(|rules| Expr::call(Func::SelectUniqueValue, rules)),
    ]
}

/// A source object for expressions: each attribute absent, NULL, a string (dates, booleans
/// and numbers as text among them), a number, a boolean, or a multi-valued array.
pub(crate) fn expr_source() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        1 => Just(Value::Null),
        4 => prop_oneof![
            Just("".to_owned()),
            Just("True".to_owned()),
            Just("False".to_owned()),
            Just("2012-03-16-07:00".to_owned()),
            Just("8/25/2021 5:41:18 PM".to_owned()),
            Just("Zoë Ærø".to_owned()),
            "[a-zA-Z0-9 @.,-]{0,12}",
            "-?[0-9]{1,6}",
        ]
        .prop_map(Value::String),
        1 => any::<i32>().prop_map(|n| json!(n)),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => proptest::collection::vec("[a-z:@.]{0,8}", 0..4).prop_map(|v| json!(v)),
    ];
    proptest::collection::vec(
        (
            proptest::sample::select(EXPR_ATTRS),
            proptest::option::of(value),
        ),
        0..6,
    )
    .prop_map(|pairs| {
        let mut m = Map::new();
        for (k, v) in pairs {
            if let Some(v) = v {
                m.insert(k.to_owned(), v);
            }
        }
        Value::Object(m)
    })
}

/// A `scimock fuzz` case: the generator's own sequence (`scimock::strategies::sequence`)
/// for a random seed and step budget, with the budget.
pub(crate) fn fuzz_sequence() -> impl Strategy<Value = (usize, Vec<scimock::fuzz::Step>)> {
    (1usize..60, any::<bool>())
        .prop_flat_map(|(n, groups)| (Just(n), scimock::strategies::sequence(n, groups)))
}
