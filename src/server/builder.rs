//! [`MockServerBuilder`]: configuration, start-up, and the assembly of each tenant's
//! state (store, journal, settings, fault rules) from its profile. The server runs on a
//! tokio runtime of scimock's, never the caller's (see `runtime.rs` and
//! docs/adr/0001-mock-server-runtime.md), so it works from sync tests and from any
//! runtime, including `#[tokio::test]`'s current-thread one.

use std::net::SocketAddr;
use std::sync::Arc;

use super::faults::{FaultError, FaultRule, Faults};
use super::journal::Journal;
use super::listener::Limits;
use super::mock_server::MockServer;
use super::runtime::Running;
use super::{Mount, Settings, Shared};
use crate::clock::{Clock, IdGenerator, RandomIds, SystemClock};
use crate::profile::{AuthScheme, Profile};
use crate::scim::ResourceKind;
use crate::store::Store;
use serde_json::Value;

/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// An unknown or invalid profile (the detail lists the built-in ones).
    #[error("{0}")]
    UnknownProfile(String),
    /// Two tenants with one id, or an id that is not one path segment.
    #[error("tenant `{0}`: ids must be unique, non-empty, and contain no `/`")]
    BadTenant(String),
    #[error("invalid seed data: {0}")]
    Seed(crate::Error),
    /// A fault rule given to [`MockServerBuilder::fault`] that does not parse.
    #[error("{0}")]
    Fault(FaultError),
    #[error("cannot start the server: {0}")]
    Runtime(std::io::Error),
    /// The `--state` database cannot be used (see [`crate::store::durable`]).
    #[error("{0}")]
    State(crate::store::durable::DurableError),
}

/// Seed data for [`MockServerBuilder::seed`]: a value, JSON text, or a file. Text and
/// files are loaded one resource at a time and never held as one `Value`; a file is read
/// as a stream, so not even its text is held (what `scimock serve --seed` uses).
#[derive(Debug, Clone, PartialEq)]
pub enum Seed {
    Json(Value),
    Text(bytes::Bytes),
    /// A seed file, read when the server starts.
    File(std::path::PathBuf),
}

impl Seed {
    /// A `null` value: no seed at all.
    pub fn is_null(&self) -> bool {
        matches!(self, Seed::Json(Value::Null))
    }
}

impl From<Value> for Seed {
    fn from(v: Value) -> Seed {
        Seed::Json(v)
    }
}

/// One tenant of a multi-tenant server: its id (the path prefix), profile and token.
#[derive(Debug, Clone)]
struct TenantSpec {
    id: String,
    profile: Arc<Profile>,
    token: Option<String>,
}

