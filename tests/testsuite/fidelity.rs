//! Issue 12: `scimock serve` accepts the request shapes Entra's provisioning service, the
//! Microsoft Entra SCIM Validator and the Logic App "SCIM Validation" template send.
//! Every test names the audit row it pins (`// row B3`) and the public source of the
//! shape; each sends the documented request and checks the status, the body and the
//! stored resource afterwards, in the Entra dialect and, where it differs, under
//! `--strict-rfc`.
//!
//! The client is a few lines of raw HTTP/1.1 over a `TcpStream` to 127.0.0.1, because
//! the Validator's request target carries a literal `"` that hyper's client (rightly)
//! refuses to send.

use std::net::SocketAddr;
use std::time::Duration;

use scimock::clock::{FixedClock, SequentialIds};
use scimock::profile::Profile;
use scimock::MockServer;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The default profile in the Entra dialect (what `scimock serve --no-auth` runs).
fn entra() -> MockServer {
    start(Profile::default())
}

/// The default profile under `--strict-rfc`.
fn strict() -> MockServer {
    start(Profile::default().strict_rfc())
}

fn start(profile: Profile) -> MockServer {
    MockServer::builder()
        .no_auth()
        .profile(profile)
        .clock(FixedClock(time::macros::datetime!(2026-12-01 08:00:00 UTC)))
        .ids(SequentialIds::new())
        .start_blocking()
}

/// One answer as read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Value,
}

/// The server's SCIM base path (`/scim/v2`).
fn base_path(server: &MockServer) -> String {
    let base = server.base_url();
    let origin = format!("http://{}", server.address());
    base.strip_prefix(&origin).unwrap_or(&base).to_owned()
}

/// Sends `method target` (relative to the SCIM base path, written to the socket byte for
/// byte) with an optional JSON body, and reads the answer until the server closes.
async fn raw(server: &MockServer, method: &str, target: &str, body: Option<&str>) -> Answer {
    let target = format!("{}{target}", base_path(server));
    raw_target(server.address(), method, &target, body).await
}

async fn raw_target(addr: SocketAddr, method: &str, target: &str, body: Option<&str>) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = body.unwrap_or_default();
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/scim+json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("the server answers within 10 s")
        .unwrap();
    parse_answer(&bytes)
}

fn parse_answer(bytes: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON body ({e}): {body}"))
    };
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body,
    }
}

async fn post_user(server: &MockServer, body: Value) -> Answer {
    raw(server, "POST", "/Users", Some(&body.to_string())).await
}

async fn patch_user(server: &MockServer, id: &str, ops: Value) -> Answer {
    let body = json!({"schemas": [PATCH_OP], "Operations": ops});
    raw(
        server,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&body.to_string()),
    )
    .await
}

