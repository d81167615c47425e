//! The HTML report (`--report html=PATH`): snapshots of fixed runs (hand-built replay,
//! validate and fuzz results, a provisioning cycle with a fixed clock and ids), escaping of
//! every text field, no external assets, no secrets, bounded bodies, the CLIs writing it
//! next to their other reports (fuzz's in `endpoint_fuzz`), and a real browser rendering it
//! (`chromium --dump-dom`, skipped with a message where chromium is not installed).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use scimock::clock::{FixedClock, SequentialIds};
use scimock::entra::Dialect;
use scimock::fuzz::{Divergence, DivergenceKind, Found, FuzzReport};
use scimock::profile::Profile;
use scimock::provision::{AppConfig, CycleReport, Directory, Engine, Quarantine, State, Target};
use scimock::replay::{
    CleanupResult, Finding, Outcome, ReceivedResponse, Report, Scenario, ScenarioResult,
    SentRequest, Severity, StepResult, Summary,
};
use scimock::report::html::{self, RunInfo, MAX_BODY_CHARS};
use scimock::validate::Validation;
use scimock::MockServer;

/// Goes through every text field of the escaping test.
const PAYLOAD: &str = "<script>alert(1)</script>\"q\"'a'&amp;<b>x</b>";
/// Control characters the fuzz page is fed after the payload: an escape sequence, a
/// carriage return, a bell and a NUL.
const CONTROLS: &str = "\u{1b}[31m\r\u{7}\u{0}";
/// [`CONTROLS`] as the page shows them.
const CONTROLS_SHOWN: &str = "\\u{1b}[31m\\u{d}\\u{7}\\u{0}";
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

