//! The SCIM service provider: hyper 1.x over tokio, HTTP/1.1 keep-alive, one listener
//! serving one or more tenants (apps, each a vendor profile with its own store, token and
//! journal under its own path prefix).
//!
//! Split by job, like wiremock-rs's `mock_server/`:
//! - `listener.rs`: the `Listener` (shared with `scimock record`): the accept loop with
//!   its backoff, the connection cap ([`Limits`]) and its over-capacity 503, the TLS
//!   handshake, graceful shutdown: one path for plain and TLS connections.
//! - `service.rs`: the per-request hyper glue of one connection (read the body with its
//!   limits, sleep a fault's delay, write the answer or break the connection).
//! - `pipeline.rs`: the request pipeline without I/O: tenant → route → profile support →
//!   bearer auth → body result → fault rules → handler → fault mangling → journal →
//!   encoded response. The `http_request` fuzz target drives this same code.
//! - `builder.rs`: [`MockServerBuilder`](crate::MockServerBuilder) and the assembly of each tenant's state.
//! - `mock_server.rs`: the [`MockServer`](crate::MockServer) handle and its per-tenant view [`Tenant`].
//! - `runtime.rs`: where servers run: the process-wide shared tokio runtime, or a
//!   dedicated one for a server built with explicit workers (ADR 0001); stopping waits
//!   until the port is closed.
//! - `router.rs` (pure `(method, path) -> Route`), `handlers.rs` (no hyper types, no
//!   sockets), `params.rs` (RFC 7644 §3.4.2 query parameters), `projection.rs`
//!   (`attributes`/`excludedAttributes`), `discovery.rs` (RFC 7644 §4), `journal.rs`,
//!   `faults.rs` (the rule language of [`FaultRule`]), `target.rs` (the I/O adapter
//!   that percent-encodes raw `"` and friends in request targets before hyper parses
//!   them, and answers refused heads with an RFC 7644 §3.12 body).
//!
//! Only what a test suite or the binary needs is public; everything else is
//! `pub(crate)`.

pub(crate) mod builder;
mod discovery;
mod faults;
mod handlers;
mod journal;
pub(crate) mod listener;
#[cfg(feature = "entra")]
pub(crate) mod local;
pub(crate) mod mock_server;
mod params;
mod persist;
pub(crate) mod pipeline;
mod projection;
mod redact;
mod router;
mod runtime;
pub(crate) mod service;
pub(crate) mod target;

use std::sync::Arc;

use crate::profile::Profile;
use crate::store::Store;

pub use builder::{Seed, StartError};
pub use faults::{FaultError, FaultRule, FaultStats};
pub use journal::RecordedRequest;
pub use listener::Limits;
pub use mock_server::Tenant;

pub(crate) use faults::Faults;
pub(crate) use journal::Journal;

/// The most operations one PATCH may carry before it is refused with `tooMany`.
pub(crate) const MAX_PATCH_OPERATIONS: usize = 1000;

/// Server behaviour that is fixed once it starts.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// SCIM base path, e.g. `/scim/v2`.
    pub(crate) base_path: String,
    /// Absolute base URL for `meta.location`, e.g. `http://127.0.0.1:8080/scim/v2`.
    pub(crate) location_base: String,
    /// The bearer token, or `None` for no authentication.
    pub(crate) token: Option<String>,
    /// Largest accepted request body in bytes.
    pub(crate) max_body: usize,
    /// Time a client has to send the whole body once its head is in (`--body-timeout`).
    pub(crate) body_timeout: std::time::Duration,
    /// Serve `/_mock/*`.
    pub(crate) admin: bool,
    /// Largest page (ServiceProviderConfig `filter.maxResults`).
    pub(crate) max_results: u64,
    /// The PATCH dialect: Entra's quirks admitted, or refused (RFC only).
    pub(crate) dialect: crate::patch::Dialect,
    /// Answer group PATCH with 200 and the group instead of 204.
    pub(crate) group_patch_returns_resource: bool,
    /// The vendor profile: resource types served, required attributes, value rules,
    /// filterable attributes (see [`crate::profile`]).
    pub(crate) profile: Arc<Profile>,
}

/// What every connection to one tenant shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Arc<Store>,
    pub(crate) journal: Journal,
    pub(crate) settings: Settings,
    pub(crate) faults: Faults,
    /// The state database (`--state`), when writes must be durable before they are
    /// answered.
    pub(crate) durable: Option<Arc<crate::store::durable::Durable>>,
}

/// One app the process stands in for, mounted under a path prefix: requests under
/// `prefix` (`""` when there is only one tenant, `/alexishr` in multi-tenant mode) go to
/// `shared`, with the prefix removed before routing, so each tenant keeps its own base
/// path and `/_mock/*` routes.
#[derive(Debug)]
pub(crate) struct Mount {
    pub(crate) id: String,
    pub(crate) prefix: String,
    pub(crate) shared: Arc<Shared>,
}
