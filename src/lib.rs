//! scimock: a SCIM 2.0 mock server, an Entra ID provisioning stand-in, and a fuzz and
//! property harness for SCIM filters, PATCH and group membership.
//!
//! # Quick start
//!
//! | you want to | start here | feature |
//! |---|---|---|
//! | a SCIM 2.0 server in your tests (a mock of an app Entra provisions into) | [`MockServer`] | none |
//! | Entra's request sequences against your endpoint | [`replay::Runner`] | `entra` |
//! | Microsoft's SCIM Validator and Logic App tests against your endpoint, offline | [`validate::run`] | `entra` |
//! | Entra's provisioning engine (mappings, scoping, matching, cycles, logs) against your endpoint | [`provision::Engine`] | `entra` |
//! | random Entra-shaped sequences against your endpoint and scimock's model, shrunk to a replayable scenario on a divergence | `fuzz::Fuzzer` (docs/fuzz.md) | `endpoint-fuzz` |
//!
//! With `default-features = false` only [`MockServer`] and the protocol modules are built;
//! the `entra` feature adds the stand-in, `state` SQLite state, `tls` https.
//!
//! A mock server, and what it was sent:
//!
//! ```
//! let server = scimock::MockServer::builder().token("t").start_blocking();
//! // point the code under test at server.base_url() with `Authorization: Bearer t`…
//! assert!(server.users().is_empty());
//! assert!(server.received_requests().is_empty());
//! ```
//!
//! Your endpoint judged as Entra and Microsoft's tools judge it (here the mock stands in
//! for it):
//!
//! ```
//! # #[cfg(feature = "entra")]
//! # {
//! use scimock::replay::{builtin_scenarios, Runner, RunnerConfig};
//! use scimock::validate::{Options, Suite};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let endpoint = scimock::MockServer::builder().token("t").start().await;
//! let mut config = RunnerConfig::new(endpoint.base_url());
//! config.token = Some("t".into());
//! let runner = Runner::new(config).unwrap();
//!
//! // Entra's request sequences (here the Test Connection one).
//! let probe: Vec<_> = builtin_scenarios().unwrap().into_iter()
//!     .filter(|s| s.name == "test_connection").collect();
//! assert_eq!(runner.run(&probe).await.exit_code(), 0);
//!
//! // Microsoft's SCIM Validator tests, generated from the endpoint's /Schemas.
//! let v = scimock::validate::run(&runner, &[Suite::Validator], &Options::default()).await.unwrap();
//! assert!(v.mandatory_failed.is_empty(), "{:?}", v.mandatory_failed);
//!
//! // One Entra provisioning cycle from a directory snapshot.
//! use scimock::provision::{AppConfig, Directory, Engine, State, Target};
//! let profile = scimock::profile::Profile::builtin("entra-generic").unwrap();
//! let engine = Engine::new(AppConfig::for_profile(&profile));
//! let directory = Directory::from_json(r#"{"users": [{"id": "u1",
//!     "userPrincipalName": "ada@contoso.com", "accountEnabled": true}],
//!     "assignments": [{"principalId": "u1"}]}"#).unwrap();
//! let target = Target::http(&endpoint.base_url(), Some("t".into())).unwrap();
//! let mut state = State::default();
//! let cycle = engine.run_cycle(&target, &directory, &mut state).await;
//! assert_eq!(cycle.stats.created, 1);
//! assert_eq!(endpoint.users()[0]["userName"], "ada@contoso.com");
//! # });
//! # }
//! ```
//!
//! # Layout
//! - [`Error`] / [`ErrorKind`]: the crate error and the one map to SCIM error bodies
//!   (RFC 7644 §3.12).
//! - [`scim`]: protocol types, serde only: resource types, messages, schemas, URNs.
//! - [`filter`]: RFC 7644 §3.4.2.2 filters and §3.5.2 PATCH paths: parse, print, evaluate.
//! - [`expr`]: Entra attribute-mapping expressions (every documented function): parse,
//!   print, evaluate with Entra's null rules, injectable clock and RNG.
//! - [`scope`]: Entra scoping filters: clauses, 14 operators, AND within a group, OR across.
//! - [`clock`]: injectable clock and id generator (deterministic tests and snapshots).
//! - [`store`]: in-memory resources behind one lock, indexes, membership, seed/state files.
//! - [`server`]: the SCIM service provider over hyper: listener, the sans-IO request
//!   pipeline, pure router, handlers, discovery, journal, fault injection, and the
//!   wiremock-style [`MockServer`]. Only its public face is public.
//! - [`patch`]: RFC 7644 §3.5.2 PATCH: add/replace/remove, Entra dialects, member ops.
//! - [`profile`]: vendor profiles (TOML in `profiles/`): schemas, required and matching
//!   attributes, value rules, quirks; the checks they add to requests.
//! - [`entra`]: the Entra spine under replay, validate, provision and record: tenant URL and
//!   flags, dialect, wire (headers, URNs, encoded ids, escaped filter literals), the one
//!   HTTP client (bounded bodies, one deadline), the 429 policy, status consequences, the
//!   secret policy, the JUnit writer.
//! - [`record`]: a recording reverse proxy that turns live traffic into replay sequences.
//! - [`replay`]: the Entra stand-in: recorded sequences, runner, checks, reports.
//! - [`validate`]: Microsoft's SCIM Validator and Logic App suites, offline, as replay
//!   scenarios generated from the endpoint's `/Schemas`.
//! - [`tls`]: rustls configuration for `serve --tls-cert` and the https clients of the
//!   Entra spine and record.
//! - [`provision`]: Entra's provisioning cycles (mappings, scoping, matching, deprovisioning,
//!   quarantine, provisioning logs) simulated against any SCIM endpoint.
//! - `files` (hidden): atomic, durable file writes shared by the CLI, record and provision.
//! - `report` (feature `html-report`, on with `cli`): the self-contained HTML report of
//!   replay, validate and provision runs.
//! - `fuzz` (feature `endpoint-fuzz`, on with `cli`): `scimock fuzz`, model-based
//!   differential fuzzing of any SCIM endpoint against scimock in-process, shrunk to a
//!   replay scenario (docs/fuzz.md); its reference `Model` and `Fuzzer::check` for a
//!   vendor's own tests.
//! - `strategies` (feature `proptest`): the fuzzer's inputs as proptest strategies (Entra's
//!   users, groups, filters, PATCHes in both dialects, sequences).
//! - [`fuzzing`]: bodies shared by the fuzz targets and their replay tests (hidden).
//!
//! hyper's client and server run in three places only: the listener ([`server`]), the
//! stand-in's client ([`entra`], with [`tls`]) and the recording proxy ([`record`]).
//! Elsewhere only its `http` types appear: `HeaderMap` in replay's checks, `StatusCode`
//! phrases in provision's logs, and the `Request` that provision's in-process target hands
//! to the server's sans-IO pipeline (`server::local`, which the fuzzer's model uses too);
//! the fuzz bodies drive that pipeline too. `scim`,
//! `filter`, `patch`, `store` and `profile` never see an HTTP type.
//!
//! # Finding an RFC section
//!
//! `docs/rfc-index.md` maps every RFC 7643/7644 section scimock implements to
//! `file::function` (for example RFC 7644 §3.5.2.3, replace with a value filter:
//! `patch/ops.rs::filtered`), and points to [`patch::Quirk`] for every Entra deviation.

mod caret;
pub mod clock;
pub mod entra;
mod error;
pub mod expr;
#[doc(hidden)]
pub mod files;
pub mod filter;
#[cfg(feature = "endpoint-fuzz")]
pub mod fuzz;
#[doc(hidden)]
pub mod fuzzing;
pub mod patch;
pub mod profile;
#[cfg(feature = "entra")]
pub mod provision;
#[cfg(feature = "entra")]
pub mod record;
#[cfg(feature = "entra")]
pub mod replay;
#[cfg(feature = "html-report")]
pub mod report;
pub mod scim;
pub mod scope;
pub mod server;
pub mod store;
#[cfg(feature = "proptest")]
pub mod strategies;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "entra")]
pub mod validate;

pub use error::{Error, ErrorKind, Meaning, Result};
pub use server::builder::MockServerBuilder;
pub use server::mock_server::MockServer;

/// The README's Rust examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
