//! `scimock validate`: offline runs of Microsoft's two SCIM test suites, built on the replay
//! runner, so they report (terminal, JUnit, JSON) and exit like `scimock replay`.
//!
//! - [`validator`]: the Microsoft Entra SCIM Validator's tests (Microsoft Learn "Tutorial:
//!   Validate a SCIM endpoint"; test names and request shapes from published runs of the
//!   hosted tool), in its "Discover schema" mode: `/Schemas` is read first and the users it
//!   sends carry a generated value for every writable attribute declared there (`values`).
//! - [`logic_app`]: the direct SCIM tests of the Logic App "SCIM Validation" template
//!   (AzureAD/SCIMReferenceCode, `Microsoft.SCIM.LogicAppValidationTemplate`); the tests that
//!   drive the real provisioning engine cannot run offline and are listed as such.
//!
//! Each test is one [`Scenario`] (its name is the test's name as the tool shows it), marked
//! mandatory or optional; only mandatory failures fail the run (exit 1). Where the tool's
//! exact requests are unconfirmed, the test's description says so.

pub mod logic_app;
pub mod validator;
pub(crate) mod values;

use serde_json::{json, Value};

use crate::replay::capability;
use crate::replay::result::{summarize, Outcome, Report, ScenarioResult};
use crate::replay::{Runner, Scenario, ScenarioError};
pub use values::{Attr, Discovered};

/// Which tool's tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    Validator,
    LogicApp,
}

impl Suite {
    pub fn as_str(self) -> &'static str {
        match self {
            Suite::Validator => "validator",
            Suite::LogicApp => "logic-app",
        }
    }
}

/// One test of a suite.
#[derive(Debug, Clone)]
pub struct Test {
    pub suite: Suite,
    /// Mandatory for gallery onboarding (the Validator's non-preview tests, the Logic App's
    /// mandatory ones); optional failures are reported but do not fail the run.
    pub mandatory: bool,
    /// The requests; `scenario.name` is the test's name as the tool shows it.
    pub scenario: Scenario,
}

/// How the tests are generated.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keep the Validator's quirks: `roles[].primary` as `"True"`, a non-URI `profileUrl`,
    /// raw `"` in filter queries. Off, they become `true`, a URL and `%22`.
    pub quirks: bool,
    /// Include group tests ("Enable Group Tests"); they also need the Group schema.
    pub groups: bool,
    /// Seed for generated values.
    pub seed: Option<u64>,
    /// Capabilities to test although `/Schemas` does not declare them (`--with`): `groups`
    /// runs the Validator's group tests against an endpoint whose `/Schemas` lists no Group
    /// schema ([`crate::replay::capability`]).
    pub with: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            quirks: true,
            groups: true,
            seed: None,
            with: Vec::new(),
        }
    }
}

/// Every test of `suite` for an endpoint whose `/Schemas` said `d`.
pub fn tests(suite: Suite, d: &Discovered, opts: &Options) -> Result<Vec<Test>, ScenarioError> {
    let mut tests = match suite {
        Suite::Validator => validator::tests(d, opts)?,
        Suite::LogicApp => logic_app::tests(d, opts)?,
    };
    // These are Microsoft's test tools, not Entra's provisioning: a step that states no
    // consequence of its own says what the tool does, not what Entra would do with an
    // object (its values are the tool's, which Entra's default mapping may never send).
    let tool = match suite {
        Suite::Validator => "Microsoft's SCIM Validator fails this test, and a gallery listing needs a passing Validator run; the request is the Validator's, so Entra's provisioning may never send it (Microsoft Learn \"Tutorial: Validate a SCIM endpoint\")",
        Suite::LogicApp => "The Logic App \"SCIM Validation\" template fails this test, and gallery onboarding needs it; its direct SCIM calls are the template's, sent with what Entra's default mapping writes (AzureAD/SCIMReferenceCode, SCIM Validation template; Microsoft Learn \"Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID\", default attribute mapping)",
    };
    // The tools judge stored values in their own tests only ("Create a new User", the
    // replace test: `fail-missing`); elsewhere a value the endpoint did not store is a
    // warning, whatever the runner's default (only `ReadBack::Off` turns it off).
    for t in &mut tests {
        for step in &mut t.scenario.steps {
            step.consequence.get_or_insert_with(|| tool.to_owned());
            step.read_back.get_or_insert(crate::replay::ReadBack::Warn);
        }
    }
    Ok(tests)
}

/// What `--list` shows without an endpoint: the tests for the RFC 7643 schemas.
pub fn rfc_schemas() -> Discovered {
    let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::Null);
    values::discover(&json!({"Resources": [
        parse(include_str!("../scim/schemas/user.json")),
        parse(include_str!("../scim/schemas/enterprise_user.json")),
        parse(include_str!("../scim/schemas/group.json")),
    ]}))
}

