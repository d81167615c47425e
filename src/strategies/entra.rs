//! What Entra sends, as values: users and groups as its default mappings create them,
//! its matching filters, and its PATCH bodies in both dialects. The shapes are
//! `scimock provision`'s (`provision::wire`, recorded in `testdata/azure/`); the values are
//! the fuzzer's (docs/fuzz.md, "What is generated"): free text full of what breaks naive
//! endpoints, matching values narrowed to what Entra's sources can hold.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::entra::{wire, Dialect};
use crate::fuzz::values::{MATCHING_SPECIAL, SPECIAL, UPN_LOCAL_MAX, UPN_SPECIAL};
use crate::fuzz::{Attr, UserValues};
use crate::provision::wire as shapes;

/// The domain of generated UPNs and mail addresses (Microsoft's example tenant).
const DOMAIN: &str = "contoso.com";

fn one_of(r: &str) -> BoxedStrategy<String> {
    match proptest::string::string_regex(r) {
        Ok(s) => s.boxed(),
        Err(_) => Just("x".to_owned()).boxed(),
    }
}

/// Text of letters, digits and `special`: 1–11 pieces mostly, 64–299 one time in ten
/// (long values break fixed-width columns); never blank. Shrinks to fewer, plainer pieces.
fn text_of(special: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = || {
        prop_oneof![
            3 => one_of("[a-zA-Z]"),
            1 => one_of("[0-9]"),
            2 => proptest::sample::select(special).prop_map(str::to_owned),
        ]
    };
    prop_oneof![
        9 => proptest::collection::vec(piece(), 1..12),
        1 => proptest::collection::vec(piece(), 64..300),
    ]
    .prop_map(|pieces| {
        let text = pieces.concat();
        // Spaces only would be trimmed or refused by some stores as empty.
        if text.trim().is_empty() {
            text + "x"
        } else {
            text
        }
    })
}

/// Free text (`displayName`, `title`, `name`, `department`): letters, digits, `"`, `\`,
/// `+`, `@`, `%`, `&`, `/`, `'`, spaces, and Unicode whose case mapping is not one-to-one
/// (`ß`, `İ`, `ı`, `ǅ`, `ﬁ`); Entra sends any Unicode there.
pub fn free_text() -> impl Strategy<Value = String> {
    text_of(SPECIAL)
}

/// A value Entra matches by and puts in a filter (`externalId`, a group's `displayName`):
/// [`free_text`] without `"` and `\`. Entra's matching sources hold neither, and "filter
/// values with special characters are not supported" ("Known issues for provisioning in
/// Microsoft Entra ID").
pub fn matching_text() -> impl Strategy<Value = String> {
    text_of(MATCHING_SPECIAL)
}

/// The user name of a UPN, before the `@`: ASCII letters, digits and `' . - _ ! # ^ ~`, no
/// leading, trailing or doubled `.`, at most 64 characters ("Password policies and account
/// restrictions in Microsoft Entra ID", Username policies); mostly short, sometimes as long
/// as allowed.
pub fn upn_local() -> impl Strategy<Value = String> {
    let c = || {
        prop_oneof![
            4 => one_of("[a-zA-Z]"),
            1 => one_of("[0-9]"),
            2 => proptest::sample::select(UPN_SPECIAL).prop_map(String::from),
        ]
    };
    prop_oneof![
        9 => proptest::collection::vec(c(), 1..12),
        1 => proptest::collection::vec(c(), 40..=UPN_LOCAL_MAX),
    ]
    .prop_map(|chars| {
        let mut out = String::with_capacity(UPN_LOCAL_MAX);
        for c in chars {
            if c == "." && (out.is_empty() || out.ends_with('.')) {
                continue;
            }
            out.push_str(&c);
        }
        let mut out = out.trim_end_matches('.').to_owned();
        if out.is_empty() {
            out.push('x');
        }
        out
    })
}

