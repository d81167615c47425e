//! The one integration test binary: a module per area.

mod cli;
mod durability;
mod expr;
mod failures;
mod faults;
mod fidelity;
mod filter;
mod hardening;
mod isolation;
mod limits;
mod membership;
mod patch;
mod profile;
mod readback;
mod record;
mod reliability;
mod replay;
mod server;
mod store_model;
mod strategies;
mod strictness;
mod support;
mod tls;
mod validate;
mod verdicts;
mod wire;
