//! `scimock fuzz <tenant-url>`: model-based, differential fuzzing of a SCIM endpoint
//! ([`scimock::fuzz`]); a divergence is shrunk and written to `--out` as a replay scenario.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use scimock::entra::Dialect;
use scimock::fuzz::{FuzzConfig, FuzzReport, Fuzzer, Phase};

use super::output::{
    check_paths, only, parse_report, parse_seconds, ClientArgs, DialectArg, Output, ReportArg,
    ReportKind,
};

/// Fuzz a SCIM endpoint against scimock's model with random Entra request sequences.
#[derive(Debug, Args)]
pub(crate) struct FuzzArgs {
    /// The tenant URL as entered in Entra, e.g. http://127.0.0.1:8080/scim/v2
    /// (a `?aadOptscim062020` suffix selects that dialect).
    tenant_url: String,
    #[command(flatten)]
    client: ClientArgs,
    /// The semantics the endpoint is held to (built-in id or TOML file); default
    /// entra-generic. Group steps only when the profile provisions groups.
    #[arg(long, value_name = "ID|FILE")]
    profile: Option<String>,
    /// PATCH dialect(s) the cases speak, in turn. Default: legacy, or the tenant URL's flag.
    #[arg(long, value_enum)]
    dialect: Option<DialectArg>,
    /// Seed of every generated value; the same seed sends the same requests to a
    /// deterministic endpoint. Default: a random one, printed.
    #[arg(long)]
    seed: Option<u64>,
    /// Cases (random sequences) to run at most.
    #[arg(long, default_value_t = 20)]
    cases: usize,
    /// Time the cases may take, in seconds (shrinking a divergence may take as long again).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    time: Duration,
    /// Steps per case at most.
    #[arg(long, value_name = "N", default_value_t = 30)]
    max_steps: usize,
    /// Where a minimal diverging scenario is written (`scimock replay URL
    /// --scenarios-dir DIR` replays it).
    #[arg(long, value_name = "DIR", default_value = "fuzz-scenarios")]
    out: PathBuf,
    /// Reports to write: `junit=PATH`, `json=PATH`, `html=PATH` (one self-contained page:
    /// the run, each divergence, its minimal sequence and scenario), comma-separated or
    /// repeated.
    #[arg(long, value_delimiter = ',', value_parser = parse_report)]
    report: Vec<ReportArg>,
    /// Requests per second to the endpoint at most (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 20.0)]
    rate: f64,
}

pub(crate) fn run(args: FuzzArgs) -> ExitCode {
    let out = Output::for_run(&args.tenant_url, args.client.token.as_deref());
    super::output::exit(&out, try_run(&args, &out))
}

