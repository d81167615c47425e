//! Running scenarios against a tenant URL: orchestration (order, concurrency, progress),
//! the step engine (substitution, 429 retries, checks, captures) and cleanup. The result
//! model lives in [`super::result`], the HTTP exchange in [`crate::entra::Client`].

use std::sync::Arc;
use std::time::Instant;

use hyper::header::CONTENT_TYPE;
use serde_json::Value;

use super::capability::{Declared, Looked, DECLARABLE, DEFAULT_VARS};
use super::check::{check, Finding, Observed, Severity};
pub use super::config::RunnerConfig;
use super::policy::{advise, rate_limit_warning, skip_reason, Stop};
pub use super::readback::ReadBack;
use super::result::{
    millis, summarize, CleanupResult, Outcome, ReceivedResponse, Report, ScenarioResult,
    SentRequest, StepResult,
};
use super::scenario::{Scenario, Step, Vars};
use super::step::{capture, prepare, Prepared};
use crate::entra::secrets::Scrubber;
use crate::entra::Dialect;
use crate::entra::{
    consequence, excerpt, Answer, Client, ClientConfig, Outgoing, TenantUrl, TenantUrlError,
    TransportError,
};

/// Called after each scenario with (result, done so far, total).
pub(crate) type Progress = Arc<dyn Fn(&ScenarioResult, usize, usize) + Send + Sync>;

/// Called before each step is sent with (scenario name, dialect, step name).
pub(crate) type StepProgress = Arc<dyn Fn(&str, Dialect, &str) + Send + Sync>;

/// Replays scenarios against one endpoint.
///
/// ```
/// use scimock::replay::{builtin_scenarios, Runner, RunnerConfig};
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     let server = scimock::MockServer::builder().token("t").start_blocking();
///     let mut config = RunnerConfig::new(server.base_url()); // http:// or https://
///     config.token = Some("t".into());
///     let scenarios: Vec<_> = builtin_scenarios()
///         .unwrap()
///         .into_iter()
///         .filter(|s| s.name == "test_connection")
///         .collect();
///     let report = Runner::new(config).unwrap().run(&scenarios).await;
///     assert_eq!(report.exit_code(), 0, "{}", scimock::replay::report::terminal(&report, false));
/// }
/// ```
#[derive(Clone)]
pub struct Runner {
    config: RunnerConfig,
    dialects: Vec<Dialect>,
    client: Client,
    /// The run's secrets, scrubbed from the endpoint's text before it is cut to an
    /// excerpt ([`excerpt`]).
    secrets: Scrubber,
    progress: Option<Progress>,
    step_progress: Option<StepProgress>,
    stop: Arc<Stop>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A tenant URL or TLS setting the runner cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Tenant(#[from] TenantUrlError),
    #[error("TLS: {0}")]
    Tls(String),
}

impl Runner {
    /// A runner for `config`.
    pub fn new(config: RunnerConfig) -> Result<Runner, RunnerError> {
        let tenant = TenantUrl::parse(&config.tenant_url)?;
        let dialects = if config.dialects.is_empty() {
            vec![tenant.dialect()]
        } else {
            config.dialects.clone()
        };
        let client = Client::new(
            tenant.base(),
            ClientConfig {
                token: config.token.clone(),
                timeout: config.timeout,
                max_body: config.max_body,
                tls: config.tls.clone(),
            },
        )
        .map_err(|e| RunnerError::Tls(e.to_string()))?;
        Ok(Runner {
            dialects,
            secrets: Scrubber::for_run(&config.tenant_url, config.token.as_deref()),
            config,
            client,
            progress: None,
            step_progress: None,
            stop: Arc::default(),
        })
    }

    /// Reports each finished scenario to `progress`.
    pub fn with_progress(mut self, progress: Progress) -> Runner {
        self.progress = Some(progress);
        self
    }

    /// Reports each step to `progress` before it is sent.
    pub fn with_step_progress(mut self, progress: StepProgress) -> Runner {
        self.step_progress = Some(progress);
        self
    }

    /// The dialects this runner will use.
    pub fn dialects(&self) -> &[Dialect] {
        &self.dialects
    }

