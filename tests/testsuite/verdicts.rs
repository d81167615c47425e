//! The stand-in's verdicts on endpoints that differ from scimock serve in ways Entra does or
//! does not tolerate (issue #13): each false green must now fail with the finding that names
//! Entra's consequence, each false red must pass with at most a warning.
//!
//! The endpoint is a tiny in-test SCIM service mounted on wiremock ([`Tiny`]), with one knob
//! per variation, so every test runs the built-in scenarios end to end.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use scimock::entra::Dialect;
use scimock::replay::{report, Outcome, Report, Runner, RunnerConfig, Scenario, Severity};

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// How the tiny endpoint deviates from RFC 7644 as scimock serve implements it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Quirks {
    /// Filter queries leave out `active: false` users (the Validator's "Disable User" failure).
    pub(crate) hide_inactive: bool,
    /// Every filter query returns each match twice.
    pub(crate) duplicate_results: bool,
    /// Resources carry no `meta`.
    pub(crate) no_meta: bool,
    /// An empty ListResponse has no `Resources`.
    pub(crate) omit_empty_resources: bool,
    /// Error bodies carry `status` as a number.
    pub(crate) numeric_status: bool,
    /// POST refuses explicit nulls with 400.
    pub(crate) refuse_nulls: bool,
    /// POST answers 201 but does not store these attributes.
    pub(crate) forget: &'static [&'static str],
}

#[derive(Debug, Default)]
struct State {
    users: Vec<Value>,
    next: u32,
}

/// A users-only SCIM endpoint small enough to read: create, get, filter (`attr eq "v"` on
/// userName, externalId or the work email), PATCH `active`, DELETE.
#[derive(Debug, Clone)]
struct Tiny {
    quirks: Quirks,
    state: Arc<Mutex<State>>,
}

fn scim(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/scim+json")
}

impl Tiny {
    fn error(&self, status: u16, detail: &str) -> ResponseTemplate {
        let code = if self.quirks.numeric_status {
            json!(status)
        } else {
            json!(status.to_string())
        };
        scim(
            status,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": code, "detail": detail}),
        )
    }

    fn query(&self, filter: &str, users: &[Value]) -> ResponseTemplate {
        let value = filter
            .rsplit_once(" eq ")
            .map(|(_, v)| v.trim().trim_matches('"').to_owned())
            .unwrap_or_default();
        let attr = filter.split(' ').next().unwrap_or("").to_ascii_lowercase();
        let mut found: Vec<Value> = users
            .iter()
            .filter(|u| {
                let got = if attr.starts_with("emails") {
                    u.pointer("/emails/0/value")
                } else if attr == "externalid" {
                    u.get("externalId")
                } else {
                    u.get("userName")
                };
                got.and_then(Value::as_str)
                    .is_some_and(|g| g.eq_ignore_ascii_case(&value))
            })
            .filter(|u| !(self.quirks.hide_inactive && u["active"] == json!(false)))
            .cloned()
            .collect();
        if self.quirks.duplicate_results {
            found = found.iter().flat_map(|u| [u.clone(), u.clone()]).collect();
        }
        let mut body = json!({"schemas": [LIST], "totalResults": found.len()});
        if !(found.is_empty() && self.quirks.omit_empty_resources) {
            body["Resources"] = Value::Array(found);
        }
        scim(200, &body)
    }
}

