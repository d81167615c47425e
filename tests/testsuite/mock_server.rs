//! The `MockServer` life cycle (docs/adr/0001-mock-server-runtime.md): it starts from a
//! sync test, a current-thread or a multi-thread runtime; it answers while the test blocks
//! its only thread; default servers share one runtime instead of a thread pool each;
//! dropping one closes its port without touching the others.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use scimock::MockServer;
use serde_json::Value;

use crate::support::{send, server, TOKEN};

/// How many servers the loops start.
const SERVERS: usize = 200;

/// Threads the process may gain over the loops from what other tests run beside them
/// (their runtimes and client threads). One thread pool per server would add at least
/// `SERVERS` threads (three per server when they stay alive), far above this.
const THREAD_SLACK: usize = 100;

/// One HTTP/1.1 request over a blocking std socket (`Connection: close`, read to the
/// end): the status and the body. Blocks the calling thread, runtime or not.
fn blocking_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\nContent-Length: 0\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8(answer).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap()
    };
    (status, body)
}

fn health(addr: SocketAddr) -> u16 {
    blocking_request(addr, "GET", "/_mock/health", None).0
}

/// The `Threads:` line of /proc/self/status: every thread of this test process.
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

/// Fails when `now` has grown more than [`THREAD_SLACK`] over `before`.
fn assert_few_new_threads(before: usize, now: usize, what: &str) {
    assert!(
        now <= before + THREAD_SLACK,
        "{what} took the process from {before} to {now} threads"
    );
}

/// `SERVERS` servers alive at once, then `SERVERS` started, asked once and dropped in
/// turn, from a sync test: the thread count stays within [`THREAD_SLACK`] of the start.
#[cfg(target_os = "linux")]
#[test]
fn servers_started_and_dropped_from_a_sync_test_share_a_few_threads() {
    drop(MockServer::builder().start_blocking()); // the first one creates the shared runtime
    let before = threads();
    let alive: Vec<MockServer> = (0..SERVERS)
        .map(|_| MockServer::builder().start_blocking())
        .collect();
    assert_few_new_threads(before, threads(), "live servers");
    assert!(alive.iter().all(|s| health(s.address()) == 200));
    drop(alive);
    for _ in 0..SERVERS {
        let server = MockServer::builder().start_blocking();
        assert_eq!(health(server.address()), 200);
        drop(server);
    }
    assert_few_new_threads(before, threads(), "started and dropped servers");
}

/// The same from a current-thread `#[tokio::test]` with `start().await`.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn servers_started_and_dropped_from_a_tokio_test_share_a_few_threads() {
    drop(MockServer::start().await);
    let before = threads();
    let mut alive = Vec::with_capacity(SERVERS);
    for _ in 0..SERVERS {
        alive.push(MockServer::start().await);
    }
    assert_few_new_threads(before, threads(), "live servers");
    assert!(alive.iter().all(|s| health(s.address()) == 200));
    drop(alive);
    for _ in 0..SERVERS {
        let server = MockServer::start().await;
        assert_eq!(health(server.address()), 200);
        drop(server);
    }
    assert_few_new_threads(before, threads(), "started and dropped servers");
}

#[test]
fn a_sync_test_starts_a_server_without_a_runtime_and_drop_closes_the_port() {
    let s = MockServer::builder().no_auth().start_blocking();
    let addr = s.address();
    assert!(s.token().is_none());
    let (status, body) = blocking_request(addr, "GET", "/scim/v2/Users", None);
    assert_eq!((status, &body["totalResults"]), (200, &Value::from(0)));
    drop(s);
    assert!(
        TcpStream::connect(addr).is_err(),
        "{addr} still accepts after drop"
    );
}

#[tokio::test]
async fn a_current_thread_test_that_blocks_its_only_thread_still_gets_answers() {
    let server = server();
    let addr = server.address();
    // This thread is the test runtime's only one; it is blocked in std I/O and sleeps
    // while the server answers.
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(health(addr), 200);
    let (status, body) = blocking_request(addr, "GET", "/scim/v2/Users", Some(TOKEN));
    assert_eq!((status, &body["totalResults"]), (200, &Value::from(0)));
    assert_eq!(blocking_request(addr, "GET", "/scim/v2/Users", None).0, 401);
    // An async request through the test's own runtime works too, and drop after it
    // returns with the client's keep-alive connection still open.
    assert_eq!(send(&server, "GET", "/Users", None, &[]).await.status, 200);
    drop(server);
    assert!(
        TcpStream::connect(addr).is_err(),
        "{addr} still accepts after drop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_thread_test_starts_and_drops_servers_without_deadlock() {
    for _ in 0..20 {
        let server = MockServer::builder().token(TOKEN).start().await;
        assert_eq!(send(&server, "GET", "/Users", None, &[]).await.status, 200);
        let addr = server.address();
        drop(server);
        assert!(
            TcpStream::connect(addr).is_err(),
            "{addr} still accepts after drop"
        );
    }
}

#[test]
fn a_server_outlives_the_runtime_it_was_started_in() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(MockServer::start());
    drop(rt);
    assert_eq!(health(server.address()), 200);
}

#[test]
fn two_servers_at_once_are_independent() {
    let (a, b) = (server(), server());
    assert_ne!(a.address(), b.address());
    let user =
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"only-in-a"}"#;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let created = rt.block_on(send(&a, "POST", "/Users", Some(user), &[]));
    assert_eq!(created.status, 201);
    assert_eq!((a.users().len(), b.users().len()), (1, 0));
    let b_addr = b.address();
    drop(a);
    let (status, body) = blocking_request(b_addr, "GET", "/scim/v2/Users", Some(TOKEN));
    assert_eq!((status, &body["totalResults"]), (200, &Value::from(0)));
    assert_eq!(b.received_requests().len(), 1);
}

#[test]
fn a_server_with_its_own_workers_serves_and_stops_on_drop() {
    let server = MockServer::builder().workers(1).start_blocking();
    let addr = server.address();
    assert_eq!(health(addr), 200);
    drop(server);
    assert!(
        TcpStream::connect(addr).is_err(),
        "{addr} still accepts after drop"
    );
}

#[test]
fn drop_closes_the_connections_a_client_keeps_open() {
    let server = MockServer::builder().start_blocking();
    let mut kept = TcpStream::connect(server.address()).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    kept.write_all(b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    kept.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    drop(server);
    // The idle keep-alive connection was shut down with the server: what is left of
    // the answer, then end of stream.
    let mut rest = Vec::new();
    assert!(
        kept.read_to_end(&mut rest).is_ok(),
        "the connection was not closed"
    );
}
