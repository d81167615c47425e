//! The HTTP server: hyper 1.x over tokio, HTTP/1.1 keep-alive. hyper stays in this
//! module. Layers: the listener with graceful shutdown (`run`), the pure
//! [`router`], [`handlers`] that never see hyper types, and the [`crate::store`].
//! This file owns the glue: bearer auth, body limits ([`http_body_util::Limited`]),
//! response encoding, the journal and one log line per request, and multi-tenancy: one
//! listener, several `Tenant`s, each an app (vendor profile) with its own store, token
//! and journal under its own path prefix. The wiremock-style [`MockServer`] lives in
//! `mock.rs`. Fault injection ([`faults`]) is applied here, after auth and before the
//! handler: the rules decide, this file delays, short-circuits or mangles the answer.

pub mod discovery;
pub mod faults;
pub mod handlers;
pub mod journal;
mod mock;
pub mod projection;
pub mod query;
pub mod router;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming};
use hyper::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE,
};
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use crate::profile::Profile;
use crate::scim::ErrorResponse;
use crate::store::Store;
use crate::Error;
use faults::{Faults, Fired, Probe};
use handlers::{Ctx, Reply};
use journal::{Journal, RawEntry};

pub use mock::{random_token, MockServer, MockServerBuilder, Seed, StartError, DEFAULT_PROFILE};

/// The most operations one PATCH may carry before it is refused with `tooMany`.
pub const MAX_PATCH_OPERATIONS: usize = 1000;

/// Server behaviour that is fixed once it starts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// SCIM base path, e.g. `/scim/v2`.
    pub base_path: String,
    /// Absolute base URL for `meta.location`, e.g. `http://127.0.0.1:8080/scim/v2`.
    pub location_base: String,
    /// The bearer token, or `None` for no authentication.
    pub token: Option<String>,
    /// Largest accepted request body in bytes.
    pub max_body: usize,
    /// Serve `/_mock/*`.
    pub admin: bool,
    /// Largest page (ServiceProviderConfig `filter.maxResults`).
    pub max_results: u64,
    /// Refuse Entra's non-RFC PATCH dialect.
    pub strict_rfc: bool,
    /// Answer group PATCH with 200 and the group instead of 204.
    pub group_patch_returns_resource: bool,
    /// The vendor profile: resource types served, required attributes, value rules,
    /// filterable attributes (see [`crate::profile`]).
    pub profile: Arc<Profile>,
}

/// What every connection to one tenant shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Arc<Store>,
    pub(crate) journal: Journal,
    pub(crate) settings: Settings,
    pub(crate) faults: Faults,
}

/// One app the process stands in for: requests under `prefix` (`""` when there is only
/// one tenant, `/alexishr` in multi-tenant mode) go to `shared`, with the prefix removed
/// before routing, so each tenant keeps its own base path and `/_mock/*` routes.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub(crate) id: String,
    pub(crate) prefix: String,
    pub(crate) shared: Arc<Shared>,
}

/// The rest of `path` after the tenant prefix, at a segment boundary.
fn strip_tenant<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        return Some(path);
    }
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// What the service answers with: usually a whole body, but a `close` fault needs a body
/// that fails.
type ResponseBody = BoxBody<Bytes, std::io::Error>;

fn full(bytes: Bytes) -> ResponseBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// A body whose first poll fails: hyper then aborts the connection before flushing the
/// head it has buffered, so the client sees a connection error and no response byte.
#[derive(Debug)]
struct BrokenBody;

impl hyper::body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected fault: close",
        ))))
    }
}

async fn dispatch(tenants: &[Tenant], req: Request<Incoming>) -> Response<ResponseBody> {
    let path = req.uri().path().to_owned();
    let found = tenants
        .iter()
        .filter_map(|t| strip_tenant(&path, &t.prefix).map(|rest| (t, rest)))
        .max_by_key(|(t, _)| t.prefix.len());
    match found {
        Some((tenant, rest)) => serve_one(&tenant.shared, req, rest).await,
        None => {
            let prefixes: Vec<&str> = tenants.iter().map(|t| t.prefix.as_str()).collect();
            let err = Error::NotFound(format!(
                "no tenant at `{path}`; this server's tenants live under {}",
                prefixes.join(", ")
            ));
            let reply = Reply::error(&err);
            let body = reply
                .body
                .as_ref()
                .map(handlers::Body::to_bytes)
                .unwrap_or_default();
            encode(&reply, body)
        }
    }
}

const SCIM_JSON: &str = "application/scim+json";

