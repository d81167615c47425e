//! `scimock fuzz`: model-based, differential fuzzing of any SCIM endpoint (feature
//! `endpoint-fuzz`, on with `cli`). Random sequences of what Entra sends run against the
//! endpoint and, in lock-step, against a reference model (scimock's own server in this
//! process); the first divergence is shrunk by deleting steps to a minimal sequence,
//! confirmed, and handed back as a replay scenario.
//!
//! | piece | owns |
//! |---|---|
//! | `generate` | the [`Step`]s and the seeded generator ([`sequence`]) |
//! | `values` | the values steps carry: free text, and matching values Entra can send |
//! | `world` | slots ↔ endpoint ids ↔ model ids, and Entra's view of the values |
//! | `render` | a step as the request Entra sends, for the endpoint, the model or a scenario |
//! | `model` | the reference [`Model`]: scimock in-process, driven without a socket |
//! | `judge` | what counts as a [`Divergence`], and the tolerances |
//! | [`shrink`] | shrinking: passes of single deletions, and ddmin |
//! | `run` | the [`Fuzzer`]: budgets, rate, cleanup, shrinking, confirming |
//! | `scenario` | a minimal sequence as a [`crate::replay::Scenario`] |
//!
//! docs/fuzz.md says what is generated, what counts as a divergence and why, and how a
//! found scenario becomes a regression test.
//!
//! ```
//! use scimock::fuzz::{FuzzConfig, Fuzzer};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() {
//!     let server = scimock::MockServer::builder().token("t").start_blocking();
//!     let mut config = FuzzConfig::new(server.base_url());
//!     config.client.token = Some("t".into());
//!     config.seed = 7;
//!     config.cases = 2;
//!     config.max_steps = 15;
//!     config.rate = 0.0; // no pacing against a local server
//!     let report = Fuzzer::new(config).unwrap().run().await.unwrap();
//!     // scimock agrees with its own model.
//!     assert!(report.divergences.is_empty(), "{:?}", report.divergences);
//!     assert_eq!(report.exit_code(), 0);
//!     assert!(report.steps > 0);
//! }
//! ```
//!
//! # As a library
//!
//! The same harness, for a vendor's own tests: [`Model`] answers single requests as the
//! reference does, [`Fuzzer::check`] runs one given sequence against the endpoint and a
//! fresh model, and `scimock::strategies` (feature `proptest`) generates the inputs as
//! proptest strategies; its module docs property-test a toy in-process implementation and
//! an endpoint over HTTP.
//!
//! With the feature `fuzzing`, [`Step`] implements `arbitrary::Arbitrary`, so a `cargo
//! fuzz` target over an endpoint is a few lines. The values then come from libFuzzer's
//! bytes, not narrowed to what Entra sends (docs/fuzz.md, "Tolerances"): an endpoint that
//! refuses a `userName` with a space shows as a divergence here, and not in `scimock fuzz`.
//!
//! ```
//! # #[cfg(feature = "fuzzing")]
//! # {
//! use std::sync::OnceLock;
//!
//! use arbitrary::{Arbitrary, Unstructured};
//! use scimock::entra::Dialect;
//! use scimock::fuzz::{FuzzConfig, Fuzzer, Step};
//! use tokio::runtime::Runtime;
//!
//! /// A runtime and a fuzzer, made once per process.
//! fn harness() -> &'static (Runtime, Fuzzer) {
//!     static HARNESS: OnceLock<(Runtime, Fuzzer)> = OnceLock::new();
//!     HARNESS.get_or_init(|| {
//!         let url = std::env::var("SCIM_URL").unwrap_or_else(|_| endpoint());
//!         let mut config = FuzzConfig::new(url);
//!         config.client.token = std::env::var("SCIM_TOKEN").ok();
//!         config.rate = 0.0;
//!         (Runtime::new().unwrap(), Fuzzer::new(config).unwrap())
//!     })
//! }
//! # /// A MockServer standing in for the endpoint, alive for the process.
//! # fn endpoint() -> String {
//! #     let server = scimock::MockServer::builder().no_auth().start_blocking();
//! #     let url = server.base_url();
//! #     std::mem::forget(server);
//! #     url
//! # }
//!
//! /// fuzz/fuzz_targets/scim.rs: `libfuzzer_sys::fuzz_target!(|steps: Vec<Step>| check(&steps));`
//! fn check(steps: &[Step]) {
//!     let (rt, fuzzer) = harness();
//!     let divergence = rt.block_on(fuzzer.check(steps, Dialect::Legacy)).expect("the endpoint answers");
//!     assert!(divergence.is_none(), "{divergence:?}");
//! }
//!
//! // What the target does with each input libFuzzer makes:
//! let data: Vec<u8> = (0..=255).rev().collect();
//! if let Ok(steps) = Vec::<Step>::arbitrary_take_rest(Unstructured::new(&data)) {
//!     check(&steps);
//! }
//! # }
//! ```

