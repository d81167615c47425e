//! Secrets stay secret and tenants stay apart (issue 14, "Why" 2, 7 and 9): the journal
//! keeps no credential and no password, a token sent to the wrong tenant leaves no trace
//! there, `password` cannot be filtered or sorted on, two `Authorization` fields are
//! refused, and a tenant's own token is required even when its profile says
//! `auth = "none"` (issue #32). Real HTTP on 127.0.0.1.

use scimock::profile::Profile;
use scimock::MockServer;
use serde_json::json;

use crate::wire::{bearer, send};

const USERS: &str = "/scim/v2/Users";

fn user(name: &str, password: &str) -> String {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "password": password,
        "active": true
    })
    .to_string()
}

#[test]
fn the_journal_keeps_neither_the_token_nor_passwords() {
    let server = MockServer::builder().token("tok-5ecret").start_blocking();
    let addr = server.address();
    let auth = bearer("tok-5ecret");
    let created = send(
        addr,
        "POST",
        USERS,
        &[&auth],
        Some(&user("ann", "Hunter2!x")),
    )
    .unwrap();
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "password", "value": "N3wPassw0rd"}]
    })
    .to_string();
    let patched = send(
        addr,
        "PATCH",
        &format!("{USERS}/{id}"),
        &[&auth],
        Some(&patch),
    )
    .unwrap();
    assert_eq!(patched.status, 200, "{}", patched.text);
    let journal = send(addr, "GET", "/_mock/requests", &[&auth], None).unwrap();
    assert_eq!(journal.status, 200);
    for secret in ["tok-5ecret", "Hunter2!x", "N3wPassw0rd"] {
        assert!(
            !journal.text.contains(secret),
            "{secret} in {}",
            journal.text
        );
    }
    assert_eq!(
        journal.body[0]["headers"]["authorization"],
        "Bearer [redacted] (matched)"
    );
    assert_eq!(journal.body[0]["body"]["userName"], "ann");
    let lib = server.received_requests();
    assert_eq!(lib.len(), 2);
    assert!(!format!("{lib:?}").contains("Hunter2!x"));
}

#[test]
fn a_token_sent_to_the_wrong_tenant_leaves_no_trace_there() {
    let server = MockServer::builder()
        .tenant("a", Profile::default(), Some("token-a".into()))
        .tenant("b", Profile::default(), Some("token-b".into()))
        .start_blocking();
    let addr = server.address();
    let (ta, tb) = (bearer("token-a"), bearer("token-b"));
    // B's client is pointed at A's URL by mistake.
    let wrong = send(
        addr,
        "POST",
        "/a/scim/v2/Users",
        &[&tb],
        Some(&user("bob", "pw-b-1")),
    )
    .unwrap();
    assert_eq!(wrong.status, 401);
    let ok = send(
        addr,
        "POST",
        "/b/scim/v2/Users",
        &[&tb],
        Some(&user("bob", "pw-b-1")),
    )
    .unwrap();
    assert_eq!(ok.status, 201);
    let a_journal = send(addr, "GET", "/a/_mock/requests", &[&ta], None).unwrap();
    assert_eq!(a_journal.status, 200);
    assert_eq!(
        a_journal.body,
        json!([]),
        "A recorded a request it did not authenticate"
    );
    assert!(!a_journal.text.contains("token-b"));
    // A's token opens neither B's data nor B's journal.
    for path in ["/b/scim/v2/Users", "/b/_mock/requests", "/b/_mock/faults"] {
        assert_eq!(
            send(addr, "GET", path, &[&ta], None).unwrap().status,
            401,
            "{path}"
        );
    }
    let b_journal = send(addr, "GET", "/b/_mock/requests", &[&tb], None).unwrap();
    assert_eq!(b_journal.body.as_array().map(Vec::len), Some(1));
    assert!(!b_journal.text.contains("pw-b-1") && !b_journal.text.contains("token-b"));
}

