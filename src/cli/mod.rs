//! clap definitions and dispatch. Each subcommand lives in its own module and returns the
//! process exit code: 0 success, 1 a negative answer or failed check, 2 usage or input
//! error.

mod expr;
mod filter;
mod fuzz;
mod output;
mod profiles;
mod progress;
mod provision;
mod record;
mod replay;
mod serve;
mod state;
mod validate;

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
    /// Run Microsoft's SCIM Validator / Logic App validation tests offline against an endpoint.
    Validate(validate::ValidateArgs),
    /// List and show vendor profiles.
    #[command(subcommand)]
    Profiles(profiles::ProfilesCommand),
    /// Convert between the `--state` database and seed JSON.
    #[command(subcommand)]
    State(state::StateCommand),
    /// Run Entra provisioning cycles (mappings, scoping, deprovisioning) against a SCIM endpoint.
    Provision(provision::ProvisionArgs),
    /// Fuzz a SCIM endpoint against scimock's model; shrink a divergence to a replay scenario.
    Fuzz(fuzz::FuzzArgs),
}

/// How an https client checks the endpoint's certificate (`replay`, `record --upstream`).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct TlsArgs {
    /// Also trust this CA certificate (PEM), repeatable; the platform's roots stay trusted.
    #[arg(long = "ca-cert", value_name = "FILE")]
    ca_certs: Vec<std::path::PathBuf>,
    /// Accept any certificate (self-signed staging endpoints). Never against production.
    #[arg(long)]
    insecure: bool,
}

impl TlsArgs {
    /// The library's options; warns on stderr about `--insecure`.
    pub(crate) fn client_tls(&self) -> scimock::tls::ClientTls {
        if self.insecure {
            eprintln!("warning: --insecure: https certificates are not checked; anyone on the path can read and change this traffic");
        }
        scimock::tls::ClientTls {
            ca_certs: self.ca_certs.clone(),
            insecure: self.insecure,
        }
    }
}

/// Now in RFC 3339 (UTC), for the HTML report's header.
pub(crate) fn run_date() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The HTML report's facts about a run.
pub(crate) fn run_info(
    target: &str,
    profile: Option<String>,
    token: Option<&String>,
) -> scimock::report::html::RunInfo {
    scimock::report::html::RunInfo {
        target: target.to_owned(),
        dialect: None,
        profile,
        date: run_date(),
        secrets: token.into_iter().cloned().collect(),
    }
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM: how `serve` and `record` are told
/// to stop cleanly.
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let terminate = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

pub(crate) fn run(cli: Cli) -> ExitCode {
    let code = dispatch(cli);
    // A closed stdout (`| head`) ends like a command killed by SIGPIPE (see `main.rs`),
    // after the command has written its files.
    if output::stdout_closed() {
        ExitCode::from(141)
    } else {
        code
    }
}

fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Filter(cmd) => output::exit(&output::Output::default(), filter::run(cmd)),
        Command::Replay(args) => replay::run(args),
        Command::Record(args) => record::run(args),
        Command::Profiles(cmd) => output::exit(&output::Output::default(), profiles::run(cmd)),
        Command::Expr(cmd) => output::exit(&output::Output::default(), expr::run_expr(cmd)),
        Command::Scope(cmd) => output::exit(&output::Output::default(), expr::run_scope(cmd)),
        Command::Validate(args) => validate::run(args),
        Command::State(cmd) => output::exit(&output::Output::default(), state::run(cmd)),
        Command::Provision(args) => provision::run(args),
        Command::Fuzz(args) => fuzz::run(args),
    }
}
