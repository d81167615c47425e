//! Scenarios that apply (issue #29): a scenario or validate test that needs a capability
//! runs only when the profile or the endpoint's `/Schemas` declares it, or when `--with`
//! asks for it; a skipped one says why in every report.

use serde_json::json;

use scimock::entra::Dialect;
use scimock::profile::Profile;
use scimock::replay::{report, Outcome, Report, Runner, RunnerConfig, Scenario};
use scimock::MockServer;

const NO_EXTENSION: &str = "the endpoint declares no custom extension in /Schemas; run with --with custom-extension to force it";

fn builtin(name: &str) -> Scenario {
    scimock::replay::builtin_scenarios()
        .unwrap()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no built-in scenario {name}"))
}

fn server(profile: Option<Profile>) -> MockServer {
    let mut b = MockServer::builder()
        .token("t")
        .ids(scimock::clock::SequentialIds::new())
        .seed(json!({"Users": [], "Groups": []}));
    if let Some(p) = profile {
        b = b.profile(p);
    }
    b.start_blocking()
}

fn config(server: &MockServer) -> RunnerConfig {
    let mut config = RunnerConfig::new(server.base_url());
    config.token = Some("t".into());
    config.dialects = Dialect::BOTH.to_vec();
    config.concurrency = 1;
    config.seed = Some(29);
    config
}

async fn run(config: RunnerConfig, names: &[&str]) -> Report {
    let scenarios: Vec<Scenario> = names.iter().map(|n| builtin(n)).collect();
    Runner::new(config).unwrap().run(&scenarios).await
}

fn outcomes(report: &Report) -> Vec<(String, Outcome, Option<String>)> {
    report
        .scenarios
        .iter()
        .map(|s| (s.name.clone(), s.outcome, s.skipped_because.clone()))
        .collect()
}

fn schemas_reads(server: &MockServer) -> usize {
    server
        .received_requests()
        .iter()
        .filter(|r| r.method() == "GET" && r.path().ends_with("/Schemas"))
        .count()
}

/// An endpoint whose `/Schemas` declares no custom extension: `custom_extension_patch` is
/// skipped, and the terminal, JSON, JUnit and HTML reports all say why and how to force it.
#[tokio::test]
async fn custom_extension_patch_is_skipped_without_a_declared_extension_in_every_report() {
    let server = server(None);
    let report = run(config(&server), &["custom_extension_patch"]).await;
    assert_eq!(report.scenarios.len(), 2);
    for s in &report.scenarios {
        assert_eq!(s.outcome, Outcome::Skipped);
        assert_eq!(s.skipped_because.as_deref(), Some(NO_EXTENSION));
    }
    assert_eq!(schemas_reads(&server), 1, "/Schemas is read once per run");
    assert_eq!(
        scimock::replay::detail::skips(&report),
        format!("skipped 2 run(s): {NO_EXTENSION}: custom_extension_patch\n")
    );
    let json = report::json(&report);
    assert!(
        json.contains(&format!("\"skipped_because\": \"{NO_EXTENSION}\"")),
        "{json}"
    );
    let junit = report::junit(&report).unwrap();
    assert!(
        junit.contains(&format!("<skipped message=\"{NO_EXTENSION}\"/>")),
        "{junit}"
    );
    let info = scimock::report::html::RunInfo {
        target: server.base_url(),
        dialect: None,
        profile: None,
        date: "2026-12-07".into(),
        secrets: vec!["t".into()],
    };
    let html = scimock::report::html::replay(&info, &report);
    assert!(html.contains(&format!("skipped: {NO_EXTENSION}")), "{html}");

    // `--with custom-extension` forces it: Microsoft's example extension, which this mock
    // (the entra-generic profile keeps unknown extension attributes) stores.
    let mut forced = config(&server);
    forced
        .capabilities
        .push(scimock::replay::CUSTOM_EXTENSION.to_owned());
    let report = run(forced, &["custom_extension_patch"]).await;
    assert!(
        report
            .scenarios
            .iter()
            .all(|s| s.outcome == Outcome::Passed),
        "{}",
        report::terminal(&report, false)
    );
    let sent = report.scenarios[0].steps[0].request.as_ref().unwrap();
    assert!(sent
        .body
        .as_ref()
        .unwrap()
        .get("urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User")
        .is_some());
}

