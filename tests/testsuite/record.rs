//! The recording proxy: record a replay run against one MockServer, replay the recording
//! against a fresh one, get the same results; secrets never reach the recording.

use serde_json::json;

use scimock::clock::SequentialIds;
use scimock::entra::Dialect;
use scimock::record::Recorder;
use scimock::replay::{Outcome, Runner, RunnerConfig, Scenario};

fn fresh() -> scimock::MockServer {
    scimock::MockServer::builder()
        .token("t")
        .ids(SequentialIds::new())
        .seed(json!({"Users": [], "Groups": []}))
        .start_blocking()
}

async fn replay(url: String, scenarios: &[Scenario]) -> scimock::replay::Report {
    let mut config = RunnerConfig::new(url);
    config.token = Some("t".into());
    config.dialects = vec![Dialect::Legacy];
    config.concurrency = 1;
    config.seed = Some(11);
    // One recorded step per scenario step: the stand-in's own read-backs would be
    // recorded too.
    config.read_back = scimock::replay::ReadBack::Off;
    Runner::new(config).unwrap().run(scenarios).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_replay_run_replays_against_a_fresh_server_with_the_same_results() {
    let upstream = fresh();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("recorded.json");
    let recorder = Recorder::start(&upstream.base_url(), "127.0.0.1:0", "recorded", Some(&out))
        .await
        .unwrap();
    let picked: Vec<Scenario> = scimock::replay::builtin_scenarios()
        .unwrap()
        .into_iter()
        .filter(|s| {
            ["group_remove_member", "disable_user", "test_connection"].contains(&s.name.as_str())
        })
        .collect();
    let original = replay(format!("http://{}", recorder.addr()), &picked).await;
    assert_eq!(
        original.summary.failed,
        0,
        "{}",
        scimock::replay::report::terminal(&original, false)
    );
    let sent: usize = original
        .scenarios
        .iter()
        .map(|s| s.steps.len() + s.cleanup.len())
        .sum();
    recorder.stop().await;

    // The file on disk is the recording, complete.
    let recorded = Scenario::load(&out).unwrap();
    assert_eq!(recorded.steps.len(), sent);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.contains("Bearer"),
        "a token leaked into the recording"
    );
    assert!(
        text.contains("${user_1}") && text.contains("${group_1}"),
        "ids were not turned into variables"
    );

    let again = replay(fresh().base_url(), std::slice::from_ref(&recorded)).await;
    let statuses = |r: &scimock::replay::Report| -> Vec<u16> {
        r.scenarios
            .iter()
            .flat_map(|s| &s.steps)
            .filter_map(|st| st.response.as_ref().map(|x| x.status))
            .collect()
    };
    assert_eq!(
        again.scenarios[0].outcome,
        Outcome::Passed,
        "{}",
        scimock::replay::report::terminal(&again, false)
    );
    let mut original_statuses: Vec<u16> = Vec::new();
    for s in &original.scenarios {
        original_statuses.extend(
            s.steps
                .iter()
                .filter_map(|st| st.response.as_ref().map(|x| x.status)),
        );
        original_statuses.extend(s.cleanup.iter().filter_map(|c| c.status));
    }
    assert_eq!(statuses(&again), original_statuses);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_and_tokens_in_bodies_are_redacted() {
    let upstream = fresh();
    let recorder = Recorder::start(&upstream.base_url(), "127.0.0.1:0", "secrets", None)
        .await
        .unwrap();
    let scenario = Scenario::from_json(
        &json!({"steps": [{"name": "create", "request": {"method": "POST", "path": "/Users",
            "body": {"userName": "s@example.com", "password": "hunter2", "x": {"apiKey": "k-123"}}},
            "expect": {"status": 201}}]})
        .to_string(),
        "secrets",
    )
    .unwrap();
    let report = replay(format!("http://{}", recorder.addr()), &[scenario]).await;
    assert_eq!(report.summary.failed, 0);
    let recorded = serde_json::to_string(&recorder.scenario()).unwrap();
    assert!(
        !recorded.contains("hunter2") && !recorded.contains("k-123"),
        "{recorded}"
    );
    assert!(recorded.contains("[redacted]"));
}

#[tokio::test]
async fn refuses_an_upstream_that_is_not_http_or_https() {
    let err = Recorder::start("ftp://example.com/scim", "127.0.0.1:0", "x", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("https://"), "{err}");
}

// ---- the proxy's limits and its file (issue 32, item 5) ----------------------------

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use scimock::record::RecordOptions;
use scimock::server::Limits;

fn limited(max_connections: usize, header_read_timeout: Duration) -> RecordOptions {
    RecordOptions {
        limits: Limits {
            max_connections,
            header_read_timeout,
        },
        ..RecordOptions::default()
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// One keep-alive request on `s`; the answer's head and `Content-Length` body.
fn exchange(s: &mut TcpStream, path: &str) -> String {
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t\r\n\r\n"
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap_or(0);
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        let done = text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            body.len() >= length
        });
        if n == 0 || done {
            return text;
        }
    }
}

