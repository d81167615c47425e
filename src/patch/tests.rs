//! Unit tests of the PATCH engine: one per rule, named as sentences.

use serde_json::{json, Value};

use super::*;
use crate::scim::{group_resource, user_resource};

fn req(ops: Value) -> PatchRequest {
    serde_json::from_value(json!({"schemas": [urn::PATCH_OP], "Operations": ops})).unwrap()
}

fn user() -> Value {
    json!({
        "schemas": [urn::USER],
        "id": "u1",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [{"value": "b@old.example", "type": "work", "primary": true}],
        "meta": {"resourceType": "User", "version": "W/\"1\""}
    })
}

const USERS: PatchOptions = PatchOptions {
    strict_rfc: false,
    members_attr: None,
};
const GROUPS: PatchOptions = PatchOptions {
    strict_rfc: false,
    members_attr: Some("members"),
};
const STRICT: PatchOptions = PatchOptions {
    strict_rfc: true,
    members_attr: None,
};

fn patch_user(ops: Value) -> Result<PatchOutcome> {
    apply(&user(), &req(ops), &user_resource(), &USERS)
}

#[test]
fn replace_sets_a_simple_attribute_and_reports_a_change() {
    let out = patch_user(json!([{"op": "replace", "path": "userName", "value": "new"}])).unwrap();
    assert_eq!(out.resource["userName"], "new");
    assert!(out.changed);
    assert!(out.members.is_empty());
}

#[test]
fn replace_with_the_same_value_reports_no_change() {
    let out =
        patch_user(json!([{"op": "Replace", "path": "userName", "value": "bjensen"}])).unwrap();
    assert!(!out.changed);
}

#[test]
fn legacy_pascal_case_replace_with_string_false_disables_the_user() {
    // entra-provisioning.md §4.3a, without the flag.
    let out = patch_user(json!([{"op": "Replace", "path": "active", "value": "False"}])).unwrap();
    assert_eq!(out.resource["active"], false);
}

#[test]
fn strict_mode_names_the_boolean_string_quirk() {
    let err = apply(
        &user(),
        &req(json!([{"op": "replace", "path": "active", "value": "False"}])),
        &user_resource(),
        &STRICT,
    )
    .unwrap_err();
    assert!(
        err.kind() == crate::error::ErrorKind::InvalidValue
            && err.to_string().contains("legacy dialect"),
        "{err}"
    );
}

#[test]
fn value_path_replace_changes_only_the_matching_element() {
    // entra-provisioning.md §1.5.
    let out = patch_user(json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updated"}
    ]))
    .unwrap();
    assert_eq!(
        out.resource["emails"],
        json!([{"value": "new@example.com", "type": "work", "primary": true}])
    );
    assert_eq!(out.resource["name"]["familyName"], "updated");
    assert_eq!(out.resource["name"]["givenName"], "Barbara");
}

#[test]
fn add_on_a_value_path_that_matches_nothing_creates_the_element() {
    // entra-provisioning.md §3.5 [I18]: create-on-absent.
    let out = patch_user(json!([
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "555"},
    ]))
    .unwrap();
    assert_eq!(
        out.resource["phoneNumbers"],
        json!([{"type": "mobile", "value": "555"}])
    );
}

#[test]
fn pathless_replace_expands_dotted_and_urn_keys() {
    // entra-provisioning.md §4.3c, with the flag.
    let out = patch_user(json!([{"op": "replace", "value": {
        "displayName": "Bjfe",
        "name.givenName": "Kkom",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
    }}]))
    .unwrap();
    assert_eq!(out.resource["name"]["givenName"], "Kkom");
    assert_eq!(out.resource[urn::ENTERPRISE_USER]["employeeNumber"], "Aklq");
    assert_eq!(
        out.resource["schemas"],
        json!([urn::USER, urn::ENTERPRISE_USER])
    );
}

#[test]
fn manager_as_plain_string_is_stored_as_complex_value() {
    // entra-provisioning.md §7.2.
    let path = format!("{}:manager", urn::ENTERPRISE_USER);
    let out = patch_user(json!([{"op": "add", "path": path, "value": "m1"}])).unwrap();
    assert_eq!(
        out.resource[urn::ENTERPRISE_USER]["manager"],
        json!({"value": "m1"})
    );
}

