//! Group membership through the real HTTP server, both Entra dialects
//! (entra-provisioning.md §1.14, §1.15, §4.3d): a state machine against the model the
//! `membership` fuzz target uses (`scimock::fuzzing::run_membership`), and concurrent
//! PATCHes to one group.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{json, Value};

use scimock::clock::SequentialIds;
use scimock::fuzzing::{run_membership, MembershipStep, MembershipTarget};
use scimock::scim::ResourceKind;
use scimock::MockServer;

use crate::strategies;
use crate::support::Http;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn server() -> MockServer {
    MockServer::builder()
        .token("t")
        .ids(SequentialIds::new())
        .start_blocking()
}

fn patch(ops: Vec<Value>) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// Legacy: one `Add`/`Remove` on `members` with a value list; flag: `add` with a list,
/// and one `remove` per id with a `members[value eq "…"]` path (§4.3d).
fn member_patch(add: bool, ids: &[String], legacy: bool) -> Value {
    let values: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    match (add, legacy) {
        (true, true) => patch(vec![
            json!({"op": "Add", "path": "members", "value": values}),
        ]),
        (true, false) => patch(vec![
            json!({"op": "add", "path": "members", "value": values}),
        ]),
        (false, true) => patch(vec![
            json!({"op": "Remove", "path": "members", "value": values}),
        ]),
        (false, false) => patch(
            ids.iter()
                .map(|id| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}))
                .collect(),
        ),
    }
}

async fn members(http: &Http, gid: &str) -> BTreeSet<String> {
    let a = http.send("GET", &format!("/Groups/{gid}"), None).await;
    assert_eq!(a.status, 200, "{}", a.json());
    let ids = member_ids(a.json());
    let set: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "duplicate members in {gid}: {ids:?}");
    set
}

fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The server over real HTTP as the shared model's [`MembershipTarget`].
struct OverHttp {
    server: MockServer,
    http: Http,
}

impl OverHttp {
    fn start() -> OverHttp {
        let server = server();
        let http = Http::to(&server, "t");
        OverHttp { server, http }
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> crate::support::Answer {
        runtime().block_on(self.http.send(method, path, body))
    }
}

impl MembershipTarget for OverHttp {
    fn create(&self, kind: ResourceKind, body: Value) -> String {
        let a = self.send("POST", &format!("/{}", kind.endpoint()), Some(&body));
        assert_eq!(a.status, 201, "{}", a.json());
        a.json()["id"].as_str().unwrap().to_owned()
    }

    fn delete(&self, kind: ResourceKind, id: &str) {
        let a = self.send("DELETE", &format!("/{}/{id}", kind.endpoint()), None);
        assert_eq!(a.status, 204, "{}", a.json());
    }

    /// 204 on success; a failed membership PATCH is a 400 `invalidValue` (RFC 7644
    /// §3.12) and anything else fails the test.
    fn patch(&self, group: &str, ops: Vec<Value>) -> Result<(), String> {
        let a = self.send("PATCH", &format!("/Groups/{group}"), Some(&patch(ops)));
        if a.status == 204 {
            return Ok(());
        }
        assert_eq!(a.status, 400, "{}", a.json());
        assert_eq!(a.json()["scimType"], "invalidValue", "{}", a.json());
        Err(a.json().to_string())
    }

    fn members(&self, group: &str) -> Vec<String> {
        let a = self.send("GET", &format!("/Groups/{group}"), None);
        assert_eq!(a.status, 200, "{}", a.json());
        member_ids(a.json())
    }

