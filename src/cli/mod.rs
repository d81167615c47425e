//! clap definitions and dispatch. Each subcommand lives in its own module and returns the
//! process exit code: 0 success, 1 a negative answer or failed check, 2 usage or input
//! error.

mod expr;
mod filter;
mod profiles;
mod provision;
mod record;
mod replay;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A SCIM 2.0 mock server and Entra ID provisioning stand-in.
#[derive(Debug, Parser)]
#[command(name = "scimock", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the SCIM 2.0 mock server.
    Serve(serve::ServeArgs),
    /// Parse or evaluate RFC 7644 filters.
    #[command(subcommand)]
    Filter(filter::FilterCommand),
    /// Replay recorded Entra request sequences against a SCIM endpoint (the Entra stand-in).
    Replay(replay::ReplayArgs),
    /// Record SCIM traffic through a reverse proxy into a replayable sequence.
    Record(record::RecordArgs),
    /// Parse or evaluate Entra attribute-mapping expressions.
    #[command(subcommand)]
    Expr(expr::ExprCommand),
    /// Check objects against Entra scoping filters.
    #[command(subcommand)]
    Scope(expr::ScopeCommand),
    /// List and show vendor profiles.
    #[command(subcommand)]
    Profiles(profiles::ProfilesCommand),
    /// Run Entra provisioning cycles (mappings, scoping, deprovisioning) against a SCIM endpoint.
    Provision(provision::ProvisionArgs),
}

pub(crate) fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Filter(cmd) => filter::run(cmd),
        Command::Replay(args) => replay::run(args),
        Command::Record(args) => record::run(args),
        Command::Profiles(cmd) => profiles::run(cmd),
        Command::Expr(cmd) => expr::run_expr(cmd),
        Command::Scope(cmd) => expr::run_scope(cmd),
        Command::Provision(args) => provision::run(args),
    }
}
