//! How a runner talks to the endpoint: the tenant URL, the client's settings, the
//! dialects, the run-wide variables and the capabilities a run has
//! ([`super::capability`]).

use std::time::Duration;

use super::capability::{Declared, Looked, GROUPS, USERS};
use super::readback::ReadBack;
use crate::entra::{Dialect, RetryPolicy};
use crate::profile::Profile;

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
    /// Deadline for one whole exchange (default 10 s). Entra's own limit is 60 s per
    /// request (docs/entra.md, "Transport"); a healthy endpoint answers in well under a
    /// second.
    pub timeout: Duration,
    /// Stop the whole run after this many timeouts in a row (default 3): a hung endpoint
    /// ends the run in about `timeout × this` instead of `timeout × every step`.
    pub max_timeouts_in_a_row: usize,
    /// The most bytes of one response body read (default 16 MiB); a larger body fails
    /// its step with a `transport` finding and nothing more is read.
    pub max_body: usize,
    /// Read each user or group back after a 2xx write and report every attribute that was
    /// not stored as sent (`read-back` findings): failures by default.
    pub read_back: ReadBack,
    /// How many scenarios run at once (steps inside a scenario are always sequential).
    pub concurrency: usize,
    /// Capabilities the endpoint has; scenarios requiring others are skipped, each saying
    /// why ([`super::capability`]). Default: `users`, `groups`; `--with` adds to them, and
    /// so do a profile ([`RunnerConfig::apply_profile`]) and the endpoint's `/Schemas`
    /// (read once by [`super::Runner::run`] when a scenario needs a capability only a declaration
    /// gives, [`RunnerConfig::declare`]).
    pub capabilities: Vec<String>,
    /// Whether the endpoint's `/Schemas` was read for declared capabilities.
    pub(crate) looked: Looked,
    /// How a 429 is retried after its `Retry-After`. Entra pauses for `Retry-After` and
    /// retries the failed requests (Microsoft Q&A 2284725), so the default is 3 retries,
    /// each wait capped at 30 s; each retry is reported as a `rate-limit` warning.
    pub retry: RetryPolicy,
    /// The vendor profile the endpoint implements (`--profile ID`): scenarios recorded for
    /// a profile run only when it is this one.
    pub profile: Option<String>,
    /// Run-wide variables, set before each scenario's own `vars`: `match_attr` (the matching
    /// attribute's filter path, default `userName`) and whatever a profile adds.
    pub vars: std::collections::BTreeMap<String, String>,
    /// Seed for `${uuid}`/`${random_upn}`, for reproducible runs; `None` is random.
    pub seed: Option<u64>,
    /// What an https tenant URL's certificate is checked against.
    pub tls: crate::tls::ClientTls,
}

impl RunnerConfig {
    /// Defaults for `tenant_url`: no token, legacy dialect, 10 s timeout, stop after 3
    /// timeouts in a row, 4 scenarios at once.
    pub fn new(tenant_url: impl Into<String>) -> Self {
        RunnerConfig {
            tenant_url: tenant_url.into(),
            token: None,
            dialects: Vec::new(),
            timeout: crate::entra::DEFAULT_TIMEOUT,
            max_timeouts_in_a_row: crate::entra::DEFAULT_MAX_TIMEOUTS,
            max_body: crate::entra::DEFAULT_MAX_BODY,
            read_back: ReadBack::Fail,
            concurrency: 4,
            capabilities: vec![USERS.into(), GROUPS.into()],
            looked: Looked::NotYet,
            retry: RetryPolicy::default(),
            profile: None,
            vars: std::collections::BTreeMap::new(),
            seed: None,
            tls: crate::tls::ClientTls::default(),
        }
    }

    /// Runs against an endpoint that implements `profile` (`--profile ID`): its run-wide
    /// variables ([`Profile::run_vars`]), its vendor scenarios, and the capabilities it
    /// declares ([`Declared::from_profile`]).
    pub fn apply_profile(&mut self, profile: &Profile) {
        self.vars.extend(profile.run_vars());
        self.profile = Some(profile.id().to_owned());
        self.declare(&Declared::from_profile(profile));
    }

    /// Adds the capabilities `declared` gives, and the variables that name its extension
    /// and attributes where none is set yet (an earlier declaration, the profile's, wins).
    pub fn declare(&mut self, declared: &Declared) {
        for capability in declared.capabilities() {
            if !self.capabilities.iter().any(|c| c == capability) {
                self.capabilities.push(capability.to_owned());
            }
        }
        for (name, value) in declared.vars() {
            self.vars.entry(name.to_owned()).or_insert(value);
        }
    }
}
