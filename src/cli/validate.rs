//! `scimock validate <tenant-url>`: Microsoft's SCIM Validator and Logic App "SCIM
//! Validation" tests, offline, with the replay's reports and exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use scimock::replay::{report, Dialect, Runner, RunnerConfig};
use scimock::validate::{self, Options, Suite};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SuiteArg {
    Validator,
    LogicApp,
    All,
}

/// Run Microsoft's SCIM Validator and Logic App validation tests against an endpoint.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The endpoint's base URL, e.g. http://127.0.0.1:8080/scim/v2 (not needed with --list).
    tenant_url: Option<String>,
    /// Bearer token for the endpoint.
    #[arg(long, env = "SCIMOCK_TOKEN")]
    token: Option<String>,
    /// Which tests: the SCIM Validator's, the Logic App template's, or both.
    #[arg(long, value_enum, default_value = "validator")]
    suite: SuiteArg,
    /// Reports to write: `junit=PATH`, `json=PATH`, `html=PATH` (one self-contained page),
    /// comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    report: Vec<String>,
    /// Leave out group tests (the Validator's "Enable Group Tests" unticked).
    #[arg(long)]
    no_groups: bool,
    /// Send JSON booleans, URL profileUrl values and %22 quotes instead of the Validator's
    /// string "True", non-URI profileUrl and raw quotes.
    #[arg(long)]
    no_validator_quirks: bool,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Seed for generated values, for reproducible runs.
    #[arg(long)]
    seed: Option<u64>,
    /// Print every exchange whole.
    #[arg(long, short)]
    verbose: bool,
    /// List the tests with mandatory/optional and source, and exit.
    #[arg(long)]
    list: bool,
}

fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub(crate) fn run(args: ValidateArgs) -> ExitCode {
    let suites: Vec<Suite> = match args.suite {
        SuiteArg::Validator => vec![Suite::Validator],
        SuiteArg::LogicApp => vec![Suite::LogicApp],
        SuiteArg::All => vec![Suite::Validator, Suite::LogicApp],
    };
    let opts = Options {
        quirks: !args.no_validator_quirks,
        groups: !args.no_groups,
        seed: args.seed,
    };
    if args.list {
        let d = validate::rfc_schemas();
        for suite in &suites {
            let tests = match validate::tests(*suite, &d, &opts) {
                Ok(t) => t,
                Err(e) => return usage(&e.to_string()),
            };
            println!("{} (schema discovery runs first)", suite.as_str());
            for t in tests {
                let kind = if t.mandatory { "mandatory" } else { "optional" };
                let what = t
                    .scenario
                    .description
                    .split_once(": ")
                    .map_or(t.scenario.description.as_str(), |(_, d)| d);
                println!("  {:<50} {kind:<9} {what}", t.scenario.name);
                println!("  {:<50} {:<9} source: {}", "", "", t.scenario.source);
            }
            if *suite == Suite::LogicApp {
                for name in validate::logic_app::ENGINE_TESTS {
                    println!(
                        "  {name:<50} {:<9} needs the Entra provisioning engine: not run offline",
                        "-"
                    );
                }
            }
        }
        return ExitCode::SUCCESS;
    }
    let Some(url) = args.tenant_url.clone() else {
        return usage("give the endpoint's base URL (or --list)");
    };
    let mut reports: Vec<(String, PathBuf)> = Vec::new();
    for r in &args.report {
        match r.split_once('=') {
            Some((kind @ ("junit" | "json" | "html"), path)) if !path.is_empty() => {
                reports.push((kind.to_owned(), PathBuf::from(path)))
            }
            _ => {
                return usage(&format!(
                    "--report `{r}`: use junit=PATH, json=PATH or html=PATH"
                ))
            }
        }
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return usage("--timeout must be a positive number of seconds");
    }
    let mut info = super::run_info(&url, None, args.token.as_ref());
    info.dialect = Some(Dialect::AadOptscim062020.as_str().to_owned());
    let mut config = RunnerConfig::new(url);
    config.token = args.token.clone();
    // The Validator speaks lowercase ops and JSON booleans in PATCH.
    config.dialects = vec![Dialect::AadOptscim062020];
    config.timeout = Duration::from_secs_f64(args.timeout);
    config.concurrency = 1;
    config.seed = args.seed;
    if args.no_groups {
        config.capabilities.retain(|c| c != "groups");
    }
    let runner = match Runner::new(config) {
        Ok(r) => r,
        Err(e) => return usage(&e.to_string()),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage(&format!("cannot start the async runtime: {e}")),
    };
    let validation = match rt.block_on(validate::run(&runner, &suites, &opts)) {
        Ok(v) => v,
        Err(e) => return usage(&e.to_string()),
    };
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let result = &validation.report;
    print!(
        "{}",
        scimock::replay::detail::exchanges(result, args.verbose)
    );
    print!("{}", report::terminal(result, color));
    print!("{}", scimock::replay::detail::causes(result));
    if validation.mandatory_failed.is_empty() {
        println!("every mandatory test passed");
    } else {
        println!(
            "{} mandatory test(s) failed: {}",
            validation.mandatory_failed.len(),
            validation.mandatory_failed.join("; ")
        );
    }
    for (kind, path) in &reports {
        let text = match kind.as_str() {
            "junit" => match report::junit(result) {
                Ok(t) => t,
                Err(e) => return usage(&format!("writing JUnit: {e}")),
            },
            "html" => scimock::report::html::validate(&info, &validation),
            _ => report::json(result),
        };
        if let Err(e) = std::fs::write(path, text) {
            return usage(&format!("cannot write {}: {e}", path.display()));
        }
        eprintln!("wrote {kind} report to {}", path.display());
    }
    ExitCode::from(validation.exit_code())
}
