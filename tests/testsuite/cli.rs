//! The `scimock` binary run as a user would: filter and profile commands.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn scimock(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn filter_parse_prints_the_canonical_form_and_exits_0() {
    let out = scimock(
        &[
            "filter",
            "parse",
            r#"userName Eq "x" AND not(active eq FALSE)"#,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "userName eq \"x\" and not (active eq false)\n"
    );
}

#[test]
fn filter_parse_prints_a_caret_error_and_exits_2() {
    let out = scimock(&["filter", "parse", "externalId eq jyoung"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("string values need double quotes"), "{err}");
    assert!(err.contains("              ^^^^^^"), "{err}");
}

#[test]
fn filter_parse_json_reports_errors_with_span_and_expected() {
    let out = scimock(&["filter", "parse", "--json", "a eq"], None);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["span"], serde_json::json!([4, 4]));
    assert_eq!(v["kind"], "UnexpectedEnd");
}

#[test]
fn filter_eval_prints_true_or_false_from_stdin_resource() {
    let user = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"BJensen"}"#;
    let out = scimock(
        &["filter", "eval", r#"userName eq "bjensen""#, "-"],
        Some(user),
    );
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "true\n".to_owned())
    );
    let out = scimock(
        &[
            "filter",
            "eval",
            "--schema",
            "none",
            r#"userName sw "x""#,
            "-",
        ],
        Some(user),
    );
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "false\n".to_owned())
    );
}

#[test]
fn filter_eval_rejects_a_resource_that_is_not_json() {
    let out = scimock(&["filter", "eval", "a pr", "-"], Some("{nope"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not JSON"));
}

#[test]
fn filter_eval_reports_ordering_a_boolean_as_invalid_filter() {
    let out = scimock(
        &["filter", "eval", "--json", "active gt true", "-"],
        Some(r#"{"active":true}"#),
    );
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["error"]
        .as_str()
        .unwrap()
        .contains("cannot order the boolean attribute `active`"));
}

/// A child process killed when dropped, so a failing assertion leaves no server behind.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `scimock serve` with `args` on a free port; returns the running child and the
/// base URL read from its banner.
fn spawn_serve(args: &[&str]) -> (Running, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("banner ended before the base URL")
            .unwrap();
        if let Some(url) = line.strip_prefix("SCIM base URL:") {
            break url.trim().to_owned();
        }
    };
    // Keep reading: the banner goes on after the URL, and a pipe closed under it would end
    // serve (a write to a closed stdout stops the command with 141).
    std::thread::spawn(move || lines.for_each(drop));
    (Running(child), base)
}

#[tokio::test]
async fn serve_strict_rfc_refuses_entra_pascal_case_ops_with_a_named_quirk() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    let (_server, base) = spawn_serve(&["--no-auth", "--strict-rfc"]);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let send = |method: &str, uri: String, body: &str| {
        hyper::Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/scim+json")
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap()
    };
    let created = client
        .request(send(
            "POST",
            format!("{base}/Users"),
            r#"{"userName":"strict@example.com"}"#,
        ))
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let user: serde_json::Value =
        serde_json::from_slice(&created.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let id = user["id"].as_str().unwrap();
    let legacy = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":[{"op":"Replace","path":"active","value":"False"}]}"#;
    let answer = client
        .request(send("PATCH", format!("{base}/Users/{id}"), legacy))
        .await
        .unwrap();
    let status = answer.status();
    let body: serde_json::Value =
        serde_json::from_slice(&answer.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidSyntax");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("legacy PascalCase"),
        "{body}"
    );
}

#[test]
fn profiles_show_names_each_profile_source_by_public_url_never_a_local_path() {
    for id in scimock::profile::builtin_ids() {
        let out = scimock(&["profiles", "show", id], None);
        assert_eq!(out.status.code(), Some(0), "{id}");
        let shown = text(&out.stdout);
        let source = shown
            .lines()
            .find(|l| l.starts_with("source:"))
            .unwrap_or_else(|| panic!("{id}: no source line in {shown}"));
        assert!(
            source.contains("https://learn.microsoft.com/"),
            "{id}: {source}"
        );
        // Paths of the steering repo's reference folder, which no user has (spelled in two
        // pieces: this test reads nothing outside the repository, it only looks for them).
        for local in [
            concat!("..", "/shared"),
            "seeds/0",
            "reference/",
            "entra-provisioning.md",
        ] {
            assert!(!shown.contains(local), "{id} shows `{local}`: {shown}");
        }
    }
}

/// `scimock serve` with `args` until its banner names every tenant: the banner's lines,
/// then the process is killed.
fn serve_banner(args: &[&str]) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("Tenant ");
        lines.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    lines
}

#[test]
fn serve_enforces_a_tenant_token_over_a_profile_with_auth_none_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let custom = dir.path().join("custom.toml");
    let toml = include_str!("../../profiles/entra-generic.toml")
        .replace("auth = \"bearer\"", "auth = \"none\"");
    assert!(toml.contains("auth = \"none\""));
    std::fs::write(&custom, toml).unwrap();
    let tenant = format!("a={}:SECRET", custom.display());
    let banner = serve_banner(&["--tenant", &tenant]);
    let line = banner.last().unwrap();
    assert!(
        line.starts_with("Tenant a:") && line.ends_with("token SECRET"),
        "{banner:?}"
    );
    assert!(
        banner.iter().any(|l| l.contains("per tenant")),
        "{banner:?}"
    );
    // Asking for no authentication as well is a contradiction: refused, exit 2.
    let out = scimock(&["serve", "--no-auth", "--tenant", &tenant], None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--no-auth") && err.contains("--tenant a"),
        "{err}"
    );
}

/// The README's replay example is what the program prints: the same run against a mock
/// server with the same fault, compared after the port and the duration are normalised.
#[test]
fn the_readmes_replay_example_is_what_replay_prints() {
    let readme = include_str!("../../README.md");
    let start = readme.find("<!-- replay-example -->\n```text\n").unwrap()
        + "<!-- replay-example -->\n```text\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let expected = &readme[start..end];
    let server = scimock::MockServer::builder()
        .no_auth()
        .fault("GET /Users status=404")
        .start_blocking();
    let out = scimock(
        &[
            "replay",
            &server.base_url(),
            "--scenario",
            "test_connection",
            "--seed",
            "1",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let normalise = |t: &str| {
        let t = t.replace(&server.base_url(), "http://127.0.0.1:8080/scim/v2");
        let re = regex::Regex::new(r"\(\d+ ms\)").unwrap();
        re.replace_all(&t, "(… ms)").into_owned()
    };
    assert_eq!(normalise(&text(&out.stdout)), normalise(expected));
}

/// One error path (issue 30): an input error in any command is one `error: …` line on
/// stderr and exit 2, nothing on stdout.
#[test]
fn every_command_reports_an_input_error_the_same_way() {
    let missing = "/nonexistent/scimock-input.json";
    for args in [
        vec!["filter", "eval", "active eq true", missing],
        vec!["expr", "eval", "[mail]", "--now", "yesterday"],
        vec!["expr", "eval", "[mail]", "--attr", "no-equals-sign"],
        vec!["scope", "check", missing, "--source", missing],
        vec!["profiles", "show", "no-such-profile"],
        vec!["profiles", "example", "alexishr", "--groups"],
        vec!["state", "export", missing],
        vec!["replay", "not a url"],
        vec!["serve", "--fault", "not a rule"],
    ] {
        let out = scimock(&args, None);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    }
}
