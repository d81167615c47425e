//! Fault injection over real HTTP on 127.0.0.1:0: rules from the builder, the admin API
//! and the CLI; what each action does to the answer, the store and the journal.

use std::time::{Duration, Instant};

use scimock::clock::SequentialIds;
use scimock::MockServer;
use serde_json::{json, Value};

use crate::support::{send, Answer, Http, TOKEN};

fn with_faults(rules: &[&str]) -> MockServer {
    let mut builder = MockServer::builder().token(TOKEN).ids(SequentialIds::new());
    for rule in rules {
        builder = builder.fault(rule);
    }
    builder.start_blocking()
}

/// One exchange; `Err` when the connection failed or took over 10 s.
async fn raw(
    server: &MockServer,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Answer, String> {
    let body = body.map(|b| b.to_string());
    Http::to(server, TOKEN)
        .try_send(method, path, Some(body.as_deref().unwrap_or_default()), &[])
        .await
}

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "active": true
    })
}

#[tokio::test]
async fn every_third_group_patch_is_throttled_with_retry_after_and_not_applied() {
    let server = with_faults(&["PATCH /Groups/* status=429 retry-after=2 every=3"]);
    let mut users = Vec::new();
    for i in 1..=9 {
        let body = user(&format!("u{i}@contoso.example")).to_string();
        let a = send(&server, "POST", "/Users", Some(&body), &[]).await;
        assert_eq!(a.status, 201);
        users.push(a.json()["id"].as_str().unwrap().to_owned());
    }
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Throttled"
    })
    .to_string();
    let g = send(&server, "POST", "/Groups", Some(&group), &[]).await;
    assert_eq!(g.status, 201);
    let gid = g.json()["id"].as_str().unwrap().to_owned();
    let mut statuses = Vec::new();
    for uid in &users {
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]
        })
        .to_string();
        let a = send(
            &server,
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(&patch),
            &[],
        )
        .await;
        if a.status == 429 {
            assert_eq!(a.headers.get("retry-after").unwrap(), "2");
            assert_eq!(a.json()["status"], "429");
            assert_eq!(
                a.json()["schemas"][0],
                "urn:ietf:params:scim:api:messages:2.0:Error"
            );
            assert!(a.json()["detail"]
                .as_str()
                .unwrap()
                .contains("injected fault"));
        }
        statuses.push(a.status);
    }
    assert_eq!(statuses, [204, 204, 429, 204, 204, 429, 204, 204, 429]);
    let g = send(&server, "GET", &format!("/Groups/{gid}"), None, &[]).await;
    let members: Vec<&str> = g.json()["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = users
        .iter()
        .enumerate()
        .filter(|(i, _)| (i + 1) % 3 != 0)
        .map(|(_, u)| u.as_str())
        .collect();
    let mut sorted = members.clone();
    sorted.sort_unstable();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort_unstable();
    assert_eq!(sorted, expected_sorted, "throttled PATCHes changed nothing");
    let journal = server.received_requests();
    let faulted: Vec<usize> = journal
        .iter()
        .filter(|e| e.method == "PATCH")
        .enumerate()
        .filter(|(_, e)| e.fault.is_some())
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(faulted, [3, 6, 9]);
    assert_eq!(journal.iter().filter(|e| e.fault.is_some()).count(), 3);
    assert!(journal
        .iter()
        .filter_map(|e| e.fault.as_deref())
        .all(|f| f == "PATCH /Groups/* status=429 retry-after=2 every=3"));
    let listed = &server.faults()[0];
    assert_eq!((listed.matched, listed.fired), (9, 3));
}

#[tokio::test]
async fn a_503_on_user_create_leaves_the_store_unchanged() {
    let server = with_faults(&["POST /Users status=503"]);
    let before = server.users().len();
    let body = user("nobody@contoso.example").to_string();
    let a = send(&server, "POST", "/Users", Some(&body), &[]).await;
    assert_eq!(a.status, 503);
    assert_eq!(a.json()["status"], "503");
    assert_eq!(server.users().len(), before);
}

#[tokio::test]
async fn latency_delays_the_answer_by_at_least_the_rule() {
    let server = with_faults(&["GET /Users filter=userName latency=200ms"]);
    let started = Instant::now();
    let a = raw(
        &server,
        "GET",
        "/Users?filter=userName%20eq%20%22x%22",
        None,
    )
    .await
    .unwrap();
    assert_eq!(a.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(server.received_requests()[0].fault.is_some());
}

#[tokio::test]
async fn close_fails_the_connection_but_the_user_is_created() {
    let server = with_faults(&["POST /Users close"]);
    let result = raw(
        &server,
        "POST",
        "/Users",
        Some(user("closed@contoso.example")),
    )
    .await;
    assert!(result.is_err(), "the client saw an answer");
    let names: Vec<Value> = server
        .users()
        .iter()
        .map(|u| u["userName"].clone())
        .collect();
    assert!(
        names.contains(&json!("closed@contoso.example")),
        "{names:?}"
    );
}

#[tokio::test]
async fn invalid_json_and_truncate_send_bodies_that_do_not_parse() {
    let server = with_faults(&["POST /Users invalid-json", "GET /Users truncate"]);
    let a = raw(&server, "POST", "/Users", Some(user("bad@contoso.example")))
        .await
        .unwrap();
    assert_eq!(a.status, 201);
    assert_eq!(a.headers["content-type"], "application/scim+json");
    assert!(serde_json::from_slice::<Value>(&a.bytes).is_err());
    let a = raw(&server, "GET", "/Users", None).await.unwrap();
    assert_eq!(a.status, 200);
    assert!(!a.bytes.is_empty());
    assert_eq!(
        a.headers["content-length"],
        a.bytes.len().to_string().as_str()
    );
    assert!(serde_json::from_slice::<Value>(&a.bytes).is_err());
}

#[tokio::test]
async fn content_type_rule_changes_the_content_type_header() {
    let server = with_faults(&["GET /Users content-type=text/html"]);
    let a = raw(&server, "GET", "/Users", None).await.unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["content-type"], "text/html");
}