#[test]
fn a_failing_operation_leaves_no_partial_outcome() {
    let err = patch_user(json!([
        {"op": "replace", "path": "userName", "value": "changed"},
        {"op": "replace", "path": "id", "value": "other"}
    ]))
    .unwrap_err();
    assert!(err.kind() == crate::error::ErrorKind::Mutability, "{err}");
}

#[test]
fn removing_a_required_attribute_is_a_mutability_error() {
    let err = patch_user(json!([{"op": "remove", "path": "userName"}])).unwrap_err();
    assert!(err.kind() == crate::error::ErrorKind::Mutability, "{err}");
}

#[test]
fn missing_patch_op_schema_is_invalid_syntax() {
    let mut r = req(json!([{"op": "add", "path": "nickName", "value": "B"}]));
    r.schemas.clear();
    let err = apply(&user(), &r, &user_resource(), &USERS).unwrap_err();
    assert!(
        err.kind() == crate::error::ErrorKind::InvalidSyntax && err.to_string().contains("PatchOp"),
        "{err}"
    );
}

#[test]
fn group_member_operations_become_member_ops_in_request_order() {
    let group = json!({"schemas": [urn::GROUP], "id": "g1", "displayName": "G"});
    let out = apply(
        &group,
        &req(json!([
            {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "u2"}]},
            {"op": "remove", "path": "members[value eq \"u3\"]"},
            {"op": "replace", "path": "displayName", "value": "H"},
            {"op": "remove", "path": "members"}
        ])),
        &group_resource(),
        &GROUPS,
    )
    .unwrap();
    assert_eq!(
        out.members,
        vec![
            MemberOp::Add(vec![json!({"value": "u1", "$ref": null})]),
            MemberOp::Remove(vec!["u2".into()]),
            MemberOp::Remove(vec!["u3".into()]),
            MemberOp::RemoveAll,
        ]
    );
    assert_eq!(out.resource["displayName"], "H");
    assert!(out.resource.get("members").is_none());
}

#[test]
fn unknown_attributes_are_kept_unless_strict() {
    let ops = json!([{"op": "add", "path": "favouriteColour", "value": "teal"}]);
    let out = patch_user(ops.clone()).unwrap();
    assert_eq!(out.resource["favouriteColour"], "teal");
    let err = apply(&user(), &req(ops), &user_resource(), &STRICT).unwrap_err();
    assert!(err.kind() == crate::error::ErrorKind::InvalidPath, "{err}");
}

#[test]
fn pathless_add_with_an_enterprise_urn_keyed_object_sets_its_attributes() {
    let out = patch_user(json!([{"op": "add", "value": {
        urn::ENTERPRISE_USER: {"department": "Tech", "manager": {"value": "m9"}}
    }}]))
    .unwrap();
    assert_eq!(
        out.resource[urn::ENTERPRISE_USER],
        json!({"department": "Tech", "manager": {"value": "m9"}})
    );
}

#[test]
fn a_string_for_a_complex_or_a_list_for_a_simple_attribute_is_invalid_value() {
    let err = patch_user(json!([{"op": "add", "path": "name", "value": "Barbara"}])).unwrap_err();
    assert!(
        err.kind() == crate::error::ErrorKind::InvalidValue && err.to_string().contains("complex"),
        "{err}"
    );
    let err =
        patch_user(json!([{"op": "add", "path": "nickName", "value": ["a", "b"]}])).unwrap_err();
    assert!(
        err.kind() == crate::error::ErrorKind::InvalidValue
            && err.to_string().contains("single value"),
        "{err}"
    );
    let err = patch_user(json!([{"op": "add", "path": "emails", "value": [7]}])).unwrap_err();
    assert!(
        err.kind() == crate::error::ErrorKind::InvalidValue
            && err.to_string().contains("multi-valued"),
        "{err}"
    );
}

#[test]
fn a_sub_attribute_of_a_simple_attribute_is_invalid_path() {
    let err =
        patch_user(json!([{"op": "add", "path": "userName.first", "value": "x"}])).unwrap_err();
    assert!(err.kind() == crate::error::ErrorKind::InvalidPath, "{err}");
}

