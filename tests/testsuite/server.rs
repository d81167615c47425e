//! The server over real HTTP on 127.0.0.1:0: snapshots of every Entra request in
//! entra-provisioning.md §1 and of every error kind, plus behaviour checks. Deterministic
//! through a fixed clock and sequential ids; only the port is replaced in snapshots.

use scimock::MockServer;
use serde_json::{json, Value};

pub(crate) use crate::support::{send, server, Answer, TOKEN};

/// Snapshot `server@name` of an exchange: request line, status, interesting headers, body.
fn snap(server: &MockServer, name: &str, request: &str, a: &Answer) {
    let mut headers = serde_json::Map::new();
    for h in [
        "content-type",
        "etag",
        "location",
        "allow",
        "www-authenticate",
    ] {
        if let Some(v) = a.header(h) {
            headers.insert(h.into(), Value::String(v.to_owned()));
        }
    }
    let shown =
        json!({"request": request, "status": a.status, "headers": headers, "body": a.json()});
    let text = serde_json::to_string(&shown)
        .unwrap()
        .replace(&server.uri(), "http://127.0.0.1:PORT");
    let shown: Value = serde_json::from_str(&text).unwrap();
    crate::support::snapshot_settings()
        .bind(|| insta::assert_json_snapshot!(format!("server@{name}"), shown));
}

async fn exchange(
    server: &MockServer,
    name: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let text = body.map(|b| b.to_string());
    let a = send(server, method, path, text.as_deref(), &[]).await;
    snap(server, name, &format!("{method} {path}"), &a);
    a
}

