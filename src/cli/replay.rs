//! `scimock replay <tenant-url>`: the Entra stand-in from the shell.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use scimock::replay::{report, Report, Runner, RunnerConfig, Scenario};

use super::output::{
    check_paths, only, parse_report, ClientArgs, DialectArg, Output, ReportArg, ReportKind,
};

/// Replay recorded Entra request sequences against a SCIM endpoint.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The tenant URL as entered in Entra, e.g. http://127.0.0.1:8080/scim/v2
    /// (a `?aadOptscim062020` suffix selects that dialect). Optional with `--list`.
    #[arg(required_unless_present = "list")]
    tenant_url: Option<String>,
    #[command(flatten)]
    client: ClientArgs,
    /// Only scenarios whose name matches this glob (repeatable), e.g. 'group_*'.
    #[arg(long = "scenario", value_name = "GLOB")]
    scenarios: Vec<String>,
    /// PATCH dialect(s) to speak. Default: legacy, or the tenant URL's flag.
    #[arg(long, value_enum)]
    dialect: Option<DialectArg>,
    /// Reports to write: `junit=PATH`, `json=PATH`, `html=PATH` (one self-contained page),
    /// comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_parser = parse_report)]
    report: Vec<ReportArg>,
    /// Read scenarios from this directory instead of the built-in set.
    #[arg(long, value_name = "DIR")]
    scenarios_dir: Option<PathBuf>,
    /// Scenarios run at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// The endpoint does not provision groups: skip group scenarios.
    #[arg(long)]
    no_groups: bool,
    /// Do not read users and groups back after each write (no `read-back` findings).
    #[arg(long)]
    no_read_back: bool,
    /// The vendor profile the endpoint implements (built-in id or TOML file): runs that
    /// vendor's scenarios and probes its matching attribute.
    #[arg(long, value_name = "ID")]
    profile: Option<String>,
    /// Also run scenarios that need this capability (repeatable), even when neither the
    /// profile nor the endpoint's /Schemas declares it: `custom-extension`,
    /// `custom-multi-valued`, `adscim-group`, `raw-quotes` (the Validator's raw `"` in the
    /// query), `entra-quirks`. Skipped scenarios say which one they need.
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

pub(crate) fn run(args: ReplayArgs) -> ExitCode {
    let out = Output::for_run(
        args.tenant_url.as_deref().unwrap_or_default(),
        args.client.token.as_deref(),
    );
    super::output::exit(&out, try_run(&args, &out))
}