#[test]
fn setting_primary_through_a_value_path_clears_the_other_primary() {
    let mut u = user();
    u["emails"] = json!([
        {"value": "w@x", "type": "work", "primary": true},
        {"value": "h@x", "type": "home"}
    ]);
    let out = apply(
        &u,
        &req(
            json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "True"}]),
        ),
        &user_resource(),
        &USERS,
    )
    .unwrap();
    assert_eq!(
        out.resource["emails"],
        json!([
            {"value": "w@x", "type": "work", "primary": false},
            {"value": "h@x", "type": "home", "primary": true}
        ])
    );
}

#[test]
fn immutable_member_sub_attributes_cannot_be_patched() {
    let group = json!({"schemas": [urn::GROUP], "id": "g1", "displayName": "G"});
    let err = apply(
        &group,
        &req(json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "x"}])),
        &group_resource(),
        &GROUPS,
    )
    .unwrap_err();
    assert!(err.kind() == crate::error::ErrorKind::Mutability, "{err}");
}

#[test]
fn replace_on_a_member_filter_removes_the_matches_then_adds() {
    let group = json!({"schemas": [urn::GROUP], "id": "g1", "displayName": "G"});
    let out = apply(
        &group,
        &req(json!([
            {"op": "replace", "path": "members[type eq \"Group\"]", "value": [{"value": "u9"}]},
            {"op": "replace", "value": {"displayName": "H", "members": [{"value": "u1"}]}}
        ])),
        &group_resource(),
        &GROUPS,
    )
    .unwrap();
    let f = crate::filter::parse(r#"type eq "Group""#).unwrap();
    assert_eq!(
        out.members,
        vec![
            MemberOp::RemoveWhere(f),
            MemberOp::Add(vec![json!({"value": "u9"})]),
            MemberOp::Replace(vec![json!({"value": "u1"})]),
        ]
    );
    assert_eq!(out.resource["displayName"], "H");
}

#[test]
fn a_member_without_a_string_id_is_invalid_value() {
    let group = json!({"schemas": [urn::GROUP], "id": "g1", "displayName": "G"});
    let err = apply(
        &group,
        &req(json!([{"op": "add", "path": "members", "value": [{"display": "no id"}]}])),
        &group_resource(),
        &GROUPS,
    )
    .unwrap_err();
    assert!(err.kind() == crate::error::ErrorKind::InvalidValue, "{err}");
}

#[test]
fn meta_is_read_only_and_an_equal_read_only_value_is_a_no_op() {
    let err = patch_user(json!([{"op": "replace", "path": "meta.version", "value": "W/\"9\""}]))
        .unwrap_err();
    assert!(err.kind() == crate::error::ErrorKind::Mutability, "{err}");
    let out = patch_user(json!([{"op": "replace", "value": {"id": "u1"}}])).unwrap();
    assert!(!out.changed);
}

#[test]
fn an_immutable_attribute_may_be_set_while_absent_but_not_changed() {
    let mut schema = user_resource();
    if let Some(a) = schema
        .core
        .attributes
        .iter_mut()
        .find(|a| a.name == "nickName")
    {
        a.mutability = crate::scim::Mutability::Immutable;
    }
    let set = req(json!([{"op": "add", "path": "nickName", "value": "B"}]));
    let out = apply(&user(), &set, &schema, &USERS).unwrap();
    assert_eq!(out.resource["nickName"], "B");
    let err = apply(
        &out.resource,
        &req(json!([{"op": "replace", "path": "nickName", "value": "C"}])),
        &schema,
        &USERS,
    )
    .unwrap_err();
    assert!(err.kind() == crate::error::ErrorKind::Mutability, "{err}");
}

#[test]
fn remove_of_an_absent_attribute_is_a_no_op() {
    let out = patch_user(json!([{"op": "remove", "path": "nickName"}])).unwrap();
    assert!(!out.changed);
}

#[test]
fn an_unknown_op_is_invalid_syntax_and_names_the_operation_index() {
    let err = patch_user(json!([
        {"op": "add", "path": "nickName", "value": "B"},
        {"op": "copy", "path": "nickName"}
    ]))
    .unwrap_err();
    assert!(
        err.kind() == crate::error::ErrorKind::InvalidSyntax
            && err.to_string().starts_with("Operations[1]"),
        "{err}"
    );
}