fn entra_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true,
        "emails": [{"primary": true, "type": "work",
                    "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    })
}

fn patch_op(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

#[tokio::test]
async fn entra_provisioning_catalog_gets_the_documented_answers() {
    let s = server();
    let miss = exchange(
        &s,
        "test_connection",
        "GET",
        "/Users?filter=userName+eq+%22cf4d78e8-cc4f-4d5d-b8b9-183561c0104a%22",
        None,
    )
    .await;
    assert_eq!(
        (
            miss.status,
            miss.json()["totalResults"].clone(),
            miss.json()["Resources"].clone()
        ),
        (200, json!(0), json!([]))
    );

    let created = exchange(&s, "create_user", "POST", "/Users", Some(entra_user())).await;
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        created.json()["meta"]["location"].as_str()
    );

    exchange(&s, "get_user", "GET", &format!("/Users/{id}"), None).await;
    exchange(
        &s,
        "get_user_not_found",
        "GET",
        "/Users/5171a35d82074e068ce2",
        None,
    )
    .await;
    let hit = exchange(
        &s,
        "filter_user_hit",
        "GET",
        "/Users?filter=userName+eq+%22Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee%22",
        None,
    )
    .await;
    assert_eq!(hit.json()["totalResults"], 1);
    exchange(
        &s,
        "filter_user_miss",
        "GET",
        "/Users?filter=userName%20eq%20%22non-existent%20user%22",
        None,
    )
    .await;

    let multi = patch_op(json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]));
    let updated = exchange(
        &s,
        "update_user_multi_valued",
        "PATCH",
        &format!("/Users/{id}"),
        Some(multi),
    )
    .await;
    assert_eq!(updated.status, 200);
    let single = patch_op(
        json!([{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]),
    );
    exchange(
        &s,
        "update_user_single_valued",
        "PATCH",
        &format!("/Users/{id}"),
        Some(single),
    )
    .await;
    let disable = patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let disabled = exchange(
        &s,
        "disable_user",
        "PATCH",
        &format!("/Users/{id}"),
        Some(disable),
    )
    .await;
    assert_eq!(disabled.json()["active"], false);

    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"}});
    let g = exchange(&s, "create_group", "POST", "/Groups", Some(group)).await;
    assert_eq!(g.status, 201);
    let gid = g.json()["id"].as_str().unwrap().to_owned();
    let g2 = exchange(
        &s,
        "create_group_with_empty_members",
        "POST",
        "/Groups",
        Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "externalId": "60f1bb27-2e1e-402d-bcc4-ec999564a194", "displayName": "Org Admin",
        "members": [], "meta": {"resourceType": "Group"}})),
    )
    .await;
    assert_eq!(g2.status, 201);
    exchange(
        &s,
        "get_group",
        "GET",
        &format!("/Groups/{gid}?excludedAttributes=members"),
        None,
    )
    .await;
    exchange(
        &s,
        "filter_group",
        "GET",
        "/Groups?excludedAttributes=members&filter=displayName+eq+%22displayName%22",
        None,
    )
    .await;

    let add =
        patch_op(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}]}]));
    let added = exchange(
        &s,
        "patch_group_add_member",
        "PATCH",
        &format!("/Groups/{gid}"),
        Some(add),
    )
    .await;
    assert_eq!(added.status, 204);
    exchange(
        &s,
        "get_group_with_members",
        "GET",
        &format!("/Groups/{gid}"),
        None,
    )
    .await;
    let remove = patch_op(
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": id}]}]),
    );
    let removed = exchange(
        &s,
        "patch_group_remove_member",
        "PATCH",
        &format!("/Groups/{gid}"),
        Some(remove),
    )
    .await;
    assert_eq!(removed.status, 204);
    let rename = patch_op(
        json!([{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]),
    );
    let renamed = exchange(
        &s,
        "patch_group_display_name",
        "PATCH",
        &format!("/Groups/{gid}"),
        Some(rename),
    )
    .await;
    assert_eq!(renamed.status, 204);

    let del = exchange(&s, "delete_user", "DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(del.status, 204);
    let del = exchange(
        &s,
        "delete_group",
        "DELETE",
        &format!("/Groups/{gid}"),
        None,
    )
    .await;
    assert_eq!(del.status, 204);
    assert_eq!(s.users(), Vec::<Value>::new());
}

#[tokio::test]
async fn discovery_endpoints_describe_what_the_server_supports() {
    let s = server();
    exchange(
        &s,
        "service_provider_config",
        "GET",
        "/ServiceProviderConfig",
        None,
    )
    .await;
    exchange(&s, "resource_types", "GET", "/ResourceTypes", None).await;
    exchange(&s, "resource_type_user", "GET", "/ResourceTypes/User", None).await;
    let all = exchange(&s, "schemas", "GET", "/Schemas", None).await;
    assert_eq!(all.json()["totalResults"], 3);
    let one = send(
        &s,
        "GET",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
        None,
        &[],
    )
    .await;
    assert_eq!(
        one.json()["id"],
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    );
}

async fn error_case(
    s: &MockServer,
    name: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
    status: u16,
) -> Answer {
    let a = send(s, method, path, body, headers).await;
    assert_eq!(a.status, status, "{name}: {}", a.json());
    snap(s, &format!("error_{name}"), &format!("{method} {path}"), &a);
    a
}

#[tokio::test]
async fn every_error_kind_is_a_scim_error_body() {
    let s = server();
    let u = send(&s, "POST", "/Users", Some(r#"{"userName":"taken"}"#), &[]).await;
    let id = u.json()["id"].as_str().unwrap().to_owned();
    error_case(
        &s,
        "invalid_filter",
        "GET",
        "/Users?filter=userName+eq",
        None,
        &[],
        400,
    )
    .await;
    error_case(
        &s,
        "invalid_filter_encoding",
        "GET",
        "/Users?filter=userName+eq+%2",
        None,
        &[],
        400,
    )
    .await;
    error_case(
        &s,
        "invalid_syntax_json",
        "POST",
        "/Users",
        Some("{\"userName\": "),
        &[],
        400,
    )
    .await;
    let deep = "[".repeat(10_000);
    error_case(
        &s,
        "invalid_syntax_deep_json",
        "POST",
        "/Users",
        Some(&deep),
        &[],
        400,
    )
    .await;
    error_case(
        &s,
        "invalid_value_type",
        "POST",
        "/Users",
        Some(r#"{"userName":"x","active":"yes"}"#),
        &[],
        400,
    )
    .await;
    error_case(
        &s,
        "invalid_value_unknown_schema",
        "POST",
        "/Users",
        Some(r#"{"schemas":["urn:example:Thing"],"userName":"x"}"#),
        &[],
        400,
    )
    .await;
    error_case(
        &s,
        "invalid_value_unknown_member",
        "POST",
        "/Groups",
        Some(r#"{"displayName":"g","members":[{"value":"nobody"}]}"#),
        &[],
        400,
    )
    .await;
    error_case(
        &s,
        "invalid_path_attributes",
        "GET",
        "/Users?attributes=name..x",
        None,
        &[],
        400,
    )
    .await;
    let no_target = patch_op(json!([{"op": "remove"}])).to_string();
    error_case(
        &s,
        "no_target",
        "PATCH",
        &format!("/Users/{id}"),
        Some(&no_target),
        &[],
        400,
    )
    .await;
    let ops: Vec<Value> = (0..1001)
        .map(|_| json!({"op": "replace", "path": "active", "value": true}))
        .collect();
    let too_many = patch_op(Value::Array(ops)).to_string();
    error_case(
        &s,
        "too_many",
        "PATCH",
        &format!("/Users/{id}"),
        Some(&too_many),
        &[],
        400,
    )
    .await;
    error_case(
        &s,
        "mutability_id",
        "PUT",
        &format!("/Users/{id}"),
        Some(r#"{"id":"other","userName":"taken"}"#),
        &[],
        400,
    )
    .await;
    error_case(
        &s,
        "unauthorized_missing",
        "GET",
        "/Users",
        None,
        &[("authorization", "")],
        401,
    )
    .await;
    error_case(
        &s,
        "unauthorized_wrong",
        "GET",
        "/Users",
        None,
        &[("authorization", "Bearer nope")],
        401,
    )
    .await;
    error_case(&s, "not_found_endpoint", "GET", "/Widgets", None, &[], 404).await;
    error_case(
        &s,
        "not_found_resource_type",
        "GET",
        "/ResourceTypes/Widget",
        None,
        &[],
        404,
    )
    .await;
    error_case(&s, "method_not_allowed", "DELETE", "/Users", None, &[], 405).await;
    error_case(
        &s,
        "uniqueness",
        "POST",
        "/Users",
        Some(r#"{"userName":"TAKEN"}"#),
        &[],
        409,
    )
    .await;
    error_case(
        &s,
        "precondition_failed",
        "DELETE",
        &format!("/Users/{id}"),
        None,
        &[("if-match", "W/\"41\"")],
        412,
    )
    .await;
    error_case(
        &s,
        "unsupported_media_type",
        "POST",
        "/Users",
        Some(r#"{"userName":"y"}"#),
        &[("content-type", "text/plain")],
        415,
    )
    .await;
    let big = format!(r#"{{"userName":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    error_case(
        &s,
        "payload_too_large",
        "POST",
        "/Users",
        Some(&big),
        &[],
        413,
    )
    .await;
    let not_modified = send(
        &s,
        "GET",
        &format!("/Users/{id}"),
        None,
        &[("if-none-match", "W/\"1\"")],
    )
    .await;
    assert_eq!(not_modified.status, 304);
    // Hostile input changed nothing and the server still serves.
    assert_eq!(s.users().len(), 1);
    assert_eq!(send(&s, "GET", "/Users", None, &[]).await.status, 200);
}

#[tokio::test]
async fn returns_409_when_user_name_is_taken_in_another_case() {
    let s = server();
    assert_eq!(
        send(&s, "POST", "/Users", Some(r#"{"userName":"Bob"}"#), &[])
            .await
            .status,
        201
    );
    assert_eq!(
        send(&s, "POST", "/Users", Some(r#"{"userName":"bob"}"#), &[])
            .await
            .status,
        409
    );
}

#[tokio::test]
async fn deleting_a_user_removes_it_from_every_group() {
    let s = server();
    let u = send(&s, "POST", "/Users", Some(r#"{"userName":"a"}"#), &[]).await;
    let uid = u.json()["id"].as_str().unwrap();
    for name in ["g1", "g2"] {
        let body = json!({"displayName": name, "members": [{"value": uid}]}).to_string();
        assert_eq!(
            send(&s, "POST", "/Groups", Some(&body), &[]).await.status,
            201
        );
    }
    assert_eq!(
        send(&s, "DELETE", &format!("/Users/{uid}"), None, &[])
            .await
            .status,
        204
    );
    for g in s.groups() {
        assert_eq!(g["members"], json!([]));
    }
}

#[tokio::test]
async fn adding_an_unknown_member_fails_the_whole_patch() {
    let s = server();
    let u = send(&s, "POST", "/Users", Some(r#"{"userName":"a"}"#), &[]).await;
    let uid = u.json()["id"].as_str().unwrap();
    let g = send(&s, "POST", "/Groups", Some(r#"{"displayName":"g"}"#), &[]).await;
    let gid = g.json()["id"].as_str().unwrap();
    let body = patch_op(
        json!([{"op": "add", "path": "members", "value": [{"value": uid}, {"value": "ghost"}]}]),
    )
    .to_string();
    let a = send(&s, "PATCH", &format!("/Groups/{gid}"), Some(&body), &[]).await;
    assert_eq!(a.status, 400);
    assert!(a.json()["detail"].as_str().unwrap().contains("ghost"));
    assert_eq!(s.groups()[0]["members"], json!([]));
}

#[tokio::test]
async fn lists_page_sort_and_count_zero_return_only_totals() {
    let s = server();
    for name in ["carol", "alice", "bob"] {
        send(
            &s,
            "POST",
            "/Users",
            Some(&json!({"userName": name}).to_string()),
            &[],
        )
        .await;
    }
    let zero = send(&s, "GET", "/Users?count=0", None, &[]).await;
    assert_eq!(
        (
            zero.json()["totalResults"].clone(),
            zero.json()["Resources"].clone()
        ),
        (json!(3), json!([]))
    );
    let sorted = send(
        &s,
        "GET",
        "/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=1&attributes=userName",
        None,
        &[],
    )
    .await;
    assert_eq!(sorted.json()["Resources"][0]["userName"], "bob");
    assert_eq!(sorted.json()["startIndex"], 2);
    let search = send(&s, "POST", "/Users/.search", Some(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName sw \"a\""}"#), &[]).await;
    assert_eq!(search.json()["totalResults"], 1);
    let root = send(
        &s,
        "POST",
        "/.search",
        Some(r#"{"filter":"userName pr"}"#),
        &[],
    )
    .await;
    assert_eq!(root.json()["totalResults"], 3);
}

#[tokio::test]
async fn password_is_stored_but_never_returned() {
    let s = server();
    let a = send(
        &s,
        "POST",
        "/Users",
        Some(r#"{"userName":"p","password":"hunter2","x-vendor":{"keep":1}}"#),
        &[],
    )
    .await;
    assert!(a.json().get("password").is_none());
    assert_eq!(a.json()["x-vendor"], json!({"keep": 1}));
    let q = send(&s, "GET", "/Users?attributes=password", None, &[]).await;
    assert!(q.json()["Resources"][0].get("password").is_none());
}

#[tokio::test]
async fn journal_records_requests_and_reset_restores_the_seed() {
    let seed = json!({"Users": [{"id": "u1", "userName": "seeded"}], "Groups": []});
    let s = MockServer::builder().token(TOKEN).seed(seed).start().await;
    send(&s, "POST", "/Users", Some(r#"{"userName":"new"}"#), &[]).await;
    assert_eq!(s.users().len(), 2);
    let journal = send(&s, "GET", "/_mock/requests", None, &[]).await;
    assert_eq!(journal.json()[0]["method"], "POST");
    assert_eq!(s.received_requests().len(), 1);
    assert_eq!(
        send(&s, "POST", "/_mock/reset", None, &[]).await.status,
        204
    );
    assert_eq!(s.users().len(), 1);
    assert!(s.received_requests().is_empty());
    assert_eq!(
        send(&s, "GET", "/_mock/health", None, &[("authorization", "")])
            .await
            .status,
        200
    );
}

#[test]
fn unknown_profiles_are_refused_with_a_clear_message() {
    let e = MockServer::builder()
        .profile_id("okta")
        .try_start()
        .unwrap_err();
    assert!(e.to_string().contains("entra-generic"));
}
