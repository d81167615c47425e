//! `scimock provision <tenant-url> --directory FILE`: one Entra provisioning cycle (or
//! one user on demand) against a SCIM endpoint, with a portal-style summary.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use clap::{Args, ValueEnum};

use scimock::entra::Dialect;
use scimock::entra::TenantUrl;
use scimock::profile::Profile;
use scimock::provision::{
    log, AppConfig, CycleReport, Directory, Engine, Knobs, LinkChange, State, Target,
};

use super::output::{check_paths, only, parse_report, ClientArgs, Output, ReportArg, ReportKind};

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
    /// (a `?aadOptscim062020` or `?AzureAdScimPatch062020` flag selects that dialect).
    tenant_url: String,
    /// The source directory: Graph JSON `{"users", "groups", "assignments"}` or `{"value"}`.
    #[arg(long, value_name = "FILE")]
    directory: PathBuf,
    /// A built-in profile id, or a TOML file with a `[provisioning]` section (or a profile
    /// file, whose attributes get the default mappings).
    #[arg(long, value_name = "ID|FILE", default_value = "entra-generic")]
    profile: String,
    #[command(flatten)]
    client: ClientArgs,
    /// State kept between cycles; absent file = initial cycle. Written atomically after
    /// each pass of the cycle, before any report; between passes each link change goes
    /// to FILE.journal as its answer arrives, so a killed run loses no acknowledged link.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Print the request stream instead of sending it (the state file is not written).
    #[arg(long)]
    dry_run: bool,
    /// Reports: `json=PATH` (provisioningObjectSummary array), `csv=PATH` (one file; `csv=DIR/`:
    /// the portal's three files), `junit=PATH`, `html=PATH` (one self-contained page: cycle
    /// summary, quarantine, per-object logs), `requests=PATH` (the requests sent, JSON);
    /// comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_parser = parse_report)]
    report: Vec<ReportArg>,
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
        let said = e
            .provisioning_status_info
            .error_information
            .as_ref()
            .and_then(|i| i.additional_details.as_deref())
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  failed: {} '{}' ({}): {}{said}\n",
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
    if let Some(why) = &r.stopped {
        out.push_str(&format!("stopped: {why}\n"));
    }
    out
}

pub(crate) fn run(args: ProvisionArgs) -> ExitCode {
    let out = Output::for_run(&args.tenant_url, args.client.token.as_deref());
    super::output::exit(&out, try_run(&args, &out))
}