async fn get_user(server: &MockServer, id: &str) -> Value {
    let a = raw(server, "GET", &format!("/Users/{id}"), None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body
}

/// Creates a user and returns its id.
async fn user(server: &MockServer, body: Value) -> String {
    let a = post_user(server, body).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    a.body["id"].as_str().unwrap().to_owned()
}

fn detail(a: &Answer) -> &str {
    a.body["detail"].as_str().unwrap_or_default()
}

// --- deliverable 2: string booleans in POST and PUT -------------------------------------

// row B3: AzureAD/SCIMReferenceCode#21 (Microsoft's PM: "our service sends it as a string
// today"): `"active": "True"` in a POST.
#[tokio::test]
async fn post_with_string_active_is_stored_as_a_boolean() {
    let server = entra();
    let a = post_user(
        &server,
        json!({"userName": "b3@contoso.com", "active": "True"}),
    )
    .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert!(
        a.head.contains("content-type: application/scim+json"),
        "{}",
        a.head
    );
    assert_eq!(a.body["active"], json!(true));
    let id = a.body["id"].as_str().unwrap();
    assert_eq!(get_user(&server, id).await["active"], json!(true));
}

// row B3, B5: the Validator's `roles[].primary: "True"`, in a PUT this time.
#[tokio::test]
async fn put_with_string_booleans_is_stored_with_booleans() {
    let server = entra();
    let id = user(&server, json!({"userName": "b5@contoso.com"})).await;
    let put = json!({"userName": "b5@contoso.com", "active": "False",
        "roles": [{"primary": "True", "display": "Admin", "value": "Admin", "type": "WindowsAzureActiveDirectoryRole"}]});
    let a = raw(
        &server,
        "PUT",
        &format!("/Users/{id}"),
        Some(&put.to_string()),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let stored = get_user(&server, &id).await;
    assert_eq!(stored["active"], json!(false));
    assert_eq!(stored["roles"][0]["primary"], json!(true));
}

// row B3 under --strict-rfc: refused, the detail naming the boolean-string quirk.
#[tokio::test]
async fn strict_rfc_refuses_string_booleans_in_a_post_naming_the_quirk() {
    let server = strict();
    let a = post_user(
        &server,
        json!({"userName": "b3@contoso.com", "active": "True"}),
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["scimType"], "invalidValue");
    assert!(detail(&a).contains("`active` is boolean"), "{}", detail(&a));
    assert!(
        detail(&a).contains("quirk `boolean-string`"),
        "{}",
        detail(&a)
    );
    assert!(server.users().is_empty());
}

// --- deliverable 3: manager in every form Entra uses -------------------------------------

// row B4: apache/directory-scimple#1242 — the manager id as a bare string in a POST.
#[tokio::test]
async fn post_with_a_plain_manager_id_stores_the_complex_form() {
    let server = entra();
    let boss = user(&server, json!({"userName": "boss@contoso.com"})).await;
    let a = post_user(
        &server,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
               "userName": "b4@contoso.com", ENTERPRISE: {"manager": boss, "department": "Sales"}}),
    )
    .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let id = a.body["id"].as_str().unwrap();
    let stored = get_user(&server, id).await;
    assert_eq!(stored[ENTERPRISE]["manager"]["value"], json!(boss));
    assert_eq!(stored[ENTERPRISE]["department"], "Sales");
}

// row B4 under --strict-rfc.
#[tokio::test]
async fn strict_rfc_refuses_a_plain_manager_id_in_a_post_naming_the_quirk() {
    let server = strict();
    let a = post_user(
        &server,
        json!({"userName": "b4@contoso.com", ENTERPRISE: {"manager": "m-1"}}),
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(
        detail(&a).contains("quirk `manager-as-string`"),
        "{}",
        detail(&a)
    );
}

// row E7: thomaspoignant/scim-patch#453 (a request received from Azure AD).
#[tokio::test]
async fn remove_manager_by_value_filter_clears_it() {
    let server = entra();
    let id = user(
        &server,
        json!({"userName": "e7@contoso.com", ENTERPRISE: {"manager": {"value": "m-7"}, "department": "D"}}),
    )
    .await;
    // A filter that does not match leaves the manager alone.
    let miss = patch_user(
        &server,
        &id,
        json!([{"op": "remove", "path": "manager[value eq \"other\"]"}]),
    )
    .await;
    assert_eq!(miss.status, 200, "{:?}", miss.body);
    assert_eq!(
        get_user(&server, &id).await[ENTERPRISE]["manager"]["value"],
        "m-7"
    );
    let a = patch_user(
        &server,
        &id,
        json!([{"op": "remove", "path": "manager[value eq \"m-7\"]"}]),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let stored = get_user(&server, &id).await;
    assert!(stored[ENTERPRISE].get("manager").is_none(), "{stored}");
    assert_eq!(stored[ENTERPRISE]["department"], "D");
}

// row E7 under --strict-rfc: refused naming the quirk; the manager stays.
#[tokio::test]
async fn strict_rfc_refuses_a_filter_on_manager_naming_the_quirk() {
    let server = strict();
    let id = user(
        &server,
        json!({"userName": "e7@contoso.com", ENTERPRISE: {"manager": {"value": "m-7"}}}),
    )
    .await;
    let a = patch_user(
        &server,
        &id,
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq \"m-7\"]"}]),
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["scimType"], "invalidPath");
    assert!(
        detail(&a).contains("filter-on-single-valued"),
        "{}",
        detail(&a)
    );
    assert_eq!(
        get_user(&server, &id).await[ENTERPRISE]["manager"]["value"],
        "m-7"
    );
}

