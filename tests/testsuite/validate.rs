//! `scimock validate`: the SCIM Validator and Logic App suites against scimock's own mock
//! server (what passes, and exactly which tests fail on the serve defects issue #12 fixes),
//! against a broken endpoint, and the `--list` output.

use std::time::Duration;

use scimock::entra::Dialect;
use scimock::replay::{report, Outcome, Runner, RunnerConfig, Severity};
use scimock::validate::{self, Options, Suite, Validation};

use crate::verdicts::{tiny, Quirks};

fn mock() -> scimock::MockServer {
    scimock::MockServer::builder()
        .token("t")
        .ids(scimock::clock::SequentialIds::new())
        .seed(serde_json::json!({"Users": [], "Groups": []}))
        .start_blocking()
}

async fn validate_at(url: String, token: Option<&str>, quirks: bool) -> Validation {
    let mut config = RunnerConfig::new(url);
    config.token = token.map(str::to_owned);
    config.dialects = vec![Dialect::AadOptscim062020];
    config.concurrency = 1;
    config.timeout = Duration::from_secs(10);
    let runner = Runner::new(config).unwrap();
    let opts = Options {
        quirks,
        groups: true,
        seed: Some(7),
        with: Vec::new(),
    };
    validate::run(&runner, &[Suite::Validator, Suite::LogicApp], &opts)
        .await
        .unwrap()
}

fn failed(v: &Validation) -> Vec<&str> {
    v.report
        .scenarios
        .iter()
        .filter(|s| s.outcome == Outcome::Failed)
        .map(|s| s.name.as_str())
        .collect()
}

#[tokio::test]
async fn against_the_mock_every_test_passes() {
    let server = mock();
    let v = validate_at(server.base_url(), Some("t"), false).await;
    // `replace` with null (shape audit row C21) is accepted since issue #12.
    assert_eq!(
        failed(&v),
        Vec::<&str>::new(),
        "{}",
        report::terminal(&v.report, false)
    );
    assert!(v.mandatory_failed.is_empty());
    assert_eq!(v.exit_code(), 0);
    assert!(v.report.summary.scenarios >= 40, "{:?}", v.report.summary);
}

#[tokio::test]
async fn with_the_validators_quirks_serve_passes_string_primary_and_raw_quotes() {
    let server = mock();
    let v = validate_at(server.base_url(), Some("t"), true).await;
    let create = v
        .report
        .scenarios
        .iter()
        .find(|s| s.name == "Create a new User")
        .unwrap();
    // Audit row B5: `roles[].primary: "True"` in a POST is coerced (issue #12).
    assert_eq!(
        create.outcome,
        Outcome::Passed,
        "{}",
        report::terminal(&v.report, false)
    );
    // Audit row A4: a raw `"` in the query is percent-encoded before hyper parses it.
    let missing = v
        .report
        .scenarios
        .iter()
        .find(|s| s.name == "Filter for a non-existing user")
        .unwrap();
    assert_eq!(
        missing.steps[0].response.as_ref().map(|r| r.status),
        Some(200)
    );
    assert!(missing.steps[0]
        .request
        .as_ref()
        .is_some_and(|r| r.target.contains("eq+\"")));
    assert!(v.mandatory_failed.is_empty(), "{:?}", v.mandatory_failed);
}