    fn check_invariants(&self) -> Result<(), String> {
        self.server.store().check_invariants()
    }
}

proptest! {
    #![proptest_config(strategies::http_config())]

    /// over HTTP, in both dialects: members == model after every step; no duplicates, no
    /// dangling ids, reverse index == forward index
    #[test]
    fn membership_state_machine(steps in strategies::membership_steps()) {
        run_membership(&OverHttp::start(), &steps);
    }

    /// concurrent PATCHes to one group lose nothing: the final members are each task's
    /// adds minus its own removes (tasks add shared users too; a shared user some task
    /// keeps stays)
    #[test]
    fn membership_concurrent(plan in strategies::concurrent_plan()) {
        runtime().block_on(async {
            let server = server();
            let api = Http::to(&server, "t");
            let g = api.send("POST", "/Groups", Some(&json!({"displayName": "hot"}))).await;
            let gid = g.json()["id"].as_str().unwrap().to_owned();
            let mut ids = Vec::new();
            for i in 0..12 {
                let u = api.send("POST", "/Users", Some(&json!({"userName": format!("u{i}")}))).await;
                prop_assert_eq!(u.status, 201);
                ids.push(u.json()["id"].as_str().unwrap().to_owned());
            }
            // Each task owns users 100·t.. by index into `ids` shifted per task, so removes
            // never touch another task's users; index 11 is shared by everyone.
            let mut tasks = Vec::new();
            for (t, (adds, removes)) in plan.iter().enumerate() {
                let own: Vec<String> = adds.iter().map(|i| ids[(i + 3 * t) % 11].clone()).collect();
                let own: Vec<String> = own.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
                let api = api.clone();
                let gid = gid.clone();
                let shared = ids[11].clone();
                let removes = (*removes).min(own.len());
                tasks.push(tokio::spawn(async move {
                    let mut kept = BTreeSet::new();
                    for (n, id) in own.iter().chain(std::iter::once(&shared)).enumerate() {
                        let legacy = (t + n) % 2 == 0;
                        let a = api.send("PATCH", &format!("/Groups/{gid}"), Some(&member_patch(true, std::slice::from_ref(id), legacy))).await;
                        assert_eq!(a.status, 204);
                        kept.insert(id.clone());
                    }
                    for id in own.iter().take(removes) {
                        let a = api.send("PATCH", &format!("/Groups/{gid}"), Some(&member_patch(false, std::slice::from_ref(id), t % 2 == 0))).await;
                        assert_eq!(a.status, 204);
                        kept.remove(id);
                    }
                    (own, kept)
                }));
            }
            let mut expected = BTreeSet::new();
            let mut removed_by_someone = BTreeSet::new();
            for task in tasks {
                let (own, kept) = task.await.unwrap();
                removed_by_someone.extend(own.iter().filter(|id| !kept.contains(*id)).cloned());
                expected.extend(kept);
            }
            // A user one task removed but another kept: the server's order decides; both
            // outcomes are consistent, so compare only the users with one owner.
            let got = members(&api, &gid).await;
            for id in &expected {
                if !removed_by_someone.contains(id) {
                    prop_assert!(got.contains(id), "{} lost; got {:?}", id, got);
                }
            }
            for id in &removed_by_someone {
                if !expected.contains(id) {
                    prop_assert!(!got.contains(id), "{} came back; got {:?}", id, got);
                }
            }
            server.store().check_invariants().map_err(TestCaseError::fail)?;
            Ok(())
        })?;
    }
}

#[test]
fn membership_survives_every_step_kind_once() {
    // A fixed sequence touching every branch, so a regression shows without proptest.
    use MembershipStep::*;
    let steps = vec![
        CreateUser(0),
        CreateUser(1),
        CreateGroup(0),
        CreateGroup(1),
        Add {
            group: 0,
            members: vec![0, 2, 3],
            legacy: true,
        },
        Add {
            group: 0,
            members: vec![0],
            legacy: false,
        },
        // Member 4 names user slot 2, which never held a user: the whole PATCH fails.
        Add {
            group: 1,
            members: vec![2, 4],
            legacy: true,
        },
        // Member 3 is group slot 1: a group may not contain itself.
        Add {
            group: 1,
            members: vec![3],
            legacy: false,
        },
        DeleteUser(1),
        // Member 2 is user slot 1, now deleted.
        Add {
            group: 1,
            members: vec![2],
            legacy: true,
        },
        Remove {
            group: 0,
            members: vec![0, 2, 6],
            legacy: false,
        },
        Remove {
            group: 0,
            members: vec![0],
            legacy: true,
        },
        Replace {
            group: 1,
            members: vec![0, 1],
        },
        DeleteGroup(0),
        RemoveAll { group: 1 },
    ];
    run_membership(&OverHttp::start(), &steps);
}

proptest! {
    #![proptest_config(strategies::config())]

    /// in-process, the same steps and model as over HTTP (the `membership` fuzz body):
    /// members == model after every step, store invariants hold
    #[test]
    fn membership_in_store_agrees_with_model(steps in strategies::membership_steps()) {
        scimock::fuzzing::membership(&steps);
    }
}

// ---- a filtered members path that matches nothing (issue #32) -------------------------

/// A group holding `u1` (of users `u1`, `u2`) and a user with one work email, on a server
/// speaking the RFC dialect when `strict`, else Entra's. Returns the server, its client,
/// the two user ids, the group id and the emailed user's id.
async fn nothing_matches_fixture(strict: bool) -> (MockServer, Http, [String; 2], String, String) {
    let profile = scimock::profile::Profile::default();
    let profile = if strict {
        profile.strict_rfc()
    } else {
        profile
    };
    let s = MockServer::builder()
        .token("t")
        .profile(profile)
        .ids(SequentialIds::new())
        .start_blocking();
    let http = Http::to(&s, "t");
    let mut ids = Vec::new();
    for name in ["u1", "u2"] {
        let a = http
            .send("POST", "/Users", Some(&json!({"userName": name})))
            .await;
        assert_eq!(a.status, 201, "{}", a.json());
        ids.push(a.json()["id"].as_str().unwrap().to_owned());
    }
    let group = json!({"displayName": "g", "members": [{"value": ids[0]}]});
    let a = http.send("POST", "/Groups", Some(&group)).await;
    assert_eq!(a.status, 201, "{}", a.json());
    let gid = a.json()["id"].as_str().unwrap().to_owned();
    let user = json!({"userName": "mailed",
                      "emails": [{"type": "work", "value": "w@example.com"}]});
    let a = http.send("POST", "/Users", Some(&user)).await;
    let uid = a.json()["id"].as_str().unwrap().to_owned();
    let [u1, u2] = <[String; 2]>::try_from(ids).unwrap();
    (s, http, [u1, u2], gid, uid)
}

/// The nothing-matching operations, on members and on emails: (resource, op, path, value).
fn on_nothing(u2: &str) -> Vec<(&'static str, &'static str, &'static str, Value)> {
    vec![
        (
            "Groups",
            "replace",
            r#"members[value eq "nobody"]"#,
            json!([{"value": u2}]),
        ),
        (
            "Groups",
            "add",
            r#"members[value eq "nobody"]"#,
            json!([{"value": u2}]),
        ),
        (
            "Groups",
            "remove",
            r#"members[value eq "nobody"]"#,
            Value::Null,
        ),
        (
            "Groups",
            "remove",
            r#"members[type eq "Group"]"#,
            Value::Null,
        ),
        (
            "Users",
            "replace",
            r#"emails[type eq "home"]"#,
            json!({"type": "home", "value": "h@x"}),
        ),
        ("Users", "remove", r#"emails[type eq "home"]"#, Value::Null),
    ]
}

fn op(kind: &str, path: &str, value: &Value) -> Value {
    let mut op = json!({"op": kind, "path": path});
    if !value.is_null() {
        op["value"] = value.clone();
    }
    patch(vec![op])
}

#[tokio::test]
async fn strict_rfc_answers_no_target_when_a_members_filter_matches_nothing_as_on_emails() {
    let (_s, http, [u1, u2], gid, uid) = nothing_matches_fixture(true).await;
    for (kind, verb, path, value) in on_nothing(&u2) {
        let id = if kind == "Groups" { &gid } else { &uid };
        let a = http
            .send(
                "PATCH",
                &format!("/{kind}/{id}"),
                Some(&op(verb, path, &value)),
            )
            .await;
        assert_eq!(a.status, 400, "{verb} {path}: {}", a.json());
        assert_eq!(a.json()["scimType"], "noTarget", "{verb} {path}");
    }
    assert_eq!(members(&http, &gid).await, BTreeSet::from([u1.clone()]));
    // A filter that matches still replaces and removes.
    let path = format!("members[value eq \"{u1}\"]");
    let replace = op("replace", &path, &json!([{"value": u2}]));
    let a = http
        .send("PATCH", &format!("/Groups/{gid}"), Some(&replace))
        .await;
    assert_eq!(a.status, 204, "{}", a.json());
    assert_eq!(members(&http, &gid).await, BTreeSet::from([u2.clone()]));
    let remove = op(
        "remove",
        &format!("members[value eq \"{u2}\"]"),
        &Value::Null,
    );
    let a = http
        .send("PATCH", &format!("/Groups/{gid}"), Some(&remove))
        .await;
    assert_eq!(a.status, 204, "{}", a.json());
    assert!(members(&http, &gid).await.is_empty());
}

#[tokio::test]
async fn the_entra_dialect_still_adds_on_a_replace_and_ignores_a_remove_that_match_nothing() {
    let (_s, http, [u1, u2], gid, uid) = nothing_matches_fixture(false).await;
    for (kind, verb, path, value) in on_nothing(&u2) {
        let id = if kind == "Groups" { &gid } else { &uid };
        let a = http
            .send(
                "PATCH",
                &format!("/{kind}/{id}"),
                Some(&op(verb, path, &value)),
            )
            .await;
        assert!(
            a.status == 200 || a.status == 204,
            "{verb} {path}: {}",
            a.json()
        );
    }
    // Entra's retries (quirks create-on-absent, remove-of-nothing): the members replace
    // and add added u2 and their removes changed nothing; the emails replace created a
    // home email, which the emails remove then matched.
    assert_eq!(members(&http, &gid).await, BTreeSet::from([u1, u2]));
    let a = http.send("GET", &format!("/Users/{uid}"), None).await;
    assert_eq!(
        a.json()["emails"].as_array().unwrap().len(),
        1,
        "{}",
        a.json()
    );
}

/// RFC 7644 §3.5.2: "The server MUST return a 200 OK if the 'attributes' parameter is
/// specified in the request", even where a group PATCH otherwise answers 204 (Entra's
/// expectation, and the default).
#[tokio::test]
async fn a_group_patch_naming_attributes_answers_200_with_them() {
    let server = server();
    let http = Http::to(&server, "t");
    let created = http
        .send(
            "POST",
            "/Groups",
            Some(
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "g"}),
            ),
        )
        .await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let rename = patch(vec![
        json!({"op": "replace", "path": "displayName", "value": "h"}),
    ]);
    let plain = http
        .send("PATCH", &format!("/Groups/{id}"), Some(&rename))
        .await;
    assert_eq!(plain.status, 204);
    let named = http
        .send(
            "PATCH",
            &format!("/Groups/{id}?attributes=displayName"),
            Some(&rename),
        )
        .await;
    assert_eq!(named.status, 200, "{}", named.json());
    assert_eq!(named.json()["displayName"], "h");
    assert_eq!(named.json()["id"], id.as_str());
    assert!(named.json().get("members").is_none(), "{}", named.json());
}
