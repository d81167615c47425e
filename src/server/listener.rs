//! The listener: the accept loop with connection limits and graceful shutdown, and the
//! hyper glue around the request pipeline: read the body within its limits, sleep a
//! fault's delay, send the answer (or break the connection for a `close` fault). Every
//! decision about what to answer is in [`super::pipeline`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, CONTENT_LENGTH};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::handlers::Reply;
use super::pipeline::{self, Exchange};
use super::{Mount, Shared};
use crate::Error;

/// hyper's read-buffer cap per connection (bounds what a request head can occupy).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How much of an oversized body is read and thrown away before answering 413.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

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

/// A streamed `GET /_mock/requests` body: one chunk of journal entries per frame, read
/// from the tenant's journal as hyper asks for it.
struct JournalBody {
    shared: Arc<Shared>,
    pages: pipeline::JournalPages,
}

impl hyper::body::Body for JournalBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        Poll::Ready(
            this.pages
                .next_chunk(&this.shared.journal)
                .map(|c| Ok(Frame::data(c))),
        )
    }
}

/// The answer to a connection over the limit: 503 with `Retry-After`, then close.
fn over_capacity(max: usize) -> Response<Full<Bytes>> {
    let err = Error::service_unavailable(
        format!("this server already serves {max} connections; retry shortly"),
        1,
    );
    let reply = Reply::error(&err);
    let mut resp = pipeline::encode(&reply, reply.body_bytes()).map(Full::new);
    resp.headers_mut().insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    resp
}

/// RFC 9110 §15.5.9 408 with a SCIM body (RFC 7644 §3.12) for a body that did not arrive
/// within `--body-timeout`; the connection closes after it.
fn body_timed_out(timeout: Duration) -> Response<ResponseBody> {
    let detail = format!(
        "the request body did not arrive within {} ms",
        timeout.as_millis()
    );
    let reply = Reply::serialized(408, &crate::scim::ErrorResponse::new(408, None, detail));
    let mut resp = pipeline::encode(&reply, reply.body_bytes()).map(full);
    resp.headers_mut().insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    resp
}

fn header(headers: &HeaderMap, name: hyper::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request body, at most `max` bytes: a larger declared length is drained briefly and
/// refused with 413 (so the client reads the answer, not a broken pipe). A client that
/// asked `Expect: 100-continue` (RFC 9110 §10.1.1) gets the 413 at once: the body is
/// never polled, so hyper never sends `100 Continue`.
async fn read_body(body: Incoming, headers: &HeaderMap, max: usize) -> Result<Bytes, Error> {
    let too_large = || {
        Error::payload_too_large(format!(
            "the request body is larger than the {max}-byte limit"
        ))
    };
    let declared = header(headers, CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok());
    let expects_continue = header(headers, hyper::header::EXPECT)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
    if expects_continue && declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
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
        Err(e) => Err(Error::invalid_syntax(format!(
            "could not read the request body: {e}"
        ))),
    }
}

/// RFC 9112 §3.2: an HTTP/1.1 request without a `Host` field, or with more than one, is
/// answered 400.
fn bad_host(req: &Request<Incoming>) -> Option<Response<ResponseBody>> {
    let hosts = req.headers().get_all(hyper::header::HOST).iter().count();
    let needs_one = req.version() == hyper::Version::HTTP_11;
    if hosts == 1 || (hosts == 0 && !needs_one) {
        return None;
    }
    let detail = if hosts == 0 {
        "an HTTP/1.1 request must have a Host header (RFC 9112 §3.2)"
    } else {
        "the request has more than one Host header (RFC 9112 §3.2)"
    };
    let reply = Reply::error(&Error::invalid_syntax(detail));
    Some(pipeline::encode(&reply, reply.body_bytes()).map(full))
}

/// Picks the tenant, then serves the request through the pipeline.
async fn dispatch(tenants: &[Mount], req: Request<Incoming>) -> Response<ResponseBody> {
    if let Some(refused) = bad_host(&req) {
        return refused;
    }
    let path = req.uri().path().to_owned();
    match pipeline::tenant_for(tenants, &path) {
        Some((tenant, rest)) => serve_one(&tenant.shared, req, rest).await,
        None => pipeline::no_tenant(tenants, &path).map(full),
    }
}