#[tokio::test]
async fn http10_answers_as_http_1_0_and_closes() {
    let server = with_faults(&["GET /Users http10"]);
    let a = Http::to(&server, TOKEN).send("GET", "/Users", None).await;
    assert_eq!(a.version, hyper::Version::HTTP_10);
    assert_eq!(a.headers["connection"], "close");
}

#[tokio::test]
async fn a_401_stays_a_401_even_when_a_rule_matches() {
    let server = with_faults(&["* /** status=500"]);
    let a = send(
        &server,
        "GET",
        "/Users",
        None,
        &[("authorization", "Bearer wrong")],
    )
    .await;
    assert_eq!(a.status, 401);
    assert_eq!(server.faults()[0].matched, 0);
}

#[tokio::test]
async fn admin_api_adds_lists_and_deletes_fault_rules() {
    let server = with_faults(&[]);
    let rule = json!({"rule": "GET /Users status=500"}).to_string();
    let a = send(&server, "POST", "/_mock/faults", Some(&rule), &[]).await;
    assert_eq!(a.status, 201);
    assert_eq!(a.json()["rule"], "GET /Users status=500");
    let id = a.json()["id"].as_u64().unwrap();
    assert_eq!(send(&server, "GET", "/Users", None, &[]).await.status, 500);
    let list = send(&server, "GET", "/_mock/faults", None, &[]).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()[0]["id"], id);
    assert_eq!(list.json()[0]["fired"], 1);
    let del = send(&server, "DELETE", &format!("/_mock/faults/{id}"), None, &[]).await;
    assert_eq!(del.status, 204);
    let again = send(&server, "DELETE", &format!("/_mock/faults/{id}"), None, &[]).await;
    assert_eq!(again.status, 404);
    assert_eq!(send(&server, "GET", "/Users", None, &[]).await.status, 200);
    send(&server, "POST", "/_mock/faults", Some(&rule), &[]).await;
    let clear = send(&server, "DELETE", "/_mock/faults", None, &[]).await;
    assert_eq!(clear.status, 204);
    assert!(server.faults().is_empty());
}

#[tokio::test]
async fn admin_api_refuses_a_bad_rule_with_400_naming_the_problem() {
    let server = with_faults(&[]);
    let rule = json!({"rule": "GET /Users wobble"}).to_string();
    let a = send(&server, "POST", "/_mock/faults", Some(&rule), &[]).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["scimType"], "invalidValue");
    assert!(a.json()["detail"]
        .as_str()
        .unwrap()
        .contains("unknown part `wobble`"));
    let no_token = send(
        &server,
        "GET",
        "/_mock/faults",
        None,
        &[("authorization", "Bearer x")],
    )
    .await;
    assert_eq!(no_token.status, 401);
}

#[test]
fn builder_reports_a_bad_rule_from_try_start() {
    let err = MockServer::builder()
        .fault("GET /Users status=700")
        .try_start()
        .unwrap_err();
    assert!(err.to_string().contains("not an HTTP status"), "{err}");
}

/// Runs `scimock serve` with `args`; it must exit within ten seconds. Exit code, stderr.
fn serve_exit(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("scimock serve did not exit on a bad rule");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_exits_2_on_an_invalid_fault_rule() {
    let (code, stderr) = serve_exit(&["--fault".as_ref(), "GET /Users wobble".as_ref()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown part `wobble`"), "{stderr}");
}

#[tokio::test]
async fn the_same_fault_seed_fires_on_the_same_requests() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let server = MockServer::builder()
            .token(TOKEN)
            .fault("GET /Users status=500 p=0.5")
            .fault_seed(7)
            .start_blocking();
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(send(&server, "GET", "/Users", None, &[]).await.status);
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn the_journal_json_names_the_rule_that_fired() {
    let server = with_faults(&["GET /Users nth=2 status=502"]);
    send(&server, "GET", "/Users", None, &[]).await;
    send(&server, "GET", "/Users", None, &[]).await;
    let journal = send(&server, "GET", "/_mock/requests", None, &[]).await;
    assert!(journal.json()[0].get("fault").is_none());
    assert_eq!(journal.json()[1]["status"], 502);
    assert_eq!(journal.json()[1]["fault"], "GET /Users nth=2 status=502");
}

#[tokio::test]
async fn each_tenant_has_its_own_fault_counters() {
    let profile = scimock::profile::Profile::default();
    let server = MockServer::builder()
        .tenant("a", profile.clone(), Some("ta".into()))
        .tenant("b", profile, Some("tb".into()))
        .fault("GET /Users status=500")
        .start_blocking();
    let tenant_a = Http::new(server.tenant("a").unwrap().base_url(), Some("ta"));
    assert_eq!(tenant_a.send("GET", "/Users", None).await.status, 500);
    let a = server.tenant("a").unwrap().faults();
    let b = server.tenant("b").unwrap().faults();
    assert_eq!(a[0].rule, b[0].rule);
    assert_eq!((a[0].fired, b[0].fired), (1, 0));
}

#[test]
fn cli_exits_2_on_an_invalid_rule_in_a_faults_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("faults.txt");
    std::fs::write(
        &path,
        "# throttling\nPATCH /Groups/* status=429 every=3\n\nGET /Users latency=fast\n",
    )
    .unwrap();
    let (code, stderr) = serve_exit(&["--faults".as_ref(), path.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("latency `fast`"), "{stderr}");
}
