//! Run policy shared by the runner: which scenarios a run skips and why, how a 429 is
//! reported, what an advisory step's failure becomes, the live request headers, and when
//! a run stops early.

use std::time::Duration;

use super::check::{Finding, Severity};
use super::result::{Outcome, StepResult};
use super::runner::RunnerConfig;
use super::scenario::Scenario;
use crate::entra::{Answer, TransportError};

pub(crate) fn rate_limit_warning(
    asked: Option<Duration>,
    waited: Duration,
    attempt: u32,
) -> Finding {
    let asked = asked.map_or_else(
        || "no Retry-After".to_owned(),
        |s| format!("Retry-After {} s", s.as_secs()),
    );
    Finding {
        severity: Severity::Warning,
        check: "rate-limit",
        message: format!(
            "429 ({asked}); retried after {} s (retry {attempt})",
            waited.as_secs()
        ),
        consequence: format!(
            "Entra pauses for Retry-After and retries the failed requests ({}); each 429 slows the cycle",
            crate::entra::consequence::source::RETRY_AFTER
        ),
    }
}

/// An advisory step's failures become warnings: the behaviour it probes is tolerated by
/// Entra or unconfirmed, so it informs without failing the run.
pub(crate) fn advise(step: &mut StepResult) {
    for f in &mut step.findings {
        f.severity = Severity::Warning;
    }
    step.outcome = Outcome::Passed;
}

/// Why `scenario` does not run against this endpoint, if it does not.
pub(crate) fn skip_reason(config: &RunnerConfig, scenario: &Scenario) -> Option<String> {
    if let Some(wanted) = &scenario.profile {
        if !config
            .profile
            .as_ref()
            .is_some_and(|p| p.eq_ignore_ascii_case(wanted))
        {
            return Some(format!(
                "recorded for the `{wanted}` profile: run with --profile {wanted}"
            ));
        }
    }
    let missing = scenario
        .requires
        .iter()
        .find(|r| !config.capabilities.contains(r))?;
    Some(super::capability::missing(
        missing,
        config.profile.as_deref(),
        &config.looked,
    ))
}

/// Why a run stopped early, shared by every scenario of one run.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    timeouts_in_a_row: std::sync::atomic::AtomicUsize,
    answered: std::sync::atomic::AtomicBool,
    reason: std::sync::Mutex<Option<String>>,
}

impl Stop {
    pub(crate) fn reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn stop(&self, why: String) {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(why);
    }

    /// Notes one exchange; stops the run when the endpoint is unreachable or hangs.
    pub(crate) fn observe(&self, sent: &Result<Answer, TransportError>, max_timeouts: usize) {
        use std::sync::atomic::Ordering::SeqCst;
        match sent {
            Ok(_) => {
                self.answered.store(true, SeqCst);
                self.timeouts_in_a_row.store(0, SeqCst);
            }
            Err(e @ TransportError::Connect { .. }) if !self.answered.load(SeqCst) => {
                self.stop(format!("stopped: {e}"));
            }
            Err(e @ TransportError::Timeout { after, .. }) => {
                let n = self.timeouts_in_a_row.fetch_add(1, SeqCst) + 1;
                if n >= max_timeouts.max(1) {
                    self.stop(format!(
                        "stopped after {n} requests in a row got no answer within {} s (the endpoint hangs); last: {e}",
                        after.as_secs_f64()
                    ));
                }
            }
            Err(_) => self.timeouts_in_a_row.store(0, SeqCst),
        }
    }
}
