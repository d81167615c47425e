//! What a test pays for a mock server of its own: start one, send it one request, drop it,
//! for `scimock::MockServer` and for wiremock's, in the same process and with the same
//! client. Results and the command are in BENCHMARKS.md
//! (`## Cheap MockServer (issue 17, goal 6)`).
//!
//! Each iteration runs inside a current-thread runtime, as a `#[tokio::test]` does, and the
//! request is a blocking `std::net::TcpStream` exchange on a fresh connection, so neither
//! server can lean on the caller's runtime to answer. The request goes to
//! `/_mock/health`: scimock's answers 200 without a token; wiremock, with no mocks, answers
//! 404. Either way one small answer comes back over a fresh connection.

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use criterion::{criterion_group, criterion_main, Criterion};

/// One `GET /_mock/health` over a new keep-alive connection, read up to the end of the
/// answer's body (by its `Content-Length`); then the client closes first. Returns the
/// status code.
///
/// The client closes first so that the `TIME_WAIT` left by each exchange is on the
/// client's port. With `Connection: close` the server closes first, and at a thousand
/// servers a second the server ports in `TIME_WAIT` soon fill the ephemeral range, so
/// each new `bind` to port 0 searches for a free port for milliseconds: that measures
/// the kernel, and wiremock (which reuses its pooled servers' ports) never pays it.
fn get_health(addr: SocketAddr) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connect to the mock server");
    let request = format!("GET /_mock/health HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut answer = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = stream.read(&mut chunk).expect("read the answer");
        assert!(n > 0, "the server closed before the answer was complete");
        answer.extend_from_slice(&chunk[..n]);
        if let Some(status) = complete(&answer) {
            return status;
        }
    }
}

/// The status code once `answer` holds a whole head and `Content-Length` body bytes.
fn complete(answer: &[u8]) -> Option<u16> {
    let head_end = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&answer[..head_end]).expect("an ASCII head");
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| value.trim().parse().expect("a length"));
    if answer.len() < head_end + length {
        return None;
    }
    // `HTTP/1.1 200 OK`: the status is bytes 9..12 of the status line.
    head.get(9..12).and_then(|code| code.parse().ok())
}

fn start_request_drop(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let mut g = c.benchmark_group("mock_server/start_get_drop");
    g.bench_function("scimock", |b| {
        b.iter(|| {
            rt.block_on(async {
                let server = scimock::MockServer::start().await;
                assert_eq!(get_health(server.address()), 200);
                drop(black_box(server));
            })
        })
    });
    g.bench_function("wiremock", |b| {
        b.iter(|| {
            rt.block_on(async {
                let server = wiremock::MockServer::start().await;
                assert_eq!(get_health(*server.address()), 404);
                drop(black_box(server));
            })
        })
    });
    g.finish();
}

criterion_group!(mock_server, start_request_drop);
criterion_main!(mock_server);