/// A fixed fuzz run: four cases, a time budget that ran out, a tolerated refusal, a failed
/// cleanup, and one divergence (a group PATCH the endpoint answers 500, its detail echoing
/// the token) shrunk to three steps, with its scenario. `t` is applied to every text.
fn fixed_fuzz_report(t: &dyn Fn(&str) -> String) -> FuzzReport {
    let labels = [
        "create user 1",
        "create group 0",
        "add user(s) 1 to group 0",
    ]
    .map(t);
    let scenario = json!({
        "name": t("fuzz_seed3_case1"),
        "description": t("Found by `scimock fuzz --seed 3 --dialect legacy` (case 1), shrunk to 3 step(s): status at `add user(s) 1 to group 0`: the endpoint answered 500 (its detail: database_down), the model 204"),
        "note": "docs/fuzz.md",
        "source": "scimock fuzz: the endpoint against scimock's model",
        "requires": ["groups"],
        "vars": {"tag": "${uuid}"},
        "steps": [
            {
                "name": t("01 create user 1"),
                "request": {"method": "POST", "path": "/Users", "body": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": t("O'Brien&\"q\"@${tag}.test"),
                    "active": true,
                }},
                "capture": {"user1": "/id"},
                "cleanup": "/Users/${user1}",
            },
            {
                "name": t("02 create group 0"),
                "request": {"method": "POST", "path": "/Groups", "body": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": t("Engineering ${tag}"),
                }},
                "capture": {"group0": "/id"},
                "cleanup": "/Groups/${group0}",
            },
            {
                "name": t("03 add user(s) 1 to group 0"),
                "request": {"method": "PATCH", "path": "/Groups/${group0}", "body": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Add", "path": "members", "value": [{"value": "${user1}"}]}],
                }},
            },
        ],
    });
    let scenario = Scenario::from_json(&scenario.to_string(), "fuzz").unwrap();
    let found = Found {
        case: 1,
        case_seed: 6_148_914_691_236_517_205,
        dialect: Dialect::Legacy,
        divergence: Divergence {
            kind: DivergenceKind::Status,
            step: 16,
            label: t("add user(s) 1 to group 0"),
            request: t("PATCH /Groups/98a488375d7888aba85a"),
            endpoint_status: 500,
            model_status: 204,
            detail: t("the endpoint answered 500 (its detail: database_down, token s3cr3t-bearer), the model 204"),
        },
        original_len: 17,
        minimal_labels: labels.to_vec(),
        minimal: Vec::new(),
        shrink_runs: 20,
        confirmed: true,
        scenario,
    };
    FuzzReport {
        format: 1,
        tenant_url: t("https://endpoint.example/scim/v2"),
        seed: 3,
        dialects: vec![Dialect::Legacy, Dialect::AadOptscim062020],
        cases: 4,
        steps: 46,
        requests: 189,
        duration_ms: 2_000,
        model_ms: 360,
        stopped: Some(t("the time budget (60 s) ran out in case 3")),
        schemas_known: false,
        cleanup_failures: 2,
        notes: vec![t("PATCH /Users/{id} of urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department answered 400: not in the endpoint's /Schemas, so tolerated as at create (the model was not sent it)")],
        divergences: vec![found],
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
fn fuzz_page_of_a_fixed_run_shows_the_divergence_its_sequence_and_how_to_replay_it() {
    let report = fixed_fuzz_report(&identity);
    let page = html::fuzz(&info(&identity), &report, Path::new("found"));
    assert_self_contained(&page);
    assert!(page.contains("FAILED: 1 divergence from scimock's model"));
    assert!(
        page.contains("<dd>legacy, aadOptscim062020</dd>"),
        "the run's dialects"
    );
    assert!(page.contains("<code>3</code>"), "the seed");
    assert!(page.contains("360 ms (18 % of the run) in the reference model"));
    assert!(page.contains("stopped: the time budget (60 s) ran out in case 3"));
    assert!(page.contains("did not say which attributes it keeps"));
    assert!(page.contains("2 cleanup delete(s) failed"));
    assert!(page.contains("so tolerated as at create"));
    assert!(page.contains("<strong class=\"name\">status</strong> in case 1"));
    assert!(page.contains("<code>PATCH /Groups/98a488375d7888aba85a</code>"));
    assert!(page.contains("from 17 steps to 3 in 20 re-runs"));
    assert!(page.contains("database_down, token [redacted]"));
    assert!(!page.contains("s3cr3t"));
    for label in &report.divergences[0].minimal_labels {
        assert!(page.contains(&format!("<li>{label}</li>")), "{label}");
    }
    assert!(page.contains("<code>fuzz_seed3_case1.json</code>"));
    assert!(page.contains(
        "<pre class=\"body\">scimock replay https://endpoint.example/scim/v2 --scenarios-dir found</pre>"
    ));
    // The scenario as the file holds it, JSON-escaped, then HTML-escaped.
    assert!(page
        .contains("&quot;userName&quot;: &quot;O'Brien&amp;\\&quot;q\\&quot;@${tag}.test&quot;"));
    snapshot("html_report@fuzz", &page);

    let mut clean = report;
    clean.divergences.clear();
    clean.stopped = None;
    clean.notes.clear();
    clean.cleanup_failures = 0;
    clean.schemas_known = true;
    let page = html::fuzz(&info(&identity), &clean, Path::new("my scenarios"));
    assert_self_contained(&page);
    assert!(page.contains(
        "<p class=\"verdict passed\" id=\"verdict\">PASSED: no divergence from scimock's model in 4 cases, 46 steps</p>"
    ));
    assert!(page.contains("<p class=\"muted\">no divergence from scimock's model</p>"));
    for absent in [
        "stopped:",
        "warning:",
        "Tolerated",
        "/Schemas did not say",
        "scimock replay",
    ] {
        assert!(!page.contains(absent), "{absent}");
    }
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
    // The fuzz page also gets control characters (an escape sequence, a carriage return, a
    // bell, a NUL) after the payload, everywhere, and in the `--out` directory.
    let with_controls = |s: &str| format!("{s}{PAYLOAD}{CONTROLS}");
    let fuzz_info = info.clone();
    let fuzz_dir = PathBuf::from(with_controls("found"));
    let pages = [
        html::replay(&info, &report),
        html::validate(&with_dialect, &fixed_validation(&with_payload)),
        html::provision(&with_dialect, &cycle, true),
        html::fuzz(&fuzz_info, &fixed_fuzz_report(&with_controls), &fuzz_dir),
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
    let fuzz = &pages[3];
    assert!(
        !fuzz.contains(|c: char| c.is_control() && c != '\n'),
        "a raw control character in the fuzz page"
    );
    // Written as `\u{…}`, as the terminal and JUnit reports write them, after the payload.
    let controls = format!("{PAYLOAD_ESCAPED}{CONTROLS_SHOWN}");
    for text in [
        "stopped: the time budget",
        "tolerated as at create",
        "<code>PATCH /Groups/98a488375d7888aba85a",
        "<li>create group 0",
    ] {
        let at = fuzz.find(text).unwrap_or_else(|| panic!("{text}"));
        assert!(fuzz[at..].contains(&controls), "{text}");
    }
    assert!(fuzz.contains(&format!(
        "database_down, token [redacted]), the model 204{controls}"
    )));
    assert!(fuzz.contains(&format!("<code>fuzz_seed3_case1{controls}.json</code>")));
    // In the scenario they are JSON escapes already (`\u001b`), as the file holds them.
    assert!(fuzz.contains("\\u001b[31m\\r\\u0007\\u0000"));
    // The replay command quotes the directory for a shell: a `'` in it is closed, escaped
    // and reopened.
    let command = &fuzz[fuzz.find("scimock replay '").unwrap()..];
    let command = &command[..command.find("</pre>").unwrap()];
    assert!(
        command.contains("--scenarios-dir 'found&lt;script&gt;alert(1)&lt;/script&gt;&quot;q&quot;'\\''a'\\''&amp;amp;"),
        "{command}"
    );
    assert!(
        command.ends_with(&format!("{CONTROLS_SHOWN}'")),
        "{command}"
    );
    assert!(pages[0].contains(&format!("stopped: stopped{PAYLOAD_ESCAPED}")));
    assert!(pages[0].contains(&format!("connection reset{PAYLOAD_ESCAPED}")));
    // The bodies (JSON) carry the payload JSON-escaped, then HTML-escaped.
    assert!(pages[0].contains("&lt;script&gt;alert(1)&lt;/script&gt;\\&quot;q\\&quot;"));
}

/// Control characters from anywhere (an endpoint's detail, a target, a header) are written
/// as `\u{…}` on every page, as the fuzz page writes them.
#[test]
fn no_page_holds_a_raw_control_character() {
    let with_controls = |s: &str| format!("{s}{CONTROLS}");
    let info = info(&with_controls);
    let mut cycle = fixed_cycle();
    for e in &mut cycle.entries {
        if let Some(i) = &mut e.provisioning_status_info.error_information {
            i.reason = with_controls(&i.reason);
        }
        e.target_identity.id = with_controls(&e.target_identity.id);
    }
    let pages = [
        html::replay(&info, &fixed_report(&with_controls)),
        html::validate(&info, &fixed_validation(&with_controls)),
        html::provision(&info, &cycle, true),
    ];
    for (n, page) in pages.iter().enumerate() {
        let raw = page.chars().find(|c| c.is_control() && *c != '\n');
        assert_eq!(raw, None, "page {n}: a raw control character");
        assert!(
            page.contains(CONTROLS_SHOWN),
            "page {n}: the controls shown"
        );
    }
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
        html::fuzz(&info, &fixed_fuzz_report(&identity), Path::new("found")),
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

    // The fuzz page: a huge detail, label, request and scenario, and more steps and notes
    // than it lists, each of them long.
    let mut fuzz = fixed_fuzz_report(&identity);
    let line = "é€😀".repeat(400);
    let f = &mut fuzz.divergences[0];
    f.divergence.detail = huge.clone();
    f.divergence.label = huge.clone();
    f.divergence.request = huge.clone();
    f.scenario.description = huge.clone();
    f.minimal_labels = vec![line.clone(); 300];
    fuzz.notes = vec![line.clone(); 250];
    let page = html::fuzz(&info(&identity), &fuzz, Path::new("found"));
    assert!(page.contains("\u{fffd}\u{fffd}{\u{fffd}"));
    assert!(page.contains("show 98000 more characters"), "the detail");
    assert!(
        page.contains("more characters are left out of this page (the scenario file has them all)")
    );
    assert!(
        page.contains("<li class=\"muted\">… and 100 more</li>"),
        "the steps"
    );
    assert!(
        page.contains("<li class=\"muted\">… and 50 more</li>"),
        "the notes"
    );
    let cut_line = format!("{}…</li>", line.chars().take(500).collect::<String>());
    assert_eq!(
        page.matches(&cut_line).count(),
        400,
        "lines cut at 500 characters"
    );
    let chars = page.chars().count();
    assert!(
        chars < 500_000,
        "{chars} characters: the page holds a bounded part"
    );
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

#[test]
fn the_fuzz_report_renders_in_chromium_with_its_divergence_and_no_injected_markup() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: chromium not found (apt-get install -y chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hostile = |s: &str| format!("{s}{PAYLOAD}{CONTROLS}");
    let report = fixed_fuzz_report(&hostile);
    let html = dir.path().join("fuzz.html");
    std::fs::write(
        &html,
        html::fuzz(&info(&identity), &report, Path::new("found")),
    )
    .unwrap();
    let dom = run_browser(
        &browser,
        &dir.path().join("profile"),
        &[
            "--dump-dom".to_owned(),
            format!("file://{}", html.display()),
        ],
        Duration::from_secs(90),
    );
    assert!(
        dom.contains("FAILED: 1 divergence from scimock's model"),
        "not the report: {:.300}",
        dom
    );
    // Nothing the endpoint sent became markup: the one script is the page's own, no
    // injected element, and the payload is text, its control characters written out.
    assert_eq!(dom.matches("<script").count(), 1, "{dom}");
    assert!(!dom.contains("<b>"), "an injected element");
    assert!(!dom.contains('\u{1b}'), "a raw escape character");
    let shown = as_dom_text(&format!("{PAYLOAD}{CONTROLS_SHOWN}"));
    let f = &report.divergences[0];
    for text in [
        &f.divergence.label,
        &f.divergence.request,
        &f.minimal_labels[0],
        &report.notes[0],
    ] {
        let head = text.split(PAYLOAD).next().unwrap();
        assert!(
            dom.contains(&format!("{}{shown}", as_dom_text(head))),
            "{head}"
        );
    }
    assert!(dom.contains("<strong class=\"name\">status</strong> in case 1"));
    assert!(dom.contains("<details class=\"item divergence failed\" open=\"\">"));
    for (label, n) in [("cases", 4), ("divergences", 1), ("failed cleanups", 2)] {
        let count = format!("<span class=\"n\">{n}</span> <span class=\"label\">{label}</span>");
        assert!(dom.contains(&count), "{count}");
    }
    assert!(dom.contains("scimock replay https://endpoint.example/scim/v2 --scenarios-dir found"));
}