/// Serves one request for one tenant; `path` is the URI path without the tenant prefix.
async fn serve_one(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    path: &str,
) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let mut exchange = Exchange::new(shared, parts, path);
    if exchange.wants_body() {
        if hyper::body::Body::is_end_stream(&body) {
            // No body at all (no `Content-Length`, or 0, and not chunked: every GET and
            // DELETE Entra sends): nothing to wait for, so no timer is armed.
            exchange.body(Ok(Bytes::new()));
        } else {
            let read = read_body(body, exchange.headers(), shared.settings.max_body);
            match tokio::time::timeout(shared.settings.body_timeout, read).await {
                Ok(bytes) => exchange.body(bytes),
                Err(_) => return body_timed_out(shared.settings.body_timeout),
            }
        }
    }
    if let Some(delay) = exchange.delay() {
        tokio::time::sleep(delay).await;
    }
    let mut outcome = if exchange.may_scan() && multi_threaded() {
        // The worker hands its other connections to a fresh thread while this one scans.
        tokio::task::block_in_place(|| exchange.finish())
    } else {
        exchange.finish()
    };
    if let Some(ack) = outcome.commit.take() {
        // Durable state: the answer waits for its commit; one that fails is a 503.
        if let Err(why) = super::persist::committed(ack).await {
            let reply = super::persist::unavailable(&why);
            return pipeline::encode(&reply, reply.body_bytes()).map(full);
        }
    }
    let closes = outcome.closes();
    if let Some(page) = outcome.journal_page.take() {
        let body = JournalBody {
            shared: Arc::clone(shared),
            pages: pipeline::JournalPages::new(page),
        };
        return outcome.response.map(|_| body.boxed());
    }
    let response = outcome.response.map(full);
    if closes {
        return response.map(|_| BrokenBody.boxed());
    }
    response
}

/// `block_in_place` needs the multi-thread runtime (the server builds one; an embedder
/// could call [`run`] from another).
fn multi_threaded() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// The HTTP/1.1 connection settings of a listener. Slow clients (slowloris) get
/// `header_read_timeout` to send a request head; a head that does not fit hyper's read
/// buffer is refused by hyper and the connection closed.
pub(crate) fn http1(limits: &Limits) -> hyper::server::conn::http1::Builder {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    http
}

/// One client connection over any byte stream (a TCP socket, a TLS session, or the
/// fuzzer's in-memory pipe), served until the client is done. Raw `"` and friends in the
/// request target are percent-encoded before hyper parses the request line (`target.rs`,
/// issue 12 row A4).
pub(crate) fn connection<S>(
    http: &hyper::server::conn::http1::Builder,
    stream: S,
    peer: String,
    tenants: Arc<Vec<Mount>>,
) -> impl hyper_util::server::graceful::GracefulConnection<Error = hyper::Error> + Send + 'static
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let tenants = Arc::clone(&tenants);
        async move { Ok::<_, Infallible>(dispatch(&tenants, req).await) }
    });
    let io = TokioIo::new(super::target::NormalizedTarget::new(stream, peer));
    http.serve_connection(io, service)
}

/// Accepts connections on `listener` until `shutdown` resolves, then stops accepting and
/// gives open connections up to five seconds to finish (graceful shutdown); returns once
/// the listener is closed and every connection task has ended or been aborted.
pub(crate) async fn run(
    listener: TcpListener,
    tenants: Arc<Vec<Mount>>,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let http = http1(&limits);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    // The hard cap on open sockets: the served connections plus a few being answered 503.
    // At the cap the loop stops accepting (new clients wait in the kernel's backlog)
    // instead of accepting and answering, so file descriptors stay bounded.
    let overflow = (limits.max_connections / 8).clamp(4, 64);
    let sockets = Arc::new(tokio::sync::Semaphore::new(
        limits.max_connections.max(1) + overflow,
    ));
    // Every connection task, so none outlives the server on a shared runtime (finished
    // ones are reaped before each accept, so the set holds at most the open sockets).
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while tasks.try_join_next().is_some() {}
        let socket = tokio::select! {
            permit = Arc::clone(&sockets).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
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
                    tasks.spawn(async move {
                        let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
                        drop(socket);
                    });
                    continue;
                };
                let tenants = Arc::clone(&tenants);
                if let Some(acceptor) = &tls {
                    // https (`serve --tls-cert`): the handshake runs in the connection's own
                    // task, bounded like a request head so a silent client cannot hold a slot.
                    let (acceptor, watcher, http) = (acceptor.clone(), graceful.watcher(), http.clone());
                    let limit = limits.header_read_timeout;
                    let peer = peer.to_string();
                    tasks.spawn(async move {
                        if let Ok(Ok(stream)) = tokio::time::timeout(limit, acceptor.accept(stream)).await {
                            let _ = watcher.watch(connection(&http, stream, peer, tenants)).await;
                        }
                        drop(slot);
                    });
                    continue;
                }
                let conn = graceful.watch(connection(&http, stream, peer.to_string(), tenants));
                tasks.spawn(async move {
                    let _ = conn.await;
                    drop(slot);
                    drop(socket);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    while tasks.try_join_next().is_some() {}
    if tasks.is_empty() {
        // No connection is open: nothing needs a grace period (or its timer).
        return;
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
    // What the grace period did not finish is cancelled, and awaited so its sockets close.
    tasks.shutdown().await;
}