impl Respond for Tiny {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        let path = request.url.path().to_owned();
        let id = path.strip_prefix("/Users/").map(str::to_owned);
        let body: Option<Value> = serde_json::from_slice(&request.body).ok();
        match (request.method.as_str(), id) {
            ("GET", None) => {
                let filter = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "filter")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                self.query(&filter, &state.users)
            }
            ("POST", None) => {
                let Some(Value::Object(mut user)) = body else {
                    return self.error(400, "not JSON");
                };
                if self.quirks.refuse_nulls && user.values().any(Value::is_null) {
                    return self.error(400, "null is not a value");
                }
                user.retain(|k, v| !v.is_null() && !self.quirks.forget.contains(&k.as_str()));
                state.next += 1;
                user.insert("id".into(), json!(format!("u{}", state.next)));
                if self.quirks.no_meta {
                    user.remove("meta");
                } else {
                    user.insert(
                        "meta".into(),
                        json!({"resourceType": "User", "created": "2026-01-01T00:00:00Z"}),
                    );
                }
                let user = Value::Object(user);
                state.users.push(user.clone());
                scim(201, &user)
            }
            (m, Some(id)) => {
                let Some(at) = state.users.iter().position(|u| u["id"] == json!(id)) else {
                    return self.error(404, "no such user");
                };
                match m {
                    "GET" => scim(200, &state.users[at]),
                    "DELETE" => {
                        state.users.remove(at);
                        ResponseTemplate::new(204)
                    }
                    "PATCH" => {
                        let ops = body
                            .as_ref()
                            .and_then(|b| b.get("Operations"))
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default();
                        for op in ops {
                            if op["path"].as_str().is_some_and(|p| p == "active") {
                                let on = match &op["value"] {
                                    Value::Bool(b) => *b,
                                    Value::String(s) => s.eq_ignore_ascii_case("true"),
                                    _ => return self.error(400, "active must be a boolean"),
                                };
                                state.users[at]["active"] = json!(on);
                            }
                        }
                        ResponseTemplate::new(204)
                    }
                    _ => self.error(405, "method not allowed"),
                }
            }
            _ => self.error(405, "method not allowed"),
        }
    }
}

pub(crate) async fn tiny(quirks: Quirks) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(Tiny {
            quirks,
            state: Arc::default(),
        })
        .mount(&server)
        .await;
    server
}

fn builtin(name: &str) -> Scenario {
    scimock::replay::builtin_scenarios()
        .unwrap()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no built-in scenario {name}"))
}

fn config(server: &MockServer) -> RunnerConfig {
    let mut config = RunnerConfig::new(server.uri());
    config.dialects = Dialect::BOTH.to_vec();
    config.concurrency = 1;
    config.timeout = Duration::from_secs(5);
    config.seed = Some(13);
    config
}

async fn run_builtin(server: &MockServer, names: &[&str]) -> Report {
    let scenarios: Vec<Scenario> = names.iter().map(|n| builtin(n)).collect();
    Runner::new(config(server)).unwrap().run(&scenarios).await
}

/// Every finding of the run, as (check, severity, consequence).
fn findings(report: &Report) -> Vec<(&'static str, Severity, String)> {
    report
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .flat_map(|st| &st.findings)
        .map(|f| (f.check, f.severity, f.consequence.clone()))
        .collect()
}

#[tokio::test]
async fn the_tiny_endpoint_without_quirks_passes_the_scenarios_these_tests_use() {
    // The control: the verdicts below come from the quirk, not from the tiny endpoint.
    let server = tiny(Quirks::default()).await;
    let report = run_builtin(
        &server,
        &[
            "test_connection",
            "disable_user",
            "create_user_default_mapping",
            "match_by_work_email",
            "get_user_unknown_id",
        ],
    )
    .await;
    assert_eq!(
        report.summary.failed,
        0,
        "{}",
        report::terminal(&report, false)
    );
    assert_eq!(
        report.summary.warnings,
        0,
        "{}",
        report::terminal(&report, false)
    );
}

#[tokio::test]
async fn hiding_inactive_users_from_filters_fails_disable_user_naming_the_validator_and_409s() {
    let server = tiny(Quirks {
        hide_inactive: true,
        ..Quirks::default()
    })
    .await;
    let report = run_builtin(&server, &["disable_user"]).await;
    assert_eq!(
        report.summary.failed,
        2,
        "{}",
        report::terminal(&report, false)
    );
    let step = report.scenarios[0]
        .steps
        .iter()
        .find(|s| s.outcome == Outcome::Failed)
        .unwrap();
    assert_eq!(
        step.name,
        "disabled user is still found by its matching attribute"
    );
    let f = &step.findings[0];
    assert_eq!(f.check, "body");
    assert!(f.consequence.contains("Disable User"), "{}", f.consequence);
    assert!(f.consequence.contains("409"), "{}", f.consequence);
}

