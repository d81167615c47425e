//! The proxy's side of a connection: a [`Handler`] for the server's [`Listener`] (so the
//! proxy has `serve`'s accept backoff, connection cap and over-capacity 503), serving
//! HTTP/1.1 and HTTP/2 through hyper-util's auto builder, and [`forward`], which sends
//! each request upstream and records the exchange.
//!
//! The header timeout is `serve`'s: hyper's HTTP/1 `header_read_timeout`, which also
//! closes a kept-alive connection that sends no next request. The auto builder first
//! reads a connection's opening bytes to tell HTTP/1 from HTTP/2, with no timer of its
//! own; so a connection that has not delivered a whole first request within the header
//! timeout is closed here. An HTTP/2 connection that has is bounded by the connection
//! cap only.
//!
//! [`Listener`]: crate::server::listener::Listener

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;

use super::writer::{lock, Shared};
use super::Exchange;
use crate::server::listener::{Handler, Limits, Stream};
use crate::server::target::{NormalizedTarget, MAX_HEAD};

pub(super) type Upstream = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Largest body the proxy forwards (both directions).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The recording proxy's [`Handler`].
#[derive(Debug)]
pub(super) struct Proxy {
    client: Upstream,
    upstream: Arc<str>,
    shared: Arc<Shared>,
    http: hyper_util::server::conn::auto::Builder<TokioExecutor>,
    /// Time a connection has to deliver its first whole request head.
    first_request: Duration,
}

impl Proxy {
    pub(super) fn new(
        client: Upstream,
        upstream: &str,
        shared: Arc<Shared>,
        limits: &Limits,
    ) -> Proxy {
        let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        http.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(MAX_HEAD);
        Proxy {
            client,
            upstream: upstream.into(),
            shared,
            http,
            first_request: limits.header_read_timeout,
        }
    }
}

impl Handler for Proxy {
    fn serve(
        &self,
        stream: Stream,
        peer: SocketAddr,
        watcher: Watcher,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (client, upstream, shared) = (
            self.client.clone(),
            Arc::clone(&self.upstream),
            Arc::clone(&self.shared),
        );
        let (http, first_request) = (self.http.clone(), self.first_request);
        async move {
            let seen = Arc::new(AtomicBool::new(false));
            let seen_here = Arc::clone(&seen);
            let service = hyper::service::service_fn(move |req| {
                seen_here.store(true, Ordering::Release);
                let (client, upstream, shared) =
                    (client.clone(), Arc::clone(&upstream), Arc::clone(&shared));
                async move { Ok::<_, Infallible>(forward(req, &client, &upstream, &shared).await) }
            });
            // The same request-target normalisation as `serve` (issue 12).
            let io = TokioIo::new(NormalizedTarget::new(stream, peer.to_string()));
            let conn = watcher.watch(http.serve_connection(io, service));
            tokio::pin!(conn);
            tokio::select! {
                _ = &mut conn => return,
                () = tokio::time::sleep(first_request) => {}
            }
            if seen.load(Ordering::Acquire) {
                let _ = conn.await;
            }
            // Else no request came in time: dropping the connection closes it.
        }
    }
}

fn text_response(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r
}

/// Forwards one request, records the exchange, returns the upstream's answer unchanged.
async fn forward(
    req: Request<Incoming>,
    client: &Upstream,
    upstream: &str,
    shared: &Shared,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return text_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("scimock record: request body: {e}"),
            )
        }
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut out = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{upstream}{target}"));
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST
            && name != hyper::header::CONNECTION
            && name != hyper::header::CONTENT_LENGTH
        {
            out = out.header(name, value);
        }
    }
    let Ok(out) = out.body(Full::new(body.clone())) else {
        return text_response(
            StatusCode::BAD_REQUEST,
            format!("scimock record: cannot forward {target}"),
        );
    };
    let answer = match client.request(out).await {
        Ok(r) => r,
        Err(e) => {
            return text_response(
                StatusCode::BAD_GATEWAY,
                format!("scimock record: upstream {upstream}: {e}"),
            )
        }
    };
    let (rparts, rbody) = answer.into_parts();
    let rbody = match Limited::new(rbody, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return text_response(
                StatusCode::BAD_GATEWAY,
                format!("scimock record: upstream body: {e}"),
            )
        }
    };
    if !parts.uri.path().starts_with("/_mock") {
        let if_match = parts
            .headers
            .get(hyper::header::IF_MATCH)
            .and_then(|v| v.to_str().ok());
        lock(&shared.recording).add(Exchange {
            authorization: parts
                .headers
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            if_match,
            body: &body,
            status: rparts.status.as_u16(),
            answer: &rbody,
        });
        // The file is the writer task's (writer.rs): this exchange only wakes it.
        shared.changed.notify_one();
    }
    let mut response = Response::from_parts(rparts, Full::new(rbody));
    response.headers_mut().remove(hyper::header::CONTENT_LENGTH);
    response
}