fn try_run(args: &ReplayArgs, out: &Output) -> Result<ExitCode, String> {
    only(
        &args.report,
        &[ReportKind::Junit, ReportKind::Json, ReportKind::Html],
    )?;
    let loaded = match &args.scenarios_dir {
        Some(dir) => Scenario::load_dir(dir),
        None => scimock::replay::builtin_scenarios(),
    };
    let mut scenarios = loaded.map_err(|e| e.to_string())?;
    if !args.scenarios.is_empty() {
        let mut builder = globset::GlobSetBuilder::new();
        for g in &args.scenarios {
            builder.add(globset::Glob::new(g).map_err(|e| format!("--scenario `{g}`: {e}"))?);
        }
        let set = builder.build().map_err(|e| format!("--scenario: {e}"))?;
        scenarios.retain(|s| set.is_match(&s.name));
        if scenarios.is_empty() {
            return Err("no scenario matches --scenario; see --list".into());
        }
    }
    // `--list` without a URL lists for the default dialect; the URL is never contacted.
    let tenant_url = args.tenant_url.clone();
    let mut config =
        RunnerConfig::new(tenant_url.unwrap_or_else(|| "http://127.0.0.1/scim/v2".into()));
    args.client.configure(&mut config);
    config.read_back = if args.no_read_back {
        scimock::replay::ReadBack::Off
    } else {
        scimock::replay::ReadBack::Fail
    };
    config.dialects = DialectArg::dialects(args.dialect);
    config.concurrency = args.concurrency.max(1);
    config.capabilities.extend(args.with.iter().cloned());
    if let Some(id) = &args.profile {
        let p = scimock::profile::Profile::resolve(id).map_err(|e| format!("--profile: {e}"))?;
        config.apply_profile(&p);
    }
    config.seed = args.seed;
    if args.no_groups {
        config.capabilities.retain(|c| c != "groups");
    }
    let info = super::run_info(
        args.tenant_url.as_deref().unwrap_or_default(),
        config.profile.clone(),
        args.client.token.as_ref(),
    );
    let runner = Runner::new(config).map_err(|e| e.to_string())?;
    if args.list {
        for s in &scenarios {
            let dialects: Vec<&str> = runner
                .dialects()
                .iter()
                .filter(|d| s.applies_to(**d))
                .map(|d| d.as_str())
                .collect();
            out.print(&format!(
                "{}\n",
                scimock::replay::detail::list_line(s, &dialects)
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    check_paths(args.report.iter().map(|r| r.path.as_path()))?;
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = rt.block_on(runner.run(&scenarios));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    print_run(out, &result, color, args.verbose);
    if report::all_not_found(&result) {
        rt.block_on(say_what_the_root_answers(
            out,
            &result.tenant_url,
            &args.client,
        ));
    }
    for r in &args.report {
        let text = match r.kind {
            ReportKind::Junit => {
                report::junit(&result).map_err(|e| format!("writing JUnit: {e}"))?
            }
            ReportKind::Html => scimock::report::html::replay(&info, &result),
            _ => report::json(&result),
        };
        out.write(&r.path, text)?;
        out.eprintln(&format!(
            "wrote {} report to {}",
            r.kind.as_str(),
            r.path.display()
        ));
    }
    Ok(ExitCode::from(result.exit_code()))
}

/// The terminal's account of a run (replay's and validate's): failed exchanges, the
/// coloured summary, findings by cause and skips. Text from the endpoint has its control
/// characters escaped before the colours are added.
pub(crate) fn print_run(out: &Output, result: &Report, color: bool, verbose: bool) {
    let safe = terminal_safe(result);
    if safe.unreachable {
        // One line: every request failed the same way, a report would only repeat it.
        out.eprintln(&format!("error: {}", report::unreachable_line(&safe)));
        return;
    }
    out.print(&scimock::replay::detail::exchanges(&safe, verbose));
    out.print_styled(&report::terminal(&safe, color));
    if !report::all_unauthorized(&safe) {
        out.print(&scimock::replay::detail::causes(&safe));
    }
    out.print(&scimock::replay::detail::skips(&safe));
}

/// Every answer was 404: one more request, to the tenant URL itself, and what it answered
/// (a SCIM base answers 404 too; a web app's home page or a proxy's 200 says the path is
/// not the SCIM base).
pub(crate) async fn say_what_the_root_answers(out: &Output, tenant_url: &str, client: &ClientArgs) {
    let Ok(tenant) = scimock::entra::TenantUrl::parse(tenant_url) else {
        return;
    };
    let Ok(c) = scimock::entra::Client::new(tenant.base(), client.client_config()) else {
        return;
    };
    let said = match c.send(scimock::entra::Outgoing::new("GET", "", None)).await {
        Ok(a) => {
            let kind = a
                .headers
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("no content type")
                .to_owned();
            format!("{} ({kind}, {} bytes)", a.status, a.body.len())
        }
        Err(e) => e.to_string(),
    };
    out.print(&format!("GET {tenant} itself answered {said}\n"));
}

/// `report` with every text the endpoint may have shaped made safe for a terminal.
fn terminal_safe(report: &Report) -> Report {
    let safe = |t: &str| scimock::entra::secrets::printable(t).into_owned();
    let mut r = report.clone();
    r.stopped = r.stopped.as_deref().map(safe);
    for s in &mut r.scenarios {
        s.skipped_because = s.skipped_because.as_deref().map(safe);
        for c in &mut s.cleanup {
            c.error = c.error.as_deref().map(safe);
        }
        for step in &mut s.steps {
            if let Some(req) = &mut step.request {
                req.target = safe(&req.target);
            }
            for f in &mut step.findings {
                f.message = safe(&f.message);
            }
        }
    }
    r
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
