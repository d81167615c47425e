//! The HTTP surface under abuse, on 127.0.0.1 only and bounded in time: slow clients
//! (slowloris), too many connections, oversized heads.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use scimock::MockServer;

fn connect(server: &MockServer) -> TcpStream {
    let s = TcpStream::connect(server.address()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads until the peer closes or the read timeout passes; returns what came.
fn read_all(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// A keep-alive connection on which the server has answered one request, so it surely
/// holds one of the server's connection slots.
fn connected_and_answered(server: &MockServer) -> TcpStream {
    let mut s = connect(server);
    s.write_all(b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).unwrap();
        assert_eq!(
            n,
            1,
            "closed before the answer's head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

#[test]
fn a_client_that_never_finishes_its_request_head_is_disconnected() {
    let server = MockServer::builder()
        .no_auth()
        .header_read_timeout(Duration::from_millis(300))
        .start_blocking();
    let mut slow = connect(&server);
    slow.write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let answer = read_all(&mut slow);
    // Closed by the server (timeout), not by our 5 s read timeout.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "still open after {:?}",
        started.elapsed()
    );
    assert!(!answer.contains("200 OK"), "{answer}");
    // Meanwhile the server keeps serving others.
    let mut ok = connect(&server);
    ok.write_all(b"GET /_mock/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(read_all(&mut ok).starts_with("HTTP/1.1 200"));
}

#[test]
fn one_connection_over_the_limit_gets_a_scim_503() {
    let server = MockServer::builder()
        .no_auth()
        .max_connections(2)
        .start_blocking();
    // Each holds a slot once the server has answered a keep-alive request on it.
    let a = connected_and_answered(&server);
    let b = connected_and_answered(&server);
    let mut c = connect(&server);
    c.write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answer = read_all(&mut c);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.contains("urn:ietf:params:scim:api:messages:2.0:Error"),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    drop(a);
    drop(b);
    // Once the others close, a new connection is served again: the server notices the
    // closes on its own schedule, so retry (bounded) until a slot is free.
    let mut last = String::new();
    crate::support::wait_until(
        "served after the others closed",
        Duration::from_secs(5),
        || {
            let mut d = connect(&server);
            let _ =
                d.write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            last = read_all(&mut d);
            last.starts_with("HTTP/1.1 200")
        },
    );
    assert!(last.starts_with("HTTP/1.1 200"), "{last}");
}

#[test]
fn a_request_head_over_the_limit_is_refused_and_the_server_keeps_serving() {
    let server = MockServer::builder().no_auth().start_blocking();
    let mut big = connect(&server);
    let header = format!("X-Big: {}\r\n", "a".repeat(1024 * 1024));
    let _ =
        big.write_all(format!("GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n{header}\r\n").as_bytes());
    let answer = read_all(&mut big);
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    let mut ok = connect(&server);
    ok.write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(read_all(&mut ok).starts_with("HTTP/1.1 200"));
}