/// An endpoint that declares a custom extension (scimock serve with the freshservice
/// profile, which refuses attributes of any other extension): the scenario runs with the
/// declared extension and attribute, found in `/Schemas` or in the profile.
#[tokio::test]
async fn custom_extension_patch_runs_against_the_extension_the_endpoint_declares() {
    let fresh = Profile::builtin("freshservice").unwrap();
    let server = server(Some(fresh.clone()));
    let declared = "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User";

    // Found in /Schemas (no profile given to the run).
    let report = run(
        config(&server),
        &["custom_extension_patch", "custom_extension_multi_valued"],
    )
    .await;
    let got = outcomes(&report);
    assert_eq!(
        got.iter().filter(|(_, o, _)| *o == Outcome::Passed).count(),
        2,
        "{got:?}\n{}",
        report::terminal(&report, false)
    );
    let body = report.scenarios[0].steps[0]
        .request
        .as_ref()
        .unwrap()
        .body
        .as_ref()
        .unwrap();
    assert_eq!(body[declared], json!({"isAgent": "701984"}));
    // freshservice's extension has no multi-valued attribute: that scenario is skipped.
    let multi: Vec<_> = got
        .iter()
        .filter(|(n, _, _)| n == "custom_extension_multi_valued")
        .collect();
    assert_eq!(multi.len(), 1);
    assert_eq!(multi[0].1, Outcome::Skipped);
    assert_eq!(
        multi[0].2.as_deref(),
        Some("the endpoint declares no multi-valued attribute in a custom extension in /Schemas; run with --with custom-multi-valued to force it")
    );

    // Declared by the profile: no /Schemas read needed.
    server.reset();
    let mut config = config(&server);
    config.apply_profile(&fresh);
    let report = run(config, &["custom_extension_patch"]).await;
    assert!(
        report
            .scenarios
            .iter()
            .all(|s| s.outcome == Outcome::Passed),
        "{}",
        report::terminal(&report, false)
    );
    assert_eq!(schemas_reads(&server), 0);
}

/// The tutorial's ADSCIM group schema URI: an RFC endpoint that does not declare it is not
/// tested with it by default; a profile that lists it (`[provisioning] group_schemas`) runs
/// the scenario.
#[tokio::test]
async fn the_adscim_group_scenario_is_skipped_on_an_rfc_server_and_runs_when_the_profile_declares_it(
) {
    let rfc = server(None);
    let report = run(config(&rfc), &["group_create_adscim_schema"]).await;
    for s in &report.scenarios {
        assert_eq!(
            s.outcome,
            Outcome::Skipped,
            "{}",
            report::terminal(&report, false)
        );
        assert_eq!(
            s.skipped_because.as_deref(),
            Some("the endpoint declares no ADSCIM group schema (http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group) in /Schemas; run with --with adscim-group to force it")
        );
    }
    assert!(rfc.received_requests().iter().all(|r| r.method() == "GET"));

    let mut spec = Profile::builtin("entra-generic").unwrap().spec().clone();
    spec.id = "adscim-app".into();
    let mut provisioning = spec.provisioning.clone().unwrap_or_default();
    provisioning.group_schemas =
        vec!["http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group".into()];
    spec.provisioning = Some(provisioning);
    let profile = Profile::from_spec(spec).unwrap();
    let server = server(Some(profile.clone()));
    let mut config = config(&server);
    config.apply_profile(&profile);
    let report = run(config, &["group_create_adscim_schema"]).await;
    assert!(
        report
            .scenarios
            .iter()
            .all(|s| s.outcome == Outcome::Passed),
        "{}",
        report::terminal(&report, false)
    );
}