fn try_run(args: &ProvisionArgs, out: &Output) -> Result<ExitCode, String> {
    use ReportKind::{Csv, Html, Json, Junit, Requests};
    only(&args.report, &[Json, Csv, Junit, Html, Requests])?;
    let mut config = load_config(&args.profile)?;
    let tenant = TenantUrl::parse(&args.tenant_url).map_err(|e| e.to_string())?;
    match (args.dialect, tenant.flag()) {
        (Some(DialectArg::Legacy), _) => config.spec.dialect = Dialect::Legacy,
        (Some(DialectArg::AadOptscim062020), _) => config.spec.dialect = Dialect::AadOptscim062020,
        (None, Some(flag)) => config.spec.dialect = flag,
        (None, None) => {}
    }
    let config = AppConfig::from_spec(config.spec).map_err(|e| e.to_string())?;
    if args.print_config {
        out.print(&config.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    let dir = std::fs::read_to_string(&args.directory)
        .map_err(|e| e.to_string())
        .and_then(|t| Directory::from_json(&t).map_err(|e| e.to_string()))
        .map_err(|e| format!("{}: {e}", args.directory.display()))?;
    let mut state = load_state(args.state.as_deref(), out)?;
    // Every path is checked before a request is sent: an unwritable report must not cost
    // the cycle's state.
    let state_path = args.state.as_deref().filter(|_| !args.dry_run);
    check_paths(
        args.report
            .iter()
            .filter(|r| !(r.kind == Csv && is_directory(&r.path)))
            .map(|r| r.path.as_path())
            .chain(state_path),
    )?;
    let has = |kind: ReportKind| args.report.iter().any(|r| r.kind == kind);
    let knobs = Knobs {
        allow_deletes: args.allow_deletes,
        members_per_patch: args.members_per_patch.max(1),
        concurrency: args.concurrency.max(1),
        record_requests: args.dry_run || has(Requests),
        keep_entries: args.report.iter().any(|r| r.kind != Requests),
        retry: args.client.retry(),
        max_timeouts: args.client.max_timeouts,
        ..Knobs::default()
    };
    let mut info = super::run_info(
        tenant.base(),
        Some(args.profile.clone()),
        args.client.token.as_ref(),
    );
    info.dialect = Some(config.dialect().as_str().to_owned());
    let progress = std::sync::Arc::new(super::progress::CycleProgress::for_stderr());
    let mut engine = Engine::new(config)
        .with_knobs(knobs)
        .with_progress(progress.clone());
    let target = if args.dry_run {
        Target::dry_run()
    } else {
        Target::new(tenant.base(), args.client.client_config())
            .map_err(|e| format!("https: {e}"))?
    };
    let journal = match state_path {
        Some(path) => Some(Arc::new(LinkJournal::open(path, out)?)),
        None => None,
    };
    if let (Some(path), Some(journal)) = (state_path, &journal) {
        // A cycle cut short (killed, a closed terminal) never forgets the link of a
        // request the endpoint acknowledged: each goes to the journal as its answer
        // arrives, and the state is written whole after every pass, which empties it.
        let path = path.to_path_buf();
        let saver = out.clone();
        let emptied = journal.clone();
        engine = engine.with_checkpoint(Arc::new(move |state: &State| {
            match saver.write(&path, state.to_json()) {
                Ok(()) => emptied.clear(),
                Err(e) => saver.eprintln(&format!("error: {e}")),
            }
        }));
        let appender = journal.clone();
        engine = engine.with_journal(Arc::new(move |change: &LinkChange| {
            appender.append(change);
        }));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    out.eprintln(&format!(
        "provisioning {} from {} …",
        if args.dry_run {
            "(dry run)".to_owned()
        } else {
            tenant.to_string()
        },
        args.directory.display()
    ));
    let report = match &args.on_demand {
        Some(id) => runtime
            .block_on(engine.on_demand(&target, &dir, &mut state, id))
            .map_err(|e| e.to_string())?,
        None => runtime.block_on(engine.run_cycle(&target, &dir, &mut state)),
    };
    progress.finish();
    // The state first: nothing after this (a closed stdout, a report) can lose it.
    if let Some(p) = state_path {
        out.write(p, state.to_json())?;
        if let Some(journal) = &journal {
            journal.remove();
        }
    }
    if args.dry_run {
        for r in &report.requests {
            out.print(&format!("{}\n", r.line()));
        }
    }
    out.print(&summary(&report, args.on_demand.is_some()));
    // The diagnosis replay and validate give, in their words.
    if report.unreachable {
        let why = report
            .stopped
            .as_deref()
            .unwrap_or("no request reached the endpoint");
        out.eprintln(&format!(
            "error: {}",
            scimock::replay::report::unreachable_hint(why, &args.tenant_url)
        ));
    } else if report.all_not_found() {
        out.print(&format!(
            "{}\n",
            scimock::replay::report::not_found_hint(&args.tenant_url)
        ));
        runtime.block_on(super::replay::say_what_the_root_answers(
            out,
            &args.tenant_url,
            &args.client,
        ));
    }
    for r in &args.report {
        if r.kind == Csv && is_directory(&r.path) {
            write_portal_csv(out, &r.path, &report.entries)?;
            continue;
        }
        let text = match r.kind {
            Json => serde_json::to_string_pretty(&report.entries).unwrap_or_default(),
            Csv => log::csv(&report.entries),
            Junit => log::junit(&report.entries),
            Html => scimock::report::html::provision(&info, &report, args.on_demand.is_some()),
            Requests => serde_json::to_string_pretty(&report.requests).unwrap_or_default(),
        };
        out.write(&r.path, text)?;
    }
    Ok(if report.unreachable {
        // The endpoint never answered: unreachable, like replay's and validate's exit 2.
        ExitCode::from(2)
    } else if report.stats.failed > 0 || report.quarantine.is_some() || report.stopped.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The state to start from: the state file (absent: the initial cycle) with its journal
/// folded in, which holds the links a killed run made after its last checkpoint.
fn load_state(path: Option<&Path>, out: &Output) -> Result<State, String> {
    let Some(path) = path else {
        return Ok(State::default());
    };
    let mut state = if path.exists() {
        std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| State::from_json(&t).map_err(|e| e.to_string()))
            .map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        State::default()
    };
    let journal = LinkJournal::path_for(path);
    let text = match std::fs::read_to_string(&journal) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(state),
        Err(e) => return Err(format!("cannot read {}: {e}", journal.display())),
    };
    let applied = state
        .fold_journal(&text)
        .map_err(|e| format!("{}: {e}", journal.display()))?;
    if applied > 0 {
        out.eprintln(&format!(
            "{applied} link changes recovered from {} (the last run ended before writing its state)",
            journal.display()
        ));
    }
    Ok(state)
}

/// `--state FILE`'s link journal, `FILE.journal`: each link change as one JSON line,
/// appended as its answer arrives, emptied when the state file is written, removed at the
/// end of a run (the design and its reasons: the `scimock::provision` state module, "A kill
/// between checkpoints").
#[derive(Debug)]
struct LinkJournal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    out: Output,
    /// A write failed (a full disk, say): said once, not once per line.
    failed: AtomicBool,
}

impl LinkJournal {
    fn path_for(state: &Path) -> PathBuf {
        let mut path = state.as_os_str().to_owned();
        path.push(".journal");
        PathBuf::from(path)
    }

    /// Opens the journal for appending (created when missing), before anything is sent: a
    /// journal that cannot be written is a usage error, like an unwritable state file.
    fn open(state: &Path, out: &Output) -> Result<LinkJournal, String> {
        let path = Self::path_for(state);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(LinkJournal {
            path,
            file: Mutex::new(file),
            out: out.clone(),
            failed: AtomicBool::new(false),
        })
    }

    /// One line in one `write`: a kill leaves it whole, or cut at its end (which loading
    /// skips). Scrubbed like everything that leaves the process.
    fn append(&self, change: &LinkChange) {
        let Ok(json) = serde_json::to_string(change) else {
            return;
        };
        let mut line = self.out.scrub(json);
        line.push('\n');
        let written = match self.file.lock() {
            Ok(mut file) => file.write_all(line.as_bytes()),
            Err(_) => return,
        };
        if let Err(e) = written {
            self.failed_once(&e);
        }
    }

    /// The state file now holds every line: start over.
    fn clear(&self) {
        let emptied = match self.file.lock() {
            Ok(file) => file.set_len(0),
            Err(_) => return,
        };
        if let Err(e) = emptied {
            self.failed_once(&e);
        }
    }

    /// The run's state is written: no journal is left behind (one left would be folded
    /// into the next run's state again, which changes nothing but an escrow the end of the
    /// cycle pruned).
    fn remove(&self) {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => self.out.eprintln(&format!(
                "warning: cannot remove {}: {e}",
                self.path.display()
            )),
            _ => {}
        }
    }

    fn failed_once(&self, e: &std::io::Error) {
        if !self.failed.swap(true, Ordering::Relaxed) {
            self.out.eprintln(&format!(
                "error: cannot write {}: {e} (links are kept only when the state is written, after each pass)",
                self.path.display()
            ));
        }
    }
}

/// `csv=DIR/` (a trailing slash, or an existing directory) asks for the portal's download.
fn is_directory(path: &Path) -> bool {
    path.is_dir() || path.as_os_str().to_string_lossy().ends_with(['/', '\\'])
}

/// The portal's three CSV files, written into `dir` (created when missing).
fn write_portal_csv(out: &Output, dir: &Path, entries: &[log::Entry]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, text) in log::portal_csv(entries) {
        out.write(&dir.join(name), text)?;
    }
    Ok(())
}
