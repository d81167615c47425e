//! Whatever the server accepts it can read back (issue 14, deliverable 1, "Why" 1): a
//! resource nested past the store's bound is refused with 400 and leaves the stored user
//! as it was; and for any accepted request sequence every resource stays readable,
//! findable by its `userName`, patchable, and survives a restart (export → new server).
//! Real HTTP on 127.0.0.1; the property runs 32 cases.

use proptest::prelude::*;
use scimock::server::Seed;
use scimock::MockServer;
use serde_json::{json, Value};

use crate::wire::{bearer, send, Answer};

const USERS: &str = "/scim/v2/Users";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// `{"k": [{"k": ...}]}` nesting `depth` containers around a string.
fn nested(depth: usize) -> Value {
    let mut v = Value::from("deep");
    for i in 0..depth {
        v = if i % 2 == 0 {
            Value::Array(vec![v])
        } else {
            json!({ "k": v })
        };
    }
    v
}

fn patch_body(op: &str, path: &str, value: Value) -> String {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": op, "path": path, "value": value}]
    })
    .to_string()
}

fn call(server: &MockServer, method: &str, path: &str, body: Option<&str>) -> Answer {
    let auth = bearer(server.token().unwrap_or_default());
    send(server.address(), method, path, &[&auth], body).unwrap()
}

fn find_by_user_name(server: &MockServer, name: &str) -> Answer {
    let filter = format!("userName eq {}", Value::from(name));
    let q: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    call(server, "GET", &format!("{USERS}?filter={q}"), None)
}