    /// Runs every scenario in every configured dialect it applies to.
    pub async fn run(&self, scenarios: &[Scenario]) -> Report {
        let started = Instant::now();
        let mut runner = Runner {
            stop: Arc::default(),
            ..self.clone()
        };
        runner.read_declarations(scenarios).await;
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
            let runner = runner.clone();
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
            stopped: runner.stop.reason(),
            tenant_url: self.config.tenant_url.clone(),
            summary,
            scenarios,
            duration_ms: millis(started.elapsed()),
            unreachable: attempted > 0 && transport_only,
        }
    }

    /// Reads the endpoint's `/Schemas` once, when a scenario needs a capability that only a
    /// declaration gives and the run has not got it, and adds what it declares. The request
    /// is scimock's, not one of Entra's (Entra's provisioning does not read `/Schemas`), so
    /// it is no step of any scenario; a skip it leads to says what `/Schemas` answered.
    async fn read_declarations(&mut self, scenarios: &[Scenario]) {
        if self.config.looked != Looked::NotYet {
            return;
        }
        let wanted = scenarios
            .iter()
            .flat_map(|s| &s.requires)
            .any(|r| DECLARABLE.contains(&r.as_str()) && !self.config.capabilities.contains(r));
        if !wanted {
            return;
        }
        let answer = self
            .client
            .send(Outgoing::new("GET", "/Schemas", None))
            .await;
        // A hung endpoint's wait counts toward the timeouts in a row that stop the run; an
        // endpoint that cannot be reached at all is left to the first step to report.
        if !matches!(answer, Err(TransportError::Connect { .. })) {
            self.stop
                .observe(&answer, self.config.max_timeouts_in_a_row);
        }
        self.config.looked = match answer {
            Ok(a) if (200..300).contains(&a.status) => match a.json() {
                Some(body) => {
                    self.config.declare(&Declared::from_schemas(&body));
                    Looked::Read
                }
                None => Looked::Unusable(format!("answered {} without JSON", a.status)),
            },
            Ok(a) => Looked::Unusable(format!("answered {}", a.status)),
            Err(e) => Looked::Unusable(format!("could not be read: {e}")),
        };
    }

