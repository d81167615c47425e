//! `scimock replay <tenant-url>`: the Entra stand-in from the shell.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use scimock::replay::{report, Dialect, Runner, RunnerConfig, Scenario};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DialectArg {
    Legacy,
    #[value(name = "aadOptscim062020")]
    AadOptscim062020,
    Both,
}

/// Replay recorded Entra request sequences against a SCIM endpoint.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The tenant URL as entered in Entra, e.g. http://127.0.0.1:8080/scim/v2
    /// (a `?aadOptscim062020` suffix selects that dialect). Optional with `--list`.
    #[arg(required_unless_present = "list")]
    tenant_url: Option<String>,
    /// Bearer token for the endpoint.
    #[arg(long, env = "SCIMOCK_TOKEN")]
    token: Option<String>,
    #[command(flatten)]
    tls: super::TlsArgs,
    /// Only scenarios whose name matches this glob (repeatable), e.g. 'group_*'.
    #[arg(long = "scenario", value_name = "GLOB")]
    scenarios: Vec<String>,
    /// PATCH dialect(s) to speak. Default: legacy, or the tenant URL's flag.
    #[arg(long, value_enum)]
    dialect: Option<DialectArg>,
    /// Reports to write: `junit=PATH`, `json=PATH`, `html=PATH` (one self-contained page),
    /// comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_parser = parse_report)]
    report: Vec<(ReportKind, PathBuf)>,
    /// Read scenarios from this directory instead of the built-in set.
    #[arg(long, value_name = "DIR")]
    scenarios_dir: Option<PathBuf>,
    /// Scenarios run at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Per-request timeout in seconds (Entra allows 60); three timeouts in a row stop the run.
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    timeout: Duration,
    /// The endpoint does not provision groups: skip group scenarios.
    #[arg(long)]
    no_groups: bool,
    /// Retry a 429 this many times after its Retry-After, as Entra does (each retry is a warning).
    #[arg(long, default_value_t = 3)]
    retries_on_429: u32,
    /// The longest Retry-After honoured, in seconds.
    #[arg(long, default_value_t = 30)]
    max_retry_after: u64,
    /// The vendor profile the endpoint implements (built-in id or TOML file): runs that
    /// vendor's scenarios and probes its matching attribute.
    #[arg(long, value_name = "ID")]
    profile: Option<String>,
    /// Also run scenarios that need this capability (repeatable): `raw-quotes` (the
    /// Validator's raw `"` in the query, sent over a hand-written request).
    #[arg(long = "with", value_name = "CAPABILITY")]
    with: Vec<String>,
    /// Print every exchange whole (request and response bodies), not only failed ones.
    #[arg(long, short)]
    verbose: bool,
    /// Seed for generated values, for reproducible runs.
    #[arg(long)]
    seed: Option<u64>,
    /// List the scenarios that would run, and exit.
    #[arg(long)]
    list: bool,
}

/// A report format of `--report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReportKind {
    Junit,
    Json,
    Html,
}

fn parse_report(value: &str) -> Result<(ReportKind, PathBuf), String> {
    match value.split_once('=') {
        Some(("junit", path)) if !path.is_empty() => Ok((ReportKind::Junit, path.into())),
        Some(("json", path)) if !path.is_empty() => Ok((ReportKind::Json, path.into())),
        Some(("html", path)) if !path.is_empty() => Ok((ReportKind::Html, path.into())),
        _ => Err(format!("`{value}`: use junit=PATH, json=PATH or html=PATH")),
    }
}

