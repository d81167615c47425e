//! Unit tests of the PATCH engine: one per rule, named as sentences.

use serde_json::{json, Value};

use super::*;
use crate::scim::schema::{group_resource, user_resource};

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
        matches!(&err, Error::InvalidValue(m) if m.contains("legacy dialect")),
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
    assert!(matches!(err, Error::Mutability(_)), "{err}");
}

#[test]
fn removing_a_required_attribute_is_a_mutability_error() {
    let err = patch_user(json!([{"op": "remove", "path": "userName"}])).unwrap_err();
    assert!(matches!(err, Error::Mutability(_)), "{err}");
}

#[test]
fn missing_patch_op_schema_is_invalid_syntax() {
    let mut r = req(json!([{"op": "add", "path": "nickName", "value": "B"}]));
    r.schemas.clear();
    let err = apply(&user(), &r, &user_resource(), &USERS).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidSyntax(m) if m.contains("PatchOp")),
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
