//! The server's own cost per request, without the kernel: whole HTTP/1.1 requests written
//! pipelined on one in-memory connection through the request-target adapter, hyper, the
//! listener glue and the pipeline (auth, routing, handler, journal), 100 requests per
//! iteration. `benches/load.sh` measures the same paths over TCP against a hello-world
//! baseline; this one isolates user-space work, so a change to it shows above the noise of
//! a shared machine. Every POST iteration creates 100 more users, so that row runs against a
//! store that grows while it is measured. Results go in BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scimock::fuzzing::BenchServer;

const REQUESTS: usize = 100;

fn requests(one: impl Fn(usize) -> String) -> Vec<u8> {
    (0..REQUESTS).flat_map(|i| one(i).into_bytes()).collect()
}

fn head(method: &str, target: &str, body: &str) -> String {
    let mut h = format!(
        "{method} {target} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nUser-Agent: bench\r\n",
        BenchServer::TOKEN
    );
    if !body.is_empty() {
        h.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    h.push_str("\r\n");
    h.push_str(body);
    h
}

fn bench(c: &mut Criterion) {
    let server = BenchServer::new(10_000);
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(REQUESTS as u64));
    let get = requests(|_| head("GET", "/scim/v2/Users/u5000", ""));
    let filter = requests(|_| {
        head(
            "GET",
            "/scim/v2/Users?filter=userName+eq+%22u5000@bench.test%22",
            "",
        )
    });
    let patch = requests(|i| {
        let op = if i % 2 == 0 { "Add" } else { "Remove" };
        let body = format!(
            "{{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{{\"op\":\"{op}\",\"path\":\"members\",\"value\":[{{\"value\":\"u{}\"}}]}}]}}",
            100 + i / 2
        );
        head("PATCH", "/scim/v2/Groups/g10", &body)
    });
    let mut round = 0u64;
    for (name, data) in [
        ("GET /Users/{id}", &get),
        ("GET userName eq", &filter),
        ("PATCH member", &patch),
    ] {
        // Every request must have been answered 2xx, or the figure means nothing.
        let out = server.exchange(data);
        let ok = out
            .windows(10)
            .filter(|w| w.starts_with(b"HTTP/1.1 2"))
            .count();
        assert_eq!(
            ok,
            REQUESTS,
            "{name}: {}",
            String::from_utf8_lossy(&out[..out.len().min(600)])
        );
        g.bench_function(name, |b| b.iter(|| server.exchange(data)));
    }
    g.bench_function("POST /Users", |b| {
        b.iter(|| {
            round += 1;
            let data = requests(|i| {
                let body = format!(
                    "{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"load_{round}_{i}@bench.test\",\"active\":true}}"
                );
                head("POST", "/scim/v2/Users", &body)
            });
            server.exchange(&data)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
