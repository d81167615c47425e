//! PATCH engine: fixture-driven snapshots of every reference example (testdata/patch/) and
//! the properties (engine vs a reference model, atomicity, membership idempotence).

use std::path::Path;

use scimock::patch::{self, PatchOptions};
use scimock::scim::PatchRequest;
use scimock::scim::{group_resource, user_resource};
use scimock::store::MemberOp;
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
/// `{"removeWhere": "filter"}`, `{"replace": [...]}`, `"removeAll"`,
/// `{"mustMatch": "filter"}`.
pub(crate) fn member_op_json(op: &MemberOp) -> Value {
    match op {
        MemberOp::Add(v) => json!({ "add": v }),
        MemberOp::Remove(ids) => json!({ "remove": ids }),
        MemberOp::RemoveWhere(f) => json!({ "removeWhere": f.to_string() }),
        MemberOp::Replace(v) => json!({ "replace": v }),
        MemberOp::RemoveAll => json!("removeAll"),
        MemberOp::MustMatch(f) => json!({ "mustMatch": f.to_string() }),
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
        .map_err(|e| scimock::Error::invalid_syntax(e.to_string()))
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

#[test]
fn every_reference_patch_example_matches_its_fixture_and_snapshot() {
    insta::glob!("../../testdata/patch", "*.json", |path| {
        let case = load(path);
        let body = run(&case);
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let mut settings = crate::support::snapshot_settings();
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

/// The reference model: the documented semantics of the PATCH engine over the small space
/// `strategies::model_op` generates, written the obvious way. Errors are `scimType`s.
mod model {
    use serde_json::{json, Map, Value};

    fn drop_if_empty(obj: &mut Map<String, Value>, key: &str) {
        let empty = match obj.get(key) {
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if empty {
            obj.remove(key);
        }
    }

    fn is_work(e: &Value) -> bool {
        e["type"] == "work"
    }

    fn clear_work_values(obj: &mut Map<String, Value>) {
        if let Some(Value::Array(emails)) = obj.get_mut("emails") {
            for e in emails.iter_mut().filter(|e| is_work(e)) {
                e.as_object_mut().unwrap().remove("value");
            }
            emails.retain(|e| e.as_object().is_some_and(|o| !o.is_empty()));
        }
        drop_if_empty(obj, "emails");
    }

    fn apply_op(obj: &mut Map<String, Value>, op: &Value) -> Result<(), &'static str> {
        let kind = op["op"].as_str().unwrap().to_lowercase();
        let path = op["path"].as_str().unwrap_or_default();
        match kind.as_str() {
            "remove" => {
                match path {
                    "userName" => return Err("mutability"),
                    "name.givenName" => {
                        if let Some(Value::Object(n)) = obj.get_mut("name") {
                            n.remove("givenName");
                        }
                        drop_if_empty(obj, "name");
                    }
                    "emails[type eq \"work\"]" => {
                        if let Some(Value::Array(emails)) = obj.get_mut("emails") {
                            emails.retain(|e| !is_work(e));
                        }
                        drop_if_empty(obj, "emails");
                    }
                    other => {
                        obj.remove(other);
                    }
                }
                return Ok(());
            }
            "add" | "replace" => {}
            _ => return Err("invalidSyntax"),
        }
        // No `value` is an error for add and replace (RFC 7644 §3.5.2); `"value": null`
        // clears, like "" below (RFC 7643 §2.5: null is unassigned; the Logic App's
        // null-update test, issue 12 row C21).
        let Some(v) = op.get("value").cloned() else {
            return Err("invalidValue");
        };
        if path == "active" && v.is_null() {
            obj.remove("active");
            return Ok(());
        }
        let v = if v.is_null() { json!("") } else { v };
        if path == "id" {
            return if obj["id"] == v {
                Ok(())
            } else {
                Err("mutability")
            };
        }
        if path == "active" {
            let b = match &v {
                Value::Bool(b) => *b,
                Value::String(s) if s.eq_ignore_ascii_case("true") => true,
                Value::String(s) if s.eq_ignore_ascii_case("false") => false,
                _ => return Err("invalidValue"),
            };
            obj.insert("active".into(), json!(b));
            return Ok(());
        }
        // Every other path in the model is a string; "" means "clear" (entra §7.2).
        let s = match v {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s),
            _ => return Err("invalidValue"),
        };
        match (path, s) {
            ("userName", None) => return Err("mutability"),
            ("name.givenName" | "name.familyName", Some(s)) => {
                let name = obj.entry("name").or_insert_with(|| json!({}));
                name[&path[5..]] = json!(s);
            }
            ("name.givenName" | "name.familyName", None) => {
                if let Some(Value::Object(n)) = obj.get_mut("name") {
                    n.remove(&path[5..]);
                }
                drop_if_empty(obj, "name");
            }
            ("emails[type eq \"work\"].value", Some(s)) => {
                let emails = obj.entry("emails").or_insert_with(|| json!([]));
                let list = emails.as_array_mut().unwrap();
                let mut found = false;
                for e in list.iter_mut().filter(|e| is_work(e)) {
                    e["value"] = json!(s);
                    found = true;
                }
                if !found {
                    list.push(json!({"type": "work", "value": s}));
                }
            }
            ("emails[type eq \"work\"].value", None) => clear_work_values(obj),
            (attr, Some(s)) => {
                obj.insert(attr.into(), json!(s));
            }
            (attr, None) => {
                obj.remove(attr);
            }
        }
        Ok(())
    }

    /// The model's answer: the patched resource or the first error's `scimType`.
    pub(super) fn apply(resource: &Value, request: &Value) -> Result<Value, &'static str> {
        let mut r = resource.clone();
        for op in request["Operations"].as_array().unwrap() {
            apply_op(r.as_object_mut().unwrap(), op)?;
        }
        Ok(r)
    }
}

mod properties {
    use super::*;
    use crate::strategies;
    use proptest::prelude::*;

    fn engine(resource: &Value, request: &Value) -> Result<Value, &'static str> {
        let request: PatchRequest = serde_json::from_value(request.clone()).unwrap();
        let opts = PatchOptions {
            strict_rfc: false,
            members_attr: None,
        };
        patch::apply(resource, &request, &user_resource(), &opts)
            .map(|o| o.resource)
            .map_err(|e| e.to_response().scim_type.map_or("-", |t| t.as_str()))
    }

    proptest! {
        #![proptest_config(strategies::config())]

        /// engine(resource, patch) == model(resource, patch), results or error kinds
        #[test]
        fn patch_matches_model(user in strategies::user(), request in strategies::model_request()) {
            prop_assert_eq!(engine(&user, &request), model::apply(&user, &request));
        }

        /// a request with one failing op is an error and leaves the resource byte-identical
        #[test]
        fn patch_atomic(
            user in strategies::user(),
            request in strategies::model_request(),
            bad in strategies::failing_op(),
            at in any::<prop::sample::Index>(),
        ) {
            let mut request = request;
            let ops = request["Operations"].as_array_mut().unwrap();
            let i = at.index(ops.len() + 1);
            ops.insert(i, bad);
            let before = user.to_string();
            let result = engine(&user, &request);
            prop_assert!(result.is_err(), "no error from {}", request);
            prop_assert_eq!(user.to_string(), before);
        }

        /// op ∘ op == op on a member list, and ids stay unique
        #[test]
        fn membership_idempotent(list in strategies::member_list(), op in strategies::member_op()) {
            let mut once = list.clone();
            op.apply_to(&mut once);
            let mut twice = once.clone();
            op.apply_to(&mut twice);
            prop_assert_eq!(&once, &twice);
            let mut ids: Vec<&str> = once.iter().filter_map(|m| m["value"].as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            prop_assert_eq!(ids.len(), once.len());
        }
    }
}
