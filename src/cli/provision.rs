//! `scimock provision <tenant-url> --directory FILE`: one Entra provisioning cycle (or
//! one user on demand) against a SCIM endpoint, with a portal-style summary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use scimock::profile::Profile;
use scimock::provision::{
    log, AppConfig, CycleReport, Dialect, Directory, Engine, Knobs, State, Target,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DialectArg {
    Legacy,
    #[value(name = "aadOptscim062020")]
    AadOptscim062020,
}

/// Run one Entra provisioning cycle against a SCIM endpoint.
#[derive(Debug, Args)]
pub(crate) struct ProvisionArgs {
    /// The tenant URL as entered in Entra, e.g. http://127.0.0.1:8080/scim/v2
    /// (a `?aadOptscim062020` suffix selects that dialect).
    tenant_url: String,
    /// The source directory: Graph JSON `{"users", "groups", "assignments"}` or `{"value"}`.
    #[arg(long, value_name = "FILE")]
    directory: PathBuf,
    /// A built-in profile id, or a TOML file with a `[provisioning]` section (or a profile
    /// file, whose attributes get the default mappings).
    #[arg(long, value_name = "ID|FILE", default_value = "entra-generic")]
    profile: String,
    /// Bearer token for the endpoint.
    #[arg(long, env = "SCIMOCK_TOKEN")]
    token: Option<String>,
    #[command(flatten)]
    tls: super::TlsArgs,
    /// State kept between cycles; absent file = initial cycle. Written after the cycle.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Print the request stream instead of sending it (the state file is not written).
    #[arg(long)]
    dry_run: bool,
    /// Reports: `json=PATH` (provisioningObjectSummary array), `csv=PATH` (one file; `csv=DIR/`:
    /// the portal's three files), `junit=PATH`, `html=PATH` (one self-contained page: cycle
    /// summary, quarantine, per-object logs), `requests=PATH` (the requests sent, JSON);
    /// comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    report: Vec<String>,
    /// Run only this user (directory id) through the on-demand steps.
    #[arg(long, value_name = "USER_ID")]
    on_demand: Option<String>,
    /// PATCH dialect; default: the config's, or the tenant URL's flag.
    #[arg(long, value_enum)]
    dialect: Option<DialectArg>,
    /// Execute deletions above the accidental-deletion threshold ("Allow deletes").
    #[arg(long)]
    allow_deletes: bool,
    /// Members per membership PATCH.
    #[arg(long, default_value_t = 100)]
    members_per_patch: usize,
    /// Requests in flight at once within a pass (1 = a strict sequence; dry runs use 1).
    #[arg(long, value_name = "N", default_value_t = scimock::provision::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Print the effective `[provisioning]` configuration and exit.
    #[arg(long)]
    print_config: bool,
}

fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn load_config(profile: &str) -> Result<AppConfig, String> {
    let path = Path::new(profile);
    if !path.exists() {
        return Profile::builtin(profile)
            .map(|p| AppConfig::for_profile(&p))
            .map_err(|e| e.to_string());
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{profile}: {e}"))?;
    match AppConfig::from_toml(&text) {
        Ok(c) => Ok(c),
        Err(scimock::provision::ConfigError::Missing) => Profile::from_toml(&text, profile)
            .map(|p| AppConfig::for_profile(&p))
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("{profile}: {e}")),
    }
}

/// The summary block, like the portal's "Current status" and cycle statistics.
fn summary(r: &CycleReport, on_demand: bool) -> String {
    let s = &r.stats;
    let kind = if on_demand {
        "on-demand"
    } else if r.initial {
        "initial"
    } else {
        "incremental"
    };
    let mut out = format!(
        "{kind} cycle {}: {} processed, {} created, {} updated, {} disabled, {} deleted, {} skipped, {} failed",
        r.cycle_id, s.processed, s.created, s.updated, s.disabled, s.deleted, s.skipped, s.failed
    );
    if s.staged > 0 {
        out.push_str(&format!(", {} staged", s.staged));
    }
    out.push_str(&format!("; {} requests\n", r.sent));
    for e in r
        .entries
        .iter()
        .filter(|e| e.status() == log::Status::Failure)
    {
        out.push_str(&format!(
            "  failed: {} '{}' ({}): {}\n",
            e.source_identity.identity_type,
            e.source_identity.display_name,
            e.source_identity.id,
            e.error_code().unwrap_or("")
        ));
    }
    match &r.quarantine {
        Some(q) => out.push_str(&format!("quarantine: {} ({})\n", q.reason, q.rule)),
        None if r.escrows_pruned => out.push_str(
            "quarantine: none (escrow threshold reached in the initial cycle: escrows pruned)\n",
        ),
        None => out.push_str("quarantine: none\n"),
    }
    out
}

pub(crate) fn run(args: ProvisionArgs) -> ExitCode {
    let mut reports = Vec::new();
    for r in &args.report {
        match r.split_once('=') {
            Some((kind @ ("json" | "csv" | "junit" | "html" | "requests"), path))
                if !path.is_empty() =>
            {
                reports.push((kind.to_owned(), PathBuf::from(path)))
            }
            _ => {
                return usage(&format!(
                "--report `{r}`: use json=PATH, csv=PATH, junit=PATH, html=PATH or requests=PATH"
            ))
            }
        }
    }
    let mut config = match load_config(&args.profile) {
        Ok(c) => c,
        Err(e) => return usage(&e),
    };
    let (base, flag) = match args.tenant_url.split_once('?') {
        Some((b, q)) => (
            b.to_owned(),
            q.split('&')
                .any(|p| p.eq_ignore_ascii_case("aadOptscim062020")),
        ),
        None => (args.tenant_url.clone(), false),
    };
    match (args.dialect, flag) {
        (Some(DialectArg::Legacy), _) => config.spec.dialect = Dialect::Legacy,
        (Some(DialectArg::AadOptscim062020), _) | (None, true) => {
            config.spec.dialect = Dialect::AadOptscim062020
        }
        (None, false) => {}
    }
    let config = match AppConfig::from_spec(config.spec) {
        Ok(c) => c,
        Err(e) => return usage(&e.to_string()),
    };
    if args.print_config {
        print!("{}", config.to_toml());
        return ExitCode::SUCCESS;
    }
    let dir = match std::fs::read_to_string(&args.directory) {
        Ok(t) => match Directory::from_json(&t) {
            Ok(d) => d,
            Err(e) => return usage(&format!("{}: {e}", args.directory.display())),
        },
        Err(e) => return usage(&format!("{}: {e}", args.directory.display())),
    };
    let mut state = match &args.state {
        Some(p) if p.exists() => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| State::from_json(&t).map_err(|e| e.to_string()))
        {
            Ok(s) => s,
            Err(e) => return usage(&format!("{}: {e}", p.display())),
        },
        _ => State::default(),
    };
    let knobs = Knobs {
        allow_deletes: args.allow_deletes,
        members_per_patch: args.members_per_patch.max(1),
        concurrency: args.concurrency.max(1),
        record_requests: args.dry_run || reports.iter().any(|(k, _)| k == "requests"),
        keep_entries: reports.iter().any(|(k, _)| k != "requests"),
        ..Knobs::default()
    };
    let mut info = super::run_info(&base, Some(args.profile.clone()), args.token.as_ref());
    info.dialect = Some(
        match config.dialect() {
            Dialect::Legacy => "legacy",
            Dialect::AadOptscim062020 => "aadOptscim062020",
        }
        .to_owned(),
    );
    let progress = std::sync::Arc::new(super::progress::CycleProgress::for_stderr());
    let engine = Engine::new(config)
        .with_knobs(knobs)
        .with_progress(progress.clone());
    let target = if args.dry_run {
        Target::dry_run()
    } else {
        match Target::with_tls(&base, args.token.clone(), &args.tls.client_tls()) {
            Ok(t) => t,
            Err(e) => return usage(&format!("https: {e}")),
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage(&format!("cannot start the runtime: {e}")),
    };
    eprintln!(
        "provisioning {} from {} …",
        if args.dry_run {
            "(dry run)"
        } else {
            base.as_str()
        },
        args.directory.display()
    );
    let report = match &args.on_demand {
        Some(id) => match runtime.block_on(engine.on_demand(&target, &dir, &mut state, id)) {
            Ok(r) => r,
            Err(e) => return usage(&e.to_string()),
        },
        None => runtime.block_on(engine.run_cycle(&target, &dir, &mut state)),
    };
    progress.finish();
    if args.dry_run {
        for r in &report.requests {
            println!("{}", r.line());
        }
    }
    print!("{}", summary(&report, args.on_demand.is_some()));
    for (kind, path) in &reports {
        if kind == "csv" && is_directory(path) {
            if let Err(e) = write_portal_csv(path, &report.entries) {
                eprintln!("error: writing {}: {e}", path.display());
                return ExitCode::from(2);
            }
            continue;
        }
        let text = match kind.as_str() {
            "json" => serde_json::to_string_pretty(&report.entries).unwrap_or_default(),
            "csv" => log::csv(&report.entries),
            "junit" => log::junit(&report.entries),
            "html" => scimock::report::html::provision(&info, &report, args.on_demand.is_some()),
            _ => serde_json::to_string_pretty(&report.requests).unwrap_or_default(),
        };
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: writing {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let (Some(p), false) = (&args.state, args.dry_run) {
        if let Err(e) = std::fs::write(p, state.to_json()) {
            eprintln!("error: writing {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    if report.stats.failed > 0 || report.quarantine.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `csv=DIR/` (a trailing slash, or an existing directory) asks for the portal's download.
fn is_directory(path: &Path) -> bool {
    path.is_dir() || path.as_os_str().to_string_lossy().ends_with(['/', '\\'])
}

/// The portal's three CSV files, written into `dir` (created when missing).
fn write_portal_csv(dir: &Path, entries: &[log::Entry]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in log::portal_csv(entries) {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}