#[tokio::test]
async fn duplicate_results_on_the_work_email_match_are_duplicate_target_entries() {
    let server = tiny(Quirks {
        duplicate_results: true,
        ..Quirks::default()
    })
    .await;
    let report = run_builtin(&server, &["match_by_work_email"]).await;
    assert_eq!(report.exit_code(), 1);
    let dup: Vec<_> = findings(&report)
        .into_iter()
        .filter(|(c, _, _)| *c == "duplicate-match")
        .collect();
    assert!(!dup.is_empty(), "{}", report::terminal(&report, false));
    assert!(dup.iter().all(|(_, s, c)| *s == Severity::Failure
        && c.contains("DuplicateTargetEntries")
        && c.contains("skips the object")));
}

/// A groups-only endpoint: it stores the one group it is sent, and its filter queries
/// answer `matches` copies of another group, whatever the filter (0: a filter that finds
/// nothing).
#[derive(Debug, Clone)]
struct Groups {
    matches: usize,
    held: Arc<Mutex<Option<Value>>>,
}

impl Respond for Groups {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut held = self.held.lock().unwrap();
        match (request.method.as_str(), request.url.path()) {
            ("POST", "/Groups") => {
                let mut group: Value = serde_json::from_slice(&request.body).unwrap();
                group["id"] = json!("g1");
                *held = Some(group.clone());
                scim(201, &group)
            }
            ("GET", "/Groups") => {
                let other = json!({"id": "g0", "displayName": "Another group"});
                let found = vec![other; self.matches];
                scim(
                    200,
                    &json!({"schemas": [LIST], "totalResults": found.len(), "Resources": found}),
                )
            }
            ("GET", "/Groups/g1") => match held.as_ref() {
                Some(group) => scim(200, group),
                None => ResponseTemplate::new(404),
            },
            ("DELETE", _) => ResponseTemplate::new(204),
            _ => ResponseTemplate::new(405),
        }
    }
}

/// Issue #29: *MultipleEntriesInResponse* is what Entra logs when a query answers more than
/// one resource; a query that finds nothing is not that (Entra creates the group again).
#[tokio::test]
async fn multiple_entries_in_response_is_named_only_for_a_query_answering_more_than_one() {
    let mut consequences = Vec::new();
    for matches in [0, 2] {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(Groups {
                matches,
                held: Arc::default(),
            })
            .mount(&server)
            .await;
        let report = run_builtin(&server, &["group_create_without_members"]).await;
        assert_eq!(
            report.exit_code(),
            1,
            "{}",
            report::terminal(&report, false)
        );
        consequences.push(findings(&report));
    }
    let (none, two) = (&consequences[0], &consequences[1]);
    assert!(!none.is_empty());
    for (check, _, c) in none {
        assert!(!c.contains("MultipleEntries"), "{check}: {c}");
    }
    assert!(none
        .iter()
        .any(|(check, _, c)| *check == "body" && c.contains("409")));
    for (check, _, c) in two {
        assert_eq!(
            c.contains("MultipleEntriesInResponse"),
            *check == "duplicate-match",
            "{check}: {c}"
        );
    }
    assert!(two.iter().any(|(check, _, _)| *check == "duplicate-match"));
}