/// hyper's read-buffer cap per connection (bounds what a request head can occupy).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Connection-level limits of a listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Time a client has to send a complete request head (slowloris protection).
    pub header_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// The answer to a connection over the limit.
fn over_capacity(max: usize) -> Response<Full<Bytes>> {
    let err = Error::ServiceUnavailable(format!(
        "this server already serves {max} connections; retry shortly"
    ));
    let body = serde_json::to_vec(&err.to_response())
        .map(Bytes::from)
        .unwrap_or_default();
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    resp.headers_mut()
        .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp.headers_mut()
        .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// How much of an oversized body is read and thrown away before answering 413.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

fn header(headers: &HeaderMap, name: hyper::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Authorization: Bearer <token>`, scheme case-insensitive (RFC 6750 §2.1), token
/// compared in constant time.
fn authorized(headers: &HeaderMap, token: &str) -> Result<(), Error> {
    let Some(value) = header(headers, AUTHORIZATION).filter(|v| !v.trim().is_empty()) else {
        return Err(Error::Unauthorized(
            "missing Authorization header; send `Authorization: Bearer <token>`".into(),
        ));
    };
    let sent = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match sent {
        Some(t) if bool::from(t.as_bytes().ct_eq(token.as_bytes())) => Ok(()),
        Some(_) => Err(Error::Unauthorized(
            "the bearer token is not the one this server expects".into(),
        )),
        None => Err(Error::Unauthorized(
            "the Authorization header must use the Bearer scheme".into(),
        )),
    }
}

async fn read_body(body: Incoming, headers: &HeaderMap, max: usize) -> Result<Bytes, Error> {
    let too_large = || {
        Error::PayloadTooLarge(format!(
            "the request body is larger than the {max}-byte limit"
        ))
    };
    let declared = header(headers, CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        // Read and discard what the client is still sending (up to a cap, briefly), so it
        // sees the 413 instead of a broken pipe from a connection closed under its writes.
        let mut body = body;
        let drain = async {
            let mut seen = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                seen += frame.data_ref().map_or(0, Bytes::len);
                if seen > DRAIN_LIMIT {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
        return Err(too_large());
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large())
        }
        Err(e) => Err(Error::InvalidSyntax(format!(
            "could not read the request body: {e}"
        ))),
    }
}

fn encode(reply: &Reply, body: Bytes) -> Response<ResponseBody> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    if reply.body.is_some() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    }
    for (name, value) in &reply.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.append(*name, v);
        }
    }
    resp
}

/// The request facts fault rules match on, or `None` outside the SCIM base path.
fn check_faults(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    path: &str,
    route: &router::Route,
) -> Option<Fired> {
    let base = shared.settings.base_path.trim_end_matches('/');
    let rest = path.strip_prefix(base)?;
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    let relative = if rest.is_empty() { "/" } else { rest };
    let filter = parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "filter")
            .map(|(_, v)| v.into_owned())
    });
    shared.faults.check(&Probe {
        method: parts.method.as_str(),
        path: relative,
        resource: route.kind(),
        filter: filter.as_deref(),
        headers: &parts.headers,
    })
}

/// RFC 7644 §3.12 error body for a `status=` fault; the request is not applied.
fn injected_reply(fired: &Fired, status: u16) -> Reply {
    let detail = fired
        .action
        .detail
        .clone()
        .unwrap_or_else(|| format!("injected fault: {}", fired.rule));
    let body = serde_json::to_value(ErrorResponse::new(status, None, detail))
        .unwrap_or(serde_json::Value::Null);
    let mut headers = Vec::new();
    if let Some(secs) = fired.action.retry_after {
        headers.push(("retry-after", secs.to_string()));
    }
    Reply {
        status,
        headers,
        body: Some(handlers::Body::Json(body)),
    }
}

/// What an `invalid-json` fault sends: the start of a SCIM body, cut off mid-array.
const INVALID_JSON: &[u8] = b"{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:Li";

/// Serves one request for one tenant; `path` is the URI path without the tenant prefix.
async fn serve_one(shared: &Shared, req: Request<Incoming>, path: &str) -> Response<ResponseBody> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let query = parts.uri.query().unwrap_or_default();
    let settings = &shared.settings;
    let mut route = router::route(&parts.method, path, &settings.base_path, settings.admin);
    // A users-only app has no /Groups at all (profile `groups` absent).
    if route.kind().is_some_and(|k| !settings.profile.supports(k)) {
        route = router::Route::NotFound;
    }
    let mut body_bytes = Bytes::new();
    let auth = match (&settings.token, route.is_public()) {
        (Some(token), false) => authorized(&parts.headers, token),
        _ => Ok(()),
    };
    let mut fired = None;
    let reply = match auth {
        Err(e) => Reply::error(&e),
        Ok(()) => match read_body(body, &parts.headers, settings.max_body).await {
            Err(e) => Reply::error(&e),
            Ok(bytes) => {
                body_bytes = bytes;
                // Fast path: no rules, no probe.
                if !route.is_admin() && !shared.faults.is_empty() {
                    fired = check_faults(shared, &parts, path, &route);
                }
                if let Some(delay) = fired.as_ref().and_then(|f| f.delay) {
                    tokio::time::sleep(delay).await;
                }
                match fired.as_ref().and_then(|f| Some((f, f.action.status?))) {
                    Some((f, status)) => injected_reply(f, status),
                    None => {
                        let ctx = Ctx {
                            store: &shared.store,
                            journal: &shared.journal,
                            settings,
                            faults: &shared.faults,
                        };
                        let request = handlers::Request {
                            route: route.clone(),
                            query,
                            body: &body_bytes,
                            content_type: header(&parts.headers, CONTENT_TYPE),
                            if_match: header(&parts.headers, hyper::header::IF_MATCH),
                            if_none_match: header(&parts.headers, hyper::header::IF_NONE_MATCH),
                        };
                        handlers::handle(&ctx, &request)
                    }
                }
            }
        },
    };
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let fault = fired.as_ref().map(|f| f.rule.as_str());
    tracing::info!(method = %parts.method, path = %parts.uri, status = reply.status, us = micros, fault, "request");
    let mut response_body = reply
        .body
        .as_ref()
        .map(handlers::Body::to_bytes)
        .unwrap_or_default();
    let action = fired.as_ref().map(|f| &f.action);
    if reply.body.is_some() {
        if action.is_some_and(|a| a.invalid_json) {
            response_body = Bytes::from_static(INVALID_JSON);
        } else if action.is_some_and(|a| a.truncate) {
            response_body = response_body.slice(..response_body.len() / 2);
        }
    }
    if !route.is_admin() {
        shared.journal.push(RawEntry {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body: body_bytes,
            status: reply.status,
            response_body: response_body.clone(),
            duration_us: micros,
            fault: fired.as_ref().map(|f| f.rule.clone()),
        });
    }
    let mut resp = encode(&reply, response_body);
    if let Some(action) = action {
        if let Some(ct) = action.content_type.as_deref() {
            if let Ok(v) = HeaderValue::from_str(ct) {
                resp.headers_mut().insert(CONTENT_TYPE, v);
            }
        }
        if action.http10 {
            *resp.version_mut() = Version::HTTP_10;
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        if action.close {
            *resp.body_mut() = BrokenBody.boxed();
        }
    }
    resp
}

/// Accepts connections on `listener` until `shutdown` resolves, then stops accepting and
/// gives open connections up to five seconds to finish (graceful shutdown).
pub(crate) async fn run(
    listener: TcpListener,
    tenants: Arc<Vec<Tenant>>,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // Slow clients (slowloris) get `header_read_timeout` to send a request head; a head
    // that does not fit hyper's read buffer is refused by hyper and the connection closed.
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    // Over the connection limit: one clear 503, then close.
                    let mut busy = hyper::server::conn::http1::Builder::new();
                    busy.keep_alive(false);
                    let max = limits.max_connections;
                    let service = hyper::service::service_fn(move |_req| async move {
                        Ok::<_, Infallible>(over_capacity(max))
                    });
                    let conn = busy.serve_connection(TokioIo::new(stream), service);
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                    });
                    continue;
                };
                let tenants = Arc::clone(&tenants);
                let service = hyper::service::service_fn(move |req| {
                    let tenants = Arc::clone(&tenants);
                    async move { Ok::<_, Infallible>(dispatch(&tenants, req).await) }
                });
                if let Some(acceptor) = &tls {
                    // https (`serve --tls-cert`): the handshake runs in the connection's own
                    // task, bounded like a request head so a silent client cannot hold a slot.
                    let (acceptor, watcher, http) = (acceptor.clone(), graceful.watcher(), http.clone());
                    let limit = limits.header_read_timeout;
                    tokio::spawn(async move {
                        if let Ok(Ok(stream)) = tokio::time::timeout(limit, acceptor.accept(stream)).await {
                            let _ = watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await;
                        }
                        drop(slot);
                    });
                    continue;
                }
                let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
}
