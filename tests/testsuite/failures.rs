//! Failures that are short and true: what the binary and the library say when the
//! endpoint is unreachable, hangs or wants a token, when an output file cannot be written,
//! and when a flag, fault rule or seed file is wrong. Everything on 127.0.0.1, bounded.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use scimock::replay::{Outcome, Runner, RunnerConfig};
use scimock::MockServer;

fn scimock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn replay_against_a_closed_port_prints_one_line_and_exits_2() {
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{}/scim/v2", closed_port());
    let out = scimock(&["replay", &url]);
    let elapsed = started.elapsed();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(text(&out.stdout), "", "nothing on stdout");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("cannot connect to"), "{err}");
    assert!(lines[0].contains(&url), "{err}");
    // Bound, not a benchmark: it must not wait for a timeout (10 s by default).
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
}

#[test]
fn replay_without_a_token_says_pass_token_once_and_collapses_the_401s() {
    let server = MockServer::builder().token("secret").start_blocking();
    let out = scimock(&["replay", &server.base_url()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(stdout.matches("pass --token").count(), 1, "{stdout}");
    // 42 scenarios' first steps got a 401: one entry per expected status, with a count.
    let entries = stdout.matches("got 401").count();
    assert!((1..=4).contains(&entries), "{stdout}");
    assert!(stdout.contains("(×"), "{stdout}");
    assert!(stdout.lines().count() < 30, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_endpoint_stops_the_run_after_three_timeouts_in_a_row() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(stream);
        }
    });
    let mut config = RunnerConfig::new(format!("http://127.0.0.1:{port}/scim/v2"));
    config.timeout = Duration::from_millis(300);
    config.concurrency = 1;
    let scenarios = scimock::replay::builtin_scenarios().unwrap();
    let report = Runner::new(config).unwrap().run(&scenarios).await;
    let why = report.stopped.clone().unwrap_or_default();
    assert!(why.contains("3 requests in a row"), "{why}");
    assert!(why.contains("hangs"), "{why}");
    assert!(report.unreachable);
    assert_eq!(report.exit_code(), 2);
    // Three requests, no cleanup, every later scenario skipped with the reason.
    assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) <= 3);
    let skipped = report
        .scenarios
        .iter()
        .filter(|s| s.outcome == Outcome::Skipped)
        .count();
    let not_skipped: Vec<_> = report
        .scenarios
        .iter()
        .filter(|s| s.outcome != Outcome::Skipped)
        .map(|s| (&s.name, s.outcome))
        .collect();
    assert!(
        skipped >= report.scenarios.len() - 3,
        "{skipped} {not_skipped:?}"
    );
    let text = scimock::replay::report::terminal(&report, false);
    assert!(text.contains("the endpoint hangs"), "{text}");
}

#[test]
fn replay_defaults_to_a_ten_second_timeout() {
    assert_eq!(
        RunnerConfig::new("http://127.0.0.1:1").timeout,
        Duration::from_secs(10)
    );
}

#[tokio::test]
async fn record_creates_missing_folders_and_writes_before_listening() {
    let upstream = MockServer::builder().no_auth().start_blocking();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("recorded").join("deeper").join("run1.json");
    let recorder =
        scimock::record::Recorder::start(&upstream.base_url(), "127.0.0.1:0", "run1", Some(&out))
            .await
            .unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["name"], "run1");
    assert!(recorder.save_error().is_none());
    recorder.stop().await;
}

