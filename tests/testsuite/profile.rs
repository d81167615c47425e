//! Vendor profiles over real HTTP: what each profile enforces (the acceptance cases), the
//! documented Entra request sequence per profile locked as snapshots
//! (`snapshots/profile@<id>_<step>.snap`), multi-tenant mode, the `profiles` CLI, and the
//! seed-coverage tests that read each seed tutorial's attribute tables at test time.

use scimock::clock::{FixedClock, SequentialIds};
use scimock::profile::{values_at, Profile};
use scimock::scim::ResourceKind;
use scimock::MockServer;
use serde_json::{json, Value};

use crate::support::{Answer, Http};

#[path = "profile_seeds.rs"]
mod seeds;

const TOKEN: &str = "profile-token";

fn server(profile: Profile) -> MockServer {
    MockServer::builder()
        .profile(profile)
        .token(TOKEN)
        .clock(FixedClock(time::macros::datetime!(2024-05-06 07:08:09 UTC)))
        .ids(SequentialIds::new())
        .start_blocking()
}

fn builtin(id: &str) -> Profile {
    Profile::builtin(id).unwrap()
}

/// One request to an absolute URL with a bearer token.
async fn send_to(url: &str, token: &str, method: &str, body: Option<&Value>) -> Answer {
    Http::new("", Some(token)).send(method, url, body).await
}

