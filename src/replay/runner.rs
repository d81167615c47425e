//! Running scenarios against a tenant URL: orchestration (order, concurrency, progress),
//! the step engine (substitution, 429 retries, checks, captures) and cleanup. The result
//! model lives in [`super::result`], the HTTP exchange in [`super::client`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::header::CONTENT_TYPE;
use serde_json::Value;

use super::check::{check, Finding, Observed, Severity};
use super::client::{Answer, HttpClient, Outgoing, TransportError};
use super::result::{
    millis, summarize, CleanupResult, Outcome, ReceivedResponse, Report, ScenarioResult,
    SentRequest, StepResult,
};
use super::scenario::{Dialect, Scenario, Step, Vars};

/// How a runner talks to the endpoint.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The tenant URL as an Entra admin would enter it, e.g. `http://127.0.0.1:8080/scim/v2`.
    /// A `?aadOptscim062020` flag on it selects that dialect when `dialects` is empty.
    pub tenant_url: String,
    /// Bearer token sent on every request.
    pub token: Option<String>,
    /// Dialects to run every scenario in; empty means legacy, or the flag's dialect.
    pub dialects: Vec<Dialect>,
    /// Per-request timeout; Entra expects answers within 60 s (entra-provisioning.md §2.3).
    pub timeout: Duration,
    /// How many scenarios run at once (steps inside a scenario are always sequential).
    pub concurrency: usize,
    /// Capabilities the endpoint has; scenarios requiring others are skipped.
    /// Default: `users`, `groups`.
    pub capabilities: Vec<String>,
    /// How often to retry a 429 after its `Retry-After` (at most 60 s). Entra's own retry
    /// timing is unconfirmed (§3.6), so the default is 0: report the 429.
    pub retries_on_429: u32,
    /// Seed for `${uuid}`/`${random_upn}`, for reproducible runs; `None` is random.
    pub seed: Option<u64>,
}

impl RunnerConfig {
    /// Defaults for `tenant_url`: no token, legacy dialect, 60 s timeout, 4 at once.
    pub fn new(tenant_url: impl Into<String>) -> Self {
        RunnerConfig {
            tenant_url: tenant_url.into(),
            token: None,
            dialects: Vec::new(),
            timeout: Duration::from_secs(60),
            concurrency: 4,
            capabilities: vec!["users".into(), "groups".into()],
            retries_on_429: 0,
            seed: None,
        }
    }
}

/// Called after each scenario with (result, done so far, total).
pub type Progress = Arc<dyn Fn(&ScenarioResult, usize, usize) + Send + Sync>;

/// Replays scenarios against one endpoint.
#[derive(Clone)]
pub struct Runner {
    config: RunnerConfig,
    dialects: Vec<Dialect>,
    client: HttpClient,
    progress: Option<Progress>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A tenant URL the runner cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunnerError {
    #[error("tenant URL `{0}` must start with http:// (https is not supported yet: put a TLS-terminating proxy in front, or test on loopback)")]
    Scheme(String),
    #[error("tenant URL `{0}` is not a valid URL: {1}")]
    Url(String, String),
}

impl Runner {
    /// A runner for `config`.
    pub fn new(config: RunnerConfig) -> Result<Runner, RunnerError> {
        let (base, flag) = match config.tenant_url.split_once('?') {
            Some((base, query)) => (
                base.to_owned(),
                query.split('&').any(|p| {
                    let key = p.split('=').next().unwrap_or("");
                    key.eq_ignore_ascii_case("aadOptscim062020")
                        || key.eq_ignore_ascii_case("AzureAdScimPatch062020")
                }),
            ),
            None => (config.tenant_url.clone(), false),
        };
        if !base.to_ascii_lowercase().starts_with("http://") {
            return Err(RunnerError::Scheme(config.tenant_url.clone()));
        }
        base.parse::<hyper::Uri>()
            .map_err(|e| RunnerError::Url(config.tenant_url.clone(), e.to_string()))?;
        let dialects = if !config.dialects.is_empty() {
            config.dialects.clone()
        } else if flag {
            vec![Dialect::AadOptscim062020]
        } else {
            vec![Dialect::Legacy]
        };
        let base = base.trim_end_matches('/').to_owned();
        let client = HttpClient::new(base, config.token.clone(), config.timeout);
        Ok(Runner {
            dialects,
            config,
            client,
            progress: None,
        })
    }

