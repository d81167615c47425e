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
    /// (a `?aadOptscim062020` suffix selects that dialect).
    tenant_url: String,
    /// Bearer token for the endpoint.
    #[arg(long, env = "SCIMOCK_TOKEN")]
    token: Option<String>,
    /// Only scenarios whose name matches this glob (repeatable), e.g. 'group_*'.
    #[arg(long = "scenario", value_name = "GLOB")]
    scenarios: Vec<String>,
    /// PATCH dialect(s) to speak. Default: legacy, or the tenant URL's flag.
    #[arg(long, value_enum)]
    dialect: Option<DialectArg>,
    /// Reports to write: `junit=PATH`, `json=PATH`, comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    report: Vec<String>,
    /// Read scenarios from this directory instead of the built-in set.
    #[arg(long, value_name = "DIR")]
    scenarios_dir: Option<PathBuf>,
    /// Scenarios run at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Per-request timeout in seconds (Entra allows 60).
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
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
    /// Also run scenarios that need this capability (repeatable): `entra-quirks` (shapes
    /// Entra sends that scimock serve refuses until #12), `raw-quotes` (the Validator's raw `"`).
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

fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub(crate) fn run(args: ReplayArgs) -> ExitCode {
    let mut reports: Vec<(String, PathBuf)> = Vec::new();
    for r in &args.report {
        match r.split_once('=') {
            Some((kind @ ("junit" | "json"), path)) if !path.is_empty() => {
                reports.push((kind.to_owned(), PathBuf::from(path)))
            }
            _ => return usage(&format!("--report `{r}`: use junit=PATH or json=PATH")),
        }
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return usage("--timeout must be a positive number of seconds");
    }
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
    let mut config = RunnerConfig::new(args.tenant_url.clone());
    config.token = args.token.clone();
    config.dialects = match args.dialect {
        None => Vec::new(),
        Some(DialectArg::Legacy) => vec![Dialect::Legacy],
        Some(DialectArg::AadOptscim062020) => vec![Dialect::AadOptscim062020],
        Some(DialectArg::Both) => Dialect::BOTH.to_vec(),
    };
    config.timeout = Duration::from_secs_f64(args.timeout);
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
    let progress_color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let runner = runner.with_progress(Arc::new(move |result, done, total| {
        eprintln!(
            "{}",
            report::progress_line(result, done, total, progress_color)
        );
    }));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage(&format!("cannot start the async runtime: {e}")),
    };
    let result = rt.block_on(runner.run(&scenarios));
    print!(
        "{}",
        scimock::replay::detail::exchanges(&result, args.verbose)
    );
    print!("{}", report::terminal(&result, color));
    print!("{}", scimock::replay::detail::causes(&result));
    print!("{}", scimock::replay::detail::skips(&result));
    for (kind, path) in &reports {
        let text = match kind.as_str() {
            "junit" => match report::junit(&result) {
                Ok(t) => t,
                Err(e) => return usage(&format!("writing JUnit: {e}")),
            },
            _ => report::json(&result),
        };
        if let Err(e) = std::fs::write(path, text) {
            return usage(&format!("cannot write {}: {e}", path.display()));
        }
        eprintln!("wrote {kind} report to {}", path.display());
    }
    ExitCode::from(result.exit_code())
}
