//! `scimock validate <tenant-url>`: Microsoft's SCIM Validator and Logic App "SCIM
//! Validation" tests, offline, with the replay's reports and exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use scimock::entra::Dialect;
use scimock::replay::{report, Runner, RunnerConfig};
use scimock::validate::{self, Options, Suite};

use super::output::{check_paths, only, parse_report, ClientArgs, Output, ReportArg, ReportKind};

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
    #[command(flatten)]
    client: ClientArgs,
    /// Which tests: the SCIM Validator's, the Logic App template's, or both.
    #[arg(long, value_enum, default_value = "validator")]
    suite: SuiteArg,
    /// Reports to write: `junit=PATH`, `json=PATH`, `html=PATH` (one self-contained page),
    /// comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_parser = parse_report)]
    report: Vec<ReportArg>,
    /// Leave out group tests (the Validator's "Enable Group Tests" unticked).
    #[arg(long)]
    no_groups: bool,
    /// Do not read users and groups back after each write (no `read-back` findings).
    #[arg(long)]
    no_read_back: bool,
    /// Also run tests that need this capability although /Schemas does not declare it
    /// (repeatable): `groups` runs the Validator's group tests against an endpoint whose
    /// /Schemas lists no Group schema.
    #[arg(long = "with", value_name = "CAPABILITY", value_parser = ["groups"])]
    with: Vec<String>,
    /// Send JSON booleans, URL profileUrl values and %22 quotes instead of the Validator's
    /// string "True", non-URI profileUrl and raw quotes.
    #[arg(long)]
    no_validator_quirks: bool,
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

pub(crate) fn run(args: ValidateArgs) -> ExitCode {
    let out = Output::for_run(
        args.tenant_url.as_deref().unwrap_or_default(),
        args.client.token.as_deref(),
    );
    super::output::exit(&out, try_run(&args, &out))
}

fn try_run(args: &ValidateArgs, out: &Output) -> Result<ExitCode, String> {
    only(
        &args.report,
        &[ReportKind::Junit, ReportKind::Json, ReportKind::Html],
    )?;
    let suites: Vec<Suite> = match args.suite {
        SuiteArg::Validator => vec![Suite::Validator],
        SuiteArg::LogicApp => vec![Suite::LogicApp],
        SuiteArg::All => vec![Suite::Validator, Suite::LogicApp],
    };
    let opts = Options {
        quirks: !args.no_validator_quirks,
        groups: !args.no_groups,
        seed: args.seed,
        with: args.with.clone(),
    };
    if args.list {
        let d = validate::rfc_schemas();
        for suite in &suites {
            let tests = validate::tests(*suite, &d, &opts).map_err(|e| e.to_string())?;
            out.print(&format!(
                "{} (schema discovery runs first)\n",
                suite.as_str()
            ));
            for t in tests {
                let kind = if t.mandatory { "mandatory" } else { "optional" };
                let what = t
                    .scenario
                    .description
                    .split_once(": ")
                    .map_or(t.scenario.description.as_str(), |(_, d)| d);
                out.print(&format!("  {:<50} {kind:<9} {what}\n", t.scenario.name));
                out.print(&format!(
                    "  {:<50} {:<9} source: {}\n",
                    "", "", t.scenario.source
                ));
            }
            if *suite == Suite::LogicApp {
                for name in validate::logic_app::ENGINE_TESTS {
                    out.print(&format!(
                        "  {name:<50} {:<9} needs the Entra provisioning engine: not run offline\n",
                        "-"
                    ));
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(url) = args.tenant_url.clone() else {
        return Err("give the endpoint's base URL (or --list)".into());
    };
    check_paths(args.report.iter().map(|r| r.path.as_path()))?;
    let mut info = super::run_info(&url, None, args.client.token.as_ref());
    info.dialect = Some(Dialect::AadOptscim062020.as_str().to_owned());
    let mut config = RunnerConfig::new(url);
    args.client.configure(&mut config);
    // Each test says how its read-back counts (validate::tests); the flag turns it off.
    if args.no_read_back {
        config.read_back = scimock::replay::ReadBack::Off;
    }
    // The Validator speaks lowercase ops and JSON booleans in PATCH.
    config.dialects = vec![Dialect::AadOptscim062020];
    config.concurrency = 1;
    config.seed = args.seed;
    if args.no_groups {
        config.capabilities.retain(|c| c != "groups");
    }
    let runner = Runner::new(config).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let validation = rt
        .block_on(validate::run(&runner, &suites, &opts))
        .map_err(|e| e.to_string())?;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let result = &validation.report;
    super::replay::print_run(out, result, color, args.verbose);
    if report::all_not_found(result) {
        rt.block_on(super::replay::say_what_the_root_answers(
            out,
            &result.tenant_url,
            &args.client,
        ));
    }
    if validation.mandatory_failed.is_empty() {
        out.print("every mandatory test passed\n");
    } else {
        out.print(&format!(
            "{} mandatory test(s) failed: {}\n",
            validation.mandatory_failed.len(),
            validation.mandatory_failed.join("; ")
        ));
    }
    for r in &args.report {
        let text = match r.kind {
            ReportKind::Junit => {
                report::junit(result).map_err(|e| format!("writing JUnit: {e}"))?
            }
            ReportKind::Html => scimock::report::html::validate(&info, &validation),
            _ => report::json(result),
        };
        out.write(&r.path, text)?;
        out.eprintln(&format!(
            "wrote {} report to {}",
            r.kind.as_str(),
            r.path.display()
        ));
    }
    Ok(ExitCode::from(validation.exit_code()))
}
