//! Killing `scimock provision` mid-cycle (issue 28 item 4, "State that survives"): the
//! links of the creates the endpoint acknowledged survive SIGKILL, SIGTERM and SIGINT, so
//! the next cycle neither queries for nor creates those users again, and deletes the ones
//! that left the directory. The binary runs against an in-process `MockServer` on
//! 127.0.0.1 whose creates are slowed down (a latency fault), so the kill lands in the
//! user pass, before the first checkpoint; bounded in users and time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use scimock::MockServer;
use serde_json::{json, Value};

use crate::support::wait_until;

/// Users in the directory. With 15 ms per create and 8 in flight the user pass takes at
/// least ~1.1 s whatever the machine's load, and the kill comes about 0.5 s in.
const USERS: usize = 600;
/// Creates acknowledged before the kill is prepared.
const ACKNOWLEDGED: usize = 80;
/// How long before the kill the acknowledged creates were answered: far more than the
/// engine needs to take an answer in.
const SETTLE: Duration = Duration::from_millis(300);

fn user_name(i: usize) -> String {
    format!("kill{i:04}@contoso.test")
}

/// A Graph directory of the users `ids`, each assigned directly.
fn directory(ids: &[usize]) -> Value {
    let users: Vec<Value> = ids
        .iter()
        .map(|i| {
            json!({"id": format!("u{i:04}"), "userPrincipalName": user_name(*i),
                "displayName": format!("User {i}"), "mailNickname": format!("kill{i}"),
                "accountEnabled": true})
        })
        .collect();
    let assignments: Vec<Value> = ids
        .iter()
        .map(|i| json!({"principalId": format!("u{i:04}"), "principalType": "User"}))
        .collect();
    json!({"users": users, "assignments": assignments})
}

fn provision(url: &str, directory: &Path, state: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimock"));
    cmd.args(["provision", url, "--token", "t", "--directory"])
        .arg(directory)
        .arg("--state")
        .arg(state)
        .env_remove("SCIMOCK_TOKEN");
    cmd
}

fn user_names(mock: &MockServer) -> Vec<String> {
    mock.users()
        .iter()
        .filter_map(|u| u["userName"].as_str().map(str::to_owned))
        .collect()
}