// row E9: the reference check in the form Microsoft published (2017–18 "Using SCIM to
// provision users and groups", `filter=id eq … and manager eq …&attributes=id`).
#[tokio::test]
async fn reference_check_with_manager_eq_matches_manager_value() {
    for server in [entra(), strict()] {
        let boss = user(&server, json!({"userName": "boss@contoso.com"})).await;
        let id = user(
            &server,
            json!({"userName": "e9@contoso.com", ENTERPRISE: {"manager": {"value": boss}}}),
        )
        .await;
        for (manager, hits) in [(boss.as_str(), 1), ("someone-else", 0)] {
            for form in ["manager", "manager.value", &format!("{ENTERPRISE}:manager")] {
                let target = format!(
                    "/Users?filter=id%20eq%20%22{id}%22%20and%20{form}%20eq%20%22{manager}%22&attributes=id"
                );
                let a = raw(&server, "GET", &target, None).await;
                assert_eq!(a.status, 200, "{form}: {:?}", a.body);
                assert_eq!(
                    a.body["totalResults"], hits,
                    "{form} eq {manager}: {:?}",
                    a.body
                );
                if hits == 1 {
                    assert_eq!(a.body["Resources"][0]["id"], json!(id));
                }
            }
        }
    }
}

// --- deliverable 4: null means remove ----------------------------------------------------

