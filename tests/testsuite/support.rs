//! Shared test helpers: the one insta settings helper (snapshots live in the top-level
//! `snapshots/` directory, named `<area>@<case>.snap`), the one HTTP test client, and
//! bounded waits that replace fixed sleeps.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use scimock::clock::{FixedClock, SequentialIds};
use scimock::MockServer;
use serde_json::Value;

/// insta settings for this suite: top-level `snapshots/`, no module prefix.
pub(crate) fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

/// A fixture file's case name (its stem), used as the snapshot suffix so snapshots are
/// named `<name>@<case>.snap`.
pub(crate) fn case_name(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("unnamed")
        .to_owned()
}

// ---- the HTTP test client ---------------------------------------------------------

/// The bearer token of [`server`].
pub(crate) const TOKEN: &str = "test-token";

/// A server with [`TOKEN`], a fixed clock and sequential ids, so answers are
/// deterministic.
pub(crate) fn server() -> MockServer {
    MockServer::builder()
        .token(TOKEN)
        .clock(FixedClock(time::macros::datetime!(2024-05-06 07:08:09 UTC)))
        .ids(SequentialIds::new())
        .start_blocking()
}

/// No single test request may take longer than this (the suite stays bounded in time).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One exchange as seen on the wire.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) version: hyper::Version,
    pub(crate) headers: HeaderMap,
    pub(crate) bytes: Bytes,
    /// The body parsed once: `Some(Null)` when empty, `None` when not JSON.
    parsed: Option<Value>,
}

impl Answer {
    /// The body as JSON (`null` when empty); panics when the body is not JSON.
    pub(crate) fn json(&self) -> &Value {
        self.parsed.as_ref().unwrap_or_else(|| {
            panic!(
                "{} body is not JSON: {:?}",
                self.status,
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The pooled client every test on this thread shares (a clone shares the pool).
fn pooled() -> Client<HttpConnector, Full<Bytes>> {
    thread_local! {
        static CLIENT: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
    }
    CLIENT.with(Client::clone)
}

/// A client for one SCIM base URL with one bearer token, over pooled keep-alive
/// connections. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    token: Option<String>,
}

impl Http {
    /// Requests to `base` (a path is appended to it; an absolute `http://` URL is used
    /// as is) with `Authorization: Bearer <token>` when there is a token.
    pub(crate) fn new(base: impl Into<String>, token: Option<&str>) -> Http {
        Http {
            client: pooled(),
            base: base.into(),
            token: token.map(str::to_owned),
        }
    }

    /// Requests to `server`'s SCIM base URL with `token`.
    pub(crate) fn to(server: &MockServer, token: &str) -> Http {
        Http::new(server.base_url(), Some(token))
    }

    /// Sends `body` (as `application/scim+json` when given); panics when the connection
    /// fails.
    pub(crate) async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let body = body.map(Value::to_string);
        self.try_send(method, path, body.as_deref(), &[])
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Sends a request; `headers` come last, so they may replace the token or the content
    /// type. `Err` when the connection fails or the answer takes over 10 s.
    pub(crate) async fn try_send(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, String> {
        let uri = if path.starts_with("http://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let method = Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut req = Request::builder().method(method).uri(uri);
        let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        if let Some(token) = self.token.as_deref().filter(|_| !has("authorization")) {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() && !has("content-type") {
            req = req.header("content-type", "application/scim+json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default().to_owned())))
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| format!("{e:?}"))?;
            let status = resp.status().as_u16();
            let version = resp.version();
            let headers = resp.headers().clone();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("{e:?}"))?
                .to_bytes();
            let parsed = if bytes.is_empty() {
                Some(Value::Null)
            } else {
                serde_json::from_slice(&bytes).ok()
            };
            Ok(Answer {
                status,
                version,
                headers,
                bytes,
                parsed,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| "timed out".to_owned())?
    }
}

/// Sends a request to `server` with [`TOKEN`] (unless `headers` sets Authorization);
/// paths under `/_mock` go to the admin API at the server's root, others to the SCIM
/// base URL.
pub(crate) async fn send(
    server: &MockServer,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    let base = if path.starts_with("/_mock") {
        server.uri()
    } else {
        server.base_url()
    };
    Http::new(base, Some(TOKEN))
        .try_send(method, path, body, headers)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

// ---- bounded waits ------------------------------------------------------------------

/// Polls `ready` every few milliseconds until it holds; panics with `what` after `limit`.
/// For waiting on another thread or process instead of sleeping a fixed time.
pub(crate) fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "not {what} after {limit:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