/// `<upn_local>@contoso.com`: a `userName` (from `userPrincipalName`) or a work email (from
/// `mail`) as Entra sends one.
pub fn upn() -> impl Strategy<Value = String> {
    upn_local().prop_map(|local| format!("{local}@{DOMAIN}"))
}

/// A user as Entra's source holds it, the matching values without their domain: the
/// values a [`crate::fuzz::Step`] carries. Two users may share a value (the fuzzer's own
/// generator makes them unique; a property test should expect the 409).
pub fn user_values() -> impl Strategy<Value = UserValues> {
    (
        (upn_local(), matching_text(), upn_local()),
        (
            free_text(),
            free_text(),
            free_text(),
            free_text(),
            free_text(),
        ),
    )
        .prop_map(
            |(
                (user_name, external_id, email),
                (display_name, given_name, family_name, title, department),
            )| {
                UserValues {
                    user_name,
                    external_id,
                    email,
                    display_name,
                    given_name,
                    family_name,
                    title,
                    department,
                }
            },
        )
}

/// `active` as Entra's create sends it: `true`, or the string `"True"` as the provisioning
/// service has been seen to send it (AzureAD/SCIMReferenceCode#21; scenario
/// `create_user_active_string`), and now and then a disabled user (`false`, `"False"`).
fn active() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => Just(json!(true)),
        2 => Just(json!("True")),
        1 => Just(json!(false)),
        1 => Just(json!("False")),
    ]
}

/// The value of `attr` as sent: matching addresses with their domain.
fn sent(attr: Attr, value: &str) -> Value {
    match attr {
        Attr::UserName | Attr::WorkEmail if !value.is_empty() => json!(format!("{value}@{DOMAIN}")),
        _ => json!(value),
    }
}

/// `POST /Users` as Entra sends it with the default mapping ("Tutorial: Develop and plan
/// provisioning for a SCIM endpoint", "Create User"): the core and enterprise `schemas`,
/// `externalId`, `userName`, `active` (a boolean or `"True"`/`"False"`), `displayName`,
/// `title`, the primary work email, `name.givenName`/`familyName`/`formatted`, the
/// enterprise extension's `department`, the work phone in E.164, `meta.resourceType`.
pub fn entra_user() -> impl Strategy<Value = Value> {
    (user_values(), active()).prop_map(|(u, active)| {
        let s = |a: Attr| sent(a, u.get(a));
        shapes::user_body(&[
            ("externalId".into(), s(Attr::ExternalId)),
            ("userName".into(), s(Attr::UserName)),
            ("active".into(), active),
            ("displayName".into(), s(Attr::DisplayName)),
            ("title".into(), s(Attr::Title)),
            (Attr::WorkEmail.path().into(), s(Attr::WorkEmail)),
            ("name.givenName".into(), s(Attr::GivenName)),
            ("name.familyName".into(), s(Attr::FamilyName)),
            (
                "name.formatted".into(),
                json!(format!("{} {}", u.given_name, u.family_name)),
            ),
            (Attr::Department.path().into(), s(Attr::Department)),
            (
                r#"phoneNumbers[type eq "work"].value"#.into(),
                json!(crate::fuzz::values::work_phone(&u)),
            ),
        ])
    })
}

/// `POST /Groups` as Entra sends it: the core Group schema, `externalId` (the group's
/// `objectId`, a GUID), `displayName`, `meta.resourceType`, no members (they follow by
/// PATCH; scenario `group_create_without_members`).
pub fn entra_group() -> impl Strategy<Value = Value> {
    let guid = one_of("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    (guid, matching_text()).prop_map(|(id, name)| {
        shapes::group_body(
            &[
                ("externalId".into(), json!(id)),
                ("displayName".into(), json!(name)),
            ],
            &[],
        )
    })
}