// row C21: the Logic App "SCIM Validation" template's mandatory null-update test
// (AzureAD/SCIMReferenceCode, Microsoft.SCIM.LogicAppValidationTemplate), verbose ops.
#[tokio::test]
async fn replace_with_null_clears_each_attribute() {
    for server in [entra(), strict()] {
        let id = user(
            &server,
            json!({"userName": "c21@contoso.com", "title": "T", "name": {"givenName": "G", "familyName": "F"},
                   "emails": [{"type": "work", "value": "w@contoso.com", "primary": true}],
                   ENTERPRISE: {"department": "D", "manager": {"value": "m"}}}),
        )
        .await;
        let a = patch_user(
            &server,
            &id,
            json!([
                {"op": "replace", "path": "title", "value": null},
                {"op": "replace", "path": "name.givenName", "value": null},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": null},
                {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": null},
                {"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": null}
            ]),
        )
        .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let stored = get_user(&server, &id).await;
        assert!(stored.get("title").is_none(), "{stored}");
        assert_eq!(stored["name"], json!({"familyName": "F"}));
        assert!(stored["emails"][0].get("value").is_none(), "{stored}");
        assert!(stored.get(ENTERPRISE).is_none(), "{stored}");
        assert_eq!(
            stored["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
        );
    }
}

// row C21, path-less: `{"op":"replace","value":{"title":null,…}}`.
#[tokio::test]
async fn pathless_replace_with_null_members_clears_them() {
    for server in [entra(), strict()] {
        let id = user(
            &server,
            json!({"userName": "c21b@contoso.com", "title": "T", "nickName": "N", "displayName": "D"}),
        )
        .await;
        let a = patch_user(
            &server,
            &id,
            json!([{"op": "replace", "value": {"title": null, "nickName": null}}]),
        )
        .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let stored = get_user(&server, &id).await;
        assert!(
            stored.get("title").is_none() && stored.get("nickName").is_none(),
            "{stored}"
        );
        assert_eq!(stored["displayName"], "D");
    }
}

// row C21: null on a required attribute is still refused (RFC 7644 §3.5.2.2).
#[tokio::test]
async fn replace_user_name_with_null_is_a_mutability_error() {
    let server = entra();
    let id = user(&server, json!({"userName": "keep@contoso.com"})).await;
    let a = patch_user(
        &server,
        &id,
        json!([{"op": "replace", "path": "userName", "value": null}]),
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["scimType"], "mutability");
    assert_eq!(get_user(&server, &id).await["userName"], "keep@contoso.com");
}

// --- deliverable 6: PATCH on an extension's own URN --------------------------------------

// RFC 7644 §3.5.2, §3.10; what scim2-tester's check_add_attribute sends.
#[tokio::test]
async fn add_on_the_extension_urn_merges_into_the_extension_object() {
    for server in [entra(), strict()] {
        let id = user(
            &server,
            json!({"userName": "x@contoso.com", ENTERPRISE: {"department": "D", "costCenter": "C"}}),
        )
        .await;
        let a = patch_user(
            &server,
            &id,
            // scim2-tester's body: the extension model carries its own `schemas`.
            json!([{"op": "add", "path": ENTERPRISE,
                    "value": {"schemas": [ENTERPRISE], "employeeNumber": "42", "department": "E"}}]),
        )
        .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let stored = get_user(&server, &id).await;
        assert_eq!(
            stored[ENTERPRISE],
            json!({"department": "E", "costCenter": "C", "employeeNumber": "42"})
        );
        assert_eq!(
            stored["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE])
        );
        assert!(stored
            .get("urn:ietf:params:scim:schemas:extension:enterprise:2.0")
            .is_none());
    }
}

#[tokio::test]
async fn replace_on_the_extension_urn_creates_it_and_lists_its_urn() {
    let server = entra();
    let id = user(&server, json!({"userName": "y@contoso.com"})).await;
    let a = patch_user(
        &server,
        &id,
        json!([{"op": "replace", "path": ENTERPRISE, "value": {"manager": {"value": "m-1"}, "division": "V"}}]),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["schemas"][1], ENTERPRISE);
    let stored = get_user(&server, &id).await;
    assert_eq!(
        stored[ENTERPRISE],
        json!({"manager": {"value": "m-1"}, "division": "V"})
    );
}

#[tokio::test]
async fn remove_on_the_extension_urn_drops_the_object_and_its_urn() {
    for server in [entra(), strict()] {
        let id = user(
            &server,
            json!({"userName": "z@contoso.com", ENTERPRISE: {"department": "D"}}),
        )
        .await;
        let a = patch_user(&server, &id, json!([{"op": "remove", "path": ENTERPRISE}])).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let stored = get_user(&server, &id).await;
        assert!(stored.get(ENTERPRISE).is_none(), "{stored}");
        assert_eq!(
            stored["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
        );
    }
}

// row C22: the pre-2018 dot notation (Microsoft Learn, "Known issues and resolutions with
// SCIM 2.0 protocol compliance of the Microsoft Entra user provisioning service").
#[tokio::test]
async fn the_pre_2018_dot_notation_lands_in_the_extension() {
    let server = entra();
    let id = user(&server, json!({"userName": "c22@contoso.com"})).await;
    let path = format!("{ENTERPRISE}.department");
    let a = patch_user(
        &server,
        &id,
        json!([{"op": "Add", "path": path, "value": "X"}]),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let stored = get_user(&server, &id).await;
    assert_eq!(stored[ENTERPRISE], json!({"department": "X"}));
    assert_eq!(stored["schemas"].as_array().unwrap().len(), 2, "{stored}");

    let server = strict();
    let id = user(&server, json!({"userName": "c22@contoso.com"})).await;
    let a = patch_user(
        &server,
        &id,
        json!([{"op": "add", "path": path, "value": "X"}]),
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(detail(&a).contains("urn-dot-attribute"), "{}", detail(&a));
    assert!(get_user(&server, &id).await.get(ENTERPRISE).is_none());
}

// --- deliverable 5: the Validator's "Create a new User" body -------------------------------

/// The SCIM Validator's "Create a new User" body as its captured runs show it (Microsoft
/// Learn, "Tutorial: Validate a SCIM endpoint" / scimvalidator.microsoft.com; third-party
/// captures of its results): generated strings, `roles[].primary` as the string "True", a
/// manager id that is no user, a `profileUrl` that is no URI, three phone numbers,
/// `userType`, `locale`, `timezone`.
fn validator_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "dale.mohr@romaguera.uk",
        "active": true,
        "displayName": "KVNYQKZXGEPJ",
        "title": "HRQBMLXNVXJA",
        "nickName": "QWCDPKMZ",
        "userType": "LVJQWCSZ",
        "locale": "MKSXQGLD",
        "timezone": "YJDSNBWA",
        "preferredLanguage": "fr-CA",
        "profileUrl": "BAPNQLJSRQGD",
        "emails": [{"type": "work", "value": "dale.mohr@romaguera.uk", "primary": true}],
        "name": {"givenName": "Dale", "familyName": "Mohr", "formatted": "Dale Mohr"},
        "addresses": [{"type": "work", "formatted": "1 Main St", "streetAddress": "1 Main St",
                       "locality": "Leeds", "region": "WY", "postalCode": "LS1", "country": "UK",
                       "primary": false}],
        "phoneNumbers": [
            {"type": "work", "value": "555-0100", "primary": false},
            {"type": "mobile", "value": "555-0101", "primary": false},
            {"type": "fax", "value": "555-0102", "primary": false}
        ],
        "roles": [{"primary": "True", "display": "DFTZCEJQ", "value": "XPGKVLBM",
                   "type": "WindowsAzureActiveDirectoryRole"}],
        ENTERPRISE: {"employeeNumber": "PXQRVLTN", "department": "MJSKQZVE", "costCenter": "BWNFHJKS",
                     "organization": "GZRLVXQA", "division": "TCYNWQPD",
                     "manager": {"value": "NSMVKXWQ"}}
    })
}

// row B5: accepted as sent, kept as sent (the manager is not resolved), then found by
// the Validator's GET-by-filter.
#[tokio::test]
async fn the_validators_create_user_body_is_accepted_and_found() {
    let server = entra();
    let a = post_user(&server, validator_user()).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let id = a.body["id"].as_str().unwrap().to_owned();
    let stored = get_user(&server, &id).await;
    assert_eq!(stored["roles"][0]["primary"], json!(true));
    assert_eq!(stored["roles"][0]["value"], "XPGKVLBM");
    assert_eq!(stored[ENTERPRISE]["manager"], json!({"value": "NSMVKXWQ"}));
    assert_eq!(stored["profileUrl"], "BAPNQLJSRQGD");
    assert_eq!(stored["phoneNumbers"].as_array().unwrap().len(), 3);
    assert_eq!(stored["userType"], "LVJQWCSZ");
    assert_eq!(stored["locale"], "MKSXQGLD");
    assert_eq!(stored["timezone"], "YJDSNBWA");
    assert_eq!(stored[ENTERPRISE]["division"], "TCYNWQPD");
    let found = raw(
        &server,
        "GET",
        "/Users?filter=userName+eq+%22dale.mohr%40romaguera.uk%22",
        None,
    )
    .await;
    assert_eq!(found.status, 200);
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], json!(id));
}

// row B5 under --strict-rfc: the string `primary` is the one thing refused.
#[tokio::test]
async fn strict_rfc_refuses_the_validators_body_on_its_string_primary() {
    let server = strict();
    let a = post_user(&server, validator_user()).await;
    assert_eq!(a.status, 400);
    assert!(
        detail(&a).contains("`roles.primary` is boolean"),
        "{}",
        detail(&a)
    );
    assert!(
        detail(&a).contains("quirk `boolean-string`"),
        "{}",
        detail(&a)
    );
    let mut body = validator_user();
    body["roles"][0]["primary"] = json!(true);
    assert_eq!(post_user(&server, body).await.status, 201);
}

// --- deliverable 7: root /.search under a strict filter policy ----------------------------

// RFC 7644 §3.4.3 (a search at the root spans every resource type) and §3.4.2.1: a
// `userName` filter is not refused because Groups have no `userName`; it matches no group.
#[tokio::test]
async fn root_search_on_user_name_is_not_refused_for_groups_lacking_it() {
    let server = start(Profile::builtin("servicely").unwrap());
    let id = user(
        &server,
        json!({"userName": "s7@contoso.com", "externalId": "s7", "active": true}),
    )
    .await;
    let g = raw(
        &server,
        "POST",
        "/Groups",
        Some(&json!({"displayName": "Sales", "externalId": "g7"}).to_string()),
    )
    .await;
    assert_eq!(g.status, 201, "{:?}", g.body);
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                        "filter": "userName eq \"s7@contoso.com\""});
    let a = raw(&server, "POST", "/.search", Some(&search.to_string())).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["totalResults"], 1);
    assert_eq!(a.body["Resources"][0]["id"], json!(id));
    // The groups' own endpoint still applies the policy to them.
    let on_groups = raw(
        &server,
        "GET",
        "/Groups?filter=userName%20eq%20%22s7%40contoso.com%22",
        None,
    )
    .await;
    assert_eq!(on_groups.status, 400);
    // An attribute no type has is refused at the root as on each endpoint.
    let nowhere = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                         "filter": "favouriteColour eq \"x\""});
    let a = raw(&server, "POST", "/.search", Some(&nowhere.to_string())).await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert_eq!(a.body["scimType"], "invalidFilter");
}

