//! What a test pays for a mock server of its own: start one, send it one request, drop it,
//! for `scimock::MockServer` and for wiremock's, in the same process and with the same
//! client. Results and the command are in BENCHMARKS.md
//! (`## Cheap MockServer (issue 17, goal 6)`).
//!
//! Each iteration runs inside a current-thread runtime, as a `#[tokio::test]` does, and the
//! request is a blocking `std::net::TcpStream` exchange (`Connection: close`, read to the
//! end), so neither server can lean on the caller's runtime to answer. The request goes to
//! `/_mock/health`: scimock's answers 200 without a token; wiremock, with no mocks, answers
//! 404. Either way one small answer comes back over a fresh connection.

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use criterion::{criterion_group, criterion_main, Criterion};

/// One `GET /_mock/health` over a new connection; returns the status code.
fn get_health(addr: SocketAddr) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connect to the mock server");
    let request =
        format!("GET /_mock/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut answer = Vec::with_capacity(512);
    stream.read_to_end(&mut answer).expect("read the answer");
    // `HTTP/1.1 200 OK`: the status is bytes 9..12 of the status line.
    let status = answer
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse().ok());
    status.expect("an HTTP status line")
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
