//! The Entra spine: everything the stand-in knows about Entra as a SCIM client, once.
//! `replay`, `validate`, `provision` and `record` are thin users of it, as the server's
//! listener is a thin user of its pipeline.
//!
//! | piece | what it holds | reference |
//! |---|---|---|
//! | [`TenantUrl`] | the tenant URL, its base and its feature flags (every documented spelling) | docs/entra.md §2.5, §4.2 |
//! | [`Dialect`] | the default job's PATCH dialect or `aadOptscim062020`'s | docs/entra.md §4 |
//! | [`wire`] | request headers, schema URNs, ids encoded as path segments, escaped filter literals | docs/entra.md §1, RFC 7644 §3.4.2.2 |
//! | [`Client`] | the one HTTP client: bounded bodies, one deadline per exchange, no redirects | docs/entra.md §2.3 |
//! | [`RetryPolicy`] | the 429 / `Retry-After` policy | docs/entra.md §3.6 |
//! | [`consequence`] | HTTP status → provisioning-log error code, quarantine, consequence in words | docs/entra.md §3.6 |
//! | [`secrets`] | the one secret policy (token, URL user-info, credential members, headers and query values) and terminal/CSV hygiene | |
//! | [`excerpt`] | the one bound on the endpoint's text in reports: 64 KiB of a body, 1,000 bytes of a string, scrubbed before the cut | |
//! | [`junit`] | the one JUnit writer | |
//!
//! Without the `entra` feature (a library user's `default-features = false`) only the data
//! (tenant URL, dialect, wire, consequences, secrets, retry policy) is built: the profile
//! format uses the dialect; the client, the raw path and JUnit need the feature.
//!
//! The endpoint under test is untrusted input throughout: what it sends is bounded when
//! read, cut to an excerpt when it is captured into a result, encoded when it goes into a
//! path, escaped when it goes into a filter, scrubbed of secrets and control characters
//! when it is written out.

#[cfg(feature = "entra")]
mod client;
pub mod consequence;
mod dialect;
pub mod excerpt;
#[cfg(feature = "entra")]
pub mod junit;
#[cfg(feature = "entra")]
mod raw;
mod retry;
pub mod secrets;
mod tenant;
pub mod wire;

#[cfg(feature = "entra")]
pub use client::{
    Answer, Client, ClientConfig, Outgoing, TransportError, DEFAULT_MAX_BODY, DEFAULT_MAX_TIMEOUTS,
    DEFAULT_TIMEOUT,
};
pub use dialect::Dialect;
pub use retry::{retry_after, RetryPolicy};

pub use tenant::{TenantUrl, TenantUrlError};
