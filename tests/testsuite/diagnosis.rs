//! The same diagnosis from `validate`, `replay` and `provision` (issue 29 item 5): a tenant
//! URL whose path answers 404 to everything gets the one hint ("the tenant URL's path looks
//! wrong") and what the URL itself answers; an endpoint nobody listens on is exit 2 naming
//! the connection error. Binary level, against a `MockServer` on 127.0.0.1 and a closed
//! port.

use std::path::Path;
use std::process::Output;

use scimock::MockServer;
use serde_json::json;

const HINT: &str = "every answer was 404 Not Found: the tenant URL's path looks wrong";

fn scimock(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(args)
        .env_remove("SCIMOCK_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn one_user_directory(dir: &Path) -> String {
    let path = dir.join("directory.json");
    let d = json!({
        "users": [{"id": "u1", "userPrincipalName": "ada@contoso.com", "displayName": "Ada",
                   "accountEnabled": true, "mailNickname": "ada"}],
        "assignments": [{"principalId": "u1", "principalType": "User"}]});
    std::fs::write(&path, d.to_string()).unwrap();
    path.display().to_string()
}

/// A port on 127.0.0.1 that nothing listens on: bound, then closed.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/scim/v2")
}

/// The hint, with the tenant URL, and one line on what the URL itself answered.
fn assert_404_diagnosis(out: &Output, tenant: &str) {
    let all = text(out);
    assert!(
        all.contains(&format!(
            "{HINT} ({tenant} should be where /Users and /Groups live"
        )),
        "{all}"
    );
    assert!(
        all.contains(&format!("GET {tenant} itself answered 404")),
        "{all}"
    );
}

#[test]
fn provision_whose_every_answer_is_404_says_the_path_looks_wrong() {
    let mock = MockServer::builder().token("t").start_blocking();
    let tenant = format!("{}/wrong", mock.uri());
    let tmp = tempfile::tempdir().unwrap();
    let dir = one_user_directory(tmp.path());
    let out = scimock(&["provision", &tenant, "--token", "t", "--directory", &dir]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_404_diagnosis(&out, &tenant);
    assert!(mock.users().is_empty());
}

#[test]
fn validate_whose_every_answer_is_404_says_the_path_looks_wrong() {
    let mock = MockServer::builder().token("t").start_blocking();
    let tenant = format!("{}/wrong", mock.uri());
    let out = scimock(&["validate", &tenant, "--token", "t"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_404_diagnosis(&out, &tenant);
}

/// Provision stays quiet about the path when the endpoint answers anything but 404.
#[test]
fn provision_with_a_right_path_gives_no_path_hint() {
    let mock = MockServer::builder().token("t").start_blocking();
    let tmp = tempfile::tempdir().unwrap();
    let dir = one_user_directory(tmp.path());
    let out = scimock(&[
        "provision",
        &mock.base_url(),
        "--token",
        "t",
        "--directory",
        &dir,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("looks wrong"), "{}", text(&out));
}

#[test]
fn provision_and_validate_against_a_closed_port_exit_2_naming_the_connection_error() {
    let tenant = closed_port();
    let tmp = tempfile::tempdir().unwrap();
    let dir = one_user_directory(tmp.path());
    let state = tmp.path().join("state.json");
    let provision = scimock(&[
        "provision",
        &tenant,
        "--directory",
        &dir,
        "--state",
        state.to_str().unwrap(),
    ]);
    let validate = scimock(&["validate", &tenant]);
    for (name, out) in [("provision", &provision), ("validate", &validate)] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(out));
        assert!(
            stderr.to_lowercase().contains("connection refused"),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "(is the endpoint running, and is the tenant URL {tenant} right?)"
            )),
            "{name}: {stderr}"
        );
    }
}