/// `%XX` and `+` decoded (the request journal keeps the query as sent).
fn decoded(uri: &str) -> String {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits up to 10 s for the child to end after its signal.
fn ended(child: &mut std::process::Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("provision did not end after its signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts a cycle of [`USERS`] users, sends `signal` once [`ACKNOWLEDGED`] creates were
/// answered [`SETTLE`] ago, then runs the next cycle with half of those users gone from
/// the directory, and checks the target and the requests of that next cycle.
fn killed_mid_cycle_then_the_next_cycle(signal: &str) {
    let mock = MockServer::builder()
        .token("t")
        .journal_size(20_000)
        .fault("POST /Users latency=15ms")
        .start_blocking();
    let url = mock.base_url();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state.json");
    let first = tmp.path().join("directory.json");
    let all: Vec<usize> = (0..USERS).collect();
    std::fs::write(&first, directory(&all).to_string()).unwrap();

    let mut child = provision(&url, &first, &state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("creates acknowledged", Duration::from_secs(60), || {
        mock.users().len() >= ACKNOWLEDGED
    });
    let acknowledged: BTreeSet<String> = user_names(&mock).into_iter().collect();
    std::thread::sleep(SETTLE);
    if signal == "KILL" {
        child.kill().unwrap();
    } else {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal}");
    }
    let status = ended(&mut child);
    assert!(!status.success(), "SIG{signal}: {status}");
    // Requests the engine had in flight may still be answered; let them land.
    std::thread::sleep(Duration::from_millis(200));
    let created = mock.users().len();
    assert!(
        created < USERS,
        "the kill came after the user pass ({created} of {USERS} created): not a test of a cut cycle"
    );

    // Half of the acknowledged users leave the directory: the next cycle must delete them.
    let index: BTreeMap<String, usize> = all.iter().map(|i| (user_name(*i), *i)).collect();
    let removed: BTreeSet<String> = acknowledged.iter().step_by(2).cloned().collect();
    let kept: Vec<usize> = all
        .iter()
        .copied()
        .filter(|i| !removed.contains(&user_name(*i)))
        .collect();
    assert!(removed.iter().all(|n| index.contains_key(n)));
    let second = tmp.path().join("directory-next.json");
    std::fs::write(&second, directory(&kept).to_string()).unwrap();
    let before = mock.received_requests().last().map_or(0, |r| r.seq);
    let out = provision(&url, &second, &state).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "after SIG{signal}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let names = user_names(&mock);
    let distinct: BTreeSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "a userName created twice");
    let expected: BTreeSet<String> = kept.iter().map(|i| user_name(*i)).collect();
    let leftover: Vec<&String> = distinct
        .iter()
        .copied()
        .filter(|n| !expected.contains(*n))
        .collect();
    assert!(
        leftover.is_empty(),
        "after SIG{signal}, {} users that left the directory were never deleted (their links were lost), e.g. {:?}",
        leftover.len(),
        leftover.first()
    );
    assert_eq!(distinct.len(), expected.len(), "{stdout}");
    // Linked: an acknowledged user is neither looked up nor created again.
    let next: Vec<_> = mock
        .received_requests()
        .into_iter()
        .filter(|r| r.seq > before)
        .collect();
    let again: Vec<String> = next
        .iter()
        .filter(|r| {
            let text = match r.method.as_str() {
                "GET" => decoded(&r.uri),
                "POST" => r.body.as_ref().map(Value::to_string).unwrap_or_default(),
                _ => return false,
            };
            acknowledged
                .iter()
                .any(|n| text.contains(&format!("\"{n}\"")))
        })
        .map(|r| format!("{} {}", r.method, decoded(&r.uri)))
        .collect();
    assert!(
        again.is_empty(),
        "after SIG{signal}, the next cycle looked up or created {} acknowledged users again, e.g. {:?}",
        again.len(),
        again.first()
    );
    eprintln!(
        "SIG{signal}: {} acknowledged before the kill, {created} created in all; the next cycle sent {} requests",
        acknowledged.len(),
        next.len()
    );
}

#[test]
fn sigkill_mid_cycle_loses_no_acknowledged_link() {
    killed_mid_cycle_then_the_next_cycle("KILL");
}

#[test]
fn sigterm_mid_cycle_loses_no_acknowledged_link() {
    killed_mid_cycle_then_the_next_cycle("TERM");
}

#[test]
fn sigint_mid_cycle_loses_no_acknowledged_link() {
    killed_mid_cycle_then_the_next_cycle("INT");
}

/// The journal alone rebuilds every link and escrow a cycle made: folded into the state the
/// cycle started from, it gives the state the cycle ended with (but for what the end of a
/// cycle writes itself: the count, the watermark, the quarantine verdict). An initial cycle
/// (creates, managers, groups, memberships), then an incremental one (updates, disables, a
/// delete of a group member) against an in-process server.
#[test]
fn the_journal_alone_rebuilds_every_link_a_cycle_made() {
    use std::sync::{Arc, Mutex};

    use scimock::clock::{FixedClock, SequentialIds};
    use scimock::profile::Profile;
    use scimock::provision::{AppConfig, Directory, Engine, LinkChange, State, Target};

    let fixture = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/provision")
            .join(name);
        Directory::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let mock = MockServer::builder().token("t").start_blocking();
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    let engine = Engine::new(AppConfig::for_profile(
        &Profile::builtin("entra-generic").unwrap(),
    ))
    .with_clock(FixedClock(time::macros::datetime!(2026-12-07 09:00 UTC)))
    .with_ids(SequentialIds::new())
    .with_journal(Arc::new(move |change: &LinkChange| {
        let line = serde_json::to_string(change).unwrap();
        sink.lock().unwrap().push(line);
    }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut state = State::default();
    for (cycle, directory) in ["directory.json", "directory-changed.json"]
        .into_iter()
        .enumerate()
    {
        let start = state.clone();
        lines.lock().unwrap().clear();
        let report = rt.block_on(engine.run_cycle(&target, &fixture(directory), &mut state));
        assert_eq!(report.stats.failed, 0, "{:#?}", report.entries);
        let journal: String = lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        let mut folded = start;
        let applied = folded.fold_journal(&journal).unwrap();
        assert!(applied > 0, "cycle {cycle}: nothing journaled");
        assert_eq!(folded.users, state.users, "cycle {cycle}: users");
        assert_eq!(folded.groups, state.groups, "cycle {cycle}: groups");
        assert_eq!(folded.escrows, state.escrows, "cycle {cycle}: escrows");
        eprintln!(
            "cycle {cycle}: {applied} journal lines for {} requests ({:?})",
            report.sent, report.stats
        );
    }
}