/// Reads until the proxy closes `s` (true) or 10 s pass with it open (false).
fn closed_by_the_proxy(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_or_slow_connection_to_the_proxy_is_closed_after_the_header_timeout() {
    let upstream = fresh();
    let options = limited(8, Duration::from_millis(300));
    let recorder =
        Recorder::start_with(&upstream.base_url(), "127.0.0.1:0", "idle", None, &options)
            .await
            .unwrap();
    let addr = recorder.addr();
    let closed = tokio::task::spawn_blocking(move || {
        // Sends nothing at all: not even enough to tell HTTP/1 from HTTP/2.
        let mut silent = connect(addr);
        // Half a request head.
        let mut partial = connect(addr);
        partial
            .write_all(b"GET /Users HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        // A whole request, answered, then no next one on the kept-alive connection.
        let mut kept = connect(addr);
        let answer = exchange(&mut kept, "/ServiceProviderConfig");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        [&mut silent, &mut partial, &mut kept].map(closed_by_the_proxy)
    })
    .await
    .unwrap();
    assert_eq!(closed, [true, true, true], "silent, partial, kept-alive");
    recorder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_proxys_cap_are_refused_with_a_503() {
    let upstream = fresh();
    let options = limited(2, Duration::from_secs(60));
    let recorder = Recorder::start_with(&upstream.base_url(), "127.0.0.1:0", "cap", None, &options)
        .await
        .unwrap();
    let addr = recorder.addr();
    tokio::task::spawn_blocking(move || {
        let mut held: Vec<TcpStream> = (0..2)
            .map(|_| {
                let mut s = connect(addr);
                let answer = exchange(&mut s, "/ServiceProviderConfig");
                assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
                s
            })
            .collect();
        let refused = exchange(&mut connect(addr), "/ServiceProviderConfig");
        assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
        assert!(
            refused.to_ascii_lowercase().contains("retry-after"),
            "{refused}"
        );
        drop(held.pop());
        crate::support::wait_until("a slot free again", Duration::from_secs(10), || {
            exchange(&mut connect(addr), "/ServiceProviderConfig").starts_with("HTTP/1.1 200")
        });
    })
    .await
    .unwrap();
    // Refused exchanges are not recorded: the two held ones and the last one are.
    assert_eq!(recorder.scenario().steps.len(), 3);
    recorder.stop().await;
}

/// 600 exchanges (each creates a user, so every later step is templated against more
/// ids) complete; the file is not rewritten per exchange (with a one-hour interval: once
/// at start, at most once after the first exchange); after stop it holds all 600 steps.
/// The time of the first and last 50 is printed, not asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_hundred_exchanges_are_all_in_the_file_after_stop() {
    let upstream = fresh();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("many.json");
    let options = RecordOptions {
        flush_interval: Duration::from_secs(3600),
        ..RecordOptions::default()
    };
    let recorder = Recorder::start_with(
        &upstream.base_url(),
        "127.0.0.1:0",
        "many",
        Some(&out),
        &options,
    )
    .await
    .unwrap();
    let http = crate::support::Http::new(format!("http://{}", recorder.addr()), Some("t"));
    let mut took = Vec::with_capacity(600);
    for i in 0..600 {
        let started = Instant::now();
        let body =
            json!({"userName": format!("u{i:03}@example.com"), "displayName": "x".repeat(200)});
        let answer = http.send("POST", "/Users", Some(&body)).await;
        assert_eq!(answer.status, 201, "exchange {i}");
        took.push(started.elapsed());
    }
    assert!(recorder.writes() <= 2, "{} writes", recorder.writes());
    assert_eq!(recorder.finish().await.unwrap(), 600);
    let recorded = Scenario::load(&out).unwrap();
    assert_eq!(recorded.steps.len(), 600);
    assert_eq!(recorded.steps[599].name, "600 POST /Users");
    let mean = |d: &[Duration]| d.iter().sum::<Duration>() / d.len() as u32;
    eprintln!(
        "record: 600 exchanges, first 50 {:?} each, last 50 {:?} each",
        mean(&took[..50]),
        mean(&took[550..])
    );
}

/// Kills the child on drop, so a failing assertion leaves no process behind.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SIGTERM to `scimock record` stops it cleanly: open exchanges finish and the file is
/// written in full. With a one-hour flush interval, only that last write can hold the
/// later exchanges.
#[cfg(unix)]
#[test]
fn sigterm_to_scimock_record_leaves_a_complete_recording() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let upstream = fresh();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("term.json");
    let child = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["record", "--upstream", &upstream.base_url()])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--flush-interval",
            "3600",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Running(child);
    let mut lines = std::io::BufReader::new(child.0.stdout.take().unwrap()).lines();
    let addr: SocketAddr = loop {
        let line = lines.next().expect("the banner").unwrap();
        if let Some(url) = line.trim().strip_prefix("Tenant URL for the client:") {
            break url.trim().trim_start_matches("http://").parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    for i in 0..5 {
        let body = format!(r#"{{"userName":"term{i}"}}"#);
        let answer = crate::wire::send(
            addr,
            "POST",
            "/Users",
            &["Authorization: Bearer t"],
            Some(&body),
        )
        .unwrap();
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut status = None;
    crate::support::wait_until("record stopped", Duration::from_secs(20), || {
        status = child.0.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    let recorded = Scenario::load(&out).unwrap();
    assert_eq!(recorded.steps.len(), 5);
}
