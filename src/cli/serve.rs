//! `scimock serve`: flags → [`scimock::MockServerBuilder`] (one profile, or several
//! `--tenant`s under their own path prefixes), start-up banner (defaults,
//! base URL, token, a ready-to-paste curl), signal handling (Ctrl-C / SIGTERM → graceful
//! shutdown) and the optional `--state` database (SQLite; every acknowledged write is
//! committed before its answer: `scimock::store::durable`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde_json::Value;

use scimock::profile::Profile;
use scimock::server::FaultRule;
use scimock::server::Seed;
use scimock::MockServer;

/// The built-in demo data: 5 users, 2 groups.
const DEMO: &str = include_str!("demo.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StateSync {
    Normal,
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// Run the SCIM 2.0 mock server.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on, `IP:PORT` (port 0 picks a free one; see --port-file).
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: SocketAddr,
    /// Write the port actually listened on to this file once listening (with
    /// `--listen 127.0.0.1:0`, for scripts).
    #[arg(long, value_name = "FILE")]
    port_file: Option<PathBuf>,
    /// Serve https with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Bearer token clients must send (default: a random token, printed at start).
    #[arg(long, conflicts_with = "no_auth")]
    token: Option<String>,
    /// Accept requests without a token.
    #[arg(long)]
    no_auth: bool,
    /// Vendor profile: a built-in id (`scimock profiles list`) or a profile TOML file.
    #[arg(long, default_value = scimock::profile::DEFAULT_PROFILE)]
    profile: String,
    /// Multi-tenant mode: `id=profile[:token]`, repeatable. Each tenant is served under
    /// `/<id>` plus its profile's base path, with its own store and token; no seed data.
    /// A token given here is always required, even by a profile with `auth = "none"`.
    #[arg(long = "tenant", value_name = "ID=PROFILE[:TOKEN]", conflicts_with_all = ["seed", "state", "token"])]
    tenants: Vec<String>,
    /// Seed data file: {"Users": [...], "Groups": [...]} (default: built-in demo data).
    #[arg(long)]
    seed: Option<PathBuf>,
    /// State database (SQLite, WAL): loaded at start if present (else filled from --seed);
    /// every acknowledged write is committed to it before the answer is sent. A JSON state
    /// file from an older scimock is refused: convert it with `scimock state import`.
    #[arg(long)]
    state: Option<PathBuf>,
    /// How state commits reach the disk: `normal` survives the process being killed,
    /// `full` also survives power loss (an fsync per commit).
    #[arg(long, value_enum, default_value = "normal", requires = "state")]
    state_sync: StateSync,
    /// SCIM base path (default: the profile's, `/scim/v2` for most).
    #[arg(long)]
    base_path: Option<String>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body: usize,
    /// Requests kept in the journal (GET /_mock/requests).
    #[arg(long, default_value_t = 1000)]
    journal_size: usize,
    /// Bytes the journal may keep (bodies over 64 KiB keep their start and a
    /// `…[truncated: N bytes]` marker; the oldest entries go first).
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    journal_bytes: usize,
    /// Seconds a client has to send a whole request body once its head is in; slower
    /// bodies get 408 and the connection is closed.
    #[arg(long, default_value_t = 30.0)]
    body_timeout: f64,
    /// Disable /_mock/requests, /_mock/reset and /_mock/health.
    #[arg(long)]
    no_admin: bool,
    /// Refuse Entra's non-RFC PATCH forms (PascalCase ops, "True"/"False" strings, members
    /// removed by value list, dotted keys, manager as a string…) with a detail naming the
    /// quirk; same as `patch_dialect = "rfc"` in the profile.
    #[arg(long)]
    strict_rfc: bool,
    /// Open connections served at once; one more gets 503 and is closed.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Seconds a client has to send a complete request head (slowloris protection).
    #[arg(long, default_value_t = 10.0)]
    header_timeout: f64,
    /// Fault rule, repeatable: `'PATCH /Groups/* status=429 retry-after=2 every=3'`
    /// (syntax in the README, "Testing your client against failures"). With `--tenant`,
    /// every tenant gets every rule, each with its own counters.
    #[arg(long = "fault", value_name = "RULE")]
    faults: Vec<String>,
    /// File of fault rules: one rule per line; blank lines and lines starting with `#`
    /// are ignored.
    #[arg(long = "faults", value_name = "FILE")]
    faults_file: Option<PathBuf>,
    /// Seed for `p=` fault triggers and latency ranges: same seed, same faults.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// Log line format.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// `--listen`: a socket address; a bare port gets a suggestion instead of a parse error.
pub(crate) fn parse_listen(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(port) = value.trim().parse::<u16>() {
        return Err(format!(
            "`{value}` is a port, not an address: use 127.0.0.1:{port} (this machine only) or 0.0.0.0:{port} (every interface)"
        ));
    }
    Err(format!(
        "`{value}` is not IP:PORT, e.g. 127.0.0.1:8080 or [::1]:8080"
    ))
}

/// The fault rules from `--fault` and `--faults FILE`, each checked; the first error is
/// the parser's message.
fn fault_rules(args: &ServeArgs) -> Result<Vec<String>, String> {
    let mut rules = args.faults.clone();
    if let Some(path) = &args.faults_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        rules.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    for rule in &rules {
        FaultRule::parse(rule).map_err(|e| e.to_string())?;
    }
    Ok(rules)
}

/// Log lines go through a channel to one writer thread that batches them into few
/// `write(2)`s (a locked, unbuffered stderr write per request cost ~8 % of a GET's CPU).
/// Lossless: a full channel makes the request wait instead of dropping its line. The
/// returned guard flushes on drop.
fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(Linger(std::io::BufWriter::new(std::io::stderr())));
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    guard
}

