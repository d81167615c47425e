//! The result model of a replay run: what was sent, what came back, what the checks found,
//! and the counts over a run. Serialized as the JSON report (format 1, see [`super`]).

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::check::{Finding, Severity};
use crate::entra::Dialect;

/// The outcome of a step or a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    /// Not run: an earlier step failed, or the scenario needs a capability the endpoint lacks.
    Skipped,
}

/// The request as sent.
#[derive(Debug, Clone, Serialize)]
pub struct SentRequest {
    pub method: String,
    /// Path and query relative to the tenant URL, as sent on the wire.
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Headers the scenario and the runner set (never `Authorization`, which the client adds
    /// last); printed by `--verbose`, left out of the JSON report.
    #[serde(skip)]
    pub headers: Vec<(String, String)>,
}

/// The response as received.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedResponse {
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The body as JSON, or as a string when it is not JSON; absent when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Every response header, for `--verbose`; left out of the JSON report (dates vary).
    #[serde(skip)]
    pub headers: Vec<(String, String)>,
}

/// One step's result.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<SentRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ReceivedResponse>,
    pub findings: Vec<Finding>,
    pub duration_ms: u64,
}

/// A cleanup request's result (best effort; never fails the scenario).
#[derive(Debug, Clone, Serialize)]
pub struct CleanupResult {
    pub target: String,
    /// HTTP status, or `None` when the request itself failed.
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One scenario run in one dialect.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub dialect: Dialect,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_because: Option<String>,
    pub steps: Vec<StepResult>,
    pub cleanup: Vec<CleanupResult>,
    pub duration_ms: u64,
}

impl ScenarioResult {
    /// `scenario` in `dialect`, before it runs: passed until a step fails.
    pub(crate) fn of(scenario: &super::Scenario, dialect: Dialect) -> ScenarioResult {
        ScenarioResult {
            name: scenario.name.clone(),
            dialect,
            description: scenario.description.clone(),
            note: scenario.note.clone(),
            outcome: Outcome::Passed,
            skipped_because: None,
            steps: Vec::new(),
            cleanup: Vec::new(),
            duration_ms: 0,
        }
    }

    /// Not run, saying why.
    pub(crate) fn skipped(mut self, why: String) -> ScenarioResult {
        self.outcome = Outcome::Skipped;
        self.skipped_because = Some(why);
        self
    }
}

/// Counts over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub scenarios: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub steps: usize,
    pub steps_failed: usize,
    pub warnings: usize,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Version of this JSON format.
    pub format: u32,
    pub tenant_url: String,
    pub summary: Summary,
    pub scenarios: Vec<ScenarioResult>,
    pub duration_ms: u64,
    /// True when no request reached the endpoint at all (connection refused, bad host).
    pub unreachable: bool,
    /// Why the run stopped before every scenario ran: the endpoint was unreachable, or
    /// hung for several requests in a row. Scenarios not run are skipped with this reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl Report {
    /// 0 all passed, 1 failures, 2 endpoint unreachable.
    pub fn exit_code(&self) -> u8 {
        if self.unreachable {
            2
        } else if self.summary.failed > 0 {
            1
        } else {
            0
        }
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Counts passed, failed and skipped scenarios, run and failed steps, and warnings.
pub(crate) fn summarize(scenarios: &[ScenarioResult]) -> Summary {
    let mut s = Summary {
        scenarios: scenarios.len(),
        ..Summary::default()
    };
    for r in scenarios {
        match r.outcome {
            Outcome::Passed => s.passed += 1,
            Outcome::Failed => s.failed += 1,
            Outcome::Skipped => s.skipped += 1,
        }
        for step in &r.steps {
            if step.outcome != Outcome::Skipped {
                s.steps += 1;
            }
            if step.outcome == Outcome::Failed {
                s.steps_failed += 1;
            }
            s.warnings += step
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count();
        }
    }
    s
}