/// `remove` with the bare path `manager`: only Microsoft's reference endpoint shows it, no
/// Entra source, so an endpoint that refuses it gets a warning, never a failure.
#[tokio::test]
async fn the_bare_remove_manager_step_is_advisory() {
    let lifecycle = builtin("manager_lifecycle");
    let bare: Vec<_> = lifecycle
        .steps
        .iter()
        .filter(|st| {
            st.request.body.as_ref().is_some_and(|b| {
                b["Operations"].as_array().is_some_and(|ops| {
                    ops.iter().any(|op| {
                        op["op"]
                            .as_str()
                            .is_some_and(|o| o.eq_ignore_ascii_case("remove"))
                            && op["path"] == "manager"
                    })
                })
            })
        })
        .collect();
    assert_eq!(bare.len(), 1);
    assert!(bare[0].advisory, "{}", bare[0].name);
    assert!(bare[0].note.contains("no capture shows Entra sending it"));
    for dialect in Dialect::BOTH {
        // The bare removal is the fourth PATCH of each dialect's run: refuse it.
        let patches = lifecycle
            .steps
            .iter()
            .filter(|st| st.dialect.is_none_or(|d| d == dialect))
            .take_while(|st| st.name != bare[0].name)
            .filter(|st| st.request.method == "PATCH")
            .count();
        let server = MockServer::builder()
            .token("t")
            .seed(json!({"Users": [], "Groups": []}))
            .fault(&format!(
                "PATCH /Users/* nth={} status=400 detail=no_bare_manager",
                patches + 1
            ))
            .start_blocking();
        let mut config = config(&server);
        config.dialects = vec![dialect];
        let report = run(config, &["manager_lifecycle"]).await;
        let s = &report.scenarios[0];
        assert_eq!(
            s.outcome,
            Outcome::Passed,
            "{}",
            report::terminal(&report, false)
        );
        let step = s.steps.iter().find(|st| st.name == bare[0].name).unwrap();
        assert_eq!(step.response.as_ref().unwrap().status, 400);
        assert!(step
            .findings
            .iter()
            .all(|f| f.severity == scimock::replay::Severity::Warning));
        assert_eq!(report.summary.failed, 0);
        assert!(report.summary.warnings >= 1);
    }
}

/// Validate: the SCIM Validator's group tests need the Group schema in `/Schemas`; without
/// it they are reported skipped, saying so, and `--with groups` runs them.
#[tokio::test]
async fn validate_skips_the_validators_group_tests_when_schemas_declares_no_group() {
    use scimock::validate::{self, Options, Suite};
    let server = server(Some(Profile::builtin("freshservice").unwrap()));
    let mut config = config(&server);
    config.dialects = vec![Dialect::AadOptscim062020];
    let runner = Runner::new(config).unwrap();
    let v = validate::run(&runner, &[Suite::Validator], &Options::default())
        .await
        .unwrap();
    let skipped: Vec<_> = v
        .report
        .scenarios
        .iter()
        .filter(|s| s.outcome == Outcome::Skipped)
        .collect();
    assert!(skipped.len() >= 5, "{}", report::terminal(&v.report, false));
    for s in &skipped {
        assert!(s.name.to_ascii_lowercase().contains("group"), "{}", s.name);
        assert_eq!(
            s.skipped_because.as_deref(),
            Some("the endpoint declares no Group schema (urn:ietf:params:scim:schemas:core:2.0:Group) in /Schemas; run with --with groups to force it")
        );
    }
    let forced = Options {
        with: vec!["groups".into()],
        ..Options::default()
    };
    let v = validate::run(&runner, &[Suite::Validator], &forced)
        .await
        .unwrap();
    assert!(v
        .report
        .scenarios
        .iter()
        .all(|s| s.outcome != Outcome::Skipped));
}