mod generate;
mod judge;
mod model;
mod render;
mod run;
mod scenario;
pub mod shrink;
pub(crate) mod values;
mod world;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use generate::{
    case_seed, sequence, Attr, Case, Kind, MatchBy, Step, UserValues, GROUP_SLOTS, USER_SLOTS,
};
pub use judge::{Divergence, DivergenceKind};
pub use model::{Model, Reply};
pub use run::Fuzzer;

use crate::entra::{ClientConfig, Dialect, RetryPolicy, TenantUrlError, TransportError};
use crate::profile::Profile;
use crate::replay::Scenario;

/// What a fuzz run does and how hard it may push.
#[derive(Debug, Clone)]
pub struct FuzzConfig {
    /// The tenant URL, e.g. `http://127.0.0.1:8080/scim/v2`.
    pub tenant_url: String,
    /// Token, deadline, body bound and TLS of the spine's client.
    pub client: ClientConfig,
    /// The semantics the endpoint is held to: the model serves this profile (default
    /// `entra-generic`); group steps only when it provisions groups.
    pub profile: Profile,
    /// Dialects the cases speak, taken in turn; empty means the tenant URL's.
    pub dialects: Vec<Dialect>,
    /// Seed of every generated value: the same seed against a deterministic endpoint
    /// sends the same requests in the same order.
    pub seed: u64,
    /// Cases (sequences) to run at most (default 20).
    pub cases: usize,
    /// Steps per case at most (default 30).
    pub max_steps: usize,
    /// Time the cases may take (default 60 s); the run stops between steps after it.
    pub time: Duration,
    /// Requests per second to the endpoint at most (default 20); `0` for no pacing.
    pub rate: f64,
    /// How a 429 is retried (Entra's policy by default).
    pub retry: RetryPolicy,
    /// Re-runs shrinking may make (default 300).
    pub max_shrink_runs: usize,
    /// Time shrinking may take (default 60 s).
    pub shrink_time: Duration,
}

impl FuzzConfig {
    /// The defaults for `tenant_url`.
    pub fn new(tenant_url: impl Into<String>) -> FuzzConfig {
        FuzzConfig {
            tenant_url: tenant_url.into(),
            client: ClientConfig::default(),
            profile: Profile::default(),
            dialects: Vec::new(),
            seed: 0,
            cases: 20,
            max_steps: 30,
            time: Duration::from_secs(60),
            rate: 20.0,
            retry: RetryPolicy::default(),
            max_shrink_runs: 300,
            shrink_time: Duration::from_secs(60),
        }
    }
}

/// Why a run could not be made (not a divergence).
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error(transparent)]
    Tenant(#[from] TenantUrlError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the model cannot start: {0}")]
    Model(String),
    #[error("the endpoint is unreachable: {0}")]
    Unreachable(TransportError),
    #[error("the endpoint refused the token: GET /Schemas answered {0}")]
    Unauthorized(u16),
    #[error("no usable answer from the endpoint: {0}")]
    Transport(TransportError),
}

