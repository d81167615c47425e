//! What Microsoft does not publish about the engine, as settings with documented defaults
//! ([`Knobs`]), and the escrow thresholds it does publish "subject to change"
//! ([`EscrowRules`]). docs/provision.md, *Knobs*, lists them.

use crate::entra::RetryPolicy;

/// Escrow thresholds (*Quarantine status in Microsoft Entra Application Provisioning*,
/// "subject to change"): knobs so tests can use small numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EscrowRules {
    /// Evaluation starts at this many failures (5,000).
    pub base: u64,
    /// Quarantine above this many non-reference failures (40,000).
    pub total: u64,
    /// Quarantine above this many failures including reference failures (60,000).
    pub cap: u64,
    /// Quarantine when more than this share of events failed (0.4).
    pub proportion: f64,
}

impl Default for EscrowRules {
    fn default() -> Self {
        EscrowRules {
            base: 5_000,
            total: 40_000,
            cap: 60_000,
            proportion: 0.4,
        }
    }
}

/// The order objects are processed in within a pass (Entra's is not published).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// As listed in the directory file (default).
    #[default]
    Directory,
    /// By source object id.
    SourceId,
}

/// [`Knobs::concurrency`]'s default: requests in flight at once (docs/provision.md,
/// *Concurrency*).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// What Microsoft does not publish, as settings with documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    /// Requests in flight at once within a pass (Microsoft: "bounded", number not
    /// published; default [`DEFAULT_CONCURRENCY`]). 1 is a strict sequence; a dry run
    /// always uses 1.
    pub concurrency: usize,
    /// Members per membership PATCH (UNCONFIRMED upstream; default 100).
    pub members_per_patch: usize,
    /// User processing order within the user pass (default: directory order).
    pub order: Order,
    /// GET the object by id before PATCHing it (default true; a 404 is `InvalidAnchor`).
    pub read_before_update: bool,
    /// How a 429 is retried within the cycle (the spine's policy: 3 retries, each wait
    /// capped at 30 s); the wait holds back every worker.
    pub retry: RetryPolicy,
    /// Stop sending after this many requests in a row got no answer within the client's
    /// deadline (default 3, as replay and validate): the rest of the cycle fails its
    /// objects with `Timeout` without waiting on a hung endpoint again.
    pub max_timeouts: usize,
    /// "Allow deletes" / restart with `ForceDeletes`: execute deletions above the threshold.
    pub allow_deletes: bool,
    pub escrow: EscrowRules,
    /// Keep every request sent in [`CycleReport::requests`](super::CycleReport::requests) (default true).
    pub record_requests: bool,
    /// Keep every log entry in [`CycleReport::entries`](super::CycleReport::entries) (default true); when false only
    /// failures are kept (the statistics still count everything).
    pub keep_entries: bool,
    pub tenant_id: String,
    /// The app's display name in log descriptions.
    pub app_name: String,
    /// `DefaultDomain()`'s answer.
    pub default_domain: Option<String>,
    /// Seed of `Guid()` / `RandomString()`.
    pub seed: u64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            concurrency: DEFAULT_CONCURRENCY,
            members_per_patch: 100,
            order: Order::Directory,
            read_before_update: true,
            retry: RetryPolicy::default(),
            max_timeouts: crate::entra::DEFAULT_MAX_TIMEOUTS,
            allow_deletes: false,
            escrow: EscrowRules::default(),
            record_requests: true,
            keep_entries: true,
            tenant_id: "00000000-0000-0000-0000-000000000000".to_owned(),
            app_name: "customappsso".to_owned(),
            default_domain: None,
            seed: 0,
        }
    }
}
