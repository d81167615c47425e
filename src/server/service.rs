//! The service: the hyper glue around the request pipeline for one connection. Read
//! the body within its limits, sleep a fault's delay, send the answer (or break the
//! connection for a `close` fault), stream the journal. Every decision about what to
//! answer is in [`super::pipeline`]; accepting connections is [`super::listener`]'s.

use std::convert::Infallible;
use std::net::SocketAddr;
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
use hyper_util::server::graceful::Watcher;

use super::handlers::Reply;
use super::listener::{Handler, Limits, Stream};
use super::pipeline::{self, Exchange};
use super::{Mount, Shared};
use crate::Error;

/// hyper's read-buffer cap per connection (bounds what a request head can occupy).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How much of an oversized body is read and thrown away before answering 413.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

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

/// `block_in_place` needs the multi-thread runtime (the server builds one; the fuzz
/// targets serve on a current-thread one).
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

/// The SCIM server's [`Handler`]: each admitted connection served over HTTP/1.1 with the
/// listener's limits, to the tenants.
#[derive(Debug)]
pub(crate) struct Serve {
    http: hyper::server::conn::http1::Builder,
    tenants: Arc<Vec<Mount>>,
}

impl Serve {
    pub(crate) fn new(tenants: Arc<Vec<Mount>>, limits: &Limits) -> Serve {
        Serve {
            http: http1(limits),
            tenants,
        }
    }
}

impl Handler for Serve {
    fn serve(
        &self,
        stream: Stream,
        peer: SocketAddr,
        watcher: Watcher,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let conn = connection(
            &self.http,
            stream,
            peer.to_string(),
            Arc::clone(&self.tenants),
        );
        async move {
            let _ = watcher.watch(conn).await;
        }
    }
}
