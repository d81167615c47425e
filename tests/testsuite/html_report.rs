//! The HTML report (`--report html=PATH`): snapshots of fixed runs (hand-built replay and
//! validate results, a provisioning cycle with a fixed clock and ids), escaping of every
//! text field, no external assets, no secrets, bounded bodies, the three CLIs writing it
//! next to their other reports, and a real browser rendering it (`chromium --dump-dom`,
//! skipped with a message where chromium is not installed).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use scimock::clock::{FixedClock, SequentialIds};
use scimock::entra::Dialect;
use scimock::profile::Profile;
use scimock::provision::{AppConfig, CycleReport, Directory, Engine, Quarantine, State, Target};
use scimock::replay::{
    CleanupResult, Finding, Outcome, ReceivedResponse, Report, ScenarioResult, SentRequest,
    Severity, StepResult, Summary,
};
use scimock::report::html::{self, RunInfo, MAX_BODY_CHARS};
use scimock::validate::Validation;
use scimock::MockServer;

/// Goes through every text field of the escaping test.
const PAYLOAD: &str = "<script>alert(1)</script>\"q\"'a'&amp;<b>x</b>";
/// The payload as the page must show it: escaped, never raw.
const PAYLOAD_ESCAPED: &str =
    "&lt;script&gt;alert(1)&lt;/script&gt;&quot;q&quot;'a'&amp;amp;&lt;b&gt;x&lt;/b&gt;";

