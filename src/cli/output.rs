//! What the stand-in's commands share on the way in and out: the client options every
//! command takes with the same defaults ([`ClientArgs`]), the `--report KIND=PATH` parser
//! ([`ReportArg`]), and [`Output`], through which every text leaves the process: secrets
//! scrubbed (the Entra spine's one policy), control characters escaped on the terminal,
//! files written atomically, and a closed stdout (`| head`) never a panic.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use scimock::entra::secrets::{self, Scrubber};
use scimock::entra::{ClientConfig, RetryPolicy};

/// How the stand-in talks to the endpoint: the same flags and defaults for replay,
/// validate and provision.
#[derive(Debug, Clone, Args)]
pub(crate) struct ClientArgs {
    /// Bearer token for the endpoint.
    #[arg(long, env = "SCIMOCK_TOKEN")]
    pub(crate) token: Option<String>,
    #[command(flatten)]
    pub(crate) tls: super::TlsArgs,
    /// Deadline for one whole exchange, in seconds (Entra allows 60).
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    pub(crate) timeout: Duration,
    /// Stop after this many requests in a row got no answer within --timeout.
    #[arg(long, value_name = "N", default_value_t = scimock::entra::DEFAULT_MAX_TIMEOUTS)]
    pub(crate) max_timeouts: usize,
    /// The most bytes of one response body read; a larger answer fails its step.
    #[arg(long, value_name = "BYTES", default_value_t = scimock::entra::DEFAULT_MAX_BODY)]
    pub(crate) max_body: usize,
    /// Retry a 429 this many times after its Retry-After, as Entra does.
    #[arg(long, default_value_t = RetryPolicy::default().retries)]
    pub(crate) retries_on_429: u32,
    /// The longest Retry-After honoured, in seconds.
    #[arg(long, default_value_t = RetryPolicy::default().max_wait.as_secs())]
    pub(crate) max_retry_after: u64,
}

impl ClientArgs {
    /// The spine client's settings.
    pub(crate) fn client_config(&self) -> ClientConfig {
        ClientConfig {
            token: self.token.clone(),
            timeout: self.timeout,
            max_body: self.max_body.max(1),
            tls: self.tls.client_tls(),
        }
    }

    /// Sets a replay runner's client settings (replay and validate).
    pub(crate) fn configure(&self, config: &mut scimock::replay::RunnerConfig) {
        let client = self.client_config();
        config.token = client.token;
        config.timeout = client.timeout;
        config.max_body = client.max_body;
        config.tls = client.tls;
        config.max_timeouts_in_a_row = self.max_timeouts;
        config.retry = self.retry();
    }

    /// The 429 policy.
    pub(crate) fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            retries: self.retries_on_429,
            max_wait: Duration::from_secs(self.max_retry_after),
        }
    }
}

/// A positive number of seconds, at most an hour.
pub(crate) fn parse_seconds(value: &str) -> Result<Duration, String> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(Duration::from_secs_f64(s.min(3600.0))),
        _ => Err(format!("`{value}` is not a positive number of seconds")),
    }
}

/// A report format of `--report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportKind {
    Junit,
    Json,
    Html,
    /// provision only: the provisioning logs as CSV (`csv=DIR/`: the portal's three files).
    Csv,
    /// provision only: the requests sent, as JSON.
    Requests,
}

impl ReportKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ReportKind::Junit => "junit",
            ReportKind::Json => "json",
            ReportKind::Html => "html",
            ReportKind::Csv => "csv",
            ReportKind::Requests => "requests",
        }
    }
}

/// One `--report KIND=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportArg {
    pub(crate) kind: ReportKind,
    pub(crate) path: PathBuf,
}

/// The `--report` value parser: `junit=PATH`, `json=PATH`, `html=PATH`, `csv=PATH`,
/// `requests=PATH`. A command refuses the kinds it does not write ([`only`]).
pub(crate) fn parse_report(value: &str) -> Result<ReportArg, String> {
    let kind = match value.split_once('=') {
        Some((_, "")) | None => None,
        Some((kind, _)) => [
            ReportKind::Junit,
            ReportKind::Json,
            ReportKind::Html,
            ReportKind::Csv,
            ReportKind::Requests,
        ]
        .into_iter()
        .find(|k| k.as_str() == kind),
    };
    match (kind, value.split_once('=')) {
        (Some(kind), Some((_, path))) => Ok(ReportArg {
            kind,
            path: path.into(),
        }),
        _ => Err(format!(
            "`{value}`: use KIND=PATH with KIND one of junit, json, html, csv, requests"
        )),
    }
}

