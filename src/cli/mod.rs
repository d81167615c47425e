//! clap definitions and dispatch. Each subcommand lives in its own module and returns the
//! process exit code: 0 success, 1 a negative answer or failed check, 2 usage or input
//! error.

mod filter;
mod profiles;
mod record;
mod replay;
mod serve;
mod state;

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
    /// List and show vendor profiles.
    #[command(subcommand)]
    Profiles(profiles::ProfilesCommand),
    /// Convert between the `--state` database and seed JSON.
    #[command(subcommand)]
    State(state::StateCommand),
}

pub(crate) fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Filter(cmd) => filter::run(cmd),
        Command::Replay(args) => replay::run(args),
        Command::Record(args) => record::run(args),
        Command::Profiles(cmd) => profiles::run(cmd),
        Command::State(cmd) => state::run(cmd),
    }
}
