//! The one integration test binary: a module per area.

mod cli;
mod expr;
mod failures;
mod faults;
mod fidelity;
mod filter;
mod hardening;
mod membership;
mod patch;
mod profile;
mod record;
mod reliability;
mod replay;
mod server;
mod store_model;
mod strategies;
mod support;
mod tls;
mod validate;
mod verdicts;
