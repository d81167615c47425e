//! [`MockServer`]: the wiremock-style library face, a handle to a running server, and
//! [`Tenant`], a view of one of its tenants. Dropping the server shuts it down and waits
//! until its port is closed.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;

use super::builder::MockServerBuilder;
use super::faults::FaultStats;
use super::journal::RecordedRequest;
use super::runtime::Running;
use super::{Mount, Shared};
use crate::profile::Profile;
use crate::scim::ResourceKind;
use crate::store::Store;

/// A running SCIM mock server. Dropping it stops the server: when `drop` returns, the
/// port refuses connections and the server's connections are closed.
///
/// ```
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     let server = scimock::MockServer::start().await; // 127.0.0.1:0, a random token
///     let base_url = server.base_url(); // http://127.0.0.1:PORT/scim/v2: give it to the client
///     assert!(base_url.ends_with("/scim/v2"));
///     assert!(server.token().is_some());
///     assert!(server.received_requests().is_empty());
/// }
/// ```
///
/// The methods without a tenant id act on the first tenant (in single-tenant mode, the
/// only one); [`MockServer::tenant`] reaches the others.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    uri: String,
    /// Never empty: `try_start` builds at least one.
    tenants: Arc<Vec<Mount>>,
    running: Running,
}

/// One tenant of a running [`MockServer`]: its own base URL, token, store, journal and
/// fault rules.
#[derive(Debug, Clone, Copy)]
pub struct Tenant<'a> {
    mount: &'a Mount,
}

impl<'a> Tenant<'a> {
    fn shared(&self) -> &'a Shared {
        &self.mount.shared
    }

    /// The tenant id (`""` in single-tenant mode).
    pub fn id(&self) -> &'a str {
        &self.mount.id
    }

    /// The SCIM base URL: `http://127.0.0.1:<port>/<id><profile base path>`.
    pub fn base_url(&self) -> String {
        self.shared().settings.location_base.clone()
    }

    /// The bearer token, or `None` with authentication off.
    pub fn token(&self) -> Option<&'a str> {
        self.shared().settings.token.as_deref()
    }

    /// The vendor profile this tenant serves.
    pub fn profile(&self) -> &'a Profile {
        &self.shared().settings.profile
    }

    /// The store (for state persistence and inspection); outlives the server.
    pub fn store(&self) -> Arc<Store> {
        Arc::clone(&self.shared().store)
    }

    /// Every SCIM request received (and its response), oldest first, up to the journal size.
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        self.shared().journal.all()
    }

    /// The fault rules, with how often each matched and fired.
    pub fn faults(&self) -> Vec<FaultStats> {
        self.shared().faults.list()
    }

    /// All users as the server would return them.
    pub fn users(&self) -> Vec<Value> {
        self.shared().store.all(ResourceKind::User)
    }

    /// All groups, members included.
    pub fn groups(&self) -> Vec<Value> {
        self.shared().store.all(ResourceKind::Group)
    }

    /// Back to the seed data, journal emptied.
    pub fn reset(&self) {
        if let Err(e) = self.shared().store.reset() {
            tracing::error!(error = %e, "reset to seed failed");
        }
        self.shared().journal.clear();
    }
}

impl MockServer {
    pub(crate) fn new(
        addr: SocketAddr,
        uri: String,
        tenants: Arc<Vec<Mount>>,
        running: Running,
    ) -> MockServer {
        MockServer {
            addr,
            uri,
            tenants,
            running,
        }
    }

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

    /// The tenant with this id (`""` in single-tenant mode), or `None`.
    pub fn tenant(&self, id: &str) -> Option<Tenant<'_>> {
        self.tenants
            .iter()
            .find(|t| t.id == id)
            .map(|mount| Tenant { mount })
    }

    /// The first (in single-tenant mode, the only) tenant.
    fn first(&self) -> Tenant<'_> {
        Tenant {
            mount: &self.tenants[0],
        }
    }

    /// The tenant ids, in the order they were added (`[""]` in single-tenant mode).
    pub fn tenant_ids(&self) -> Vec<&str> {
        self.tenants.iter().map(|t| t.id.as_str()).collect()
    }

    /// The profile of the first (or only) tenant.
    pub fn profile(&self) -> &Profile {
        self.first().profile()
    }

    /// The SCIM base URL: [`MockServer::uri`] plus the base path.
    pub fn base_url(&self) -> String {
        self.first().base_url()
    }

    /// The bearer token, or `None` with authentication off.
    pub fn token(&self) -> Option<&str> {
        self.first().token()
    }

    /// Every SCIM request received (and its response), oldest first, up to the journal size.
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        self.first().received_requests()
    }

    /// The fault rules of the first (or only) tenant, with how often each matched and fired.
    pub fn faults(&self) -> Vec<FaultStats> {
        self.first().faults()
    }

    /// All users as the server would return them (members included for groups).
    pub fn users(&self) -> Vec<Value> {
        self.first().users()
    }

    /// All groups, members included.
    pub fn groups(&self) -> Vec<Value> {
        self.first().groups()
    }

    /// Back to the seed data, journal emptied.
    pub fn reset(&self) {
        self.first().reset();
    }

    /// The store (for state persistence and inspection); outlives the server.
    pub fn store(&self) -> Arc<Store> {
        self.first().store()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // Blocks this thread for the graceful shutdown only (ADR 0001): the server runs
        // on scimock's runtime, so this never waits for the caller's.
        self.running.stop();
    }
}