// --- deliverable 8: /Schemas describes the profile truly ------------------------------------

// row G1 (the Logic App's mandatory schema-discoverability test reads /Schemas): the
// parent of a required sub-attribute is required, and a required value path shows as a
// required `value` plus a description naming the rule.
#[tokio::test]
async fn schemas_mark_parents_and_value_paths_of_required_rows() {
    let server = start(Profile::builtin("alexishr").unwrap());
    let a = raw(
        &server,
        "GET",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let attr = |name: &str| -> Value {
        a.body["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let sub = |parent: &Value, name: &str| -> Value {
        parent["subAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let name = attr("name");
    assert_eq!(name["required"], true);
    assert_eq!(sub(&name, "givenName")["required"], true);
    assert_eq!(sub(&name, "middleName")["required"], false);
    for (multi, rule) in [
        ("emails", "emails[type eq \"work\"].value"),
        ("phoneNumbers", "phoneNumbers[type eq \"work\"].value"),
    ] {
        let a = attr(multi);
        assert_eq!(a["required"], true, "{multi}");
        assert_eq!(sub(&a, "value")["required"], true, "{multi}");
        let description = a["description"].as_str().unwrap_or_default();
        assert!(description.contains(rule), "{multi}: {description}");
    }
    // A body built from what /Schemas now says required is one the profile accepts.
    let body = json!({"userName": "a@contoso.com", "active": true,
        "name": {"givenName": "A", "familyName": "B"},
        "emails": [{"type": "work", "value": "a@contoso.com"}],
        "phoneNumbers": [{"type": "work", "value": "+16175551212"}]});
    assert_eq!(post_user(&server, body).await.status, 201);
}

// --- deliverable 1: raw characters in the request target ---------------------------------

/// The SCIM Validator's request line, byte for byte (Microsoft Q&A 2238842).
const VALIDATOR_GET: &str = "/Users?filter=userName+eq+\"dale.mohr%40romaguera.uk\"";

// row A4: the literal `"` reaches the filter, finds the user and is journaled.
#[tokio::test]
async fn the_validators_raw_quotes_in_a_filter_find_the_user() {
    let server = entra();
    let id = user(&server, json!({"userName": "dale.mohr@romaguera.uk"})).await;
    let a = raw(&server, "GET", VALIDATOR_GET, None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["totalResults"], 1);
    assert_eq!(a.body["Resources"][0]["id"], json!(id));
    let journal = server.received_requests();
    let last = journal.last().unwrap();
    assert_eq!(last.method, "GET");
    assert!(last.uri.contains("%22dale.mohr"), "{:?}", last.uri);
    // The other raw characters of the documented set: `#` is data, not a fragment.
    let id = user(&server, json!({"userName": "a#b{c}|d^e`f<h>@contoso.com"})).await;
    let a = raw(
        &server,
        "GET",
        "/Users?filter=userName%20eq%20\"a#b{c}|d^e`f<h>@contoso.com\"",
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["totalResults"], 1, "{:?}", a.body);
    assert_eq!(a.body["Resources"][0]["id"], json!(id));
}

// row A4 on a kept-alive connection: every request's target is normalised, also after a
// request with a body.
#[tokio::test]
async fn raw_quotes_are_normalised_on_every_request_of_a_connection() {
    let server = entra();
    let base = base_path(&server);
    let body = json!({"userName": "dale.mohr@romaguera.uk", "active": "True"}).to_string();
    let wire = format!(
        "POST {base}/Users HTTP/1.1\r\nHost: x\r\nContent-Type: application/scim+json\r\n\
         Content-Length: {}\r\n\r\n{body}\
         GET {base}{VALIDATOR_GET} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    stream.write_all(wire.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let second = text.find("HTTP/1.1 200").expect("the GET is answered 200");
    assert!(text[..second].starts_with("HTTP/1.1 201"), "{text}");
    let answer = parse_answer(&bytes[second..]);
    assert_eq!(answer.body["totalResults"], 1, "{text}");
}

// What is still refused at the HTTP layer answers with an RFC 7644 §3.12 body.
#[tokio::test]
async fn a_target_that_stays_invalid_gets_a_scim_400_body() {
    let server = entra();
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    // Bytes that are not UTF-8 in the target: httparse (hyper's parser) refuses them.
    stream
        .write_all(b"GET /scim/v2/Users?filter=\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .unwrap()
        .unwrap();
    let a = parse_answer(&bytes);
    assert_eq!(a.status, 400);
    assert!(
        a.head.contains("content-type: application/scim+json"),
        "{}",
        a.head
    );
    assert_eq!(
        a.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(a.body["status"], "400");
    assert_eq!(a.body["scimType"], "invalidSyntax");
    assert!(detail(&a).contains("not valid HTTP/1.1"), "{}", detail(&a));
}

#[tokio::test]
async fn too_many_header_fields_get_a_scim_431_body() {
    let server = entra();
    let mut head = String::from("GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n");
    for i in 0..120 {
        head.push_str(&format!("X-H{i}: v\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .unwrap()
        .unwrap();
    let a = parse_answer(&bytes);
    assert_eq!(a.status, 431);
    assert_eq!(a.body["status"], "431");
    assert!(detail(&a).contains("header fields"), "{}", detail(&a));
}

// row A4 through `scimock record`: the proxy normalises too and forwards the query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_accepts_raw_quotes_and_forwards_them_encoded() {
    let upstream = entra();
    let id = user(&upstream, json!({"userName": "dale.mohr@romaguera.uk"})).await;
    let recorder =
        scimock::record::Recorder::start(&upstream.base_url(), "127.0.0.1:0", "raw", None)
            .await
            .unwrap();
    let a = raw_target(recorder.addr(), "GET", VALIDATOR_GET, None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["Resources"][0]["id"], json!(id));
    recorder.stop().await;
}