/// Configures a [`MockServer`]. Defaults: 127.0.0.1:0, the profile's base path
/// (`/scim/v2`), a random token, profile `entra-generic`, journal of 1000, 1 MiB bodies,
/// admin routes on, system clock, random 20-hex-digit ids, no seed data, one tenant.
///
/// ```
/// use serde_json::json;
///
/// let server = scimock::MockServer::builder()
///     .token("secret")
///     .profile_id("servicely")
///     .seed(json!({"Users": [{"userName": "bjensen@example.com"}], "Groups": []}))
///     .fault("GET /Users filter=userName status=503 nth=1")
///     .start_blocking();
/// assert_eq!(server.users().len(), 1);
/// assert_eq!(server.faults().len(), 1);
/// ```
#[derive(Debug)]
pub struct MockServerBuilder {
    listen: SocketAddr,
    /// Shared with the tenant's settings, so starting a server never copies a profile.
    profile: Arc<Profile>,
    profile_error: Option<String>,
    tenants: Vec<TenantSpec>,
    seed: Option<Seed>,
    token: Option<String>,
    auth: bool,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    base_path: Option<String>,
    journal_size: usize,
    max_body: usize,
    admin: bool,
    /// `None`: the process-wide shared runtime; `Some(n)`: a dedicated one.
    workers: Option<usize>,
    limits: Limits,
    group_patch_returns_resource: bool,
    faults: Vec<FaultRule>,
    fault_error: Option<FaultError>,
    fault_seed: u64,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ServerTls>,
    state: Option<(std::path::PathBuf, crate::store::durable::Sync)>,
    journal_bytes: usize,
    body_timeout: std::time::Duration,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        MockServerBuilder {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            profile: default_profile(),
            profile_error: None,
            tenants: Vec::new(),
            seed: None,
            token: None,
            auth: true,
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            base_path: None,
            journal_size: 1000,
            max_body: 1024 * 1024,
            admin: true,
            workers: None,
            limits: Limits::default(),
            group_patch_returns_resource: false,
            faults: Vec::new(),
            fault_error: None,
            fault_seed: 0,
            #[cfg(feature = "tls")]
            tls: None,
            state: None,
            journal_bytes: super::journal::DEFAULT_JOURNAL_BYTES,
            body_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// The default profile, one shared copy for every builder of the process.
fn default_profile() -> Arc<Profile> {
    static DEFAULT: std::sync::OnceLock<Arc<Profile>> = std::sync::OnceLock::new();
    Arc::clone(DEFAULT.get_or_init(|| Arc::new(Profile::default())))
}

/// A random 32-hex-digit bearer token, drawn from the operating system's RNG (a v4
/// UUID's random bits come from `getrandom`), not a seeded PRNG.
pub(crate) fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl MockServerBuilder {
    /// Address to listen on (default `127.0.0.1:0`, a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    /// The vendor profile (default `entra-generic`); see [`crate::profile`].
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = Arc::new(profile);
        self.profile_error = None;
        self
    }
    /// A built-in profile by id (`"alexishr"`); an unknown id makes `try_start` fail.
    pub fn profile_id(mut self, id: &str) -> Self {
        match Profile::builtin(id) {
            Ok(p) => self = self.profile(p),
            Err(e) => self.profile_error = Some(e.to_string()),
        }
        self
    }
    /// Adds a tenant: multi-tenant mode serves each tenant's API under `/<id>` plus its
    /// profile's base path (`/acme/scim/v2`), with its own store, journal and token.
    /// `Some(token)` is always required, whatever the profile's `auth` and
    /// [`MockServerBuilder::no_auth`] say; `None` means a random token when the profile's
    /// `auth` is `"bearer"` and `no_auth` was not called, else no authentication. Once a
    /// tenant is added, `profile`, `base_path`, `token` and `seed` no longer apply.
    pub fn tenant(mut self, id: &str, profile: Profile, token: Option<String>) -> Self {
        self.tenants.push(TenantSpec {
            id: id.to_owned(),
            profile: Arc::new(profile),
            token,
        });
        self
    }
    /// Initial data `{"Users": [...], "Groups": [...]}`, also what `reset()` returns to.
    pub fn seed(mut self, seed: impl Into<Seed>) -> Self {
        self.seed = Some(seed.into());
        self
    }
    /// The bearer token clients must send.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self.auth = true;
        self
    }
    /// Accept requests without a token (except on a tenant given its own token, see
    /// [`MockServerBuilder::tenant`]).
    pub fn no_auth(mut self) -> Self {
        self.auth = false;
        self
    }
    /// The clock for `meta.created` / `lastModified`.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
    /// The id generator for new resources.
    pub fn ids(mut self, ids: impl IdGenerator + 'static) -> Self {
        self.ids = Arc::new(ids);
        self
    }
    /// SCIM base path (default: the profile's, `/scim/v2` for most).
    pub fn base_path(mut self, path: &str) -> Self {
        self.base_path = Some(normal_path(path));
        self
    }
    /// How many requests the journal keeps (default 1000).
    pub fn journal_size(mut self, n: usize) -> Self {
        self.journal_size = n;
        self
    }
    /// At most this many bytes of requests kept in the journal (default 64 MiB); bodies
    /// over 64 KiB keep their start and a `…[truncated: N bytes]` marker.
    pub fn journal_bytes(mut self, bytes: usize) -> Self {
        self.journal_bytes = bytes;
        self
    }
    /// Time a client has to send a whole request body after its head (default 30 s,
    /// which an Entra request of at most a few KB never needs); a slower body is
    /// answered 408 and the connection closed.
    pub fn body_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.body_timeout = timeout;
        self
    }
    /// Largest request body in bytes (default 1 MiB).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
    /// Serve `/_mock/*` (default true).
    pub fn admin(mut self, on: bool) -> Self {
        self.admin = on;
        self
    }
    /// Open connections served at once (default 1024); one more is answered 503.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.limits.max_connections = n.max(1);
        self
    }

    /// Time a client has to send a complete request head (default 10 s; slowloris).
    pub fn header_read_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// Serve on a tokio runtime of this server's own, with `n` worker threads, on its own
    /// OS thread, all gone when the server is dropped. By default a server runs on the
    /// runtime every default server of the process shares (one worker per CPU, 2 to 8),
    /// which makes starting one cheap; `scimock serve` asks for one worker per CPU.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n.max(1));
        self
    }
    /// Answer group PATCH with 200 and the group instead of Entra's expected 204.
    pub fn group_patch_returns_resource(mut self, on: bool) -> Self {
        self.group_patch_returns_resource = on;
        self
    }

    /// Adds a fault rule (syntax: [`crate::server::FaultRule`]), e.g.
    /// `"PATCH /Groups/* status=429 retry-after=2 every=3"`. In multi-tenant mode every
    /// tenant gets its own copy with its own counters. A rule that does not parse makes
    /// `try_start` fail with [`StartError::Fault`].
    pub fn fault(mut self, rule: &str) -> Self {
        match FaultRule::parse(rule) {
            Ok(r) => self.faults.push(r),
            Err(e) => {
                self.fault_error.get_or_insert(e);
            }
        }
        self
    }
    /// Seed for `p=` triggers and latency ranges (default 0): the same seed and the same
    /// requests fire the same faults.
    pub fn fault_seed(mut self, seed: u64) -> Self {
        self.fault_seed = seed;
        self
    }

    /// Serve https with this certificate and key instead of http (see [`crate::tls`]);
    /// [`MockServer::uri`] then starts with `https://`.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Durable state in the SQLite database at `path` (see [`crate::store::durable`]):
    /// loaded at start if it holds resources (the seed is then ignored), else filled from
    /// the seed; every acknowledged write is committed before its answer. One tenant only.
    pub fn state(
        mut self,
        path: impl Into<std::path::PathBuf>,
        sync: crate::store::durable::Sync,
    ) -> Self {
        self.state = Some((path.into(), sync));
        self
    }

    /// Starts the server. Returns as soon as it is listening.
    pub async fn start(self) -> MockServer {
        self.start_blocking()
    }

    /// Starts the server; panics with the reason if it cannot (test-friendly, like
    /// wiremock). See [`MockServerBuilder::try_start`].
    pub fn start_blocking(self) -> MockServer {
        match self.try_start() {
            Ok(s) => s,
            Err(e) => panic!("scimock MockServer failed to start: {e}"),
        }
    }

    /// Starts the server, or says why not. Binding happens on the calling thread, so the
    /// port is listening when this returns.
    pub fn try_start(self) -> Result<MockServer, StartError> {
        if let Some(e) = self.profile_error.clone() {
            return Err(StartError::UnknownProfile(e));
        }
        if let Some(e) = self.fault_error.clone() {
            return Err(StartError::Fault(e));
        }
        for (i, t) in self.tenants.iter().enumerate() {
            let dup = self.tenants[..i].iter().any(|o| o.id == t.id);
            if dup || t.id.is_empty() || t.id.contains('/') {
                return Err(StartError::BadTenant(t.id.clone()));
            }
        }
        let std_listener =
            std::net::TcpListener::bind(self.listen).map_err(|source| StartError::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = std_listener.local_addr().map_err(StartError::Runtime)?;
        std_listener
            .set_nonblocking(true)
            .map_err(StartError::Runtime)?;
        #[cfg(feature = "tls")]
        let tls = self.tls.as_ref().map(crate::tls::ServerTls::acceptor);
        #[cfg(not(feature = "tls"))]
        let tls: Option<super::listener::Acceptor> = None;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let uri = format!("{scheme}://{addr}");
        let tenants = Arc::new(self.mounts(&uri)?);
        let server_tenants = Arc::clone(&tenants);
        let limits = self.limits;
        let running = Running::start(self.workers, std_listener, move |listener, stopped| {
            let service = super::service::Serve::new(server_tenants, &limits);
            super::listener::Listener::new(listener, limits, tls).run(service, async {
                let _ = stopped.await;
            })
        })
        .map_err(StartError::Runtime)?;
        Ok(MockServer::new(addr, uri, tenants, running))
    }

    /// The tenants to serve at `uri`: the one default tenant (prefix `""`, seed data,
    /// explicit token and base path) or the `tenant(..)` ones. The `http_request` fuzz
    /// target serves its requests through one of these, without a listener.
    pub(crate) fn mounts(&self, uri: &str) -> Result<Vec<Mount>, StartError> {
        if self.tenants.is_empty() {
            let auth = self.auth
                && (self.token.is_some() || self.profile.spec().auth == AuthScheme::Bearer);
            let token = auth.then(|| self.token.clone().unwrap_or_else(random_token));
            let base = self
                .base_path
                .clone()
                .unwrap_or_else(|| normal_path(&self.profile.spec().base_path));
            let (durable, stored) = match &self.state {
                Some((path, sync)) => {
                    let (d, stored) = crate::store::durable::Durable::open(path, *sync)
                        .map_err(StartError::State)?;
                    (Some(Arc::new(d)), stored)
                }
                None => (None, None),
            };
            let mut tenant = self.tenant_state("", "", &self.profile, base, token, uri);
            if let Some(shared) = Arc::get_mut(&mut tenant.shared) {
                shared.durable = durable.clone();
            }
            let store = &tenant.shared.store;
            let loaded = stored.is_some();
            match (stored, &self.seed) {
                (Some(text), _) => store.set_seed_text(text).map_err(StartError::Seed)?,
                (None, Some(Seed::Json(v))) => {
                    store.set_seed(v.clone()).map_err(StartError::Seed)?
                }
                (None, Some(Seed::File(path))) => {
                    let file = std::fs::File::open(path).map_err(|e| {
                        StartError::Seed(crate::Error::invalid_value(format!(
                            "cannot read {}: {e}",
                            path.display()
                        )))
                    })?;
                    store
                        .set_seed_reader(std::io::BufReader::with_capacity(1 << 16, file))
                        .map_err(StartError::Seed)?
                }
                (None, Some(Seed::Text(t))) => {
                    store.set_seed_text(t.clone()).map_err(StartError::Seed)?
                }
                (None, None) => {}
            }
            if let Some(d) = durable.as_ref().filter(|_| !loaded) {
                // A new database starts as the seed (a loaded one already holds it all).
                crate::store::durable::wait(d.write_all(store.all_rows())).map_err(|reason| {
                    StartError::State(crate::store::durable::DurableError::Unusable {
                        path: d.path().to_owned(),
                        reason,
                    })
                })?;
            }
            return Ok(vec![tenant]);
        }
        if let Some((path, _)) = &self.state {
            return Err(StartError::State(
                crate::store::durable::DurableError::Unusable {
                    path: path.clone(),
                    reason: "durable state serves one tenant; it cannot be combined with tenants"
                        .into(),
                },
            ));
        }
        Ok(self
            .tenants
            .iter()
            .map(|t| {
                // A token given for the tenant is enforced: dropping it because the
                // profile says `auth = "none"` served the tenant to anyone (issue #32).
                let token = match &t.token {
                    Some(token) => Some(token.clone()),
                    None => (self.auth && t.profile.spec().auth == AuthScheme::Bearer)
                        .then(random_token),
                };
                let base = normal_path(&t.profile.spec().base_path);
                let prefix = format!("/{}", t.id);
                self.tenant_state(&t.id, &prefix, &t.profile, base, token, uri)
            })
            .collect())
    }

    fn tenant_state(
        &self,
        id: &str,
        prefix: &str,
        profile: &Arc<Profile>,
        base_path: String,
        token: Option<String>,
        uri: &str,
    ) -> Mount {
        let location_base = format!("{uri}{prefix}{base_path}");
        let store = Store::new(
            Arc::clone(&self.clock),
            Arc::clone(&self.ids),
            &location_base,
        )
        .with_schemas(
            profile.shared_schema(ResourceKind::User),
            profile.shared_schema(ResourceKind::Group),
        );
        let matching = |kind| {
            profile
                .mapping(kind)
                .iter()
                .filter(|m| m.filter)
                .map(|m| m.path.as_str())
        };
        let store = store
            .with_matching(ResourceKind::User, matching(ResourceKind::User))
            .with_matching(ResourceKind::Group, matching(ResourceKind::Group));
        let spec = profile.spec();
        let settings = Settings {
            base_path,
            location_base,
            token,
            max_body: self.max_body,
            body_timeout: self.body_timeout,
            admin: self.admin,
            max_results: spec.max_results,
            dialect: spec.patch_dialect,
            group_patch_returns_resource: self.group_patch_returns_resource
                || spec.group_patch_response == 200,
            profile: Arc::clone(profile),
        };
        let faults = Faults::new(self.fault_seed);
        for rule in &self.faults {
            faults.add(rule.clone());
        }
        Mount {
            id: id.to_owned(),
            prefix: prefix.to_owned(),
            shared: Arc::new(Shared {
                store: Arc::new(store),
                journal: Journal::new(self.journal_size, self.journal_bytes),
                settings,
                faults,
                durable: None,
            }),
        }
    }
}

/// `/scim/v2` from `scim/v2/` and friends.
fn normal_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    }
}