    /// Reports each finished scenario to `progress`.
    pub fn with_progress(mut self, progress: Progress) -> Runner {
        self.progress = Some(progress);
        self
    }

    /// The dialects this runner will use.
    pub fn dialects(&self) -> &[Dialect] {
        &self.dialects
    }

    /// Runs every scenario in every configured dialect it applies to.
    pub async fn run(&self, scenarios: &[Scenario]) -> Report {
        let started = Instant::now();
        let mut jobs = Vec::new();
        for s in scenarios {
            for d in &self.dialects {
                if s.applies_to(*d) {
                    jobs.push((s.clone(), *d));
                }
            }
        }
        let total = jobs.len();
        let limit = Arc::new(tokio::sync::Semaphore::new(self.config.concurrency.max(1)));
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut set = tokio::task::JoinSet::new();
        // Permits are taken here, in job order, so scenarios start in file order and a
        // concurrency of 1 is a strict sequence (reproducible ids on a deterministic server).
        for (index, (scenario, dialect)) in jobs.into_iter().enumerate() {
            let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                break;
            };
            let runner = self.clone();
            let done = Arc::clone(&done);
            set.spawn(async move {
                let _permit = permit;
                let seed = runner
                    .config
                    .seed
                    .map(|s| s ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let result = runner.run_one(&scenario, dialect, seed).await;
                let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                if let Some(progress) = &runner.progress {
                    progress(&result, n, total);
                }
                (index, result)
            });
        }
        let mut results: Vec<(usize, ScenarioResult)> = Vec::with_capacity(total);
        while let Some(joined) = set.join_next().await {
            if let Ok(pair) = joined {
                results.push(pair);
            }
        }
        results.sort_by_key(|(i, _)| *i);
        let scenarios: Vec<ScenarioResult> = results.into_iter().map(|(_, r)| r).collect();
        let summary = summarize(&scenarios);
        let attempted = scenarios
            .iter()
            .flat_map(|s| &s.steps)
            .filter(|s| s.request.is_some())
            .count();
        let transport_only = scenarios
            .iter()
            .flat_map(|s| &s.steps)
            .filter(|s| s.request.is_some())
            .all(|s| s.response.is_none());
        Report {
            format: 1,
            tenant_url: self.config.tenant_url.clone(),
            summary,
            scenarios,
            duration_ms: millis(started.elapsed()),
            unreachable: attempted > 0 && transport_only,
        }
    }