/// How long the log writer rests after each batch it writes.
const LOG_LINGER: std::time::Duration = std::time::Duration::from_millis(2);

/// The log writer's sink: after writing a batch it rests for [`LOG_LINGER`], so lines
/// queue up and go out together. Without the rest, the writer thread woke for nearly every
/// request line under load (a futex wake, a context switch and a `write(2)` per request,
/// on cores the request handlers need); with it, it wakes at most ~500 times a second.
/// A line reaches stderr at most ~2 ms later than it would have, and the guard still
/// flushes everything at exit.
struct Linger<W: std::io::Write>(W);

impl<W: std::io::Write> std::io::Write for Linger<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = self.0.flush();
        std::thread::sleep(LOG_LINGER);
        flushed
    }
}

/// A seed or state file as JSON text (syntax checked here, loaded by the store one
/// resource at a time: never one big `Value`).
fn read_json(path: &Path) -> Result<Seed, String> {
    // Checked as a stream and handed over as a path: the server streams it again while
    // it loads, so the file's text is never held (~450 MB at 1,000,000 users).
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let checked: Option<serde::de::IgnoredAny> =
        serde_json::from_reader(std::io::BufReader::with_capacity(1 << 16, file)).map_err(|e| {
            match e.classify() {
                serde_json::error::Category::Io => format!("cannot read {}: {e}", path.display()),
                _ => format!("{} is not valid JSON: {e}", path.display()),
            }
        })?;
    Ok(match checked {
        None => Seed::Json(Value::Null),
        Some(_) => Seed::File(path.to_owned()),
    })
}

/// `id=profile[:token]`.
fn parse_tenant(arg: &str) -> Result<(String, Profile, Option<String>), String> {
    let (id, rest) = arg
        .split_once('=')
        .ok_or_else(|| format!("--tenant `{arg}`: expected ID=PROFILE[:TOKEN]"))?;
    let (profile, token) = match rest.split_once(':') {
        Some((p, t)) => (p, Some(t.to_owned())),
        None => (rest, None),
    };
    let profile = Profile::resolve(profile).map_err(|e| format!("--tenant `{id}`: {e}"))?;
    Ok((id.to_owned(), profile, token))
}

pub(crate) fn run(args: ServeArgs) -> ExitCode {
    // One error path (ruff's `main`): a usage or start-up error is one line and exit 2.
    super::output::exit(&super::output::Output::default(), try_run(args))
}

