//! The recording proxy: record a replay run against one MockServer, replay the recording
//! against a fresh one, get the same results; secrets never reach the recording.

use serde_json::json;

use scimock::clock::SequentialIds;
use scimock::record::Recorder;
use scimock::replay::{Dialect, Outcome, Runner, RunnerConfig, Scenario};

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
    config.read_back = false;
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