/// One divergence, shrunk.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// The case it was found in, and that case's seed.
    pub case: usize,
    pub case_seed: u64,
    pub dialect: Dialect,
    /// The divergence as first seen, in the full sequence.
    pub divergence: Divergence,
    /// Steps of the sequence up to and with the divergence.
    pub original_len: usize,
    /// The minimal sequence's steps, in words.
    pub minimal_labels: Vec<String>,
    /// The minimal sequence.
    #[serde(skip)]
    pub minimal: Vec<Step>,
    /// Re-runs shrinking made.
    pub shrink_runs: usize,
    /// Whether replaying the minimal sequence showed the divergence again.
    pub confirmed: bool,
    /// The minimal sequence as a replay scenario.
    pub scenario: Scenario,
}

impl Found {
    /// The scenario's file name: `<name>.json`.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.scenario.name)
    }

    /// The scenario as the JSON a scenarios directory holds.
    pub fn scenario_json(&self) -> String {
        serde_json::to_string_pretty(&self.scenario).unwrap_or_default() + "\n"
    }
}

/// What a run did and found.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzReport {
    /// Report format; fields may be added while it stays 1.
    pub format: u32,
    pub tenant_url: String,
    pub seed: u64,
    pub dialects: Vec<Dialect>,
    /// Cases run (the last one may have been cut by the time budget).
    pub cases: usize,
    /// Steps that sent a request, in the cases (shrinking not counted).
    pub steps: usize,
    /// Requests sent to the endpoint, shrinking and cleanup included.
    pub requests: usize,
    pub duration_ms: u64,
    /// Time spent in the reference model (starting fresh ones and answering), shrinking
    /// included, as `duration_ms` is: the rest is the endpoint, the network and the
    /// fuzzer's own work.
    pub model_ms: u64,
    /// Why the run ended before its cases did (the time budget).
    pub stopped: Option<String>,
    /// Whether the endpoint's `/Schemas` said which attributes it keeps.
    pub schemas_known: bool,
    /// Cleanup deletes that failed (objects possibly left on the endpoint).
    pub cleanup_failures: usize,
    /// Refusals that were tolerated, each said once (docs/fuzz.md, "Tolerances"): an
    /// update of attributes the endpoint's `/Schemas` does not declare, refused.
    pub notes: Vec<String>,
    pub divergences: Vec<Found>,
}

impl FuzzReport {
    /// The reference model's share of the run's time, in percent (none for a run too short
    /// to time): whether the endpoint (or `--rate`) or scimock set the pace.
    pub fn model_percent(&self) -> Option<f64> {
        (self.duration_ms > 0).then(|| self.model_ms as f64 * 100.0 / self.duration_ms as f64)
    }

    /// 0 without a divergence, 1 with one.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.divergences.is_empty())
    }

    /// JUnit XML: one suite, a case per fuzz case run, failed where a divergence was found.
    pub fn junit(&self) -> String {
        use crate::entra::junit::{write, Case, CaseOutcome, Suite};
        let cases = (0..self.cases)
            .map(|i| {
                let found = self.divergences.iter().find(|f| f.case == i);
                Case {
                    name: format!("case {i}"),
                    classname: format!("scimock fuzz --seed {}", self.seed),
                    time_ms: None,
                    outcome: match found {
                        None => CaseOutcome::Passed,
                        Some(f) => CaseOutcome::Failed {
                            kind: f.divergence.kind.as_str().into(),
                            message: f.divergence.detail.clone(),
                            text: format!(
                                "shrunk to {} step(s):\n{}\nscenario: {}",
                                f.minimal_labels.len(),
                                f.minimal_labels.join("\n"),
                                f.file_name()
                            ),
                        },
                    },
                    output: None,
                }
            })
            .collect();
        let suite = Suite {
            name: "scimock fuzz".into(),
            time_ms: Some(self.duration_ms),
            cases,
        };
        write("scimock fuzz", Some(self.duration_ms), &[suite])
    }

    /// The report as JSON (format 1).
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// What a run is doing, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Running case `case` of `cases`.
    Case { case: usize, cases: usize },
    /// Shrinking a divergence: re-run `run` of at most `max`.
    Shrink { run: usize, max: usize },
}

/// Called before each step of a case and each shrinking re-run, with the requests sent so
/// far.
pub type Progress = Arc<dyn Fn(Phase, usize) + Send + Sync>;