/// The hosted Validator reads the created user back and fails "Create a new User" for
/// each attribute it sent that is not there ("… is Missing from the fetched Resource"):
/// an endpoint that answers 201 and drops `title` and `nickName` fails that mandatory test,
/// each named, with the Validator's consequence; the same endpoint keeping them passes.
#[tokio::test]
async fn a_create_that_drops_attributes_fails_the_validators_create_a_new_user() {
    let lossy = tiny(Quirks {
        forget: &["title", "nickName"],
        ..Quirks::default()
    })
    .await;
    let v = validate_at(lossy.uri(), None, false).await;
    assert!(
        v.mandatory_failed.iter().any(|n| n == "Create a new User"),
        "{}",
        report::terminal(&v.report, false)
    );
    let create = v
        .report
        .scenarios
        .iter()
        .find(|s| s.name == "Create a new User")
        .unwrap();
    let lost: Vec<_> = create.steps[0]
        .findings
        .iter()
        .filter(|f| f.check == "read-back" && f.severity == Severity::Failure)
        .collect();
    assert_eq!(lost.len(), 2, "{lost:#?}");
    assert!(
        lost.iter().any(|f| f.message.contains("`title`")),
        "{lost:#?}"
    );
    assert!(
        lost.iter().any(|f| f.message.contains("`nickName`")),
        "{lost:#?}"
    );
    assert!(lost.iter().all(|f| f
        .consequence
        .contains("is Missing from the fetched Resource")));
    // Elsewhere in validate a lost value only warns, and says whether Entra's default
    // mappings would ever send it.
    let warnings: Vec<_> = v
        .report
        .scenarios
        .iter()
        // The replace test judges its read-back the same way (the tiny endpoint's PATCH
        // stores only `active`, so it fails there too).
        .filter(|s| s.name != "Create a new User" && !s.name.starts_with("Patch User - Replace"))
        .flat_map(|s| s.steps.iter().flat_map(|st| st.findings.iter()))
        .filter(|f| f.check == "read-back")
        .collect();
    assert!(!warnings.is_empty());
    assert!(
        warnings.iter().all(|f| f.severity == Severity::Warning),
        "{warnings:#?}"
    );
    assert!(warnings.iter().any(|f| f.message.contains("`title`")
        && f.consequence.starts_with("Entra sends the value again")));
    assert!(warnings.iter().any(|f| f.message.contains("`nickName`")
        && f.consequence
            .starts_with("Entra's default attribute mappings do not write")));

    let control = tiny(Quirks::default()).await;
    let v = validate_at(control.uri(), None, false).await;
    let create = v
        .report
        .scenarios
        .iter()
        .find(|s| s.name == "Create a new User")
        .unwrap();
    assert_eq!(
        create.outcome,
        Outcome::Passed,
        "{}",
        report::terminal(&v.report, false)
    );
}

#[tokio::test]
async fn an_endpoint_hiding_disabled_users_fails_the_mandatory_disable_tests() {
    let server = tiny(Quirks {
        hide_inactive: true,
        ..Quirks::default()
    })
    .await;
    let v = validate_at(server.uri(), None, false).await;
    assert!(v
        .mandatory_failed
        .iter()
        .any(|n| n == "Patch User - Disable User"));
    assert!(v
        .mandatory_failed
        .iter()
        .any(|n| n == "SCIM_User_Disable_Test"));
    let control = tiny(Quirks::default()).await;
    let v = validate_at(control.uri(), None, false).await;
    assert!(
        !v.mandatory_failed.iter().any(|n| n.contains("Disable")),
        "{:?}",
        v.mandatory_failed
    );
}

#[test]
fn every_test_names_its_source_and_the_validators_mandatory_set_is_complete() {
    let d = validate::rfc_schemas();
    let opts = Options::default();
    let tests = validate::tests(Suite::Validator, &d, &opts).unwrap();
    let mandatory: Vec<&str> = tests
        .iter()
        .filter(|t| t.mandatory)
        .map(|t| t.scenario.name.as_str())
        .collect();
    // The 24 tests a published Validator run passed, by the names the tool shows.
    assert_eq!(mandatory.len(), 24, "{mandatory:?}");
    for name in [
        "Create a new User",
        "Patch User - Disable User",
        "Patch Group - Remove Member",
        "Delete a Group",
    ] {
        assert!(mandatory.contains(&name), "{name}");
    }
    for suite in [Suite::Validator, Suite::LogicApp] {
        for t in validate::tests(suite, &d, &opts).unwrap() {
            assert!(!t.scenario.source.is_empty(), "{}", t.scenario.name);
            let kind = if t.mandatory {
                "mandatory: "
            } else {
                "optional: "
            };
            assert!(
                t.scenario.description.starts_with(kind),
                "{}",
                t.scenario.name
            );
        }
    }
}

#[test]
fn validate_list_prints_each_test_with_its_source() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["validate", "--list", "--suite", "all"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Patch User - Replace Attributes Verbose"));
    assert!(text.contains("SCIM_Null_Update_Test"));
    assert!(text.contains("source: Microsoft Learn \"Tutorial: Validate a SCIM endpoint\""));
    assert!(text.contains("not run offline"));
}

