//! `scimock::provision` with requests in flight at once: the same target and the same log
//! as a strict sequence, a 429's `Retry-After` holding back every worker, progress counts
//! that rise to the total, and the CLI's progress output off a terminal.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scimock::clock::{FixedClock, SequentialIds};
use scimock::profile::Profile;
use scimock::provision::{
    AppConfig, CycleReport, Directory, Engine, Knobs, Phase, Progress, State, Target, Tick,
};
use scimock::MockServer;
use serde_json::{json, Value};

fn engine(concurrency: usize) -> Engine {
    let config = AppConfig::for_profile(&Profile::builtin("entra-generic").unwrap());
    Engine::new(config)
        .with_clock(FixedClock(time::macros::datetime!(2026-01-05 09:00 UTC)))
        .with_ids(SequentialIds::new())
        .with_knobs(Knobs {
            concurrency,
            members_per_patch: 7,
            ..Knobs::default()
        })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `n` users (every tenth one's manager is the user before it, most others' the first of
/// their ten), `g` groups each holding every g-th user, all assigned; `edit` changes the
/// snapshot: titles, a few disabled, a few gone, a group gone.
fn directory(n: usize, g: usize, edit: bool) -> Directory {
    let users: Vec<Value> = (0..n)
        .filter(|i| !(edit && i % 17 == 3))
        .map(|i| {
            let mut u = json!({"id": format!("u{i:03}"), "userPrincipalName": format!("user{i}@x.test"),
                "mailNickname": format!("user{i}"), "displayName": format!("User {i}"),
                "jobTitle": if edit && i % 5 == 0 { "Lead" } else { "Engineer" },
                "accountEnabled": !(edit && i % 11 == 4)});
            if i % 10 != 0 {
                u["manager"] = json!({"id": format!("u{:03}", i - i % 10)});
            } else if i > 0 {
                u["manager"] = json!({"id": format!("u{:03}", i - 1)});
            }
            u
        })
        .collect();
    let groups: Vec<Value> = (0..g)
        .filter(|j| !(edit && *j == 1))
        .map(|j| {
            let members: Vec<String> = (j..n).step_by(g).map(|i| format!("u{i:03}")).collect();
            json!({"id": format!("g{j}"), "displayName": format!("Group {j}"), "members": members})
        })
        .collect();
    let assignments: Vec<Value> = (0..g)
        .map(|j| json!({"principalId": format!("g{j}"), "principalType": "Group"}))
        .collect();
    Directory::from_value(&json!({"users": users, "groups": groups, "assignments": assignments}))
        .unwrap()
}

/// The target as names: userName → (active, title, the manager's userName), and group
/// name → member userNames.
type Picture = (
    BTreeMap<String, (Value, Value, Option<String>)>,
    BTreeMap<String, Vec<String>>,
);

fn picture(mock: &MockServer) -> Picture {
    let users = mock.users();
    let name_of: BTreeMap<String, String> = users
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                u["userName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let people = users
        .iter()
        .map(|u| {
            // A deleted manager stays referenced by id; ids differ run to run.
            let manager = u[ent]["manager"]["value"].as_str().map(|m| {
                name_of
                    .get(m)
                    .cloned()
                    .unwrap_or_else(|| "(deleted)".to_owned())
            });
            (
                u["userName"].as_str().unwrap().to_owned(),
                (u["active"].clone(), u["title"].clone(), manager),
            )
        })
        .collect();
    let groups = mock
        .groups()
        .iter()
        .map(|g| {
            let mut members: Vec<String> = g["members"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    let id = m["value"].as_str().unwrap();
                    name_of
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| "(deleted)".to_owned())
                })
                .collect();
            members.sort();
            (g["displayName"].as_str().unwrap().to_owned(), members)
        })
        .collect();
    (people, groups)
}

/// What a cycle logged, without the target ids (the mock hands them out in arrival order).
fn log_lines(r: &CycleReport) -> Vec<String> {
    r.entries
        .iter()
        .map(|e| {
            format!(
                "{} {} {:?} {:?} {:?} props={}",
                e.id,
                e.source_identity.id,
                e.provisioning_action,
                e.status(),
                e.error_code(),
                e.modified_properties.len()
            )
        })
        .collect()
}

fn two_cycles(concurrency: usize) -> (Vec<CycleReport>, Picture, Picture, State) {
    let mock = MockServer::builder().token("t").start_blocking();
    let rt = runtime();
    let engine = engine(concurrency);
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let mut state = State::default();
    let first = rt.block_on(engine.run_cycle(&target, &directory(120, 4, false), &mut state));
    let after_first = picture(&mock);
    let second = rt.block_on(engine.run_cycle(&target, &directory(120, 4, true), &mut state));
    let after_second = picture(&mock);
    (vec![first, second], after_first, after_second, state)
}

#[test]
fn concurrent_cycles_leave_the_target_and_the_log_a_strict_sequence_leaves() {
    let (seq, seq_first, seq_second, seq_state) = two_cycles(1);
    let (par, par_first, par_second, par_state) = two_cycles(8);
    for r in seq.iter().chain(&par) {
        assert_eq!(r.stats.failed, 0, "{:#?}", r.entries);
    }
    // Users with managers, memberships in batches of 7, disables, deletes, a group delete:
    // the second cycle does some of each.
    assert!(seq[1].stats.disabled > 0 && seq[1].stats.deleted > 0 && seq[1].stats.updated > 0);
    assert_eq!(seq_first, par_first);
    assert_eq!(seq_second, par_second);
    let managed = seq_first.0.values().filter(|u| u.2.is_some()).count();
    assert_eq!(managed, 119, "every user but the first has a manager");
    for (s, p) in seq.iter().zip(&par) {
        assert_eq!(s.stats, p.stats);
        assert_eq!(s.sent, p.sent);
        assert_eq!(log_lines(s), log_lines(p));
        let shape = |r: &CycleReport| -> Vec<String> {
            r.requests
                .iter()
                .map(|q| format!("{} {}", q.method, q.path.split('/').nth(1).unwrap_or("")))
                .collect()
        };
        assert_eq!(shape(s), shape(p), "the request log is in object order");
    }
    assert_eq!(seq_state.users.len(), par_state.users.len());
    assert_eq!(
        seq_state.users.keys().collect::<Vec<_>>(),
        par_state.users.keys().collect::<Vec<_>>()
    );
    assert_eq!(seq_state.groups.len(), par_state.groups.len());
}

#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<Tick>>);

impl Progress for Recorder {
    fn update(&self, tick: Tick) {
        self.0.lock().unwrap().push(tick);
    }
}

fn check_ticks(ticks: &[Tick]) {
    assert!(!ticks.is_empty());
    let total = ticks[0].total;
    assert!(total > 0);
    for w in ticks.windows(2) {
        assert!(w[0].done <= w[1].done, "{:?} then {:?}", w[0], w[1]);
        assert!(w[0].phase <= w[1].phase, "{:?} then {:?}", w[0], w[1]);
        assert_eq!(w[1].total, total);
    }
    let last = ticks.last().unwrap();
    assert_eq!(last.done, total, "{last:?}");
    assert_eq!(last.phase, Phase::Memberships);
    let phases: std::collections::BTreeSet<Phase> = ticks.iter().map(|t| t.phase).collect();
    assert_eq!(phases.len(), 5, "every phase is announced: {phases:?}");
}

#[test]
fn progress_rises_monotonically_to_the_total_in_every_cycle() {
    let mock = MockServer::builder().token("t").start_blocking();
    let rt = runtime();
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let mut state = State::default();
    for (edit, concurrency) in [(false, 4), (true, 3)] {
        let recorder = Arc::new(Recorder::default());
        let engine = engine(concurrency).with_progress(recorder.clone());
        let dir = directory(60, 3, edit);
        let r = rt.block_on(engine.run_cycle(&target, &dir, &mut state));
        assert_eq!(r.stats.failed, 0);
        let ticks = recorder.0.lock().unwrap().clone();
        check_ticks(&ticks);
        // Each user, each deprovisioning action, each in-scope user's references, each
        // group twice (itself, its members), each group delete. The edit drops group 1
        // (its members leave scope), disables every i % 11 == 4 and removes i % 17 == 3.
        let present: Vec<usize> = (0..60).filter(|i| !(edit && i % 17 == 3)).collect();
        let in_scope = present
            .iter()
            .filter(|i| !(edit && (*i % 3 == 1 || *i % 11 == 4)))
            .count();
        let disables = present.len() - in_scope;
        let deletes = 60 - present.len();
        let groups = if edit { 2 } else { 3 };
        let total =
            (present.len() + disables + deletes + usize::from(edit) + in_scope + 2 * groups) as u64;
        assert_eq!(dir.users.len(), present.len());
        assert_eq!(ticks[0].total, total, "edit={edit}");
    }
    // A dry run reports too.
    let recorder = Arc::new(Recorder::default());
    let engine = engine(8).with_progress(recorder.clone());
    rt.block_on(engine.run_cycle(
        &Target::dry_run(),
        &directory(30, 2, false),
        &mut State::default(),
    ));
    check_ticks(&recorder.0.lock().unwrap());
}

/// Answers like an empty, accepting SCIM endpoint, except that the first POST gets a 429
/// with `Retry-After: 1`; keeps when each request arrived and the status it got.
#[derive(Debug, Default)]
struct Throttling {
    arrivals: Mutex<Vec<(Instant, u16)>>,
    posts: Mutex<u32>,
}

struct Throttler(Arc<Throttling>);

impl wiremock::Respond for Throttler {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let (status, answer) = match request.method.as_str() {
            "GET" => (
                200,
                wiremock::ResponseTemplate::new(200).set_body_json(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": 0, "Resources": []})),
            ),
            "POST" => {
                let mut n = self.0.posts.lock().unwrap();
                *n += 1;
                if *n == 1 {
                    (
                        429,
                        wiremock::ResponseTemplate::new(429).insert_header("Retry-After", "1"),
                    )
                } else {
                    let mut body: Value = serde_json::from_slice(&request.body).unwrap();
                    body["id"] = json!(format!("id-{n}"));
                    (
                        201,
                        wiremock::ResponseTemplate::new(201).set_body_json(body),
                    )
                }
            }
            _ => (204, wiremock::ResponseTemplate::new(204)),
        };
        self.0
            .arrivals
            .lock()
            .unwrap()
            .push((Instant::now(), status));
        answer
    }
}

#[test]
fn a_retry_after_holds_back_every_worker_not_only_the_throttled_one() {
    let rt = runtime();
    rt.block_on(async {
        let server = wiremock::MockServer::start().await;
        let throttling = Arc::new(Throttling::default());
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(Throttler(throttling.clone()))
            .mount(&server)
            .await;
        let concurrency = 4;
        let engine = engine(concurrency);
        let target = Target::http(&format!("{}/scim/v2", server.uri()), None).unwrap();
        let dir = directory(40, 1, false);
        let r = engine.run_cycle(&target, &dir, &mut State::default()).await;
        assert_eq!(r.stats.failed, 0, "{:#?}", r.entries);
        assert_eq!(
            r.stats.created, 41,
            "40 users and the group, the throttled one retried"
        );
        let arrivals = throttling.arrivals.lock().unwrap().clone();
        let at = arrivals
            .iter()
            .find(|a| a.1 == 429)
            .map(|a| a.0)
            .expect("the 429 was sent");
        // Only requests already on their way when the 429 came back may arrive during the
        // pause: at most one per other worker. Without the shared pause the other workers
        // would go on with the other 39 users' requests.
        let during = arrivals
            .iter()
            .filter(|a| a.0 > at && a.0 < at + Duration::from_millis(900))
            .count();
        assert!(
            during < concurrency,
            "{during} requests arrived during the pause"
        );
        assert!(
            arrivals.iter().filter(|a| a.0 > at).count() > 40,
            "the cycle went on afterwards"
        );
    });
}

#[test]
fn a_cycle_can_be_spawned_on_a_multi_threaded_runtime() {
    // The future is Send: a vendor's test may `tokio::spawn` it.
    fn send<T: Send>(t: T) -> T {
        t
    }
    let mock = MockServer::builder().token("t").start_blocking();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let base = mock.base_url();
    let report = rt.block_on(async move {
        let handle = tokio::spawn(send(async move {
            let target = Target::http(&base, Some("t".into())).unwrap();
            let dir = directory(20, 2, false);
            engine(4)
                .run_cycle(&target, &dir, &mut State::default())
                .await
        }));
        handle.await.unwrap()
    });
    assert_eq!(report.stats.failed, 0);
    assert_eq!(mock.users().len(), 20);
    assert_eq!(mock.groups().len(), 2);
}

#[test]
fn the_cli_draws_no_bar_and_no_escape_codes_off_a_terminal() {
    let mock = MockServer::builder().token("t").start_blocking();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("directory.json");
    let users: Vec<Value> = (0..50)
        .map(|i| json!({"id": format!("u{i}"), "userPrincipalName": format!("u{i}@x.test"), "accountEnabled": true}))
        .collect();
    let assignments: Vec<Value> = (0..50)
        .map(|i| json!({"principalId": format!("u{i}")}))
        .collect();
    std::fs::write(
        &dir,
        json!({"users": users, "assignments": assignments}).to_string(),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args([
            "provision",
            &mock.base_url(),
            "--token",
            "t",
            "--concurrency",
            "3",
        ])
        .arg("--directory")
        .arg(&dir)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("50 created"), "{stdout}");
    assert_eq!(mock.users().len(), 50);
    assert!(!stderr.contains('\u{1b}'), "no escape codes: {stderr:?}");
    assert!(!stdout.contains('\u{1b}'), "no escape codes: {stdout:?}");
    assert!(
        !stderr.contains("objects"),
        "a short run prints no progress line: {stderr}"
    );
}
