//! The one integration test binary: a module per area.

mod filter;
mod patch;

mod server;
mod store_model;
