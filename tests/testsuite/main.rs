//! The one integration test binary: a module per area.

mod cli;
mod expr;
mod faults;
mod filter;
mod hardening;
mod membership;
mod patch;
mod profile;
mod provision;
mod record;
mod reliability;
mod replay;
mod server;
mod store_model;
mod strategies;
mod support;
