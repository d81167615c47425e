//! Reliability under concurrency and injected faults (bounded, 127.0.0.1 only): 64 clients
//! do mixed user CRUD and group membership PATCHes while 5 % of SCIM requests are answered
//! 503 by a seeded fault rule. Afterwards the store equals a model built from the
//! acknowledged operations only: nothing acknowledged is lost, nothing rejected is applied.
//! `RELIABILITY_RUNS=20 cargo test --release reliability` repeats it (figures in
//! BENCHMARKS.md).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::json;

use crate::support::Http;

const CLIENTS: usize = 64;
const OPS_PER_CLIENT: usize = 30;

/// What one client saw acknowledged.
#[derive(Default)]
struct Acked {
    users: BTreeSet<String>,
    members: BTreeSet<String>,
    requests: usize,
    faults: usize,
}

async fn client_run(t: usize, http: Http, gid: String) -> Acked {
    let mut acked = Acked::default();
    let mut mine: Vec<String> = Vec::new();
    for i in 0..OPS_PER_CLIENT {
        let (method, path, body) = match (i % 5, mine.last()) {
            (0 | 1, _) | (_, None) => (
                "POST",
                "/Users".to_owned(),
                Some(json!({"userName": format!("c{t}-u{i}")})),
            ),
            (2, Some(uid)) => (
                "PATCH",
                format!("/Groups/{gid}"),
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Add", "path": "members", "value": [{"value": uid}]}]}),
                ),
            ),
            (3, Some(uid)) => (
                "PATCH",
                format!("/Users/{uid}"),
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Replace", "path": "displayName", "value": format!("n{i}")}]}),
                ),
            ),
            (_, Some(uid)) => ("DELETE", format!("/Users/{uid}"), None),
        };
        let a = http.send(method, &path, body.as_ref()).await;
        let (status, answer) = (a.status, a.json());
        acked.requests += 1;
        if status == 503 {
            acked.faults += 1;
            continue;
        }
        match method {
            "POST" => {
                assert_eq!(status, 201, "{answer}");
                let id = answer["id"].as_str().unwrap().to_owned();
                acked.users.insert(id.clone());
                mine.push(id);
            }
            "DELETE" => {
                assert_eq!(status, 204, "{answer}");
                if let Some(uid) = mine.pop() {
                    acked.users.remove(&uid);
                    acked.members.remove(&uid);
                }
            }
            _ if path.starts_with("/Groups") => {
                assert_eq!(status, 204, "{answer}");
                if let Some(uid) = mine.last() {
                    acked.members.insert(uid.clone());
                }
            }
            _ => assert_eq!(status, 200, "{answer}"),
        }
    }
    acked
}

/// One run: returns (requests, faults fired, milliseconds).
fn run_once(seed: u64) -> (usize, usize, u128) {
    let server = scimock::MockServer::builder()
        .token("t")
        .workers(2)
        .fault("* /** status=503 p=0.05")
        .fault_seed(seed)
        .start_blocking();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let (acked, gid) = rt.block_on(async {
        let http = Http::to(&server, "t");
        // The shared group, created before the faults can matter (retried until acknowledged).
        let gid = loop {
            let g = http
                .send("POST", "/Groups", Some(&json!({"displayName": "hot"})))
                .await;
            if g.status == 201 {
                break g.json()["id"].as_str().unwrap().to_owned();
            }
        };
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|t| tokio::spawn(client_run(t, http.clone(), gid.clone())))
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await.unwrap());
        }
        (all, gid)
    });
    let elapsed = started.elapsed().as_millis();
    let users: BTreeSet<String> = acked.iter().flat_map(|a| a.users.iter().cloned()).collect();
    let members: BTreeSet<String> = acked
        .iter()
        .flat_map(|a| a.members.iter().cloned())
        .collect();
    let stored: BTreeSet<String> = server
        .users()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, users, "store vs acknowledged users");
    let group = server
        .groups()
        .into_iter()
        .find(|g| g["id"] == gid.as_str())
        .unwrap();
    let in_group: BTreeMap<String, usize> = group["members"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .fold(BTreeMap::new(), |mut m, x| {
            *m.entry(x["value"].as_str().unwrap().to_owned())
                .or_default() += 1;
            m
        });
    assert!(in_group.values().all(|n| *n == 1), "duplicate members");
    assert_eq!(
        in_group.keys().cloned().collect::<BTreeSet<_>>(),
        members,
        "group vs acknowledged members"
    );
    server.store().check_invariants().unwrap();
    let requests: usize = acked.iter().map(|a| a.requests).sum();
    let faults: usize = acked.iter().map(|a| a.faults).sum();
    // The journal (the last 1,000 requests) marks every fired fault, and only 503s.
    let journal = server.received_requests();
    let marked: Vec<_> = journal.iter().filter(|r| r.fault.is_some()).collect();
    assert!(!marked.is_empty() && marked.iter().all(|r| r.status == 503));
    assert!(journal
        .iter()
        .filter(|r| r.status == 503)
        .all(|r| r.fault.is_some()));
    (requests, faults, elapsed)
}