#[test]
fn filters_and_sorts_on_password_are_invalid_filter() {
    let server = MockServer::builder().token("t").start_blocking();
    let addr = server.address();
    let auth = bearer("t");
    let created = send(
        addr,
        "POST",
        USERS,
        &[&auth],
        Some(&user("cat", "Swordfish9")),
    )
    .unwrap();
    assert_eq!(created.status, 201);
    for query in [
        "filter=password+sw+%22S%22",
        "filter=userName+eq+%22cat%22+and+password+pr",
        "filter=urn%3Aietf%3Aparams%3Ascim%3Aschemas%3Acore%3A2.0%3AUser%3Apassword+eq+%22Swordfish9%22",
        "sortBy=password",
    ] {
        let a = send(addr, "GET", &format!("{USERS}?{query}"), &[&auth], None).unwrap();
        assert_eq!(a.status, 400, "{query}: {}", a.text);
        assert_eq!(a.body["scimType"], "invalidFilter", "{query}");
    }
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "password sw \"Sw\""
    })
    .to_string();
    let a = send(addr, "POST", "/scim/v2/.search", &[&auth], Some(&search)).unwrap();
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.body["scimType"], "invalidFilter");
}

#[test]
fn two_authorization_fields_are_401_whatever_their_order() {
    let server = MockServer::builder().token("good").start_blocking();
    let addr = server.address();
    let (good, bad) = (bearer("good"), bearer("bad"));
    for pair in [[&good, &bad], [&bad, &good], [&good, &good]] {
        let a = send(
            addr,
            "GET",
            USERS,
            &[pair[0].as_str(), pair[1].as_str()],
            None,
        )
        .unwrap();
        assert_eq!(a.status, 401, "{pair:?}");
    }
    assert_eq!(
        send(addr, "GET", USERS, &[&good], None).unwrap().status,
        200
    );
}

/// The default profile with `auth = "none"`, as a custom TOML profile may say.
pub(crate) fn open_profile() -> Profile {
    let mut spec = Profile::default().spec().clone();
    spec.auth = scimock::profile::AuthScheme::None;
    Profile::from_spec(spec).unwrap()
}

#[test]
fn a_tenant_token_is_required_even_when_its_profile_says_auth_none() {
    let server = MockServer::builder()
        .tenant("a", open_profile(), Some("SECRET".into()))
        .tenant("b", open_profile(), None)
        .start_blocking();
    assert_eq!(server.tenant("a").unwrap().token(), Some("SECRET"));
    assert_eq!(server.tenant("b").unwrap().token(), None);
    let addr = server.address();
    for (method, path) in [
        ("GET", "/a/scim/v2/Users"),
        ("GET", "/a/_mock/requests"),
        ("POST", "/a/_mock/reset"),
    ] {
        let anyone = send(addr, method, path, &[], None).unwrap();
        assert_eq!(anyone.status, 401, "{method} {path}: {}", anyone.text);
        assert_eq!(anyone.body["status"], "401", "{}", anyone.text);
        let wrong = send(addr, method, path, &[&bearer("guess")], None).unwrap();
        assert_eq!(wrong.status, 401, "{method} {path}");
        let owner = send(addr, method, path, &[&bearer("SECRET")], None).unwrap();
        assert!(owner.status < 300, "{method} {path}: {}", owner.text);
    }
    // A tenant given no token follows its profile: none.
    let open = send(addr, "GET", "/b/scim/v2/Users", &[], None).unwrap();
    assert_eq!(open.status, 200, "{}", open.text);
    // `no_auth` does not drop a token given for a tenant either.
    let server = MockServer::builder()
        .no_auth()
        .tenant("a", Profile::default(), Some("SECRET".into()))
        .start_blocking();
    let anyone = send(server.address(), "GET", "/a/scim/v2/Users", &[], None).unwrap();
    assert_eq!(anyone.status, 401, "{}", anyone.text);
}
