//! Running scenarios against a tenant URL: substitution, HTTP, checks, captures, cleanup.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::Value;

use super::check::{check, Finding, Observed, Severity};
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

/// Called after each scenario with (result, done so far, total).
pub type Progress = Arc<dyn Fn(&ScenarioResult, usize, usize) + Send + Sync>;

/// Replays scenarios against one endpoint.
#[derive(Clone)]
pub struct Runner {
    config: RunnerConfig,
    base: String,
    dialects: Vec<Dialect>,
    client: Client<HttpConnector, Full<Bytes>>,
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
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(Runner {
            base: base.trim_end_matches('/').to_owned(),
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
                Ok((status, headers, _))
                    if *status == 429 && attempt < self.config.retries_on_429 =>
                {
                    attempt += 1;
                    let wait = headers
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
            Err(message) => {
                out.findings.push(Finding {
                    severity: Severity::Failure,
                    check: "transport",
                    message,
                    consequence: "Entra logs Timeout or WebExceptionProtocolError and retries in about 40 minutes (§3.6)".into(),
                });
            }
            Ok((status, headers, body)) => {
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

    async fn send(
        &self,
        method: &str,
        p: &Prepared,
    ) -> Result<(u16, hyper::HeaderMap, Bytes), String> {
        let method = hyper::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|e| format!("bad method: {e}"))?;
        let uri = format!("{}{}", self.base, p.target);
        let mut builder = hyper::Request::builder().method(method).uri(&uri);
        if let Some(token) = &self.config.token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match &p.body {
            Some(b) => {
                builder = builder.header(CONTENT_TYPE, "application/scim+json");
                Full::new(Bytes::from(b.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let mut request = builder
            .body(body)
            .map_err(|e| format!("cannot build request for {uri}: {e}"))?;
        for (k, v) in &p.headers {
            let name =
                HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("header `{k}`: {e}"))?;
            let value = HeaderValue::from_str(v).map_err(|e| format!("header `{k}`: {e}"))?;
            request.headers_mut().insert(name, value);
        }
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| describe_client_error(&uri, &e))?;
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| format!("reading the response from {uri}: {e}"))?
                .to_bytes();
            Ok((parts.status.as_u16(), parts.headers, bytes))
        };
        match tokio::time::timeout(self.config.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no complete response from {uri} within {} s (Entra's limit is 60 s)",
                self.config.timeout.as_secs_f64()
            )),
        }
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
            Ok((status, _, _)) => CleanupResult {
                target: path.to_owned(),
                status: Some(status),
                error: None,
            },
            Err(e) => CleanupResult {
                target: path.to_owned(),
                status: None,
                error: Some(e),
            },
        }
    }
}

fn describe_client_error(uri: &str, e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    let mut msg = format!("request to {uri} failed: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
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

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn summarize(scenarios: &[ScenarioResult]) -> Summary {
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