/// A test as a scenario: `steps` is a JSON array of steps in the replay format.
pub(crate) fn scenario(
    name: &str,
    mandatory: bool,
    description: &str,
    source: &str,
    groups: bool,
    steps: Value,
) -> Result<Scenario, ScenarioError> {
    let kind = if mandatory { "mandatory" } else { "optional" };
    let mut s = json!({
        "name": name,
        "description": format!("{kind}: {description}"),
        "source": source,
        "steps": steps,
    });
    if groups {
        s["requires"] = json!(["groups"]);
    }
    Scenario::from_json(&s.to_string(), name)
}

/// The result of a validation run.
#[derive(Debug, Clone)]
pub struct Validation {
    pub report: Report,
    /// Names of mandatory tests that failed.
    pub mandatory_failed: Vec<String>,
}

impl Validation {
    /// 0 every mandatory test passed, 1 one failed, 2 the endpoint was unreachable.
    pub fn exit_code(&self) -> u8 {
        if self.report.unreachable {
            2
        } else if self.mandatory_failed.is_empty() {
            0
        } else {
            1
        }
    }
}

/// Schema discovery first (the Validator's recommended mode, the Logic App's
/// Schema_Discoverability test), then every test of `suites` generated from its answer.
pub async fn run(
    runner: &Runner,
    suites: &[Suite],
    opts: &Options,
) -> Result<Validation, ScenarioError> {
    let mut discovery = scenario(
        "Schema discovery (GET /Schemas)",
        true,
        "the Validator's \"Discover schema\" mode reads /Schemas before any test; the values it sends come from the answer",
        "Microsoft Learn \"Tutorial: Validate a SCIM endpoint\"; RFC 7644 §4",
        false,
        json!([{
            "name": "GET /Schemas",
            "request": {"method": "GET", "path": "/Schemas"},
            "expect": {"status": 200},
            "consequence": "Without /Schemas the Validator's Discover-schema mode cannot start, and the Logic App's mandatory Schema_Discoverability test fails (AzureAD/SCIMReferenceCode, SCIM Validation template)"
        }]),
    )?;
    // One verdict on one answer: the step expects of /Schemas exactly what replay's
    // `schema_discovery` scenario expects (a ListResponse with attributes, RFC 7644 §4).
    if let Some(expect) = crate::replay::builtin_scenarios()?
        .into_iter()
        .find(|s| s.name == "schema_discovery")
        .and_then(|s| s.steps.into_iter().next())
        .map(|step| step.expect)
    {
        discovery.steps[0].expect = expect;
    }
    let dialect = runner
        .dialects()
        .first()
        .copied()
        .unwrap_or(crate::entra::Dialect::AadOptscim062020);
    let first = runner.run_one(&discovery, dialect, opts.seed).await;
    let discovered = first
        .steps
        .first()
        .and_then(|s| s.response.as_ref())
        .and_then(|r| r.body.as_ref())
        .map(values::discover)
        .unwrap_or_default();
    let discovered = if discovered.user.is_empty() {
        // Nothing usable: fall back to the RFC 7643 schemas (the Validator's default attributes).
        Discovered {
            names: discovered.names,
            ..rfc_schemas()
        }
    } else {
        discovered
    };
    let mut all = Vec::new();
    for suite in suites {
        all.extend(tests(*suite, &discovered, opts)?);
    }
    let mandatory: Vec<String> = all
        .iter()
        .filter(|t| t.mandatory)
        .map(|t| t.scenario.name.clone())
        .collect();
    // The Validator's group tests need the Group schema declared in /Schemas (or `--with
    // groups`); without it they are reported skipped, saying so. The Logic App template
    // tests groups whatever /Schemas says: group support is mandatory there.
    let forced = opts.with.iter().any(|c| c == capability::GROUPS);
    let (scenarios, undeclared): (Vec<Test>, Vec<Test>) = all.into_iter().partition(|t| {
        forced
            || discovered.group
            || t.suite != Suite::Validator
            || !t.scenario.requires.iter().any(|r| r == capability::GROUPS)
    });
    let scenarios: Vec<Scenario> = scenarios.into_iter().map(|t| t.scenario).collect();
    let mut report = runner.run(&scenarios).await;
    report.scenarios.extend(
        undeclared.iter().map(|t| {
            ScenarioResult::of(&t.scenario, dialect).skipped(capability::no_group_schema())
        }),
    );
    report.scenarios.insert(0, first);
    report.summary = summarize(&report.scenarios);
    let mandatory_failed = report
        .scenarios
        .iter()
        .filter(|s| s.outcome == Outcome::Failed)
        .filter(|s| s.name.starts_with("Schema discovery") || mandatory.contains(&s.name))
        .map(|s| s.name.clone())
        .collect();
    Ok(Validation {
        report,
        mandatory_failed,
    })
}