#[test]
fn replay_list_prints_every_scenario_with_its_rows_and_source() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args([
            "replay",
            "http://127.0.0.1:9/scim/v2",
            "--list",
            "--dialect",
            "both",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let all = scimock::replay::builtin_scenarios().unwrap();
    assert_eq!(text.lines().count(), all.len());
    for s in &all {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(s.name.as_str()))
            .unwrap_or_else(|| panic!("{} not listed", s.name));
        assert!(line.contains(&s.source), "{line}");
    }
    assert!(text.contains("[B3] AzureAD/SCIMReferenceCode#21"));
    assert!(text.contains("profile=freshservice"));
}

/// One answer, one verdict: a `/Schemas` that is a bare array (not the ListResponse RFC
/// 7644 §4 asks for) fails replay's `schema_discovery` and validate's discovery alike.
#[tokio::test]
async fn replay_and_validate_judge_the_same_schemas_answer_the_same_way() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let server = wiremock::MockServer::start().await;
    let bare = serde_json::json!([{"id": "urn:ietf:params:scim:schemas:core:2.0:User",
        "attributes": [{"name": "userName", "type": "string"}]}]);
    Mock::given(method("GET"))
        .and(path("/Schemas"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(bare.to_string(), "application/scim+json"),
        )
        .mount(&server)
        .await;
    let v = validate_at(server.uri(), None, false).await;
    let discovery = &v.report.scenarios[0];
    assert!(discovery.name.starts_with("Schema discovery"));
    let replayed = Runner::new(RunnerConfig::new(server.uri()))
        .unwrap()
        .run(&[scimock::replay::builtin_scenarios()
            .unwrap()
            .into_iter()
            .find(|s| s.name == "schema_discovery")
            .unwrap()])
        .await;
    assert_eq!(replayed.scenarios[0].outcome, Outcome::Failed);
    assert_eq!(
        discovery.outcome,
        replayed.scenarios[0].outcome,
        "{}",
        report::terminal(&v.report, false)
    );
    assert!(v
        .mandatory_failed
        .iter()
        .any(|n| n.starts_with("Schema discovery")));
}

/// Validate speaks for Microsoft's tools: a step that states no consequence of its own says
/// what the Validator or the Logic App does, never what Entra does with the object; and the
/// Logic App's direct tests create users with what Entra's default mapping writes (no
/// made-up role `type`, no random `profileUrl`).
#[test]
fn validate_steps_speak_for_microsofts_tools_and_logic_app_bodies_follow_entras_mapping() {
    let opts = Options {
        quirks: true,
        groups: true,
        seed: Some(1),
        with: Vec::new(),
    };
    let d = validate::rfc_schemas();
    for (suite, tool) in [
        (Suite::Validator, "Microsoft's SCIM Validator"),
        (Suite::LogicApp, "Logic App"),
    ] {
        let tests = validate::tests(suite, &d, &opts).unwrap();
        for t in &tests {
            for step in &t.scenario.steps {
                let c = step.consequence.as_deref().unwrap_or("");
                assert!(!c.is_empty(), "{} / {}", t.scenario.name, step.name);
                assert!(
                    !c.contains("escrow") || c.contains(tool) || c.contains("Microsoft"),
                    "{} / {}: {c}",
                    t.scenario.name,
                    step.name
                );
            }
        }
        if suite == Suite::LogicApp {
            for t in &tests {
                for step in &t.scenario.steps {
                    let Some(body) = &step.request.body else {
                        continue;
                    };
                    if step.request.method == "POST" && step.request.path == "/Users" {
                        for odd in ["roles", "profileUrl", "x509Certificates", "entitlements"] {
                            assert!(
                                body.get(odd).is_none(),
                                "{}: {odd} in {body}",
                                t.scenario.name
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The Logic App's null update targets only what the endpoint declares: without the
/// enterprise extension in `/Schemas`, no `department` path (SCIMMY refuses one, rightly).
#[test]
fn the_null_update_targets_only_declared_attributes() {
    let mut d = validate::rfc_schemas();
    let opts = Options {
        quirks: false,
        groups: false,
        seed: Some(1),
        with: Vec::new(),
    };
    let text = |d: &validate::Discovered| {
        let tests = validate::tests(Suite::LogicApp, d, &opts).unwrap();
        let t = tests
            .iter()
            .find(|t| t.scenario.name == "SCIM_Null_Update_Test")
            .unwrap();
        serde_json::to_string(&t.scenario).unwrap()
    };
    assert!(text(&d).contains("enterprise:2.0:User:department"));
    d.enterprise = None;
    assert!(!text(&d).contains("enterprise:2.0:User:department"));
}