#[test]
fn a_patch_nesting_past_the_bound_is_refused_and_the_user_stays_intact() {
    let server = MockServer::builder().token("t").start_blocking();
    let user =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "deep@x"});
    let created = call(&server, "POST", USERS, Some(&user.to_string()));
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let before = call(&server, "GET", &format!("{USERS}/{id}"), None).body;
    // The hostile review's request: 124 levels under an extension's value path.
    let path = format!("{ENTERPRISE}:attr[type eq \"w\"].value");
    let body = patch_body("add", &path, nested(124));
    let a = call(&server, "PATCH", &format!("{USERS}/{id}"), Some(&body));
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.body["scimType"], "invalidValue");
    assert!(
        a.body["detail"].as_str().unwrap().contains("levels deep"),
        "{}",
        a.text
    );
    let after = call(&server, "GET", &format!("{USERS}/{id}"), None);
    assert_eq!(after.body, before);
    let found = find_by_user_name(&server, "deep@x");
    assert_eq!(found.body["totalResults"], 1, "{}", found.text);
    // A POST or PUT of a too-deep user is refused the same way.
    let mut deep_user = user.clone();
    deep_user["userName"] = json!("other@x");
    deep_user["x"] = nested(90);
    let a = call(&server, "POST", USERS, Some(&deep_user.to_string()));
    assert_eq!(
        (a.status, a.body["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let a = call(
        &server,
        "PUT",
        &format!("{USERS}/{id}"),
        Some(&deep_user.to_string()),
    );
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(
        call(&server, "GET", &format!("{USERS}/{id}"), None).body,
        before
    );
}

#[derive(Debug, Clone)]
enum Step {
    Create {
        name: String,
        extra: usize,
    },
    Replace {
        slot: usize,
        name: String,
        extra: usize,
    },
    Patch {
        slot: usize,
        path: &'static str,
        depth: usize,
    },
    Delete {
        slot: usize,
    },
}

const PATHS: [&str; 4] = [
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:attr[type eq \"w\"].value",
    "nickName",
    "x",
    "emails[type eq \"work\"].value",
];

fn depth() -> impl Strategy<Value = usize> {
    prop_oneof![0..4usize, 55..70usize, 120..130usize]
}

fn step() -> impl Strategy<Value = Step> {
    let name = "[a-c]{1,2}(@x)?";
    prop_oneof![
        (name, depth()).prop_map(|(name, extra)| Step::Create { name, extra }),
        (0..4usize, name, depth()).prop_map(|(slot, name, extra)| Step::Replace {
            slot,
            name,
            extra
        }),
        (0..4usize, 0..PATHS.len(), depth()).prop_map(|(slot, p, depth)| Step::Patch {
            slot,
            path: PATHS[p],
            depth
        }),
        (0..4usize).prop_map(|slot| Step::Delete { slot }),
    ]
}

fn user_with(name: &str, extra: usize) -> String {
    let mut u =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
    if extra > 0 {
        u["x"] = nested(extra);
    }
    u.to_string()
}

/// Every live user reads back, is found by its userName, takes a PATCH, and is there
/// with the same content on a server started from an export of this one.
fn check_readable(server: &MockServer, ids: &[String]) -> Result<(), TestCaseError> {
    for id in ids {
        let got = call(server, "GET", &format!("{USERS}/{id}"), None);
        prop_assert_eq!(got.status, 200, "{}", got.text);
        prop_assert!(got.body.is_object(), "{}", got.text);
        let name = got.body["userName"].as_str().unwrap_or_default().to_owned();
        let found = find_by_user_name(server, &name);
        prop_assert_eq!(
            &found.body["Resources"][0]["id"],
            &json!(id),
            "{}",
            found.text
        );
        let p = call(
            server,
            "PATCH",
            &format!("{USERS}/{id}"),
            Some(&patch_body("replace", "displayName", json!("checked"))),
        );
        prop_assert_eq!(p.status, 200, "{}", p.text);
    }
    let export = serde_json::to_vec(&server.store().export()).unwrap();
    let restarted = MockServer::builder()
        .token("t")
        .seed(Seed::Text(export.into()))
        .try_start();
    prop_assert!(restarted.is_ok(), "{:?}", restarted.err());
    let restarted = restarted.unwrap();
    for id in ids {
        let a = call(server, "GET", &format!("{USERS}/{id}"), None);
        let b = call(&restarted, "GET", &format!("{USERS}/{id}"), None);
        prop_assert_eq!(b.status, 200, "{}", b.text);
        prop_assert_eq!(&a.body["x"], &b.body["x"]);
        prop_assert_eq!(&a.body["userName"], &b.body["userName"]);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// accepted(sequence) ⇒ every resource readable, findable, patchable, restartable
    #[test]
    fn accepted_sequences_stay_readable_findable_patchable_and_restartable(
        steps in proptest::collection::vec(step(), 1..10)
    ) {
        let server = MockServer::builder().token("t").start_blocking();
        let mut ids: Vec<String> = Vec::new();
        for step in steps {
            let slot = |s: usize| (!ids.is_empty()).then(|| ids[s % ids.len()].clone());
            match step {
                Step::Create { name, extra } => {
                    let a = call(&server, "POST", USERS, Some(&user_with(&name, extra)));
                    prop_assert!(a.status == 201 || a.status == 400 || a.status == 409, "{}", a.text);
                    if a.status == 201 {
                        ids.push(a.body["id"].as_str().unwrap_or_default().to_owned());
                    }
                }
                Step::Replace { slot: s, name, extra } => if let Some(id) = slot(s) {
                    let a = call(&server, "PUT", &format!("{USERS}/{id}"), Some(&user_with(&name, extra)));
                    prop_assert!(a.status == 200 || a.status == 400 || a.status == 409, "{}", a.text);
                },
                Step::Patch { slot: s, path, depth } => if let Some(id) = slot(s) {
                    let body = patch_body("add", path, nested(depth));
                    let a = call(&server, "PATCH", &format!("{USERS}/{id}"), Some(&body));
                    prop_assert!(a.status == 200 || a.status == 400, "{}", a.text);
                },
                Step::Delete { slot: s } => if let Some(id) = slot(s) {
                    let a = call(&server, "DELETE", &format!("{USERS}/{id}"), None);
                    prop_assert_eq!(a.status, 204);
                    ids.retain(|i| *i != id);
                },
            }
            check_readable(&server, &ids)?;
        }
    }
}
