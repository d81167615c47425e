//! The listener, in the shape of mini-redis's: a [`Listener`] whose [`Listener::accept`]
//! hands out the next connection and whose [`Listener::run`] admits it. It owns
//! everything between a TCP socket and the code that serves it, for `scimock serve` and
//! `scimock record` alike ([`Handler`] is what each does with a connection):
//!
//! - **Accepting, with backoff.** An accept that fails for lack of descriptors or memory
//!   (EMFILE, ENFILE, ENOBUFS…) would fail again at once: the loop pauses 10 ms, doubling
//!   to 1 s, instead of spinning on a core; one connection's own failure (reset, aborted)
//!   is skipped at once.
//! - **The connection cap** ([`Limits::max_connections`]). Each socket holds a permit of
//!   the socket budget (the served connections plus a few being refused) from accept to
//!   close, whatever it carries; at the budget the loop stops accepting (new clients wait
//!   in the kernel's backlog), so descriptors stay bounded. A connection is admitted when
//!   it is accepted, so one still in its TLS handshake holds a slot too; the slot moves
//!   into the connection's task and is freed when the connection closes.
//! - **TLS** (`serve --tls-cert`): the handshake runs in the connection's own task,
//!   bounded by the header timeout, for admitted and refused connections alike.
//! - **The over-capacity answer**: one more connection than the cap is answered `503`
//!   with `Retry-After` and closed. On a TLS port it is written after the handshake,
//!   inside TLS, so the client reads a 503 and not a protocol error
//!   (`SSL: WRONG_VERSION_NUMBER` from plaintext on a TLS socket); a client that does not
//!   complete the handshake is closed without a byte written.
//! - **Graceful shutdown**: stop accepting, give open connections five seconds, then
//!   cancel what is left; [`Listener::run`] returns once every connection task has ended.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::handlers::Reply;
use super::pipeline;
use crate::Error;

/// Connection-level limits of a listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Time a client has to send a complete request head (slowloris protection), and to
    /// complete a TLS handshake.
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

/// What a [`Listener`] does with each connection it admits: the SCIM server's pipeline
/// (`service.rs`) or the recording proxy (`crate::record`).
pub(crate) trait Handler: Send + Sync + 'static {
    /// Serves one admitted connection until the client is done, or until `watcher`'s
    /// graceful shutdown has it finish its request in flight and close.
    fn serve(
        &self,
        stream: Stream,
        peer: SocketAddr,
        watcher: Watcher,
    ) -> impl Future<Output = ()> + Send + 'static;
}

/// A TLS acceptor (`serve --tls-cert`, feature `tls`).
#[cfg(feature = "tls")]
pub(crate) type Acceptor = tokio_rustls::TlsAcceptor;
/// Without the `tls` feature no acceptor can exist: every connection is plain.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone)]
pub(crate) enum Acceptor {}

/// An accepted connection's byte stream: plain TCP, or TLS over it.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The pause after an accept that failed for want of a resource: 10 ms, doubling each
/// time it fails again, at most 1 s; a fresh one for every connection accepted.
#[derive(Debug)]
pub(crate) struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    pub(crate) fn new() -> Backoff {
        Backoff(Self::FIRST)
    }

    /// The next pause.
    pub(crate) fn next_pause(&mut self) -> Duration {
        let pause = self.0;
        self.0 = (self.0 * 2).min(Self::MAX);
        pause
    }
}