fn info(t: &dyn Fn(&str) -> String) -> RunInfo {
    RunInfo {
        target: t("https://endpoint.example/scim/v2"),
        dialect: None,
        profile: Some(t("entra-generic")),
        date: t("2026-12-01T12:00:00Z"),
        secrets: vec!["s3cr3t-bearer".into()],
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A fixed replay run: one failed scenario (a passed setup step, a failed step with a
/// status and a JSON-pointer finding, a skipped step, a cleanup), one passed, one skipped.
/// `t` is applied to every text, so the escaping test can put its payload everywhere.
fn fixed_report(t: &dyn Fn(&str) -> String) -> Report {
    let request = |method: &str, target: &str, body: Option<Value>| SentRequest {
        method: t(method),
        target: t(target),
        body,
        headers: vec![
            (t("Content-Type"), t("application/scim+json")),
            ("Cookie".into(), "session=s3cr3t-cookie".into()),
        ],
    };
    let response = |status: u16, body: Value| ReceivedResponse {
        status,
        content_type: Some(t("application/scim+json")),
        body: Some(body),
        headers: vec![
            (t("Location"), t("https://endpoint.example/scim/v2/Users/1")),
            ("Set-Cookie".into(), "id=s3cr3t-cookie".into()),
        ],
    };
    let finding = |severity, check: &str, message: &str, consequence: &str| Finding {
        severity,
        check: leak(t(check)),
        message: t(message),
        consequence: t(consequence),
    };
    let failed = ScenarioResult {
        name: t("create_then_patch_user"),
        dialect: Dialect::Legacy,
        description: t("Creates a user, then replaces its title."),
        note: t("docs/entra.md §3.5"),
        outcome: Outcome::Failed,
        skipped_because: None,
        steps: vec![
            StepResult {
                name: t("create the user"),
                note: t("setup"),
                outcome: Outcome::Passed,
                request: Some(request(
                    "POST",
                    "/Users",
                    Some(json!({"userName": t("ada@contoso.com"), "password": "Pa55w0rd!"})),
                )),
                response: Some(response(201, json!({"id": "1", "userName": t("ada@contoso.com")}))),
                findings: vec![finding(
                    Severity::Warning,
                    "content-type",
                    "Content-Type is `application/json`",
                    "Microsoft's SCIM Validator fails the test (MicrosoftDocs/azure-docs#116775)",
                )],
                duration_ms: 12,
            },
            StepResult {
                name: t("replace the title"),
                note: String::new(),
                outcome: Outcome::Failed,
                request: Some(request(
                    "PATCH",
                    "/Users/1",
                    Some(json!({"Operations": [{"op": "Replace", "path": "title", "value": t("Engineer")}]})),
                )),
                response: Some(response(
                    400,
                    json!({"status": "400", "detail": t("bad token s3cr3t-bearer"), "access_token": "s3cr3t-echo"}),
                )),
                findings: vec![
                    finding(
                        Severity::Failure,
                        "status",
                        "expected status 200, got 400 (detail: bad token)",
                        "Entra fails the object and resends it each cycle (Microsoft Learn \"How Application Provisioning works in Microsoft Entra ID\")",
                    ),
                    finding(
                        Severity::Failure,
                        "body",
                        "the body differs from the expectation:\n  /title: expected \"Engineer\", missing",
                        "Entra decides what to send next from this answer",
                    ),
                ],
                duration_ms: 7,
            },
            StepResult {
                name: t("read it back"),
                note: String::new(),
                outcome: Outcome::Skipped,
                request: None,
                response: None,
                findings: Vec::new(),
                duration_ms: 0,
            },
        ],
        cleanup: vec![CleanupResult {
            target: t("/Users/1"),
            status: Some(204),
            error: None,
        }],
        duration_ms: 19,
    };
    let passed = ScenarioResult {
        name: t("test_connection"),
        dialect: Dialect::AadOptscim062020,
        description: t("mandatory: the query Entra's Test Connection sends"),
        note: String::new(),
        outcome: Outcome::Passed,
        skipped_because: None,
        steps: vec![StepResult {
            name: t("query a user that does not exist"),
            note: String::new(),
            outcome: Outcome::Passed,
            request: Some(request("GET", "/Users?filter=userName eq \"x\"", None)),
            response: Some(response(200, json!({"totalResults": 0, "Resources": []}))),
            findings: Vec::new(),
            duration_ms: 3,
        }],
        cleanup: Vec::new(),
        duration_ms: 3,
    };
    let skipped = ScenarioResult {
        name: t("group_add_one_member"),
        dialect: Dialect::Legacy,
        description: String::new(),
        note: String::new(),
        outcome: Outcome::Skipped,
        skipped_because: Some(t("the endpoint does not provision groups (--no-groups)")),
        steps: Vec::new(),
        cleanup: Vec::new(),
        duration_ms: 0,
    };
    Report {
        format: 1,
        tenant_url: t("https://endpoint.example/scim/v2"),
        summary: Summary {
            scenarios: 3,
            passed: 1,
            failed: 1,
            skipped: 1,
            steps: 3,
            steps_failed: 1,
            warnings: 1,
        },
        // Passed first on purpose: the page puts the failed run first.
        scenarios: vec![passed, failed, skipped],
        duration_ms: 22,
        unreachable: false,
        stopped: None,
    }
}

fn fixed_validation(t: &dyn Fn(&str) -> String) -> Validation {
    Validation {
        report: fixed_report(t),
        mandatory_failed: vec![t("create_then_patch_user")],
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn directory(name: &str) -> Directory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/provision")
        .join(name);
    Directory::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An incremental cycle with a fixed clock and ids against a mock whose first user POST
/// conflicts (in the initial cycle) and whose user DELETEs fail: a retried escrow, creates,
/// updates with old → new values, disables, and a failed delete.
fn fixed_cycle() -> CycleReport {
    let mock = MockServer::builder()
        .token("t")
        .ids(SequentialIds::new())
        .clock(FixedClock(time::macros::datetime!(2026-01-05 08:00 UTC)))
        .fault("POST /Users status=409 times=1")
        .fault("DELETE /Users/* status=500 detail=database_down")
        .start_blocking();
    let config = AppConfig::for_profile(&Profile::builtin("entra-generic").unwrap());
    // One request at a time: the mock hands out ids, and the one 409, in the order it
    // receives requests, which concurrency would make vary between runs.
    let knobs = scimock::provision::Knobs {
        concurrency: 1,
        ..Default::default()
    };
    let engine = Engine::new(config)
        .with_knobs(knobs)
        .with_clock(FixedClock(time::macros::datetime!(2026-01-05 09:00 UTC)))
        .with_ids(SequentialIds::new());
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let rt = runtime();
    let mut state = State::default();
    let first = rt.block_on(engine.run_cycle(&target, &directory("directory.json"), &mut state));
    assert_eq!(first.stats.failed, 1, "{:#?}", first.entries);
    let second =
        rt.block_on(engine.run_cycle(&target, &directory("directory-changed.json"), &mut state));
    assert_eq!(second.stats.failed, 1, "{:#?}", second.entries);
    second
}

fn identity(s: &str) -> String {
    s.to_owned()
}

fn with_payload(s: &str) -> String {
    format!("{s}{PAYLOAD}")
}

/// The attribute-free start tags of elements a page must not load from anywhere.
fn assert_self_contained(page: &str) {
    for needle in [
        "src=\"http",
        "href=\"http",
        "@import",
        "url(http",
        "url(//",
        "src=\"//",
        "href=\"//",
        "<link",
        "<iframe",
        "<img",
    ] {
        assert!(!page.contains(needle), "the page contains `{needle}`");
    }
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<script").count(), 1, "only the filter script");
}

/// Snapshots the page one tag per line (a raw `><` occurs only between tags: text has
/// them escaped), the inlined CSS and script cut out (they are constants, not the run).
fn snapshot(name: &str, page: &str) {
    let cut = |page: &str, open: &str, close: &str| -> String {
        match (page.find(open), page.find(close)) {
            (Some(a), Some(b)) if a < b => format!("{}{open}…{}", &page[..a], &page[b..]),
            _ => page.to_owned(),
        }
    };
    let page = cut(page, "<style>", "</style>");
    let page = cut(&page, "<script>", "</script>");
    let readable = page.replace("><", ">\n<");
    crate::support::snapshot_settings().bind(|| insta::assert_snapshot!(name, readable));
}

#[test]
fn replay_page_of_a_fixed_run_puts_the_failure_first_with_its_exchange() {
    let page = html::replay(&info(&identity), &fixed_report(&identity));
    assert_self_contained(&page);
    assert!(page.contains("FAILED: 1 of 3 scenario runs failed"));
    let failed = page.find("create_then_patch_user").unwrap();
    let passed = page.rfind("test_connection").unwrap();
    assert!(failed < passed, "failed runs come first");
    assert!(page.contains("/title: expected &quot;Engineer&quot;, missing"));
    assert!(page.contains("source: Microsoft Learn &quot;How Application Provisioning works"));
    snapshot("html_report@replay", &page);
}

#[test]
fn validate_page_names_the_mandatory_failures() {
    let page = html::validate(&info(&identity), &fixed_validation(&identity));
    assert_self_contained(&page);
    assert!(page.contains("FAILED: 1 mandatory test(s) failed"));
    assert!(page.contains("<span class=\"badge skipped\">mandatory</span>"));
    snapshot("html_report@validate", &page);
}

#[test]
fn provision_page_of_a_fixed_cycle_has_the_logs_table_and_the_quarantine_verdict() {
    let cycle = fixed_cycle();
    assert!(!cycle.entries.is_empty());
    let mut info = info(&identity);
    info.dialect = Some("legacy".into());
    let page = html::provision(&info, &cycle, false);
    assert_self_contained(&page);
    assert!(!page.contains("127.0.0.1"), "no port that varies");
    for e in &cycle.entries {
        assert!(page.contains(&e.source_identity.display_name));
    }
    assert!(page.contains("incremental cycle"));
    assert!(page.contains("FAILED: 1 of 9 objects failed"));
    assert!(page.contains("<code>SystemForCrossDomainIdentityManagementInternalServerError</code>"));
    let failure = page.find("<tr class=\"failure\"").unwrap();
    assert!(
        failure < page.find("<tr class=\"success\"").unwrap(),
        "failures first"
    );
    assert!(page.contains("<span class=\"arrow\">→</span>"), "old → new");
    snapshot("html_report@provision", &page);

    let mut quarantined = cycle;
    quarantined.quarantine = Some(Quarantine {
        reason: "EncounteredQuarantineException".into(),
        rule: "credentials were refused (401)".into(),
        current_began: "2026-01-05T09:00:00Z".into(),
    });
    let page = html::provision(&info, &quarantined, false);
    assert!(page.contains("QUARANTINED: EncounteredQuarantineException"));
}

#[test]
fn every_text_field_is_escaped() {
    let info = info(&with_payload);
    let mut cycle = fixed_cycle();
    cycle.cycle_id = with_payload(&cycle.cycle_id);
    for e in &mut cycle.entries {
        e.activity_date_time = with_payload(&e.activity_date_time);
        e.source_identity.display_name = with_payload(&e.source_identity.display_name);
        e.source_identity.id = with_payload(&e.source_identity.id);
        e.source_identity.identity_type = with_payload(&e.source_identity.identity_type);
        e.target_identity.id = with_payload(&e.target_identity.id);
        for p in &mut e.modified_properties {
            p.display_name = with_payload(&p.display_name);
            p.old_value = Some(with_payload(p.old_value.as_deref().unwrap_or("")));
            p.new_value = Some(with_payload(p.new_value.as_deref().unwrap_or("")));
        }
        for s in &mut e.provisioning_steps {
            s.name = with_payload(&s.name);
            s.description = with_payload(&s.description);
        }
        if let Some(i) = &mut e.provisioning_status_info.error_information {
            i.error_code = with_payload(&i.error_code);
            i.reason = with_payload(&i.reason);
            i.additional_details = Some(with_payload("details"));
            i.recommended_action = Some(with_payload("action"));
        }
    }
    cycle.quarantine = Some(Quarantine {
        reason: with_payload("reason"),
        rule: with_payload("rule"),
        current_began: with_payload("began"),
    });
    // The fields the fixed run leaves empty.
    let mut report = fixed_report(&with_payload);
    report.stopped = Some(with_payload("stopped"));
    report.scenarios[1].cleanup[0].error = Some(with_payload("connection reset"));
    report.scenarios[1].cleanup[0].status = None;
    let mut with_dialect = info.clone();
    with_dialect.dialect = Some(with_payload("legacy"));
    let pages = [
        html::replay(&info, &report),
        html::validate(&with_dialect, &fixed_validation(&with_payload)),
        html::provision(&with_dialect, &cycle, true),
    ];
    for page in &pages {
        assert_self_contained(page);
        assert!(!page.contains(PAYLOAD), "the raw payload is in the page");
        assert!(!page.contains("<script>alert"), "an injected script");
        assert!(!page.contains("<b>x"), "an injected element");
        assert!(!page.contains("\"q\""), "a raw quote in the page");
        // Every attribute is double-quoted, so a raw `'` cannot end one.
        assert!(!page.contains("='"), "a single-quoted attribute");
        assert!(
            page.contains(PAYLOAD_ESCAPED),
            "the payload is shown, escaped"
        );
    }
    assert!(pages[0].contains(&format!("stopped: stopped{PAYLOAD_ESCAPED}")));
    assert!(pages[0].contains(&format!("connection reset{PAYLOAD_ESCAPED}")));
    // The bodies (JSON) carry the payload JSON-escaped, then HTML-escaped.
    assert!(pages[0].contains("&lt;script&gt;alert(1)&lt;/script&gt;\\&quot;q\\&quot;"));
}

#[test]
fn secrets_never_reach_the_page() {
    let mut info = info(&identity);
    info.target = "https://user:hunter2@endpoint.example/scim/v2".into();
    let mut cycle = fixed_cycle();
    if let Some(e) = cycle.entries.first_mut() {
        e.modified_properties
            .push(scimock::provision::log::ModifiedProperty {
                display_name: "password".into(),
                old_value: None,
                new_value: Some("Pa55w0rd!".into()),
            });
    }
    let pages = [
        html::replay(&info, &fixed_report(&identity)),
        html::validate(&info, &fixed_validation(&identity)),
        html::provision(&info, &cycle, false),
    ];
    for page in &pages {
        for secret in ["s3cr3t", "Pa55w0rd", "hunter2"] {
            assert!(!page.contains(secret), "`{secret}` is in the page");
        }
        assert!(page.contains("[redacted]"));
    }
}

#[test]
fn huge_and_odd_bodies_are_cut_on_character_boundaries() {
    let mut report = fixed_report(&identity);
    // Multi-byte characters across every cut, and the replacement characters a non-UTF-8
    // body becomes when it is read.
    let lossy = String::from_utf8_lossy(&[0xff, 0xfe, b'{', 0xc3]).into_owned();
    let huge = format!("{lossy}{}", "é€😀".repeat(MAX_BODY_CHARS));
    let step = &mut report.scenarios[1].steps[1];
    step.response.as_mut().unwrap().body = Some(Value::String(huge.clone()));
    let page = html::replay(&info(&identity), &report);
    assert!(page.contains("\u{fffd}\u{fffd}{\u{fffd}"));
    assert!(
        page.contains("show 98000 more characters"),
        "preview + more"
    );
    let left_out = huge.chars().count() - MAX_BODY_CHARS;
    assert!(page.contains(&format!(
        "{left_out} more characters are left out of this page"
    )));
    assert!(page.len() < huge.len() / 2, "the page holds a bounded part");
}

// ---- the CLIs ---------------------------------------------------------------------

/// A mock that answers wrong: Test Connection's query 404s, group creation 500s, user
/// PATCH answers in text/plain.
fn broken_endpoint() -> MockServer {
    MockServer::builder()
        .token("t0ken-for-html")
        .fault("GET /Users filter=userName status=404")
        .fault("POST /Groups status=500 detail=database_down")
        .fault("PATCH /Users/* content-type=text/plain")
        .start_blocking()
}

fn scimock(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs `scimock replay` against [`broken_endpoint`] with html, junit and json reports;
/// returns the html path and the JSON report.
fn replay_broken(dir: &Path) -> (PathBuf, Value) {
    let server = broken_endpoint();
    let html = dir.join("report.html");
    let json = dir.join("report.json");
    let junit = dir.join("report.xml");
    let reports = format!("html={},junit={}", html.display(), junit.display());
    let json_report = format!("json={}", json.display());
    let out = scimock(&[
        "replay",
        &server.base_url(),
        "--token",
        "t0ken-for-html",
        "--report",
        &reports,
        "--report",
        &json_report,
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("wrote html report to"), "{err}");
    assert!(junit.exists(), "{err}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (html, report)
}

fn failed_names(report: &Value) -> Vec<String> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "failed")
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn replay_writes_the_html_report_next_to_junit_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let (html, report) = replay_broken(dir.path());
    let page = std::fs::read_to_string(html).unwrap();
    assert_self_contained(&page);
    assert!(!page.contains("t0ken-for-html"));
    let failed = failed_names(&report);
    assert!(failed.len() >= 3, "{failed:?}");
    for name in &failed {
        assert!(page.contains(name.as_str()), "{name}");
    }
}

#[test]
fn validate_and_provision_write_the_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let server = broken_endpoint();
    let page = dir.path().join("validate.html");
    let arg = format!(
        "html={},json={}",
        page.display(),
        dir.path().join("v.json").display()
    );
    let out = scimock(&[
        "validate",
        &server.base_url(),
        "--token",
        "t0ken-for-html",
        "--report",
        &arg,
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&text);
    assert!(text.contains("mandatory test(s) failed"));
    assert!(!text.contains("t0ken-for-html"));

    let mock = MockServer::builder()
        .token("t")
        .fault("POST /Users status=409 times=1")
        .start_blocking();
    let page = dir.path().join("provision.html");
    let arg = format!("html={}", page.display());
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/provision/directory.json");
    let out = scimock(&[
        "provision",
        &mock.base_url(),
        "--directory",
        directory.to_str().unwrap(),
        "--token",
        "t",
        "--report",
        &arg,
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&text);
    assert!(text.contains("SystemForCrossDomainIdentityManagementEntryConflict"));
    assert!(text.contains("FAILED: 1 of"));
}

#[test]
fn an_unreachable_endpoint_gets_a_page_that_says_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("down.html");
    let arg = format!("html={}", page.display());
    let url = format!("http://127.0.0.1:{port}/scim/v2");
    let out = scimock(&["replay", &url, "--report", &arg]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&text);
    assert!(text.contains("<p class=\"verdict unreachable\" id=\"verdict\">UNREACHABLE: "));
    assert!(text.contains(&url));
}

// ---- the browser ------------------------------------------------------------------

/// `chromium` or `chromium-browser` on PATH.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Runs chromium headless on `args`, killed after `limit`; returns its stdout.
fn run_browser(browser: &Path, profile: &Path, args: &[String], limit: Duration) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The DOM is larger than a pipe's buffer: read it while chromium runs.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// The text as chromium serializes it in a text node.
fn as_dom_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

#[test]
fn the_html_report_renders_in_chromium_with_the_failures_causes_and_counts() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: chromium not found (apt-get install -y chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (html, report) = replay_broken(dir.path());
    let url = format!("file://{}", html.display());
    let dom = run_browser(
        &browser,
        &dir.path().join("profile"),
        &["--dump-dom".to_owned(), url],
        Duration::from_secs(90),
    );
    assert!(
        dom.contains("id=\"verdict\""),
        "not the report: {:.300}",
        dom
    );
    // The script ran: the filter box is no longer hidden.
    assert!(
        dom.contains("<p class=\"filter\" id=\"filter-box\">"),
        "{:.300}",
        dom
    );
    let m = &report["summary"];
    let verdict = format!(
        "FAILED: {} of {} scenario runs failed",
        m["failed"], m["scenarios"]
    );
    assert!(dom.contains(&verdict), "{verdict}");
    for (label, key) in [
        ("scenario runs", "scenarios"),
        ("failed", "failed"),
        ("passed", "passed"),
    ] {
        let count = format!(
            "<span class=\"n\">{}</span> <span class=\"label\">{label}</span>",
            m[key]
        );
        assert!(dom.contains(&count), "{count}");
    }
    for name in failed_names(&report) {
        assert!(
            dom.contains(&format!("<strong class=\"name\">{name}</strong>")),
            "{name}"
        );
    }
    // Each cause (check and Entra's consequence) of the JSON report is on the page.
    let findings = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["steps"].as_array().unwrap())
        .flat_map(|st| st["findings"].as_array().unwrap());
    let mut causes = 0;
    for f in findings {
        let consequence = f["consequence"].as_str().unwrap();
        // Its words before the source in parentheses (the page shows the source apart).
        let words = consequence.split(" (").next().unwrap_or(consequence);
        let head: String = words.chars().take(40).collect();
        assert!(dom.contains(&as_dom_text(&head)), "{head}");
        assert!(dom.contains(&format!("<code>{}</code>", f["check"].as_str().unwrap())));
        causes += 1;
    }
    assert!(causes > 0);
    for check in ["status", "content-type"] {
        assert!(dom.contains(&format!("[{check}]")), "chart bar for {check}");
    }
}