/// Every consequence a scenario step or a validate test states ends with the public source
/// it rests on, in parentheses, so the reports can show it (issue #29).
#[test]
fn every_step_consequence_ends_with_its_source() {
    let mut all = scimock::replay::builtin_scenarios().unwrap();
    let d = scimock::validate::rfc_schemas();
    let opts = scimock::validate::Options::default();
    for suite in [
        scimock::validate::Suite::Validator,
        scimock::validate::Suite::LogicApp,
    ] {
        all.extend(
            scimock::validate::tests(suite, &d, &opts)
                .unwrap()
                .into_iter()
                .map(|t| t.scenario),
        );
    }
    let mut unsourced = Vec::new();
    for s in &all {
        for step in &s.steps {
            if let Some(c) = &step.consequence {
                if scimock::entra::consequence::split_source(c).1.is_none() {
                    unsourced.push(format!("{} / {}: {c}", s.name, step.name));
                }
            }
        }
    }
    assert!(unsourced.is_empty(), "{}", unsourced.join("\n"));
}

/// One GET on `filter`, answered by a canned ListResponse with two identical resources.
async fn two_results_for(filter: &str) -> Vec<&'static str> {
    let server = MockServer::start().await;
    let user = json!({"id": "u1", "userName": "a"});
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(scim(
            200,
            &json!({"schemas": [LIST], "totalResults": 2, "Resources": [user, user]}),
        ))
        .mount(&server)
        .await;
    let scenario = Scenario::from_json(
        &json!({"steps": [{"name": "q", "request": {"method": "GET", "path": "/Users", "query": {"filter": filter}}, "expect": {"status": 200}}]})
            .to_string(),
        "dup",
    )
    .unwrap();
    let mut config = config(&server);
    config.dialects = vec![Dialect::Legacy];
    let report = Runner::new(config).unwrap().run(&[scenario]).await;
    report.scenarios[0].steps[0]
        .findings
        .iter()
        .map(|f| f.check)
        .collect()
}

#[tokio::test]
async fn duplicate_detection_covers_custom_attributes_but_not_reference_checks() {
    assert_eq!(
        two_results_for("urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge eq \"7\"")
            .await,
        vec!["duplicate-match"]
    );
    assert_eq!(
        two_results_for("emails[type eq \"work\"].value eq \"a@example.com\"").await,
        vec!["duplicate-match"]
    );
    // `and` is a reference check, not a match: more than one answer is its own problem.
    assert!(two_results_for("id eq \"u1\" and manager eq \"m\"")
        .await
        .is_empty());
}

#[tokio::test]
async fn resources_without_meta_and_empty_lists_without_resources_pass_without_findings() {
    let server = tiny(Quirks {
        no_meta: true,
        omit_empty_resources: true,
        ..Quirks::default()
    })
    .await;
    let report = run_builtin(
        &server,
        &[
            "test_connection",
            "create_user_default_mapping",
            "disable_user",
        ],
    )
    .await;
    assert_eq!(
        report.exit_code(),
        0,
        "{}",
        report::terminal(&report, false)
    );
    assert_eq!(report.summary.warnings, 0);
    // The empty answer really had no `Resources`.
    let body = report.scenarios[0].steps[0]
        .response
        .as_ref()
        .and_then(|r| r.body.clone())
        .unwrap();
    assert!(body.get("Resources").is_none(), "{body}");
}

#[tokio::test]
async fn a_numeric_status_in_an_error_body_is_a_warning_only() {
    let server = tiny(Quirks {
        numeric_status: true,
        ..Quirks::default()
    })
    .await;
    let report = run_builtin(&server, &["get_user_unknown_id"]).await;
    assert_eq!(
        report.exit_code(),
        0,
        "{}",
        report::terminal(&report, false)
    );
    let found = findings(&report);
    assert!(!found.is_empty());
    assert!(found
        .iter()
        .all(|(c, s, _)| *c == "error-body" && *s == Severity::Warning));
}

#[tokio::test]
async fn explicit_nulls_refused_by_the_endpoint_warn_without_failing() {
    let server = tiny(Quirks {
        refuse_nulls: true,
        ..Quirks::default()
    })
    .await;
    let report = run_builtin(&server, &["create_user_with_explicit_nulls"]).await;
    assert_eq!(
        report.exit_code(),
        0,
        "{}",
        report::terminal(&report, false)
    );
    let found = findings(&report);
    assert!(found
        .iter()
        .any(|(c, s, _)| *c == "status" && *s == Severity::Warning));
    assert!(found.iter().all(|(_, s, _)| *s == Severity::Warning));
}