/// A positive number of seconds, at most an hour.
pub(crate) fn parse_seconds(value: &str) -> Result<Duration, String> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(Duration::from_secs_f64(s.min(3600.0))),
        _ => Err(format!("`{value}` is not a positive number of seconds")),
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub(crate) fn run(args: ReplayArgs) -> ExitCode {
    let loaded = match &args.scenarios_dir {
        Some(dir) => Scenario::load_dir(dir),
        None => scimock::replay::builtin_scenarios(),
    };
    let mut scenarios = match loaded {
        Ok(s) => s,
        Err(e) => return usage(&e.to_string()),
    };
    if !args.scenarios.is_empty() {
        let mut builder = globset::GlobSetBuilder::new();
        for g in &args.scenarios {
            match globset::Glob::new(g) {
                Ok(glob) => {
                    builder.add(glob);
                }
                Err(e) => return usage(&format!("--scenario `{g}`: {e}")),
            }
        }
        let Ok(set) = builder.build() else {
            return usage("--scenario: bad glob set");
        };
        scenarios.retain(|s| set.is_match(&s.name));
        if scenarios.is_empty() {
            return usage("no scenario matches --scenario; see --list");
        }
    }
    // `--list` without a URL lists for the default dialect; the URL is never contacted.
    let tenant_url = args.tenant_url.clone();
    let mut config =
        RunnerConfig::new(tenant_url.unwrap_or_else(|| "http://127.0.0.1/scim/v2".into()));
    config.token = args.token.clone();
    config.dialects = match args.dialect {
        None => Vec::new(),
        Some(DialectArg::Legacy) => vec![Dialect::Legacy],
        Some(DialectArg::AadOptscim062020) => vec![Dialect::AadOptscim062020],
        Some(DialectArg::Both) => Dialect::BOTH.to_vec(),
    };
    config.timeout = args.timeout;
    config.tls = args.tls.client_tls();
    config.concurrency = args.concurrency.max(1);
    config.retries_on_429 = args.retries_on_429;
    config.max_retry_after = Duration::from_secs(args.max_retry_after);
    config.capabilities.extend(args.with.iter().cloned());
    if let Some(id) = &args.profile {
        match scimock::profile::Profile::resolve(id) {
            Ok(p) => {
                config.vars = scimock::replay::target::profile_vars(&p);
                config.profile = Some(p.id().to_owned());
            }
            Err(e) => return usage(&format!("--profile: {e}")),
        }
    }
    config.seed = args.seed;
    if args.no_groups {
        config.capabilities.retain(|c| c != "groups");
    }
    let info = super::run_info(
        args.tenant_url.as_deref().unwrap_or_default(),
        config.profile.clone(),
        args.token.as_ref(),
    );
    let runner = match Runner::new(config) {
        Ok(r) => r,
        Err(e) => return usage(&e.to_string()),
    };
    if args.list {
        for s in &scenarios {
            let dialects: Vec<&str> = runner
                .dialects()
                .iter()
                .filter(|d| s.applies_to(**d))
                .map(|d| d.as_str())
                .collect();
            println!("{}", scimock::replay::detail::list_line(s, &dialects));
        }
        return ExitCode::SUCCESS;
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| progress_bar(&runner, &scenarios));
    let runner = match &bar {
        Some(bar) => {
            let (steps, done) = (bar.clone(), bar.clone());
            runner
                .with_step_progress(Arc::new(move |scenario, dialect, step| {
                    steps.set_message(format!("{scenario} ({}) · {step}", dialect.as_str()));
                }))
                .with_progress(Arc::new(move |_, _, _| done.inc(1)))
        }
        None => runner,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage(&format!("cannot start the async runtime: {e}")),
    };
    let result = rt.block_on(runner.run(&scenarios));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if result.unreachable {
        // One line: every request failed the same way, a report would only repeat it.
        eprintln!("error: {}", report::unreachable_line(&result));
    } else {
        print!(
            "{}",
            scimock::replay::detail::exchanges(&result, args.verbose)
        );
        print!("{}", report::terminal(&result, color));
        if !report::all_unauthorized(&result) {
            print!("{}", scimock::replay::detail::causes(&result));
        }
        print!("{}", scimock::replay::detail::skips(&result));
    }
    for (kind, path) in &args.report {
        let text = match kind {
            ReportKind::Junit => match report::junit(&result) {
                Ok(t) => t,
                Err(e) => return usage(&format!("writing JUnit: {e}")),
            },
            ReportKind::Json => report::json(&result),
            ReportKind::Html => scimock::report::html::replay(&info, &result),
        };
        if let Err(e) = std::fs::write(path, text) {
            return usage(&format!("cannot write {}: {e}", path.display()));
        }
        let kind = match kind {
            ReportKind::Junit => "junit",
            ReportKind::Json => "json",
            ReportKind::Html => "html",
        };
        eprintln!("wrote {kind} report to {}", path.display());
    }
    ExitCode::from(result.exit_code())
}

/// A progress bar on stderr over the scenario runs, its message the step being sent.
fn progress_bar(runner: &Runner, scenarios: &[Scenario]) -> indicatif::ProgressBar {
    let total = scenarios
        .iter()
        .map(|s| {
            runner
                .dialects()
                .iter()
                .filter(|d| s.applies_to(**d))
                .count()
        })
        .sum::<usize>();
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("[{pos:>3}/{len}] {wide_msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