    /// Runs one scenario in one dialect.
    pub async fn run_one(
        &self,
        scenario: &Scenario,
        dialect: Dialect,
        seed: Option<u64>,
    ) -> ScenarioResult {
        let started = Instant::now();
        let mut result = ScenarioResult::of(scenario, dialect);
        if let Some(why) = self
            .stop
            .reason()
            .or_else(|| skip_reason(&self.config, scenario))
        {
            return result.skipped(why);
        }
        let mut vars = seed.map_or_else(Vars::default, Vars::seeded);
        vars.set("dialect", dialect.as_str().to_owned());
        vars.set("match_attr", "userName".to_owned());
        for (name, value) in DEFAULT_VARS {
            vars.set(name, value.to_owned());
        }
        for (name, value) in &self.config.vars {
            vars.set(name, value.clone());
        }
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
        let mut lost_values = false;
        let mut stopped = false;
        for step in scenario
            .steps
            .iter()
            .filter(|s| s.dialect.is_none_or(|d| d == dialect))
        {
            if failed || stopped || self.stop.reason().is_some() {
                result.steps.push(skipped_step(step));
                continue;
            }
            if let Some(progress) = &self.step_progress {
                progress(&scenario.name, dialect, &step.name);
            }
            let mut step_result = self.run_step(step, &mut vars).await;
            if step_result.outcome == Outcome::Failed {
                // Values the endpoint did not store fail the step, and the scenario goes on
                // (what follows still runs, so each other gap is found too).
                let only_read_back = step_result
                    .findings
                    .iter()
                    .filter(|f| f.severity == Severity::Failure)
                    .all(|f| f.check == "read-back");
                if step.advisory {
                    advise(&mut step_result);
                    stopped = true;
                } else if only_read_back {
                    lost_values = true;
                } else {
                    failed = true;
                }
            }
            if let Some(path) = &step.cleanup {
                if step_result
                    .response
                    .as_ref()
                    .is_some_and(|r| (200..300).contains(&r.status))
                {
                    if let Ok(p) = vars.substitute_in(path, super::scenario::Context::Segment) {
                        cleanups.push(p);
                    }
                }
            }
            result.steps.push(step_result);
        }
        // After a stop the endpoint is unreachable or hangs: cleanup would only wait too.
        if self.stop.reason().is_some() {
            cleanups.clear();
        }
        for path in cleanups.into_iter().rev() {
            result.cleanup.push(self.cleanup(&path).await);
        }
        if failed || lost_values {
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
        // The target and body may hold what an earlier answer said (a captured id): they
        // are sent whole and reported as excerpts.
        out.request = Some(SentRequest {
            method: step.request.method.to_ascii_uppercase(),
            target: excerpt::text(&self.secrets, &prepared.target),
            body: prepared.body.as_ref().and_then(|b| {
                let text = b.to_string();
                excerpt::body(&self.secrets, text.as_bytes(), Some(b.clone()))
            }),
            headers: prepared
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        });
        let mut attempt = 0;
        let mut rate_limited = Vec::new();
        let sent = loop {
            let sent = self.send(&step.request.method, &prepared).await;
            self.stop.observe(&sent, self.config.max_timeouts_in_a_row);
            match &sent {
                Ok(answer) if answer.status == 429 => {
                    attempt += 1;
                    let asked = answer.retry_after();
                    let Some(wait) = self.config.retry.wait(attempt, asked) else {
                        break sent;
                    };
                    rate_limited.push(rate_limit_warning(asked, wait, attempt));
                    tokio::time::sleep(wait).await;
                }
                _ => break sent,
            }
        };
        match sent {
            Err(error) => {
                out.findings.push(Finding {
                    severity: Severity::Failure,
                    check: "transport",
                    message: excerpt::text(&self.secrets, &error.to_string()),
                    consequence: consequence::of_transport(),
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
                    secrets: &self.secrets,
                };
                out.findings = check(step, &expect, &observed);
                out.findings.splice(0..0, rate_limited);
                if !out.findings.iter().any(|f| f.severity == Severity::Failure) {
                    capture(step, json.as_ref(), &headers, vars, &mut out.findings);
                }
                // After the captures, so a write whose values were lost is still cleaned up.
                let written = super::readback::resource_of(&method, &prepared.path, json.as_ref())
                    .filter(|_| (200..300).contains(&status));
                if let (Some(resource), Some(sent)) = (written, &prepared.body) {
                    let mut stored = super::readback::read_back(
                        &self.client,
                        self.config.read_back.for_step(step.read_back),
                        &resource,
                        &method,
                        sent,
                    )
                    .await;
                    // A step that judges its own read-back says what its failure costs.
                    if let (Some(_), Some(c)) = (step.read_back, &step.consequence) {
                        for f in &mut stored {
                            if f.severity == Severity::Failure {
                                f.consequence.clone_from(c);
                            }
                        }
                    }
                    // Each says, in one line, what one value read back as: the line is
                    // the excerpt.
                    for f in &mut stored {
                        f.message = excerpt::text(&self.secrets, &f.message);
                    }
                    out.findings.extend(stored);
                }
                // Everything kept of the answer is an excerpt: what the report shows of the
                // failed exchange is bounded here, once, for every writer.
                let text = |t: &str| excerpt::text(&self.secrets, t);
                out.response = Some(ReceivedResponse {
                    status,
                    content_type: headers
                        .get(CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(text),
                    body: excerpt::body(&self.secrets, &body, json),
                    headers: headers
                        .iter()
                        .map(|(k, v)| {
                            (
                                text(k.as_str()),
                                text(&String::from_utf8_lossy(v.as_bytes())),
                            )
                        })
                        .collect(),
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
                raw: p.raw,
            })
            .await
    }

    async fn cleanup(&self, path: &str) -> CleanupResult {
        let p = Prepared {
            raw: false,
            path: path.to_owned(),
            target: path.to_owned(),
            filter: None,
            headers: Default::default(),
            body: None,
            expect: Default::default(),
        };
        match self.send("DELETE", &p).await {
            Ok(answer) => CleanupResult {
                target: excerpt::text(&self.secrets, path),
                status: Some(answer.status),
                error: None,
            },
            Err(e) => CleanupResult {
                target: excerpt::text(&self.secrets, path),
                status: None,
                error: Some(excerpt::text(&self.secrets, &e.to_string())),
            },
        }
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