async fn rate_limited_once(retries: u32) -> Report {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_raw("{}", "application/scim+json"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(scim(200, &json!({"schemas": [LIST], "totalResults": 0})))
        .mount(&server)
        .await;
    let mut config = config(&server);
    config.dialects = vec![Dialect::Legacy];
    config.retry.retries = retries;
    Runner::new(config)
        .unwrap()
        .run(&[builtin("test_connection")])
        .await
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_by_default_and_reported() {
    let report = rate_limited_once(RunnerConfig::new("http://x").retry.retries).await;
    assert_eq!(
        report.exit_code(),
        0,
        "{}",
        report::terminal(&report, false)
    );
    let found = findings(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "rate-limit");
    assert_eq!(found[0].1, Severity::Warning);
    assert!(found[0].2.contains("Retry-After"));
    // Without retries the same answer fails, naming what Entra does.
    let report = rate_limited_once(0).await;
    assert_eq!(report.exit_code(), 1);
    assert!(findings(&report)[0]
        .2
        .contains("retries the failed requests"));
}

#[tokio::test]
async fn test_connection_probes_the_configured_matching_attribute() {
    let server = tiny(Quirks::default()).await;
    let mut config = config(&server);
    config.dialects = vec![Dialect::Legacy];
    config.vars.insert("match_attr".into(), "externalId".into());
    let report = Runner::new(config)
        .unwrap()
        .run(&[builtin("test_connection")])
        .await;
    let target = &report.scenarios[0].steps[0]
        .request
        .as_ref()
        .unwrap()
        .target;
    assert!(
        target.starts_with("/Users?filter=externalId+eq+%22"),
        "{target}"
    );
}

#[tokio::test]
async fn vendor_scenarios_run_only_for_their_profile() {
    let server = tiny(Quirks::default()).await;
    let vendor = builtin("vendor_freshservice");
    let report = Runner::new(config(&server))
        .unwrap()
        .run(std::slice::from_ref(&vendor))
        .await;
    assert!(report
        .scenarios
        .iter()
        .all(|s| s.outcome == Outcome::Skipped
            && s.skipped_because
                .as_deref()
                .is_some_and(|w| w.contains("--profile freshservice"))));
    let skips = scimock::replay::detail::skips(&report);
    assert_eq!(
        skips,
        "skipped 2 run(s): recorded for the `freshservice` profile: run with --profile freshservice: vendor_freshservice\n"
    );
    let mut config = config(&server);
    config.profile = Some("freshservice".into());
    let report = Runner::new(config).unwrap().run(&[vendor]).await;
    assert!(report
        .scenarios
        .iter()
        .all(|s| s.outcome != Outcome::Skipped));
}

#[test]
fn group_scenarios_send_the_core_urn_and_only_one_sends_adscim() {
    let adscim = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
    let all = scimock::replay::builtin_scenarios().unwrap();
    let senders: Vec<&str> = all
        .iter()
        .filter(|s| {
            s.steps.iter().any(|st| {
                st.request
                    .body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains(adscim))
            })
        })
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(senders, vec!["group_create_adscim_schema"]);
}

#[test]
fn every_builtin_scenario_names_a_public_source() {
    for s in scimock::replay::builtin_scenarios().unwrap() {
        assert!(
            !s.source.is_empty() && !s.source.contains("shared/"),
            "{} has no public source",
            s.name
        );
    }
}

/// RFC 7643 §2.5: unassigned, `null` and `[]` are one state, so no scenario or validate
/// test may demand that `members` or `manager` be *absent* (an empty group's
/// `"members": []` is no member returned); they use `empty`.
#[test]
fn no_scenario_demands_absence_where_an_empty_value_is_the_same_state() {
    let d = scimock::validate::rfc_schemas();
    let opts = scimock::validate::Options::default();
    let mut all = scimock::replay::builtin_scenarios().unwrap();
    for suite in [
        scimock::validate::Suite::Validator,
        scimock::validate::Suite::LogicApp,
    ] {
        all.extend(
            scimock::validate::tests(suite, &d, &opts)
                .unwrap()
                .into_iter()
                .map(|t| t.scenario),
        );
    }
    let mut empties = 0;
    for s in &all {
        for step in &s.steps {
            for pointer in &step.expect.absent {
                let last = pointer.rsplit('/').next().unwrap_or("");
                assert!(
                    !["members", "manager", "value"].contains(&last),
                    "{} / {}: `absent` {pointer} should be `empty`",
                    s.name,
                    step.name
                );
            }
            empties += step.expect.empty.len();
        }
    }
    assert!(empties >= 8, "{empties}");
}

#[tokio::test]
async fn junit_tests_count_every_testcase_including_skipped_ones() {
    let server = tiny(Quirks::default()).await;
    let scenario = Scenario::from_json(
        &json!({"steps": [
            {"name": "fails", "request": {"method": "GET", "path": "/Users/none"}, "expect": {"status": 200}},
            {"name": "never runs", "request": {"method": "GET", "path": "/Users"}}
        ]})
        .to_string(),
        "two",
    )
    .unwrap();
    let mut config = config(&server);
    config.dialects = vec![Dialect::Legacy];
    let report = Runner::new(config).unwrap().run(&[scenario]).await;
    let xml = report::junit(&report).unwrap();
    assert!(
        xml.contains(r#"<testsuites name="scimock replay" tests="2" failures="1" time="#),
        "{xml}"
    );
    // The skipped case is counted on its <testsuite>, which the JUnit schema allows.
    assert!(
        xml.contains(r#"tests="2" failures="1" errors="0" skipped="1""#),
        "{xml}"
    );
}

/// The shapes scimock serve refused before issue #12 (shape audit rows A4, B3, B4, B5,
/// C21, E7, E9) all pass against the mock now; the raw-quote form stays opt-in
/// (`--with raw-quotes`) because it is sent over a hand-written TCP request.
#[tokio::test]
async fn the_quirk_scenarios_pass_against_the_mock() {
    let server = scimock::MockServer::builder()
        .token("t")
        .ids(scimock::clock::SequentialIds::new())
        .seed(json!({"Users": [], "Groups": []}))
        .start_blocking();
    let quirk_scenarios = [
        "create_user_active_string",
        "create_user_manager_string",
        "manager_reference_check_documented_form",
        "manager_remove_by_filter",
        "null_update_null",
        "raw_quote_filter",
        "validator_create_user_body",
    ];
    let all: Vec<Scenario> = scimock::replay::builtin_scenarios()
        .unwrap()
        .into_iter()
        .filter(|s| quirk_scenarios.contains(&s.name.as_str()))
        .collect();
    assert_eq!(all.len(), quirk_scenarios.len());
    let mut config = RunnerConfig::new(server.base_url());
    config.token = Some("t".into());
    config.dialects = Dialect::BOTH.to_vec();
    config.concurrency = 1;
    config.capabilities.push("raw-quotes".to_owned());
    let report = Runner::new(config).unwrap().run(&all).await;
    let not_passed: Vec<(&str, Outcome)> = report
        .scenarios
        .iter()
        .filter(|s| s.outcome != Outcome::Passed)
        .map(|s| (s.name.as_str(), s.outcome))
        .collect();
    assert!(
        not_passed.is_empty(),
        "{not_passed:?}\n{}",
        report::terminal(&report, false)
    );
    assert!(report.scenarios.len() >= quirk_scenarios.len());
}

#[test]
fn the_new_shape_scenarios_cite_their_audit_rows() {
    let rows: Vec<String> = scimock::replay::builtin_scenarios()
        .unwrap()
        .into_iter()
        .flat_map(|s| s.rows)
        .collect();
    // The "not sent at all" list of issue #13, by audit row.
    for row in [
        "A3", "A4", "A7", "A10", "B3", "B4", "B5", "B7", "B13", "B14", "C5", "C6", "C7", "C9",
        "C10", "C11", "C12", "C14", "C15", "C16", "C17", "C18", "C19", "C20", "C21", "D4", "D5",
        "D8", "E2", "E3", "E4", "E6", "E7", "E8", "E9", "F4", "F5", "F6", "F8", "F12", "F14",
        "F15", "F16", "F19", "F20", "F22",
    ] {
        assert!(
            rows.iter().any(|r| r == row),
            "no scenario covers row {row}"
        );
    }
}

#[tokio::test]
async fn reports_group_findings_by_cause_and_show_the_failed_exchange_without_secrets() {
    let server = tiny(Quirks {
        hide_inactive: true,
        ..Quirks::default()
    })
    .await;
    let mut config = config(&server);
    config.token = Some("s3cret-token".into());
    let report = Runner::new(config)
        .unwrap()
        .run(&[
            builtin("disable_user"),
            builtin("disable_user_lowercase_string"),
        ])
        .await;
    let causes = scimock::replay::detail::causes(&report);
    // Three disable runs (two dialects + one) fail the same read-back: one row, keyed by
    // what the endpoint did, with Entra's consequence under it.
    assert!(
        causes.contains("  3 × error [body] body differs at /totalResults"),
        "{causes}"
    );
    assert!(
        causes.contains("entra: The SCIM Validator's mandatory"),
        "{causes}"
    );
    let exchanges = scimock::replay::detail::exchanges(&report, false);
    assert!(
        exchanges.contains("> GET /Users?filter=userName+eq+%22"),
        "{exchanges}"
    );
    assert!(
        exchanges.contains("< 200 (application/scim+json)"),
        "{exchanges}"
    );
    assert!(exchanges.contains("\"totalResults\":0"), "{exchanges}");
    let verbose = scimock::replay::detail::exchanges(&report, true);
    assert!(verbose.len() > exchanges.len());
    // Whole exchanges carry the live request header and the response headers.
    assert!(
        verbose.contains("> Content-Type: application/scim+json; charset=utf-8"),
        "{verbose}"
    );
    assert!(
        verbose.contains("< content-type: application/scim+json"),
        "{verbose}"
    );
    for text in [&causes, &exchanges, &verbose, &report::json(&report)] {
        assert!(!text.contains("s3cret-token"));
    }
}

/// Read-back: an endpoint that answers 201 to a create but keeps only part of it fails the
/// step, each lost attribute named; one that keeps everything (with the case changed) passes.
#[tokio::test]
async fn a_create_whose_attributes_were_not_stored_fails_naming_each_one() {
    let run = |stored: Value| async move {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/Users"))
            .respond_with(scim(201, &json!({"id": "u1", "userName": "ada@x"})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/Users/u1"))
            .respond_with(scim(200, &stored))
            .mount(&server)
            .await;
        let scenario = Scenario::from_json(
            &json!({"steps": [{"name": "create", "request": {"method": "POST", "path": "/Users",
                "body": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "ada@x", "title": "Engineer", "active": "True",
                    "emails": [{"type": "work", "value": "ada@x", "primary": true}]}},
                "expect": {"status": 201}}]})
            .to_string(),
            "readback",
        )
        .unwrap();
        Runner::new(config(&server)).unwrap().run(&[scenario]).await
    };
    let lossy = run(json!({"id": "u1", "userName": "ada@x", "active": true,
        "emails": [{"value": "ada@x"}]}))
    .await;
    let messages: Vec<String> = lossy.scenarios[0].steps[0]
        .findings
        .iter()
        .filter(|f| f.check == "read-back" && f.severity == Severity::Failure)
        .map(|f| f.message.clone())
        .collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages[0].contains("`title`"), "{messages:#?}");
    assert!(
        messages[1].contains("emails[type eq \"work\"]"),
        "{messages:#?}"
    );
    assert_eq!(lossy.scenarios[0].outcome, Outcome::Failed);
    let kept = run(
        json!({"id": "u1", "userName": "ADA@X", "active": true, "title": "engineer",
        "emails": [{"type": "work", "value": "ada@x", "primary": true}]}),
    )
    .await;
    assert_eq!(
        kept.scenarios[0].outcome,
        Outcome::Passed,
        "{}",
        report::terminal(&kept, false)
    );
}

/// Diagnosis: when every answer is 404, the summary says the tenant URL's path looks wrong.
#[tokio::test]
async fn every_answer_404_says_the_tenant_urls_path_looks_wrong() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(scim(
            404,
            &json!({"schemas": [scimock::scim::urn::ERROR], "status": "404"}),
        ))
        .mount(&server)
        .await;
    let report = run_builtin(&server, &["test_connection", "disable_user"]).await;
    assert!(report::all_not_found(&report));
    let text = report::terminal(&report, false);
    assert!(text.contains("the tenant URL's path looks wrong"), "{text}");
}

/// Findings by cause are grouped by what the endpoint did, not by Entra's consequence: two
/// different 400s with one consequence are two rows, each with the endpoint's detail.
#[tokio::test]
async fn findings_by_cause_keep_different_endpoint_errors_apart() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(scim(
            400,
            &json!({"schemas": [scimock::scim::urn::ERROR],
            "status": "400", "detail": "title is not supported"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(scim(
            400,
            &json!({"schemas": [scimock::scim::urn::ERROR],
            "status": "400", "detail": "op Replace is unknown"}),
        ))
        .mount(&server)
        .await;
    let steps = json!({"steps": [
        {"name": "create", "request": {"method": "POST", "path": "/Users", "body": {"userName": "a"}}},
        {"name": "create group", "request": {"method": "POST", "path": "/Groups", "body": {"displayName": "g"}}}]});
    let patch = json!({"steps": [
        {"name": "patch", "request": {"method": "PATCH", "path": "/Users/x", "body": {"Operations": []}}}]});
    let scenarios = [
        Scenario::from_json(&steps.to_string(), "posts").unwrap(),
        Scenario::from_json(&patch.to_string(), "patches").unwrap(),
    ];
    let report = Runner::new(config(&server)).unwrap().run(&scenarios).await;
    let causes = scimock::replay::detail::causes(&report);
    assert!(
        causes.contains("[status] answered 400: title is not supported"),
        "{causes}"
    );
    assert!(
        causes.contains("[status] answered 400: op Replace is unknown"),
        "{causes}"
    );
}

/// A step whose values were not stored fails, and the scenario goes on: the next step still
/// runs, so each other gap of the endpoint is found in the same run.
#[tokio::test]
async fn a_read_back_failure_does_not_stop_the_scenario() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(scim(201, &json!({"id": "u1", "userName": "ada@x"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users/u1"))
        .respond_with(scim(200, &json!({"id": "u1", "userName": "ada@x"})))
        .mount(&server)
        .await;
    let scenario = Scenario::from_json(
        &json!({"steps": [
            {"name": "create", "request": {"method": "POST", "path": "/Users",
                "body": {"userName": "ada@x", "title": "Engineer"}}, "capture": {"id": "/id"}},
            {"name": "read", "request": {"method": "GET", "path": "/Users/${id}"}}]})
        .to_string(),
        "goes_on",
    )
    .unwrap();
    let report = Runner::new(config(&server)).unwrap().run(&[scenario]).await;
    let s = &report.scenarios[0];
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(s.steps[0].outcome, Outcome::Failed);
    assert_eq!(s.steps[1].outcome, Outcome::Passed, "{:#?}", s.steps[1]);
}