fn try_run(args: ServeArgs) -> Result<ExitCode, String> {
    let _log_flush = init_logging(args.log_format);
    let faults = match fault_rules(&args) {
        Ok(f) => f,
        Err(e) => {
            return Err(e.to_string());
        }
    };
    let profile = match Profile::resolve(&args.profile) {
        Ok(p) if args.strict_rfc => p.strict_rfc(),
        Ok(p) => p,
        Err(e) => {
            return Err(e.to_string());
        }
    };
    let mut tenants = Vec::new();
    for t in &args.tenants {
        match parse_tenant(t) {
            Ok((id, p, token)) if args.strict_rfc => tenants.push((id, p.strict_rfc(), token)),
            Ok(t) => tenants.push(t),
            Err(e) => {
                return Err(e.to_string());
            }
        }
    }
    // A token given on the command line is enforced (even over a profile's
    // `auth = "none"`); asking for none at the same time is a contradiction.
    if args.no_auth {
        if let Some((id, ..)) = tenants.iter().find(|(_, _, token)| token.is_some()) {
            return Err(format!(
                "--no-auth conflicts with the token given in --tenant {id}=PROFILE:TOKEN; \
                 drop one of them"
            ));
        }
    }
    let (data, source) = match (&args.state, &args.seed) {
        (_, Some(seed)) => (read_json(seed), format!("seed file {}", seed.display())),
        (Some(state), None) => (
            Ok(Seed::Json(Value::Null)),
            format!("state database {} (empty if new)", state.display()),
        ),
        (None, None) if !tenants.is_empty() => {
            (Ok(Seed::Json(Value::Null)), "empty (tenants)".to_owned())
        }
        // The demo data is entra-generic's; a vendor profile starts empty.
        (None, None) if profile.id() != scimock::profile::DEFAULT_PROFILE => (
            Ok(Seed::Json(Value::Null)),
            format!("empty (profile {})", profile.id()),
        ),
        (None, None) => (
            serde_json::from_str(DEMO)
                .map(Seed::Json)
                .map_err(|e| e.to_string()),
            "built-in demo data (5 users, 2 groups)".to_owned(),
        ),
    };
    let data = match data {
        Ok(d) => d,
        Err(e) => {
            return Err(e.to_string());
        }
    };
    if !(args.header_timeout.is_finite() && args.header_timeout > 0.0) {
        return Err("--header-timeout must be a positive number of seconds".to_owned());
    }
    let header_timeout = args.header_timeout.min(3600.0);
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match scimock::tls::ServerTls::from_pem_files(cert, key) {
            Ok(tls) => Some(tls),
            Err(e) => {
                return Err(format!("--tls-cert/--tls-key: {e}"));
            }
        },
        _ => None,
    };
    if !(args.body_timeout.is_finite() && args.body_timeout > 0.0) {
        return Err("--body-timeout must be a positive number of seconds".to_owned());
    }
    let body_timeout = Duration::from_secs_f64(args.body_timeout.min(3600.0));
    let mut builder = MockServer::builder()
        .listen(args.listen)
        .profile(profile)
        .max_body(args.max_body)
        .journal_size(args.journal_size)
        .journal_bytes(args.journal_bytes)
        .body_timeout(body_timeout)
        .admin(!args.no_admin)
        .workers(std::thread::available_parallelism().map_or(2, usize::from))
        .max_connections(args.max_connections)
        .header_read_timeout(Duration::from_secs_f64(header_timeout))
        .fault_seed(args.fault_seed);
    for rule in &faults {
        builder = builder.fault(rule);
    }
    if let Some(tls) = tls {
        builder = builder.tls(tls);
    }
    if let Some(base) = &args.base_path {
        builder = builder.base_path(base);
    }
    for (id, profile, token) in tenants {
        builder = builder.tenant(&id, profile, token);
    }
    if !data.is_null() {
        builder = builder.seed(data);
    }
    if let Some(path) = &args.state {
        let sync = match args.state_sync {
            StateSync::Normal => scimock::store::durable::Sync::Normal,
            StateSync::Full => scimock::store::durable::Sync::Full,
        };
        builder = builder.state(path, sync);
    }
    builder = match (&args.token, args.no_auth) {
        (_, true) => builder.no_auth(),
        (Some(t), false) => builder.token(t.clone()),
        (None, false) => builder,
    };
    let server = builder.try_start().map_err(|e| e.to_string())?;
    banner(&args, &server, &source);
    if let Some(path) = &args.port_file {
        let port = format!("{}\n", server.address().port());
        if let Err(e) = scimock::files::atomic_write(path, port.as_bytes()) {
            return Err(format!("--port-file {}: {e}", path.display()));
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the signal runtime: {e}"))?;
    runtime.block_on(super::stop_signal());
    tracing::info!("shutting down");
    drop(server);
    Ok(ExitCode::SUCCESS)
}

/// The banner's example request: a filter on a user that exists, else the user list.
/// The banner's example request: a filter on the first user's `userName`. Reads one page
/// of one user, never the whole store (exporting 100,000 users to find one name cost
/// ~600 MB of transient memory and seconds of start-up).
fn try_path(store: &scimock::store::Store) -> String {
    let query = scimock::store::Query {
        count: 1,
        ..Default::default()
    };
    let first = store
        .list(scimock::scim::ResourceKind::User, &query)
        .ok()
        .and_then(|page| page.resources.into_iter().next());
    match first
        .as_ref()
        .and_then(|u| u.get("userName"))
        .and_then(Value::as_str)
    {
        Some(name) => {
            let quoted = format!("\"{name}\"");
            let value: String = form_urlencoded::byte_serialize(quoted.as_bytes()).collect();
            format!("/Users?filter=userName+eq+{value}")
        }
        None => "/Users".to_owned(),
    }
}

fn banner(args: &ServeArgs, server: &MockServer, source: &str) {
    let auth = match (args.no_auth, &args.token) {
        (true, _) => "none (--no-auth)",
        (false, _) if !args.tenants.is_empty() => "per tenant (below)",
        (false, Some(_)) => "bearer token (--token)",
        (false, None) => "bearer token (random)",
    };
    println!("scimock serve");
    println!("  listen        {}", server.address());
    if args.tenants.is_empty() {
        println!("  profile       {}", server.profile().id());
        let dialect = match server.profile().spec().patch_dialect {
            scimock::patch::Dialect::Rfc => "rfc (Entra's PATCH quirks refused)",
            scimock::patch::Dialect::Entra => "entra (legacy and aadOptscim062020 accepted)",
        };
        println!("  patch         {dialect}");
    }
    println!("  auth          {auth}");
    println!("  max body      {} bytes", args.max_body);
    println!("  journal size  {}", args.journal_size);
    println!(
        "  admin routes  {}",
        if args.no_admin {
            "off"
        } else {
            "/_mock/requests, /_mock/reset, /_mock/health, /_mock/faults"
        }
    );
    let faults = server.faults();
    if faults.is_empty() {
        println!("  faults        none");
    } else {
        println!("  faults        seed {}", args.fault_seed);
        for f in &faults {
            println!("    #{}  {}", f.id, f.rule);
        }
    }
    println!("  data          {source}");
    println!(
        "  state file    {}",
        args.state
            .as_ref()
            .map_or("none".into(), |p| p.display().to_string())
    );
    println!("  log format    {:?}", args.log_format);
    println!();
    if !args.tenants.is_empty() {
        for id in server.tenant_ids() {
            let url = server.tenant(id).map(|t| t.base_url()).unwrap_or_default();
            let token = server
                .tenant(id)
                .and_then(|t| t.token())
                .unwrap_or("(none)");
            println!("Tenant {id}:  {url}  token {token}");
        }
        return;
    }
    println!("SCIM base URL:  {}", server.base_url());
    let auth_header = match server.token() {
        Some(t) => {
            println!("Bearer token:   {t}");
            format!("-H 'Authorization: Bearer {t}' ")
        }
        None => String::new(),
    };
    let tls = match &args.tls_cert {
        Some(cert) => format!("--cacert '{}' ", cert.display()),
        None => String::new(),
    };
    println!(
        "Try:            curl -s {tls}{auth_header}'{}{}'",
        server.base_url(),
        try_path(&server.store())
    );
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::Linger;

    /// The log sink passes every byte through, and its flush reaches the inner writer
    /// (the rest only delays the writer thread's next batch).
    #[test]
    fn the_log_sink_keeps_every_line_and_flushes_through() {
        let mut sink = Linger(std::io::BufWriter::new(Vec::new()));
        sink.write_all(b"one\n").unwrap();
        sink.write_all(b"two\n").unwrap();
        assert!(sink.0.get_ref().is_empty(), "buffered until flushed");
        sink.flush().unwrap();
        assert_eq!(sink.0.get_ref().as_slice(), b"one\ntwo\n");
    }
}
