//! PATCH engine: fixture-driven snapshots of every reference example (testdata/patch/) and
//! the properties (engine vs a reference model, atomicity, membership idempotence).

use std::path::Path;

use scimock::patch::{self, MemberOp, PatchOptions};
use scimock::scim::schema::{group_resource, user_resource};
use scimock::scim::PatchRequest;
use serde_json::{json, Value};

/// One fixture: `{"note", "resource", "patch", "options", "expect" | "error"}`.
struct Case {
    note: String,
    resource: Value,
    patch: Value,
    options: PatchOptions,
    expect: Option<Value>,
    error: Option<Value>,
}

fn load(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let members_attr = match v["options"]["members_attr"].as_str() {
        None => None,
        Some("members") => Some("members"),
        Some(other) => panic!("unsupported members_attr {other:?}"),
    };
    Case {
        note: v["note"].as_str().unwrap().to_owned(),
        resource: v["resource"].clone(),
        patch: v["patch"].clone(),
        options: PatchOptions {
            strict_rfc: v["options"]["strict_rfc"].as_bool().unwrap(),
            members_attr,
        },
        expect: v.get("expect").cloned(),
        error: v.get("error").cloned(),
    }
}

/// A member op as fixture JSON: `{"add": [...]}`, `{"remove": [...]}`,
/// `{"removeWhere": "filter"}`, `{"replace": [...]}`, `"removeAll"`.
pub(crate) fn member_op_json(op: &MemberOp) -> Value {
    match op {
        MemberOp::Add(v) => json!({ "add": v }),
        MemberOp::Remove(ids) => json!({ "remove": ids }),
        MemberOp::RemoveWhere(f) => json!({ "removeWhere": f.to_string() }),
        MemberOp::Replace(v) => json!({ "replace": v }),
        MemberOp::RemoveAll => json!("removeAll"),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

/// Runs one fixture, asserts its `expect`/`error`, and renders the snapshot body.
fn run(case: &Case) -> String {
    let schema = match case.options.members_attr {
        Some(_) => group_resource(),
        None => user_resource(),
    };
    let mut out = format!(
        "note: {}\noptions: strict_rfc={} members_attr={:?}\n--- patch\n{}\n",
        case.note,
        case.options.strict_rfc,
        case.options.members_attr,
        pretty(&case.patch)
    );
    let request: Result<PatchRequest, _> = serde_json::from_value(case.patch.clone());
    let result = request
        .map_err(|e| scimock::Error::InvalidSyntax(e.to_string()))
        .and_then(|r| patch::apply(&case.resource, &r, &schema, &case.options));
    match (result, &case.expect, &case.error) {
        (Ok(outcome), Some(expect), None) => {
            let members: Vec<Value> = outcome.members.iter().map(member_op_json).collect();
            assert_eq!(
                outcome.resource, expect["resource"],
                "resource of: {}",
                case.note
            );
            assert_eq!(
                Value::from(members.clone()),
                expect["members"],
                "members of: {}",
                case.note
            );
            assert_eq!(
                Value::Bool(outcome.changed),
                expect["changed"],
                "changed of: {}",
                case.note
            );
            out += &format!(
                "--- resource (changed: {})\n{}\n--- members\n{}\n",
                outcome.changed,
                pretty(&outcome.resource),
                pretty(&Value::from(members))
            );
        }
        (Err(e), None, Some(expect)) => {
            let body = e.to_response();
            assert_eq!(
                json!(body.status_code()),
                expect["status"],
                "{}: {e}",
                case.note
            );
            let scim_type = body.scim_type.map(|t| t.as_str());
            assert_eq!(json!(scim_type), expect["scimType"], "{}: {e}", case.note);
            out += &format!(
                "--- error\n{} {}: {}\n",
                body.status,
                scim_type.unwrap_or("-"),
                body.detail.unwrap_or_default()
            );
        }
        (Ok(o), _, _) => panic!(
            "{}: expected an error, got {}",
            case.note,
            pretty(&o.resource)
        ),
        (Err(e), _, _) => panic!("{}: unexpected error {e}", case.note),
    }
    out
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

#[test]
fn every_reference_patch_example_matches_its_fixture_and_snapshot() {
    insta::glob!("../../testdata/patch", "*.json", |path| {
        let case = load(path);
        let body = run(&case);
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let mut settings = snapshot_settings();
        settings.set_snapshot_suffix(stem);
        settings.set_input_file(path);
        settings.bind(|| insta::assert_snapshot!("patch", body));
    });
}

#[test]
fn the_input_resource_is_never_modified_even_on_success() {
    let resource = json!({"schemas": [scimock::scim::urn::USER], "id": "1", "userName": "a"});
    let before = resource.to_string();
    let request: PatchRequest = serde_json::from_value(json!({
        "schemas": [scimock::scim::urn::PATCH_OP],
        "Operations": [{"op": "replace", "path": "userName", "value": "b"}]
    }))
    .unwrap();
    let opts = PatchOptions {
        strict_rfc: false,
        members_attr: None,
    };
    let out = patch::apply(&resource, &request, &user_resource(), &opts).unwrap();
    assert_eq!(out.resource["userName"], "b");
    assert_eq!(resource.to_string(), before);
}