    /// Runs one scenario in one dialect.
    pub async fn run_one(
        &self,
        scenario: &Scenario,
        dialect: Dialect,
        seed: Option<u64>,
    ) -> ScenarioResult {
        let started = Instant::now();
        let mut result = ScenarioResult {
            name: scenario.name.clone(),
            dialect,
            description: scenario.description.clone(),
            note: scenario.note.clone(),
            outcome: Outcome::Passed,
            skipped_because: None,
            steps: Vec::new(),
            cleanup: Vec::new(),
            duration_ms: 0,
        };
        if let Some(missing) = scenario
            .requires
            .iter()
            .find(|r| !self.config.capabilities.contains(r))
        {
            result.outcome = Outcome::Skipped;
            result.skipped_because = Some(format!("the endpoint does not offer `{missing}`"));
            return result;
        }
        let mut vars = seed.map_or_else(Vars::default, Vars::seeded);
        vars.set("dialect", dialect.as_str().to_owned());
        for (name, template) in &scenario.vars {
            match vars.substitute(template) {
                Ok(value) => vars.set(name, value),
                Err(e) => {
                    result.outcome = Outcome::Failed;
                    result.skipped_because = Some(format!("scenario vars: {e}"));
                    return result;
                }
            }
        }
        let mut cleanups: Vec<String> = Vec::new();
        let mut failed = false;
        for step in scenario
            .steps
            .iter()
            .filter(|s| s.dialect.is_none_or(|d| d == dialect))
        {
            if failed {
                result.steps.push(skipped_step(step));
                continue;
            }
            let step_result = self.run_step(step, &mut vars).await;
            if step_result.outcome == Outcome::Failed {
                failed = true;
            }
            if let Some(path) = &step.cleanup {
                if step_result
                    .response
                    .as_ref()
                    .is_some_and(|r| (200..300).contains(&r.status))
                {
                    if let Ok(p) = vars.substitute(path) {
                        cleanups.push(p);
                    }
                }
            }
            result.steps.push(step_result);
        }
        for path in cleanups.into_iter().rev() {
            result.cleanup.push(self.cleanup(&path).await);
        }
        if failed {
            result.outcome = Outcome::Failed;
        }
        result.duration_ms = millis(started.elapsed());
        result
    }

