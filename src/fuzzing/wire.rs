//! Fuzz body for `http_bytes`: raw bytes, as a client would write them to the socket,
//! through hyper's HTTP/1.1 parser, the request-target adapter, the listener glue (body
//! limits and timeout, fault delays, connection breaks) and the pipeline, over an in-memory
//! pipe. Where `http_request` builds well-formed requests, this one exercises framing:
//! pipelining, chunked bodies, `Expect: 100-continue`, truncated heads, garbage.
//!
//! Invariants: nothing panics; what the server writes back starts with a complete
//! HTTP/1.1 status line and head, with a status in 100..=599 that is never 500; the store's
//! invariants hold afterwards and every stored resource still reads back.
//!
//! The client half-closes after its bytes, so no input waits for the header or body
//! timeout: an incomplete request ends at EOF. Ten seconds bound each phase in case one
//! ever hangs (the fuzzer then reports it).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::scim::ResourceKind;
use crate::server::{listener, service};

/// The most the fuzzer reads back per input; a response beyond it is cut (not an error).
const MAX_RESPONSE: usize = 1 << 20;

/// `http_bytes`: see the module docs.
pub fn http_bytes(data: &[u8]) {
    let Some((written, shared)) = serve_bytes(data) else {
        return;
    };
    check_response(&written);
    shared
        .store
        .check_invariants()
        .unwrap_or_else(|e| panic!("store invariants after {data:?}: {e}"));
    for kind in [ResourceKind::User, ResourceKind::Group] {
        for resource in shared.store.all(kind) {
            let id = resource["id"].as_str().unwrap_or_default();
            shared
                .store
                .get(kind, id, true)
                .unwrap_or_else(|e| panic!("stored {kind:?} {id} does not read back: {e}"));
        }
    }
}

/// Serves one connection that carries `data` to a fresh fuzz tenant; what the server
/// wrote back, and the tenant.
fn serve_bytes(data: &[u8]) -> Option<(Vec<u8>, Arc<crate::server::Shared>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .ok()?;
    let tenant = super::http::tenant();
    let shared = Arc::clone(&tenant.shared);
    let tenants = Arc::new(vec![tenant]);
    let written = runtime.block_on(over_pipe(tenants, data, "fuzz"));
    Some((written, shared))
}

/// Serves one in-memory connection carrying `data` (the client half-closes after it) to
/// `tenants`; what the server wrote back, at most [`MAX_RESPONSE`] bytes.
async fn over_pipe(tenants: Arc<Vec<crate::server::Mount>>, data: &[u8], peer: &str) -> Vec<u8> {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let mut http = service::http1(&listener::Limits::default());
    // The only setting that differs from the listener's: the client half-closes after
    // its bytes, and without this hyper would drop the pipelined requests still queued.
    http.half_close(true);
    let conn = service::connection(&http, server, peer.to_owned(), tenants);
    let served = tokio::spawn(conn);
    // Writing and reading at once: a server answering pipelined requests could fill
    // the pipe while the client is still writing.
    let (mut read, mut write) = tokio::io::split(&mut client);
    let send = async {
        let _ = write.write_all(data).await;
        let _ = write.shutdown().await;
    };
    let mut out = Vec::new();
    let receive = async {
        let mut buf = [0u8; 8192];
        while out.len() < MAX_RESPONSE {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(buf.get(..n).unwrap_or_default()),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(send, receive)
    })
    .await;
    drop(client);
    let _ = tokio::time::timeout(Duration::from_secs(10), served).await;
    out
}

/// For `benches/pipeline.rs`: one tenant set up like `scimock serve`'s (a bearer token,
/// a 1,000-entry journal, `users` seeded users `u1`…), and a runtime to serve connections
/// to it over in-memory pipes. What the listener, the request-target adapter, hyper and
/// the pipeline cost per request, without the kernel's TCP work.
#[derive(Debug)]
pub struct BenchServer {
    runtime: tokio::runtime::Runtime,
    tenants: Arc<Vec<crate::server::Mount>>,
}