/// Refuses a report kind outside `allowed`, with the usage message.
pub(crate) fn only(reports: &[ReportArg], allowed: &[ReportKind]) -> Result<(), String> {
    match reports.iter().find(|r| !allowed.contains(&r.kind)) {
        None => Ok(()),
        Some(r) => Err(format!(
            "--report {}=…: this command writes {}",
            r.kind.as_str(),
            allowed
                .iter()
                .map(|k| format!("{}=PATH", k.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Why a command failed (exit 2): a usage or input error the one error path prints as
/// `error: …`, or one the command already showed in its own form (a caret under the input,
/// a `{"ok": false, …}` answer with `--json`).
#[derive(Debug)]
pub(crate) enum Failure {
    Message(String),
    Shown,
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Message(message)
    }
}

/// The one error path of every command (ruff's `main`): a command's `Ok` is its exit
/// code, its `Err` a usage or input error, printed (scrubbed) and exit 2.
pub(crate) fn exit(
    out: &Output,
    result: Result<std::process::ExitCode, impl Into<Failure>>,
) -> std::process::ExitCode {
    match result.map_err(Into::into) {
        Ok(code) => code,
        Err(Failure::Message(message)) => {
            out.eprintln(&format!("error: {message}"));
            std::process::ExitCode::from(2)
        }
        Err(Failure::Shown) => std::process::ExitCode::from(2),
    }
}

/// Where a run's texts go: stdout, stderr and files, each scrubbed of secrets.
#[derive(Debug, Clone, Default)]
pub(crate) struct Output {
    scrubber: Scrubber,
}

impl Output {
    /// For a run against `tenant_url` with `token`: both are secrets.
    pub(crate) fn for_run(tenant_url: &str, token: Option<&str>) -> Output {
        Output {
            scrubber: Scrubber::for_run(tenant_url, token),
        }
    }

    /// The text as it may leave the process.
    pub(crate) fn scrub(&self, text: String) -> String {
        self.scrubber.scrub_owned(text)
    }

    /// Prints to stdout, scrubbed and with control characters escaped. A closed stdout
    /// (`| head`) is not an error: the rest is dropped, the command goes on (its files and
    /// state still get written) and exits 141 ([`stdout_closed`]).
    pub(crate) fn print(&self, text: &str) {
        let text = self.scrubber.scrub(text);
        to_stdout(secrets::printable(&text).as_bytes());
    }

    /// Prints text whose control characters are the caller's own (colours): scrubbed only.
    /// Text from the endpoint in it must have been made printable first.
    pub(crate) fn print_styled(&self, text: &str) {
        let text = self.scrubber.scrub(text);
        to_stdout(text.as_bytes());
    }

    /// Prints one line to stderr, scrubbed and with control characters escaped.
    pub(crate) fn eprintln(&self, text: &str) {
        let text = self.scrubber.scrub(text);
        let _ = writeln!(std::io::stderr().lock(), "{}", secrets::printable(&text));
    }

    /// Writes `text` to `path`, scrubbed, atomically.
    pub(crate) fn write(&self, path: &Path, text: String) -> Result<(), String> {
        scimock::files::atomic_write(path, self.scrub(text).as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn to_stdout(bytes: &[u8]) {
    if stdout_closed() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if out.write_all(bytes).and_then(|()| out.flush()).is_err() {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// True once a write to stdout failed (the reader went away, as with `| head`).
pub(crate) fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Checks every report path (and the state file) before anything is sent, so an
/// unwritable path is a usage error, not a run whose results are lost.
pub(crate) fn check_paths<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<(), String> {
    for path in paths {
        scimock::files::check_writable(path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_parse_into_kind_and_path() {
        let r = parse_report("junit=out/r.xml").unwrap();
        assert_eq!(
            (r.kind, r.path),
            (ReportKind::Junit, PathBuf::from("out/r.xml"))
        );
        assert!(parse_report("xml=r").is_err());
        assert!(parse_report("junit=").is_err());
        assert!(only(&[parse_report("csv=x").unwrap()], &[ReportKind::Json]).is_err());
    }
}

/// `--dialect`: which of Entra's two PATCH dialects a replay or fuzz run sends.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum DialectArg {
    Legacy,
    #[value(name = "aadOptscim062020")]
    AadOptscim062020,
    Both,
}

impl DialectArg {
    /// The dialects to run; empty (no flag) lets each scenario or case choose.
    pub(crate) fn dialects(arg: Option<Self>) -> Vec<scimock::entra::Dialect> {
        use scimock::entra::Dialect;
        match arg {
            None => Vec::new(),
            Some(Self::Legacy) => vec![Dialect::Legacy],
            Some(Self::AadOptscim062020) => vec![Dialect::AadOptscim062020],
            Some(Self::Both) => Dialect::BOTH.to_vec(),
        }
    }
}