/// A filter as Entra writes it: `eq` on a matching attribute, the value escaped (RFC 7644
/// §3.4.2.2): `userName eq "…"`, `externalId eq "…"`, `emails[type eq "work"].value eq
/// "…"` for users, `displayName eq "…"` for groups. Unencoded;
/// [`wire::filter_query`] form-encodes one as Entra does.
pub fn entra_filter() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => upn().prop_map(|v| wire::eq_filter("userName", &v)),
        2 => matching_text().prop_map(|v| wire::eq_filter("externalId", &v)),
        1 => upn().prop_map(|v| wire::eq_filter(Attr::WorkEmail.path(), &v)),
        1 => matching_text().prop_map(|v| wire::eq_filter("displayName", &v)),
    ]
}

/// A value `attr` can be changed to: `""` (Entra's null update) for one clearable
/// attribute in five, what its source can hold otherwise.
pub(super) fn change(attr: Attr) -> BoxedStrategy<String> {
    match attr {
        Attr::UserName | Attr::WorkEmail => upn_local().boxed(),
        Attr::ExternalId => matching_text().boxed(),
        _ => prop_oneof![4 => free_text(), 1 => Just(String::new())].boxed(),
    }
}

/// A change of one attribute: the attribute, and its new value.
pub(super) fn any_change() -> impl Strategy<Value = (Attr, String)> {
    proptest::sample::select(Attr::ALL.to_vec())
        .prop_flat_map(|a| change(a).prop_map(move |v| (a, v)))
}

/// A user PATCH as Entra sends it in `dialect` (entra-provisioning §3.5; "Known issues and
/// resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra user provisioning
/// service", "Update PATCH behavior"): 1–3 attribute changes (`Add` where the user had no
/// value, `Replace` where it had one, `""` to clear), or a disable / re-enable. Legacy:
/// capitalised ops, `active` as `"True"`/`"False"`; `aadOptscim062020`: lower-case ops,
/// booleans, two or more simple replaces folded into one path-less `replace`.
pub fn entra_user_patch(dialect: Dialect) -> impl Strategy<Value = Value> {
    let changes =
        proptest::collection::vec((any_change(), any::<bool>()), 1..=3).prop_map(move |list| {
            // One change per attribute, the last one, as Entra diffs one source object.
            let mut last: std::collections::BTreeMap<Attr, (String, bool)> = Default::default();
            for ((attr, value), had) in list {
                last.insert(attr, (value, had));
            }
            let changes: Vec<shapes::Change> = last
                .into_iter()
                .map(|(attr, (value, had))| shapes::Change {
                    path: attr.path().to_owned(),
                    old: had.then(|| json!("old")),
                    new: sent(attr, &value),
                })
                .collect();
            shapes::patch(dialect, &changes)
        });
    let active = any::<bool>().prop_map(move |active| {
        let change = shapes::Change {
            path: "active".into(),
            old: Some(Value::Bool(!active)),
            new: Value::Bool(active),
        };
        shapes::patch(dialect, &[change])
    });
    prop_oneof![3 => changes, 1 => active]
}

/// A group PATCH as Entra sends it in `dialect`: a `displayName` replace, or members added
/// or removed, some of `members` (ids on the endpoint) in one request. Legacy: `Add` /
/// `Remove` on `members` with a value list; `aadOptscim062020`: `add` with a list, one
/// `remove` per member with `members[value eq "…"]` (RFC 7644 §3.5.2.2).
pub fn entra_group_patch(dialect: Dialect, members: Vec<String>) -> BoxedStrategy<Value> {
    let rename = matching_text().prop_map(move |name| {
        let change = shapes::Change {
            path: "displayName".into(),
            old: Some(json!("")),
            new: json!(name),
        };
        shapes::patch(dialect, &[change])
    });
    if members.is_empty() {
        return rename.boxed();
    }
    let n = members.len();
    let some = proptest::sample::subsequence(members, 1..=n);
    let membership =
        (some, any::<bool>()).prop_map(move |(ids, add)| shapes::members(dialect, add, &ids));
    prop_oneof![1 => rename, 3 => membership].boxed()
}
