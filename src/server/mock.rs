//! [`MockServer`]: the wiremock-style library face. The server runs on its own OS thread
//! with its own tokio runtime (docs/adr/0001-mock-server-runtime.md), so it works from
//! sync tests and from any runtime, including `#[tokio::test]`'s current-thread one, and
//! dropping it shuts the server down and joins the thread.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use serde_json::Value;
use tokio::sync::oneshot;

use super::journal::{Journal, RecordedRequest};
use super::{Settings, Shared};
use crate::clock::{Clock, IdGenerator, RandomIds, SystemClock};
use crate::store::{ResourceKind, Store};

/// The only profile this version knows (vendor profiles come later).
pub const DEFAULT_PROFILE: &str = "entra-generic";

/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("unknown profile `{0}`; this version supports only `entra-generic`")]
    UnknownProfile(String),
    #[error("invalid seed data: {0}")]
    Seed(crate::Error),
    #[error("cannot start the server thread: {0}")]
    Runtime(std::io::Error),
}

/// Configures a [`MockServer`]. Defaults: 127.0.0.1:0, `/scim/v2`, a random token,
/// profile `entra-generic`, journal of 1000, 1 MiB bodies, admin routes on, system
/// clock, random 20-hex-digit ids, no seed data.
/// Seed data for [`MockServerBuilder::seed`]: a value, or JSON text (a seed file's bytes),
/// which is loaded one resource at a time and never held as one `Value`, so a
/// 100,000-user file does not leave the process at its parse-time peak.
#[derive(Debug, Clone, PartialEq)]
pub enum Seed {
    Json(Value),
    Text(Vec<u8>),
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

#[derive(Debug)]
pub struct MockServerBuilder {
    listen: SocketAddr,
    profile: String,
    seed: Option<Seed>,
    token: Option<String>,
    auth: bool,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    base_path: String,
    journal_size: usize,
    max_body: usize,
    admin: bool,
    workers: usize,
    group_patch_returns_resource: bool,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        MockServerBuilder {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            profile: DEFAULT_PROFILE.to_owned(),
            seed: None,
            token: None,
            auth: true,
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            base_path: "/scim/v2".to_owned(),
            journal_size: 1000,
            max_body: 1024 * 1024,
            admin: true,
            workers: 2,
            group_patch_returns_resource: false,
        }
    }
}

/// A random 32-hex-digit bearer token.
pub fn random_token() -> String {
    format!("{:032x}", fastrand::u128(..))
}

impl MockServerBuilder {
    /// Address to listen on (default `127.0.0.1:0`, a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    /// Vendor profile id; only `entra-generic` for now.
    pub fn profile(mut self, id: &str) -> Self {
        self.profile = id.to_owned();
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
    /// Accept requests without a token.
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
    /// SCIM base path (default `/scim/v2`).
    pub fn base_path(mut self, path: &str) -> Self {
        let trimmed = path.trim_end_matches('/');
        self.base_path = if trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        self
    }
    /// How many requests the journal keeps (default 1000).
    pub fn journal_size(mut self, n: usize) -> Self {
        self.journal_size = n;
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
    /// Runtime worker threads (default 2).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }
    /// Answer group PATCH with 200 and the group instead of Entra's expected 204.
    pub fn group_patch_returns_resource(mut self, on: bool) -> Self {
        self.group_patch_returns_resource = on;
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
        if self.profile != DEFAULT_PROFILE {
            return Err(StartError::UnknownProfile(self.profile));
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
        let uri = format!("http://{addr}");
        let location_base = format!("{uri}{}", self.base_path);
        let store = Arc::new(Store::new(self.clock, self.ids, &location_base));
        match self.seed {
            Some(Seed::Json(v)) => store.set_seed(v).map_err(StartError::Seed)?,
            Some(Seed::Text(t)) => store.set_seed_text(t).map_err(StartError::Seed)?,
            None => {}
        }
        let token = self.auth.then(|| self.token.unwrap_or_else(random_token));
        let shared = Arc::new(Shared {
            store,
            journal: Journal::new(self.journal_size),
            settings: Settings {
                base_path: self.base_path,
                location_base,
                token,
                max_body: self.max_body,
                admin: self.admin,
                max_results: 1000,
                strict_rfc: false,
                group_patch_returns_resource: self.group_patch_returns_resource,
            },
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.workers)
            .thread_name("scimock-server")
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("scimock".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(listener) => {
                            super::run(listener, server_shared, async {
                                let _ = stopped.await;
                            })
                            .await
                        }
                        Err(e) => tracing::error!(error = %e, "cannot register the listener"),
                    }
                });
            })
            .map_err(StartError::Runtime)?;
        Ok(MockServer {
            addr,
            uri,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// A running SCIM mock server. Dropping it stops the server and joins its thread.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    uri: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MockServer {
    /// A server with every default, on a free port of 127.0.0.1.
    pub async fn start() -> MockServer {
        MockServer::builder().start().await
    }

    /// A builder to configure one.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.uri.clone()
    }

    /// The socket address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The SCIM base URL: [`MockServer::uri`] plus the base path.
    pub fn base_url(&self) -> String {
        self.shared.settings.location_base.clone()
    }

    /// The bearer token, or `None` with authentication off.
    pub fn token(&self) -> Option<&str> {
        self.shared.settings.token.as_deref()
    }

    /// Every SCIM request received (and its response), oldest first, up to the journal size.
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        self.shared.journal.all()
    }

    /// All users as the server would return them (members included for groups).
    pub fn users(&self) -> Vec<Value> {
        self.shared.store.all(ResourceKind::User)
    }

    /// All groups, members included.
    pub fn groups(&self) -> Vec<Value> {
        self.shared.store.all(ResourceKind::Group)
    }

    /// Back to the seed data, journal emptied.
    pub fn reset(&self) {
        if let Err(e) = self.shared.store.reset() {
            tracing::error!(error = %e, "reset to seed failed");
        }
        self.shared.journal.clear();
    }

    /// The store (for state persistence and inspection); outlives the server.
    pub fn store(&self) -> Arc<Store> {
        Arc::clone(&self.shared.store)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