#[test]
fn concurrent_clients_with_injected_faults_lose_nothing_acknowledged_and_apply_nothing_rejected() {
    let runs: u64 = std::env::var("RELIABILITY_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    for seed in 0..runs {
        let (requests, faults, ms) = run_once(seed);
        assert!(
            faults > 0,
            "the 5 % rule never fired in {requests} requests"
        );
        eprintln!("reliability run {seed}: {requests} requests, {faults} faults fired, {ms} ms");
    }
}

/// How many writes must be acknowledged before the test sends SIGTERM, so the signal
/// lands under load and there is something to lose.
#[cfg(unix)]
const ACKED_BEFORE_SIGTERM: usize = 64;

#[cfg(unix)]
#[test]
fn sigterm_under_load_loses_no_acknowledged_write_with_a_state_file() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["serve", "--no-auth", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("banner").unwrap();
        if let Some(url) = line.strip_prefix("SCIM base URL:") {
            break url.trim().to_owned();
        }
    };
    let pid = child.id().to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let acked_so_far = Arc::new(AtomicUsize::new(0));
    let acked: BTreeSet<String> = rt.block_on(async {
        let http = Http::new(base, None);
        let tasks: Vec<_> = (0..16)
            .map(|t| {
                let http = http.clone();
                let acked_so_far = acked_so_far.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    for i in 0..200 {
                        let body = json!({"userName": format!("t{t}-{i}")}).to_string();
                        // After SIGTERM the server stops accepting: errors end this client.
                        let Ok(a) = http.try_send("POST", "/Users", Some(&body), &[]).await else {
                            break;
                        };
                        if a.status == 201 {
                            mine.push(a.json()["id"].as_str().unwrap().to_owned());
                            acked_so_far.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    mine
                })
            })
            .collect();
        // The readiness signal: enough writes acknowledged (bounded wait), not a fixed sleep.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while acked_so_far.load(Ordering::SeqCst) < ACKED_BEFORE_SIGTERM {
            assert!(
                tokio::time::Instant::now() < deadline,
                "fewer than {ACKED_BEFORE_SIGTERM} writes acknowledged in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success(), "kill -TERM {pid}: {killed:?}");
        let mut all = BTreeSet::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all
    });
    // SIGTERM means a graceful shutdown that writes the state file and exits 0.
    let status = child.wait().unwrap();
    assert!(status.success(), "scimock serve after SIGTERM: {status:?}");
    assert!(
        acked.len() >= ACKED_BEFORE_SIGTERM,
        "{} writes acknowledged",
        acked.len()
    );
    let saved = scimock::store::durable::export(&state).unwrap();
    let stored: BTreeSet<String> = saved["Users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged users missing from the state file: {lost:?}",
        lost.len()
    );
}