async fn send(s: &MockServer, method: &str, path: &str, body: Option<&Value>) -> Answer {
    Http::to(s, TOKEN).send(method, path, body).await
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn query(filter: &str) -> String {
    form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

fn alexishr_user(phone: Option<&str>) -> Value {
    let mut u = builtin("alexishr").example(ResourceKind::User);
    match phone {
        Some(p) => u["phoneNumbers"][0]["value"] = json!(p),
        None => {
            u.as_object_mut().unwrap().remove("phoneNumbers");
        }
    }
    u
}

fn assert_scim_error(a: &Answer, status: u16, scim_type: &str, detail_has: &str) {
    assert_eq!(a.status, status, "{}", a.json());
    assert_eq!(a.json()["scimType"], scim_type, "{}", a.json());
    let detail = a.json()["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(detail_has), "{detail}");
}

#[tokio::test]
async fn alexishr_rejects_a_user_without_a_work_phone() {
    let s = server(builtin("alexishr"));
    let a = send(&s, "POST", "/Users", Some(&alexishr_user(None))).await;
    assert_scim_error(
        &a,
        400,
        "invalidValue",
        r#"`phoneNumbers[type eq "work"].value` is required by AlexisHR"#,
    );
    assert!(s.users().is_empty());
}

#[tokio::test]
async fn alexishr_rejects_a_phone_that_is_not_e164_and_quotes_the_example() {
    let s = server(builtin("alexishr"));
    let a = send(
        &s,
        "POST",
        "/Users",
        Some(&alexishr_user(Some("617-555-1212"))),
    )
    .await;
    assert_scim_error(
        &a,
        400,
        "invalidValue",
        "E.164 phone number such as `+16175551212`",
    );
    assert!(a.json()["detail"]
        .as_str()
        .unwrap()
        .contains("617-555-1212"));
    let snap = json!({"request": "POST /Users (work phone 617-555-1212)", "status": a.status, "response": a.json()});
    crate::support::snapshot_settings()
        .bind(|| insta::assert_json_snapshot!("profile@alexishr_invalid_phone", snap));
}

#[tokio::test]
async fn alexishr_accepts_e164_and_checks_phones_sent_by_patch_too() {
    let s = server(builtin("alexishr"));
    let a = send(
        &s,
        "POST",
        "/Users",
        Some(&alexishr_user(Some("+16175551212"))),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.json());
    let id = a.json()["id"].as_str().unwrap();
    let bad = patch(
        json!([{"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "617-555-1212"}]),
    );
    let p = send(&s, "PATCH", &format!("/Users/{id}"), Some(&bad)).await;
    assert_scim_error(&p, 400, "invalidValue", "+16175551212");
    assert_eq!(s.users()[0]["phoneNumbers"][0]["value"], "+16175551212");
}

#[tokio::test]
async fn alexishr_requires_each_required_row_and_refuses_filters_on_other_attributes() {
    let s = server(builtin("alexishr"));
    let mut u = alexishr_user(Some("+16175551212"));
    u["name"].as_object_mut().unwrap().remove("givenName");
    let a = send(&s, "POST", "/Users", Some(&u)).await;
    assert_scim_error(&a, 400, "invalidValue", "`name.givenName` is required");
    let f = send(
        &s,
        "GET",
        &format!("/Users?filter={}", query(r#"title eq "x""#)),
        None,
    )
    .await;
    assert_scim_error(
        &f,
        400,
        "invalidFilter",
        "attribute not filterable in this app: `title`",
    );
    let ok = send(
        &s,
        "GET",
        &format!("/Users?filter={}", query(r#"userName eq "x""#)),
        None,
    )
    .await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn entra_generic_allows_filters_on_non_matching_attributes() {
    let s = server(builtin("entra-generic"));
    let f = send(
        &s,
        "GET",
        &format!("/Users?filter={}", query(r#"title eq "x""#)),
        None,
    )
    .await;
    assert_eq!(
        (f.status, f.json()["totalResults"].clone()),
        (200, json!(0))
    );
}

#[tokio::test]
async fn freshservice_has_no_groups() {
    let s = server(builtin("freshservice"));
    for (method, path) in [
        ("GET", "/Groups"),
        ("POST", "/Groups"),
        ("GET", "/Groups/1"),
        ("GET", "/ResourceTypes/Group"),
    ] {
        let body = json!({"displayName": "g"});
        let a = send(&s, method, path, Some(&body)).await;
        assert_eq!(a.status, 404, "{method} {path}: {}", a.json());
    }
    let types = send(&s, "GET", "/ResourceTypes", None).await;
    let ids: Vec<&Value> = types.json()["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids, [&json!("User")]);
}

const FRESH: &str = "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User";

#[tokio::test]
async fn freshservice_round_trips_is_agent_and_rejects_unknown_extension_attributes() {
    let s = server(builtin("freshservice"));
    let user = builtin("freshservice").example(ResourceKind::User);
    assert_eq!(user[FRESH], json!({"isAgent": "true"}));
    let a = send(&s, "POST", "/Users", Some(&user)).await;
    assert_eq!(a.status, 201, "{}", a.json());
    let id = a.json()["id"].as_str().unwrap().to_owned();
    let got = send(&s, "GET", &format!("/Users/{id}"), None).await;
    assert_eq!(got.json()[FRESH]["isAgent"], "true");
    let op =
        patch(json!([{"op": "Replace", "path": format!("{FRESH}:isAgent"), "value": "false"}]));
    let p = send(&s, "PATCH", &format!("/Users/{id}"), Some(&op)).await;
    assert_eq!(
        (p.status, p.json()[FRESH]["isAgent"].clone()),
        (200, json!("false"))
    );

    let mut unknown = user.clone();
    unknown["userName"] = json!("other@contoso.example");
    unknown[FRESH]["isVip"] = json!("true");
    let r = send(&s, "POST", "/Users", Some(&unknown)).await;
    assert_scim_error(&r, 400, "invalidSyntax", &format!("`{FRESH}:isVip`"));
    let schemas = send(&s, "GET", &format!("/Schemas/{FRESH}"), None).await;
    assert_eq!(schemas.json()["attributes"][0]["name"], "isAgent");
}

#[tokio::test]
async fn schemas_and_resource_types_come_from_the_profile() {
    let s = server(builtin("alexishr"));
    let user = send(
        &s,
        "GET",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        None,
    )
    .await;
    let attr = |name: &str| {
        user.json()["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(attr("phoneNumbers")["required"], true);
    assert_eq!(attr("title")["required"], false);
    let given = attr("name")["subAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "givenName")
        .unwrap()
        .clone();
    assert_eq!(given["required"], true);
    let all = send(&s, "GET", "/Schemas", None).await;
    assert_eq!(
        all.json()["totalResults"],
        2,
        "core User and enterprise User only"
    );
}

#[tokio::test]
async fn alvao_serves_under_its_scim_base_path() {
    let s = server(builtin("alvao"));
    assert!(s.base_url().ends_with("/scim"), "{}", s.base_url());
    let a = send(&s, "GET", "/Groups", None).await;
    assert_eq!(a.status, 200);
    let v2 = send_to(&format!("{}/scim/v2/Users", s.uri()), TOKEN, "GET", None).await;
    assert_eq!(v2.status, 404);
}

#[tokio::test]
async fn one_process_serves_several_tenants_with_separate_stores_and_tokens() {
    let s = MockServer::builder()
        .tenant("hr", builtin("alexishr"), Some("hr-token".into()))
        .tenant("itsm", builtin("freshservice"), Some("itsm-token".into()))
        .tenant("dir", builtin("alvao"), None)
        .ids(SequentialIds::new())
        .start_blocking();
    let hr = s.tenant("hr").unwrap().base_url();
    let itsm = s.tenant("itsm").unwrap().base_url();
    assert_eq!(hr, format!("{}/hr/scim/v2", s.uri()));
    assert_eq!(
        s.tenant("dir").unwrap().base_url(),
        format!("{}/dir/scim", s.uri())
    );
    let dir_token = s.tenant("dir").unwrap().token().unwrap().to_owned();
    assert_eq!(dir_token.len(), 32);

    let user = alexishr_user(Some("+16175551212"));
    let a = send_to(&format!("{hr}/Users"), "hr-token", "POST", Some(&user)).await;
    assert_eq!(a.status, 201, "{}", a.json());
    let wrong = send_to(&format!("{itsm}/Users"), "hr-token", "GET", None).await;
    assert_eq!(wrong.status, 401);
    let other = send_to(&format!("{itsm}/Users"), "itsm-token", "GET", None).await;
    assert_eq!(other.json()["totalResults"], 0, "stores are separate");
    let groups = send_to(&format!("{itsm}/Groups"), "itsm-token", "GET", None).await;
    assert_eq!(groups.status, 404);
    let dir = send_to(
        &format!("{}/dir/scim/Groups", s.uri()),
        &dir_token,
        "GET",
        None,
    )
    .await;
    assert_eq!(dir.status, 200);
    let nowhere = send_to(
        &format!("{}/scim/v2/Users", s.uri()),
        "hr-token",
        "GET",
        None,
    )
    .await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(
        s.tenant("hr")
            .unwrap()
            .store()
            .all(ResourceKind::User)
            .len(),
        1
    );
    assert_eq!(
        s.tenant("itsm")
            .unwrap()
            .store()
            .all(ResourceKind::User)
            .len(),
        0
    );
}

#[test]
fn builder_profile_id_refuses_unknown_ids_listing_the_builtin_ones() {
    let e = MockServer::builder()
        .profile_id("okta")
        .try_start()
        .unwrap_err()
        .to_string();
    assert!(e.contains("alexishr") && e.contains("okta"), "{e}");
    let s = MockServer::builder()
        .profile_id("alexishr")
        .no_auth()
        .start_blocking();
    assert_eq!(s.profile().id(), "alexishr");
}

/// Snapshot `profile@<id>_<step>`: the request line, its body (when it has one), the status
/// and the response body, with the port replaced.
fn snap(s: &MockServer, id: &str, step: &str, request: &str, body: Option<&Value>, a: &Answer) {
    let mut shown = serde_json::Map::new();
    shown.insert("request".into(), json!(request));
    if let Some(b) = body {
        shown.insert("body".into(), b.clone());
    }
    shown.insert("status".into(), json!(a.status));
    shown.insert("response".into(), a.json().clone());
    let text = serde_json::to_string(&shown)
        .unwrap()
        .replace(&s.uri(), "http://127.0.0.1:PORT");
    let shown: Value = serde_json::from_str(&text).unwrap();
    crate::support::snapshot_settings()
        .bind(|| insta::assert_json_snapshot!(format!("profile@{id}_{step}"), shown));
}

async fn step(
    s: &MockServer,
    id: &str,
    name: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let a = send(s, method, path, body.as_ref()).await;
    let request = format!("{method} {}{path}", s.base_url().replace(&s.uri(), ""));
    snap(s, id, name, &request, body.as_ref(), &a);
    a
}

/// The Entra sequence for one app (entra-provisioning.md §1.1–§1.15): create a user with
/// exactly the mapped attributes, find it by the matching attribute, update, disable; and
/// for apps with groups: create a group, find it by displayName, add the user.
async fn entra_sequence(id: &str) {
    let p = builtin(id);
    let s = server(p.clone());
    let user = p.example(ResourceKind::User);
    let created = step(&s, id, "create_user", "POST", "/Users", Some(user.clone())).await;
    assert_eq!(created.status, 201, "{}", created.json());
    let uid = created.json()["id"].as_str().unwrap().to_owned();

    let matching = p
        .mapping(ResourceKind::User)
        .iter()
        .find(|r| r.filter)
        .map_or("userName", |r| r.path.as_str());
    let value = values_at(&user, matching, p.schema(ResourceKind::User))[0].clone();
    let filter = format!("{matching} eq {value}");
    let found = step(
        &s,
        id,
        "filter_user",
        "GET",
        &format!("/Users?filter={}", query(&filter)),
        None,
    )
    .await;
    assert_eq!(found.json()["totalResults"], 1, "{filter}");

    let update = patch(json!([{"op": "Replace", "path": "name.familyName", "value": "Byron"}]));
    let updated = step(
        &s,
        id,
        "update_user",
        "PATCH",
        &format!("/Users/{uid}"),
        Some(update),
    )
    .await;
    assert_eq!(updated.json()["name"]["familyName"], "Byron");

    let disable = patch(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let disabled = step(
        &s,
        id,
        "disable_user",
        "PATCH",
        &format!("/Users/{uid}"),
        Some(disable),
    )
    .await;
    assert_eq!(disabled.json()["active"], false);

    let types = step(&s, id, "resource_types", "GET", "/ResourceTypes", None).await;
    assert_eq!(types.json()["totalResults"], p.kinds().len());
    if !p.supports(ResourceKind::Group) {
        return;
    }
    let group = p.example(ResourceKind::Group);
    let g = step(&s, id, "create_group", "POST", "/Groups", Some(group)).await;
    assert_eq!(g.status, 201, "{}", g.json());
    let gid = g.json()["id"].as_str().unwrap().to_owned();
    let by_name = format!(
        "/Groups?excludedAttributes=members&filter={}",
        query(r#"displayName eq "Engineering""#)
    );
    step(&s, id, "filter_group", "GET", &by_name, None).await;
    let add = patch(json!([{"op": "Add", "path": "members", "value": [{"value": uid}]}]));
    let added = step(
        &s,
        id,
        "add_member",
        "PATCH",
        &format!("/Groups/{gid}"),
        Some(add),
    )
    .await;
    assert_eq!(added.status, 204);
    assert_eq!(s.groups()[0]["members"][0]["value"], json!(uid));
}

#[tokio::test]
async fn entra_sequence_entra_generic() {
    entra_sequence("entra-generic").await;
}

#[tokio::test]
async fn entra_sequence_servicely() {
    entra_sequence("servicely").await;
}

#[tokio::test]
async fn entra_sequence_freshservice() {
    entra_sequence("freshservice").await;
}

#[tokio::test]
async fn entra_sequence_visibly() {
    entra_sequence("visibly").await;
}

#[tokio::test]
async fn entra_sequence_alvao() {
    entra_sequence("alvao").await;
}

#[tokio::test]
async fn entra_sequence_alexishr() {
    entra_sequence("alexishr").await;
}

fn scimock(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn profiles_list_names_every_builtin_profile() {
    let out = scimock(&["profiles", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for id in scimock::profile::builtin_ids() {
        assert!(text.contains(id), "{text}");
    }
    assert!(text.contains("freshservice   Users "), "{text}");
}

#[test]
fn profiles_show_prints_the_seed_style_table() {
    let out = scimock(&["profiles", "show", "alexishr"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("|Attribute|Type|Supported for filtering|Required by AlexisHR|Rule|"),
        "{text}"
    );
    assert!(
        text.contains("|phoneNumbers[type eq \"work\"].value|String||✓|e164|"),
        "{text}"
    );
    let bad = scimock(&["profiles", "show", "okta"]);
    assert_eq!(bad.status.code(), Some(2));
    let serve = scimock(&["serve", "--profile", "okta", "--listen", "127.0.0.1:0"]);
    assert_eq!(serve.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&serve.stderr).contains("unknown profile `okta`"));
}

#[test]
fn profiles_show_prints_the_provisioning_mappings_from_the_section_or_derived() {
    let out = scimock(&["profiles", "show", "entra-generic"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "provisioning ([provisioning]): scope Assigned, dialect Legacy, SkipOutOfScopeDeletions false, deletion threshold off",
        "user mappings (enabled; create, update, delete):",
        "|Target attribute|Source|Matching precedence|Apply|",
        "|userName|userPrincipalName|1|always|",
        r#"|active|Switch([IsSoftDeleted], , "False", "True", "True", "False")||always|"#,
        "|urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager|manager||always|",
        "group mappings (enabled; create, update, delete):",
        "|displayName|displayName|1|always|",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in {text}");
    }
    // The same profile without its section: the mappings derived from its attributes.
    let (_, builtin) = scimock::profile::BUILTIN
        .iter()
        .find(|(id, _)| *id == "entra-generic")
        .unwrap();
    let bare = builtin
        .split("\n[provisioning]\n")
        .next()
        .unwrap()
        .to_owned();
    assert!(!bare.contains("[provisioning"));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bare.toml");
    std::fs::write(&file, bare).unwrap();
    let out = scimock(&["profiles", "show", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let derived = String::from_utf8_lossy(&out.stdout);
    assert!(
        derived.contains("provisioning (derived from the attributes, no [provisioning] section)"),
        "{derived}"
    );
    assert!(derived.contains("|userName|userPrincipalName|1|always|"));
}
