//! The one integration test binary: a module per area.

mod cli;
mod filter;
mod strategies;
mod support;