    async fn run_step(&self, step: &Step, vars: &mut Vars) -> StepResult {
        let started = Instant::now();
        let mut out = StepResult {
            name: step.name.clone(),
            note: step.note.clone(),
            outcome: Outcome::Passed,
            request: None,
            response: None,
            findings: Vec::new(),
            duration_ms: 0,
        };
        let prepared = match prepare(step, vars) {
            Ok(p) => p,
            Err(message) => {
                out.outcome = Outcome::Failed;
                out.findings.push(Finding {
                    severity: Severity::Failure,
                    check: "capture",
                    message,
                    consequence: "an earlier answer lacked a value Entra needs for this request"
                        .into(),
                });
                return out;
            }
        };
        out.request = Some(SentRequest {
            method: step.request.method.to_ascii_uppercase(),
            target: prepared.target.clone(),
            body: prepared.body.clone(),
        });
        let mut attempt = 0;
        let sent = loop {
            let sent = self.send(&step.request.method, &prepared).await;
            match &sent {
                Ok(answer) if answer.status == 429 && attempt < self.config.retries_on_429 => {
                    attempt += 1;
                    let wait = answer
                        .headers
                        .get(hyper::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .unwrap_or(1)
                        .min(60);
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
                _ => break sent,
            }
        };
        match sent {
            Err(error) => {
                out.findings.push(Finding {
                    severity: Severity::Failure,
                    check: "transport",
                    message: error.to_string(),
                    consequence: "Entra logs Timeout or WebExceptionProtocolError and retries in about 40 minutes (§3.6)".into(),
                });
            }
            Ok(Answer {
                status,
                headers,
                body,
            }) => {
                let json: Option<Value> = serde_json::from_slice(&body).ok();
                let expect = prepared.expect;
                let method = step.request.method.to_ascii_uppercase();
                let observed = Observed {
                    method: &method,
                    path: &prepared.path,
                    filter: prepared.filter.as_deref(),
                    status,
                    headers: &headers,
                    body: &body,
                    json: json.as_ref(),
                };
                out.findings = check(step, &expect, &observed);
                if !out.findings.iter().any(|f| f.severity == Severity::Failure) {
                    capture(step, json.as_ref(), &headers, vars, &mut out.findings);
                }
                out.response = Some(ReceivedResponse {
                    status,
                    content_type: headers
                        .get(CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    body: body_value(&body, json),
                });
            }
        }
        if out.findings.iter().any(|f| f.severity == Severity::Failure) {
            out.outcome = Outcome::Failed;
        }
        out.duration_ms = millis(started.elapsed());
        out
    }

    async fn send(&self, method: &str, p: &Prepared) -> Result<Answer, TransportError> {
        self.client
            .send(Outgoing {
                method,
                target: &p.target,
                headers: &p.headers,
                body: p.body.as_ref(),
            })
            .await
    }

    async fn cleanup(&self, path: &str) -> CleanupResult {
        let p = Prepared {
            path: path.to_owned(),
            target: path.to_owned(),
            filter: None,
            headers: Default::default(),
            body: None,
            expect: Default::default(),
        };
        match self.send("DELETE", &p).await {
            Ok(answer) => CleanupResult {
                target: path.to_owned(),
                status: Some(answer.status),
                error: None,
            },
            Err(e) => CleanupResult {
                target: path.to_owned(),
                status: None,
                error: Some(e.to_string()),
            },
        }
    }
}

struct Prepared {
    path: String,
    target: String,
    filter: Option<String>,
    headers: std::collections::BTreeMap<String, String>,
    body: Option<Value>,
    expect: super::scenario::Expect,
}

fn prepare(step: &Step, vars: &mut Vars) -> Result<Prepared, String> {
    let r = &step.request;
    let path = vars.substitute(&r.path).map_err(|e| e.to_string())?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut filter = None;
    for (k, v) in &r.query {
        let v = vars.substitute(v).map_err(|e| e.to_string())?;
        if k.eq_ignore_ascii_case("filter") {
            filter = Some(v.clone());
        }
        query.append_pair(k, &v);
    }
    let query = query.finish();
    let target = if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    };
    let mut headers = std::collections::BTreeMap::new();
    for (k, v) in &r.headers {
        headers.insert(k.clone(), vars.substitute(v).map_err(|e| e.to_string())?);
    }
    let body = r
        .body
        .as_ref()
        .map(|b| vars.substitute_json(b))
        .transpose()
        .map_err(|e| e.to_string())?;
    let e = &step.expect;
    let expect = super::scenario::Expect {
        body: e
            .body
            .as_ref()
            .map(|b| vars.substitute_json(b))
            .transpose()
            .map_err(|e| e.to_string())?,
        headers: e
            .headers
            .iter()
            .map(|(k, v)| Ok((k.clone(), vars.substitute(v)?)))
            .collect::<Result<_, super::scenario::UnsetVar>>()
            .map_err(|e| e.to_string())?,
        ..e.clone()
    };
    Ok(Prepared {
        path,
        target,
        filter,
        headers,
        body,
        expect,
    })
}

fn capture(
    step: &Step,
    json: Option<&Value>,
    headers: &hyper::HeaderMap,
    vars: &mut Vars,
    findings: &mut Vec<Finding>,
) {
    for (name, pointer) in &step.capture {
        let value = if let Some(header) = pointer.strip_prefix("header:") {
            headers
                .get(header)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        } else {
            json.and_then(|j| j.pointer(pointer)).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
        };
        match value {
            Some(v) => vars.set(name, v),
            None => findings.push(Finding {
                severity: Severity::Failure,
                check: "capture",
                message: format!(
                    "expected `{pointer}` in the response to capture as `{name}`, it is missing"
                ),
                consequence: consequence_of_capture(pointer).into(),
            }),
        }
    }
}

fn consequence_of_capture(pointer: &str) -> &'static str {
    if pointer == "/id" {
        "Entra caches the returned id for every later request; without it the object cannot be updated or deleted (§1.1)"
    } else {
        "Entra needs this value for its next request"
    }
}

fn skipped_step(step: &Step) -> StepResult {
    StepResult {
        name: step.name.clone(),
        note: step.note.clone(),
        outcome: Outcome::Skipped,
        request: None,
        response: None,
        findings: Vec::new(),
        duration_ms: 0,
    }
}

fn body_value(body: &[u8], json: Option<Value>) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    Some(json.unwrap_or_else(|| Value::String(String::from_utf8_lossy(body).into_owned())))
}