impl BenchServer {
    /// The bearer token [`BenchServer::exchange`]'s requests must send.
    pub const TOKEN: &'static str = "bench-token";

    /// A tenant with `users` users (`u1`…, `userName` `u1@bench.test`…) and a group `g10`
    /// of `u1`…`u10`.
    pub fn new(users: usize) -> BenchServer {
        let seed = serde_json::json!({
            "Users": (1..=users)
                .map(|i| serde_json::json!({"id": format!("u{i}"), "userName": format!("u{i}@bench.test"), "active": true}))
                .collect::<Vec<_>>(),
            "Groups": [{"id": "g10", "displayName": "g10",
                "members": (1..=users.min(10)).map(|i| serde_json::json!({"value": format!("u{i}")})).collect::<Vec<_>>()}],
        });
        let mounts = crate::MockServer::builder()
            .token(Self::TOKEN)
            .journal_size(1000)
            .seed(seed)
            .mounts("http://bench")
            .unwrap_or_else(|e| panic!("bench tenant: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("bench runtime: {e}"));
        BenchServer {
            runtime,
            tenants: Arc::new(mounts),
        }
    }

    /// Sends `data` (whole requests, pipelined) on one new connection, half-closes, and
    /// returns what the server wrote back (at most 1 MiB).
    pub fn exchange(&self, data: &[u8]) -> Vec<u8> {
        self.runtime
            .block_on(over_pipe(Arc::clone(&self.tenants), data, "bench"))
    }
}

/// The first answer is a complete HTTP/1.1 head with a sane status (later ones may belong
/// to `HEAD` requests, whose bodies are absent, so they are not parsed blindly).
fn check_response(written: &[u8]) {
    if written.is_empty() {
        return; // hyper may close a connection whose first bytes are not HTTP at all
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(written) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) if written.len() >= MAX_RESPONSE => return,
        other => panic!(
            "the server wrote something that is not an HTTP response head ({other:?}): {:?}",
            String::from_utf8_lossy(written.get(..written.len().min(512)).unwrap_or_default())
        ),
    }
    let status = response.code.unwrap_or(0);
    assert!((100..=599).contains(&status), "status {status}");
    assert_ne!(
        status,
        500,
        "internal error: {:?}",
        String::from_utf8_lossy(written.get(..written.len().min(2048)).unwrap_or_default())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelined_requests_with_a_chunked_body_are_answered_in_order() {
        let input = b"GET /scim/v2/Users/u1 HTTP/1.1\r\nHost: x\r\n\r\n\
              POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Type: application/scim+json\r\n\
              Transfer-Encoding: chunked\r\n\r\n10\r\n{\"userName\":\"c\"}\r\n0\r\n\r\n";
        let (written, shared) = serve_bytes(input).unwrap();
        let text = String::from_utf8_lossy(&written);
        let statuses: Vec<&str> = text
            .match_indices("HTTP/1.1 ")
            .map(|(i, _)| text.get(i + 9..i + 12).unwrap_or(""))
            .collect();
        assert_eq!(statuses, ["200", "201"], "{text}");
        assert_eq!(shared.store.all(ResourceKind::User).len(), 3);
        http_bytes(input);
    }

    #[test]
    fn garbage_and_truncated_heads_do_not_panic() {
        for input in [
            &b""[..],
            b"\x00\xff\xfe",
            b"GET /scim/v2/Users HTTP/1.1\r\nHost",
            b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
            b"GET /scim/v2/Users?filter=userName eq \"a\" HTTP/1.1\r\nHost: x\r\n\r\n",
        ] {
            http_bytes(input);
        }
    }

    #[test]
    #[should_panic(expected = "not an HTTP response head")]
    fn a_response_that_is_not_http_is_caught() {
        check_response(b"hello");
    }
}