/// True for an accept error that is one connection's own (it was reset or aborted while
/// queued): the next accept may well succeed, so there is nothing to wait for.
fn one_connections(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// An accepted connection, with its permit of the socket budget.
struct Accepted {
    tcp: TcpStream,
    peer: SocketAddr,
    socket: OwnedSemaphorePermit,
}

/// A bound TCP listener with its limits and, for https, its TLS acceptor.
pub(crate) struct Listener {
    listener: TcpListener,
    limits: Limits,
    tls: Option<Acceptor>,
    /// The served connections: `max_connections` permits.
    slots: Arc<Semaphore>,
    /// Every open socket: the served connections plus a few being refused.
    sockets: Arc<Semaphore>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("listener", &self.listener)
            .field("limits", &self.limits)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Listener {
    pub(crate) fn new(listener: TcpListener, limits: Limits, tls: Option<Acceptor>) -> Listener {
        let max = limits.max_connections.max(1);
        let refusing = (max / 8).clamp(4, 64);
        Listener {
            listener,
            limits,
            tls,
            slots: Arc::new(Semaphore::new(max)),
            sockets: Arc::new(Semaphore::new(max + refusing)),
        }
    }

    /// The next connection, once the socket budget has room for it. Accept errors are
    /// logged and retried, with a [`Backoff`] when they are not one connection's own.
    /// `None` only if the budget were closed, which nothing does.
    async fn accept(&mut self) -> Option<Accepted> {
        let socket = Arc::clone(&self.sockets).acquire_owned().await.ok()?;
        let mut backoff = Backoff::new();
        loop {
            match self.listener.accept().await {
                Ok((tcp, peer)) => return Some(Accepted { tcp, peer, socket }),
                Err(e) if one_connections(&e) => {}
                Err(e) => {
                    let pause = backoff.next_pause();
                    tracing::warn!(error = %e, pause_ms = pause.as_millis() as u64, "accept failed; pausing");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// Accepts and serves connections with `handler` until `shutdown` resolves, then stops
    /// accepting and gives open connections up to five seconds to finish; returns once the
    /// listener is closed and every connection task has ended or been aborted.
    pub(crate) async fn run<H: Handler>(mut self, handler: H, shutdown: impl Future<Output = ()>) {
        let handler = Arc::new(handler);
        let graceful = GracefulShutdown::new();
        // Every connection task, so none outlives the listener on a shared runtime
        // (finished ones are reaped before each accept: the set holds the open sockets).
        let mut tasks = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            while tasks.try_join_next().is_some() {}
            let accepted = tokio::select! {
                a = self.accept() => match a {
                    Some(a) => a,
                    None => break,
                },
                () = &mut shutdown => break,
            };
            let _ = accepted.tcp.set_nodelay(true);
            let slot = Arc::clone(&self.slots).try_acquire_owned().ok();
            tasks.spawn(connection(
                accepted,
                slot,
                self.tls.clone(),
                self.limits,
                Arc::clone(&handler),
                graceful.watcher(),
            ));
        }
        drop(self.listener);
        while tasks.try_join_next().is_some() {}
        if tasks.is_empty() {
            // No connection is open: nothing needs a grace period (or its timer).
            return;
        }
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        // What the grace period did not finish is cancelled, and awaited so its sockets
        // close.
        tasks.shutdown().await;
    }
}

/// One connection's task, the same path for plain and TLS: the handshake (if any), then
/// the handler with the connection's slot, or the over-capacity answer without one. The
/// socket permit is released last, after the socket has closed.
async fn connection<H: Handler>(
    accepted: Accepted,
    slot: Option<OwnedSemaphorePermit>,
    tls: Option<Acceptor>,
    limits: Limits,
    handler: Arc<H>,
    watcher: Watcher,
) {
    let Accepted { tcp, peer, socket } = accepted;
    let stream = match tls {
        None => Stream::Plain(tcp),
        #[cfg(feature = "tls")]
        Some(acceptor) => {
            // Bounded like a request head, so a silent client cannot hold a socket.
            match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => Stream::Tls(Box::new(tls)),
                _ => return,
            }
        }
        #[cfg(not(feature = "tls"))]
        Some(never) => match never {},
    };
    match slot {
        Some(slot) => {
            handler.serve(stream, peer, watcher).await;
            drop(slot);
        }
        None => refuse(stream, limits.max_connections).await,
    }
    drop(socket);
}

/// Answers one request on a connection over the cap with [`over_capacity`], then closes;
/// at most two seconds.
async fn refuse(stream: Stream, max: usize) {
    let mut busy = hyper::server::conn::http1::Builder::new();
    busy.keep_alive(false);
    let service =
        hyper::service::service_fn(
            move |_req| async move { Ok::<_, Infallible>(over_capacity(max)) },
        );
    let conn = busy.serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
}

/// The answer to a connection over the cap: 503 with `Retry-After` and a SCIM error body
/// (RFC 7644 §3.12), then close.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_backoff_doubles_from_ten_milliseconds_to_one_second() {
        let mut backoff = Backoff::new();
        let pauses: Vec<u64> = (0..10)
            .map(|_| backoff.next_pause().as_millis() as u64)
            .collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    }

    #[test]
    fn only_a_connections_own_accept_error_is_retried_at_once() {
        assert!(one_connections(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
        // EMFILE, ENFILE: the next accept would fail the same way.
        assert!(!one_connections(&io::Error::from_raw_os_error(24)));
        assert!(!one_connections(&io::Error::from_raw_os_error(23)));
    }
}