#[tokio::test]
async fn record_refuses_an_unwritable_output_before_listening() {
    let upstream = MockServer::builder().no_auth().start_blocking();
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: it cannot be written.
    let out = dir.path().join("taken");
    std::fs::create_dir(&out).unwrap();
    let port = closed_port();
    let err = scimock::record::Recorder::start(
        &upstream.base_url(),
        &format!("127.0.0.1:{port}"),
        "x",
        Some(&out),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("cannot write"), "{err}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_reports_a_save_that_fails_later() {
    let upstream = MockServer::builder().no_auth().start_blocking();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("out");
    let out = folder.join("run.json");
    let recorder =
        scimock::record::Recorder::start(&upstream.base_url(), "127.0.0.1:0", "run", Some(&out))
            .await
            .unwrap();
    std::fs::remove_dir_all(&folder).unwrap();
    let config = RunnerConfig::new(format!("http://{}", recorder.addr()));
    let probe: Vec<_> = scimock::replay::builtin_scenarios()
        .unwrap()
        .into_iter()
        .filter(|s| s.name == "test_connection")
        .collect();
    let report = Runner::new(config).unwrap().run(&probe).await;
    assert_eq!(report.summary.failed, 0, "the proxy still answers");
    // The file is written by the recorder's writer task, off the exchanges' path.
    crate::support::wait_until("the failed save reported", Duration::from_secs(10), || {
        recorder.save_error().is_some()
    });
    let err = recorder.save_error().unwrap_or_default();
    assert!(err.contains("cannot write"), "{err}");
    assert!(recorder.save().is_err());
    recorder.stop().await;
}

#[cfg(unix)]
#[test]
fn the_record_binary_exits_1_when_its_file_cannot_be_saved() {
    let upstream = MockServer::builder().no_auth().start_blocking();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("out");
    let out = folder.join("run.json");
    let port = closed_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["record", "--upstream", &upstream.base_url(), "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "record did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(out.exists(), "written before listening");
    std::fs::remove_dir_all(&folder).unwrap();
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write"), "{err}");
    assert!(!err.contains("recorded 0 requests into"), "{err}");
}

#[test]
fn serve_listen_with_a_bare_port_suggests_an_address() {
    let out = scimock(&["serve", "--listen", "8080"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("127.0.0.1:8080"), "{err}");
}

#[test]
fn serve_banner_curl_asks_for_a_user_that_exists() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        json!({"Users": [{"userName": "zoe@fabrikam.example"}], "Groups": []}).to_string(),
    )
    .unwrap();
    let port_file = dir.path().join("port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["serve", "--no-auth", "--listen", "127.0.0.1:0", "--seed"])
        .arg(&seed)
        .arg("--port-file")
        .arg(&port_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !port_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let mut banner = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut banner)
        .unwrap();
    let _ = child.wait();
    let try_line = banner.lines().find(|l| l.starts_with("Try:")).unwrap_or("");
    assert!(
        try_line.contains("userName+eq+%22zoe%40fabrikam.example%22"),
        "{banner}"
    );
    assert!(!banner.contains("adele"), "{banner}");
}

#[test]
fn fault_rules_refuse_zero_counts_and_statuses_outside_200_to_599() {
    for rule in [
        "GET /Users status=500 every=0",
        "GET /Users status=500 nth=0",
        "GET /Users status=100",
        "GET /Users status=199",
        "GET /Users status=600",
    ] {
        let started = MockServer::builder().fault(rule).try_start();
        assert!(started.is_err(), "{rule} was accepted");
    }
    for rule in [
        "GET /Users status=200 every=1",
        "GET /Users status=599 nth=1",
    ] {
        assert!(
            MockServer::builder().fault(rule).try_start().is_ok(),
            "{rule}"
        );
    }
}

#[test]
fn a_seed_with_an_unknown_top_level_key_is_refused_naming_it() {
    let err = MockServer::builder()
        .seed(json!({"Userz": [{"userName": "a"}], "Groups": []}))
        .try_start()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("`Userz`"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::write(&seed, r#"{"Users": [], "Groupz": []}"#).unwrap();
    let out = scimock(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--seed",
        seed.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`Groupz`"), "{err}");
}

/// `scimock replay --list | head`: the reader is gone before the listing is written. The
/// command stops quietly with 141 (as if killed by SIGPIPE) instead of panicking.
#[test]
fn a_closed_stdout_pipe_stops_the_listing_without_a_panic() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // every write to `writer` now fails with EPIPE
    let out = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["replay", "--list"])
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}