fn try_run(args: &FuzzArgs, out: &Output) -> Result<ExitCode, String> {
    only(
        &args.report,
        &[ReportKind::Junit, ReportKind::Json, ReportKind::Html],
    )?;
    if !(args.rate.is_finite() && args.rate >= 0.0) {
        return Err(format!(
            "--rate {}: a number of requests per second, 0 or more",
            args.rate
        ));
    }
    if args.cases == 0 || args.max_steps == 0 {
        return Err("--cases and --max-steps must be at least 1".into());
    }
    check_paths(args.report.iter().map(|r| r.path.as_path()))?;
    let mut config = FuzzConfig::new(args.tenant_url.clone());
    config.client = args.client.client_config();
    config.retry = args.client.retry();
    if let Some(id) = &args.profile {
        config.profile =
            scimock::profile::Profile::resolve(id).map_err(|e| format!("--profile: {e}"))?;
    }
    config.dialects = DialectArg::dialects(args.dialect);
    config.seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    config.cases = args.cases;
    config.max_steps = args.max_steps;
    config.time = args.time;
    config.shrink_time = args.time;
    config.rate = args.rate;
    let info = super::run_info(
        &args.tenant_url,
        Some(config.profile.id().to_owned()),
        args.client.token.as_ref(),
    );
    let fuzzer = Fuzzer::new(config.clone()).map_err(|e| e.to_string())?;
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| progress_bar(args.cases));
    let fuzzer = match &bar {
        Some(bar) => {
            let bar = bar.clone();
            fuzzer.with_progress(Arc::new(move |phase, requests| match phase {
                Phase::Case { case, .. } => {
                    bar.set_position(case as u64);
                    bar.set_message(format!("case {case} · {requests} requests"));
                }
                Phase::Shrink { run, max } => {
                    bar.set_message(format!("shrinking: re-run {run} of at most {max}"));
                }
            }))
        }
        None => fuzzer,
    };
    out.eprintln(&format!(
        "fuzzing {} with seed {} ({} case(s) of at most {} steps, {} s, {})",
        args.tenant_url,
        config.seed,
        config.cases,
        config.max_steps,
        config.time.as_secs_f64(),
        dialect_names(fuzzer.dialects()),
    ));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = rt.block_on(fuzzer.run());
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = result.map_err(|e| e.to_string())?;
    print_report(out, &report);
    if !report.divergences.is_empty() {
        std::fs::create_dir_all(&args.out)
            .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
        for found in &report.divergences {
            let path = args.out.join(found.file_name());
            out.write(&path, found.scenario_json())?;
            out.print(&format!(
                "wrote {}; replay it: scimock replay {} --scenarios-dir {}\n",
                path.display(),
                args.tenant_url,
                args.out.display()
            ));
        }
    }
    for r in &args.report {
        let text = match r.kind {
            ReportKind::Junit => report.junit(),
            ReportKind::Html => scimock::report::html::fuzz(&info, &report, &args.out),
            _ => report.json(),
        };
        out.write(&r.path, text)?;
        out.eprintln(&format!(
            "wrote {} report to {}",
            r.kind.as_str(),
            r.path.display()
        ));
    }
    Ok(ExitCode::from(report.exit_code()))
}

fn dialect_names(dialects: &[Dialect]) -> String {
    let names: Vec<&str> = dialects.iter().map(|d| d.as_str()).collect();
    names.join(" and ")
}

/// The run in a few lines: what ran, and each divergence with its minimal sequence.
fn print_report(out: &Output, report: &FuzzReport) {
    let seconds = report.duration_ms as f64 / 1000.0;
    let rate = if seconds > 0.0 {
        report.steps as f64 / seconds
    } else {
        0.0
    };
    // The model's share says whether the endpoint (or the rate) or scimock set the pace.
    let model = report
        .model_percent()
        .map(|p| format!(", {p:.0} % of it in the model"))
        .unwrap_or_default();
    out.print(&format!(
        "{} case(s), {} step(s), {} request(s) in {seconds:.1} s ({rate:.0} steps/s{model}), seed {}\n",
        report.cases, report.steps, report.requests, report.seed
    ));
    if let Some(why) = &report.stopped {
        out.print(&format!("stopped: {why}\n"));
    }
    if !report.schemas_known {
        out.print("note: the endpoint's /Schemas did not say which attributes it keeps; every fuzzed attribute was compared\n");
    }
    for note in &report.notes {
        out.print(&format!("tolerated: {note}\n"));
    }
    if report.cleanup_failures > 0 {
        out.print(&format!(
            "warning: {} cleanup delete(s) failed; objects tagged by this run may be left on the endpoint\n",
            report.cleanup_failures
        ));
    }
    if report.divergences.is_empty() {
        out.print("no divergence from scimock's model\n");
        return;
    }
    for f in &report.divergences {
        let d = &f.divergence;
        out.print(&format!(
            "DIVERGENCE ({}) in case {} ({}), step {} `{}`: {}\n  {}: the endpoint answered {}, the model {}\n",
            d.kind.as_str(),
            f.case,
            f.dialect,
            d.step + 1,
            d.label,
            d.detail,
            d.request,
            d.endpoint_status,
            d.model_status,
        ));
        out.print(&format!(
            "shrunk from {} to {} step(s) in {} re-run(s){}:\n",
            f.original_len,
            f.minimal_labels.len(),
            f.shrink_runs,
            if f.confirmed {
                ", confirmed"
            } else {
                "; NOT reproduced on the confirming run (a flaky endpoint?)"
            }
        ));
        for (i, label) in f.minimal_labels.iter().enumerate() {
            out.print(&format!("  {}. {label}\n", i + 1));
        }
    }
}

/// A bar on stderr over the cases.
fn progress_bar(cases: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(cases as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("[{pos:>3}/{len}] {wide_msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
