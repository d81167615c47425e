//! `scimock::provision`: cycles against a real MockServer on 127.0.0.1 (initial and
//! incremental, checked through the mock's state and journal), dry-run request streams per
//! built-in profile and dialect (snapshots), failure handling through fault rules, and a
//! model-based convergence property.

use std::path::Path;

use scimock::clock::{FixedClock, SequentialIds};
use scimock::entra::Dialect;
use scimock::profile::Profile;
use scimock::provision::{log, AppConfig, CycleReport, Directory, Engine, Knobs, State, Target};
use scimock::MockServer;
use serde_json::{json, Value};

const ADA: &str = "7d1c5a52-0001-4c6e-9a61-000000000001";
const CAROL: &str = "7d1c5a52-0003-4c6e-9a61-000000000003";

fn fixture(name: &str) -> Directory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/provision")
        .join(name);
    Directory::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn engine(profile: &str, dialect: Dialect) -> Engine {
    let mut config = AppConfig::for_profile(&Profile::builtin(profile).unwrap());
    config.spec.dialect = dialect;
    let config = AppConfig::from_spec(config.spec).unwrap();
    Engine::new(config)
        .with_clock(FixedClock(time::macros::datetime!(2026-01-05 09:00 UTC)))
        .with_ids(SequentialIds::new())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn mock() -> MockServer {
    MockServer::builder()
        .token("t")
        .ids(SequentialIds::new())
        .start_blocking()
}

fn by_user_name<'a>(users: &'a [Value], name: &str) -> &'a Value {
    users
        .iter()
        .find(|u| u["userName"] == name)
        .unwrap_or_else(|| panic!("no target user {name}"))
}

fn entry_for<'a>(r: &'a CycleReport, source: &str) -> Vec<&'a log::Entry> {
    r.entries
        .iter()
        .filter(|e| e.source_identity.id == source)
        .collect()
}

#[test]
fn initial_then_incremental_cycle_leaves_exactly_the_expected_target() {
    let mock = mock();
    let rt = runtime();
    let engine = engine("entra-generic", Dialect::Legacy);
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let mut state = State::default();

    let first = rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut state));
    assert!(first.initial);
    assert_eq!(first.stats.failed, 0, "{:#?}", first.entries);
    let users = mock.users();
    let names: std::collections::BTreeSet<&str> = users
        .iter()
        .filter_map(|u| u["userName"].as_str())
        .collect();
    // ada (direct), bob and frank (Engineering), erin (Operations); carol is disabled in
    // the directory, dave unassigned.
    assert_eq!(
        names,
        [
            "ada@contoso.com",
            "bob@contoso.com",
            "erin@contoso.com",
            "frank@contoso.com"
        ]
        .into()
    );
    let ada = by_user_name(&users, "ada@contoso.com");
    let bob = by_user_name(&users, "bob@contoso.com");
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    assert_eq!(ada[ent]["manager"]["value"], bob["id"], "{ada:#}");
    assert_eq!(ada["title"], "Engineer");
    assert_eq!(ada["active"], true);
    let groups = mock.groups();
    assert_eq!(groups.len(), 2, "Sales is not assigned");
    let eng = groups
        .iter()
        .find(|g| g["displayName"] == "Engineering")
        .unwrap();
    assert_eq!(eng["members"].as_array().unwrap().len(), 3);
    assert!(first
        .entries
        .iter()
        .any(|e| e.source_identity.id == CAROL && e.status() == log::Status::Skipped));

    let before = mock.received_requests().len();
    let second =
        rt.block_on(engine.run_cycle(&target, &fixture("directory-changed.json"), &mut state));
    assert!(!second.initial);
    assert_eq!(second.stats.failed, 0, "{:#?}", second.entries);
    let users = mock.users();
    let ada = by_user_name(&users, "ada@contoso.com");
    assert_eq!(ada["title"], "Staff Engineer");
    assert_eq!(by_user_name(&users, "bob@contoso.com")["active"], false);
    assert_eq!(by_user_name(&users, "carol@contoso.com")["active"], true);
    assert_eq!(by_user_name(&users, "erin@contoso.com")["active"], false);
    assert!(
        users.iter().all(|u| u["userName"] != "frank@contoso.com"),
        "frank was hard-deleted"
    );
    let groups = mock.groups();
    let eng = groups
        .iter()
        .find(|g| g["displayName"] == "Engineering Team")
        .unwrap();
    let members: Vec<&Value> = eng["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["value"])
        .collect();
    assert_eq!(
        members.len(),
        2,
        "ada and bob (disabled users stay members): {eng:#}"
    );
    let ops = groups
        .iter()
        .find(|g| g["displayName"] == "Operations")
        .unwrap();
    let ops_members: Vec<&Value> = ops["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["value"])
        .collect();
    assert_eq!(
        ops_members,
        vec![&by_user_name(&users, "carol@contoso.com")["id"]]
    );

    // Only what changed went out: one PATCH of ada's attributes (after its GET), bob and erin
    // disabled, carol matched-or-created, frank deleted, the group renamed, membership.
    let journal = mock.received_requests();
    let sent: Vec<String> = journal[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.uri))
        .collect();
    let patches = journal[before..]
        .iter()
        .filter(|r| r.method == "PATCH")
        .count();
    let ada_patch = journal[before..]
        .iter()
        .find(|r| r.method == "PATCH" && r.uri.ends_with(ada["id"].as_str().unwrap()))
        .unwrap();
    assert_eq!(
        ada_patch.body.as_ref().unwrap()["Operations"],
        serde_json::json!([
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Platform"},
            {"op": "Replace", "path": "title", "value": "Staff Engineer"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada.lovelace@contoso.com"}
        ]),
        "a removed mobile phone is not sent (no nulls)"
    );
    assert_eq!(
        ada["phoneNumbers"].as_array().map(Vec::len),
        Some(2),
        "the mobile number stays"
    );
    assert_eq!(
        sent.iter().filter(|s| s.starts_with("DELETE")).count(),
        1,
        "{sent:#?}"
    );
    assert_eq!(
        sent.iter().filter(|s| s.starts_with("POST")).count(),
        1,
        "only carol is new: {sent:#?}"
    );
    // ada, bob off, erin off, the group rename, Operations add carol + remove erin (frank's
    // membership goes with his DELETE; carol has no manager).
    assert_eq!(patches, 6, "{sent:#?}");

    // A third cycle on the same snapshot sends only the start-of-cycle Test Connection
    // query (a user that does not exist; docs/entra.md §1.0).
    let before = mock.received_requests().len();
    let third =
        rt.block_on(engine.run_cycle(&target, &fixture("directory-changed.json"), &mut state));
    assert_eq!(
        mock.received_requests().len(),
        before + 1,
        "{:#?}",
        third.requests
    );
    assert!(
        third.requests[0]
            .path
            .starts_with("/Users?filter=userName+eq+"),
        "{:#?}",
        third.requests
    );
    assert_eq!(third.stats.processed, 0);
}

fn stream(r: &CycleReport) -> String {
    r.requests
        .iter()
        .map(|q| q.line())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn dry_run_request_streams_per_builtin_profile_and_dialect() {
    let rt = runtime();
    for profile in scimock::profile::builtin_ids() {
        for (dialect, tag) in [
            (Dialect::Legacy, "legacy"),
            (Dialect::AadOptscim062020, "aadOptscim062020"),
        ] {
            let engine = engine(profile, dialect);
            let target = Target::dry_run();
            let mut state = State::default();
            let first =
                rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut state));
            let second = rt.block_on(engine.run_cycle(
                &target,
                &fixture("directory-changed.json"),
                &mut state,
            ));
            // Invariants before the snapshot: creates are POSTs of users then groups, the
            // incremental cycle sends no POST for users that already exist.
            assert!(first
                .requests
                .iter()
                .any(|r| r.method == "POST" && r.path == "/Users"));
            assert_eq!(
                second
                    .requests
                    .iter()
                    .filter(|r| r.method == "DELETE")
                    .count(),
                1
            );
            if dialect == Dialect::Legacy {
                assert!(second.requests.iter().all(|r| !r
                    .body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains("\"op\":\"replace\""))));
            }
            let body = format!(
                "# initial cycle\n{}\n\n# incremental cycle\n{}\n",
                stream(&first),
                stream(&second)
            );
            let mut settings = crate::support::snapshot_settings();
            settings.set_snapshot_suffix(format!("{profile}-{tag}"));
            settings.bind(|| insta::assert_snapshot!("provision_dry_run", body));
        }
    }
}

#[test]
fn conflict_on_create_is_logged_as_entry_conflict_and_retried_next_cycle() {
    let mock = MockServer::builder()
        .token("t")
        .fault("POST /Users status=409 times=1")
        .start_blocking();
    let rt = runtime();
    // One request at a time, so the one 409 meets the first user's POST.
    let knobs = Knobs {
        concurrency: 1,
        ..Knobs::default()
    };
    let engine = engine("entra-generic", Dialect::Legacy).with_knobs(knobs);
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let mut state = State::default();
    let first = rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut state));
    let failed: Vec<_> = first
        .entries
        .iter()
        .filter(|e| e.status() == log::Status::Failure)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let e = failed[0];
    assert_eq!(e.source_identity.id, ADA, "ada is the first user");
    assert_eq!(
        e.error_code(),
        Some("SystemForCrossDomainIdentityManagementEntryConflict")
    );
    let step = e.provisioning_steps.last().unwrap();
    assert_eq!(
        (step.name.as_str(), step.status),
        ("EntryExportAdd", log::Status::Failure)
    );
    let reason = &e
        .provisioning_status_info
        .error_information
        .as_ref()
        .unwrap()
        .reason;
    assert!(
        reason.contains("StatusCode: Conflict") && reason.contains("retried 0 times"),
        "{reason}"
    );
    assert!(state.escrows.contains_key(ADA));
    // Next cycle: the escrow is retried, succeeds and clears.
    let second = rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut state));
    assert!(entry_for(&second, ADA).iter().any(
        |e| e.provisioning_action == log::Action::Create && e.status() == log::Status::Success
    ));
    assert!(state.escrows.is_empty());
}

#[test]
fn throttling_is_retried_after_retry_after_within_the_cycle() {
    let mock = MockServer::builder()
        .token("t")
        .fault("POST /Users status=429 retry-after=1 times=1")
        .start_blocking();
    let rt = runtime();
    let engine = engine("entra-generic", Dialect::Legacy);
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let mut state = State::default();
    let r = rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut state));
    assert_eq!(r.stats.failed, 0);
    let posts = r
        .requests
        .iter()
        .filter(|q| q.method == "POST" && q.path == "/Users")
        .count();
    assert_eq!(posts, 5, "four users, one POST sent twice");
    assert_eq!(mock.users().len(), 4);
}

#[test]
fn throttling_beyond_the_retries_fails_with_too_many_requests() {
    let mock = MockServer::builder()
        .token("t")
        .fault("POST /Users status=429 retry-after=0")
        .start_blocking();
    let rt = runtime();
    let knobs = Knobs {
        retry: scimock::entra::RetryPolicy {
            retries: 1,
            ..Default::default()
        },
        ..Knobs::default()
    };
    let engine = engine("entra-generic", Dialect::Legacy).with_knobs(knobs);
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let r =
        rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut State::default()));
    assert_eq!(r.stats.failed, 4);
    assert!(r
        .entries
        .iter()
        .filter(|e| e.status() == log::Status::Failure)
        .all(|e| e.error_code() == Some("SystemForCrossDomainIdentityManagementTooManyRequests")));
}

#[test]
fn server_errors_on_update_are_internal_server_error_and_keep_the_change_pending() {
    let mock = MockServer::builder()
        .token("t")
        .fault("PATCH /Users/* status=500")
        .start_blocking();
    let rt = runtime();
    let engine = engine("entra-generic", Dialect::Legacy);
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let mut state = State::default();
    let first = rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut state));
    // The only user PATCH of the initial cycle is ada's manager: a reference failure.
    assert_eq!(first.stats.failed, 1, "{:#?}", first.entries);
    let r = rt.block_on(engine.run_cycle(&target, &fixture("directory-changed.json"), &mut state));
    let codes: Vec<_> = entry_for(&r, ADA).iter().map(|e| e.error_code()).collect();
    assert!(
        codes
            .iter()
            .all(|c| *c == Some("SystemForCrossDomainIdentityManagementInternalServerError")),
        "{codes:?}"
    );
    assert!(!codes.is_empty());
    // The title was not exported, so the next cycle tries again.
    assert_eq!(state.users[ADA].exported["title"], "Engineer");
    assert!(state.escrows[ADA].retries >= 2, "failed in both cycles");
}

#[test]
fn refused_credentials_quarantine_the_job() {
    let mock = MockServer::builder().token("right").start_blocking();
    let rt = runtime();
    let engine = engine("entra-generic", Dialect::Legacy);
    let target = Target::http(&mock.base_url(), Some("wrong".into())).unwrap();
    let mut state = State::default();
    let r = rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut state));
    assert!(r
        .entries
        .iter()
        .any(|e| e.error_code() == Some("SystemForCrossDomainIdentityManagementUnauthorized")));
    assert_eq!(
        r.quarantine.as_ref().map(|q| q.reason.as_str()),
        Some("EncounteredQuarantineException")
    );
    assert!(state.quarantine.is_some());
}

#[test]
fn escrow_proportion_prunes_in_the_initial_cycle_and_quarantines_later() {
    let mock = MockServer::builder()
        .token("t")
        .fault("POST /Users status=500")
        .start_blocking();
    let rt = runtime();
    let knobs = Knobs {
        escrow: scimock::provision::EscrowRules {
            base: 2,
            total: 100,
            cap: 200,
            proportion: 0.4,
        },
        ..Knobs::default()
    };
    let engine = engine("entra-generic", Dialect::Legacy).with_knobs(knobs);
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let mut state = State::default();
    let first = rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut state));
    assert!(first.escrows_pruned);
    assert!(first.quarantine.is_none());
    let second = rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut state));
    let q = second.quarantine.expect("quarantined");
    assert_eq!(
        q.reason, "EncounteredEscrowProportionThreshold",
        "{}",
        q.rule
    );
}

#[test]
fn accidental_deletion_prevention_stages_deprovisioning_above_the_threshold() {
    let mock = mock();
    let rt = runtime();
    let mut config = AppConfig::for_profile(&Profile::builtin("entra-generic").unwrap());
    config.spec.deletion_threshold = Some(2);
    let engine = Engine::new(AppConfig::from_spec(config.spec.clone()).unwrap())
        .with_ids(SequentialIds::new());
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let mut state = State::default();
    rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut state));
    // bob disabled, erin unassigned, frank deleted: three deprovisioning actions > 2.
    let r = rt.block_on(engine.run_cycle(&target, &fixture("directory-changed.json"), &mut state));
    assert_eq!(r.stats.staged, 3, "{:#?}", r.stats);
    assert_eq!(
        r.quarantine.as_ref().map(|q| q.reason.as_str()),
        Some("TooManyDeletes")
    );
    let users = mock.users();
    assert_eq!(
        by_user_name(&users, "bob@contoso.com")["active"],
        true,
        "not executed"
    );
    assert!(users.iter().any(|u| u["userName"] == "frank@contoso.com"));
    // "Allow deletes": the next cycle executes them.
    let allow = Engine::new(AppConfig::from_spec(config.spec).unwrap()).with_knobs(Knobs {
        allow_deletes: true,
        ..Knobs::default()
    });
    let r = rt.block_on(allow.run_cycle(&target, &fixture("directory-changed.json"), &mut state));
    assert_eq!(
        (r.stats.disabled, r.stats.deleted),
        (2, 1),
        "{:#?}",
        r.stats
    );
    assert!(r.quarantine.is_none());
}

#[test]
fn provisioning_log_entries_have_graph_shape() {
    let rt = runtime();
    let engine = engine("entra-generic", Dialect::Legacy);
    let mut state = State::default();
    let r =
        rt.block_on(engine.run_cycle(&Target::dry_run(), &fixture("directory.json"), &mut state));
    let create = entry_for(&r, ADA)[0];
    let v = serde_json::to_value(create).unwrap();
    for key in [
        "id",
        "activityDateTime",
        "tenantId",
        "jobId",
        "cycleId",
        "changeId",
        "provisioningAction",
        "initiatedBy",
        "servicePrincipal",
        "sourceSystem",
        "targetSystem",
        "sourceIdentity",
        "targetIdentity",
        "provisioningStatusInfo",
        "provisioningSteps",
        "modifiedProperties",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["provisioningAction"], "create");
    assert_eq!(v["provisioningStatusInfo"]["status"], "success");
    let steps: Vec<&str> = create
        .provisioning_steps
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "EntryImportAdd",
            "EntrySynchronizationScoping",
            "EntrySynchronizationAdd",
            "EntryExportAdd"
        ]
    );
    let csv = log::csv(&r.entries);
    assert_eq!(csv.lines().count(), r.entries.len() + 1);
    let junit = log::junit(&r.entries);
    assert_eq!(junit.matches("<testcase").count(), r.entries.len());
}

fn scimock(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(args)
        .env_remove("SCIMOCK_TOKEN")
        .output()
        .unwrap()
}

fn fixture_path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/provision")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn cli_runs_initial_then_incremental_cycles_from_a_state_file() {
    let mock = mock();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state.json");
    let logs = tmp.path().join("logs.json");
    let csv = tmp.path().join("logs.csv");
    let junit = tmp.path().join("logs.xml");
    let url = mock.base_url();
    let (s, l, c, j) = (
        state.to_str().unwrap(),
        logs.to_str().unwrap(),
        csv.to_str().unwrap(),
        junit.to_str().unwrap(),
    );
    let first_dir = fixture_path("directory.json");
    let reports = format!("json={l},csv={c},junit={j}");
    let out = scimock(&[
        "provision",
        &url,
        "--directory",
        &first_dir,
        "--token",
        "t",
        "--state",
        s,
        "--report",
        &reports,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("initial cycle"), "{stdout}");
    assert!(
        stdout.contains("6 created") && stdout.contains("quarantine: none"),
        "{stdout}"
    );
    let entries: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&logs).unwrap()).unwrap();
    assert!(entries
        .iter()
        .all(|e| e["provisioningStatusInfo"]["status"].is_string()));
    assert!(std::fs::read_to_string(&csv)
        .unwrap()
        .starts_with("changeId,"));
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .contains("<testsuite name=\"scimock provision\""));
    assert_eq!(mock.users().len(), 4);

    let out = scimock(&[
        "provision",
        &url,
        "--directory",
        &fixture_path("directory-changed.json"),
        "--token",
        "t",
        "--state",
        s,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with("incremental cycle") && stdout.contains("2 disabled, 1 deleted"),
        "{stdout}"
    );
}

#[test]
fn cli_dry_run_prints_requests_and_writes_no_state() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state.json");
    let out = scimock(&[
        "provision",
        "http://127.0.0.1:9/scim/v2?aadOptscim062020",
        "--directory",
        &fixture_path("directory.json"),
        "--dry-run",
        "--state",
        state.to_str().unwrap(),
        "--profile",
        "alvao",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout
            .lines()
            .next()
            .unwrap()
            .starts_with("GET /Users?filter=userName+eq+"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#""op":"add","path":"members""#),
        "the URL flag selects the dialect: {stdout}"
    );
    assert!(!state.exists());
}

#[test]
fn cli_exit_codes_are_one_for_failures_and_two_for_usage() {
    let mock = MockServer::builder().token("right").start_blocking();
    let dir = fixture_path("directory.json");
    let out = scimock(&[
        "provision",
        &mock.base_url(),
        "--directory",
        &dir,
        "--token",
        "wrong",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("quarantine: EncounteredQuarantineException"),
        "{stdout}"
    );
    assert_eq!(
        scimock(&["provision", "x", "--directory", &dir, "--report", "pdf=x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        scimock(&["provision", "x", "--directory", "/nonexistent.json"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        scimock(&["provision", "x", "--directory", &dir, "--profile", "nope"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        scimock(&[
            "provision",
            "x",
            "--directory",
            &dir,
            "--dry-run",
            "--on-demand",
            "nobody"
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn on_demand_runs_one_user_and_leaves_the_others_alone() {
    let mock = mock();
    let rt = runtime();
    let engine = engine("entra-generic", Dialect::AadOptscim062020);
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let mut state = State::default();
    let r = rt
        .block_on(engine.on_demand(&target, &fixture("directory.json"), &mut state, ADA))
        .unwrap();
    assert_eq!(r.stats.created, 1);
    assert_eq!(mock.users().len(), 1);
    assert!(state.is_initial(), "on demand is not a cycle");
    // The test-connection probe comes first.
    assert!(r.requests[0].path.starts_with("/Users?filter=userName+eq+"));
    // Again: nothing to do, a skip whose step says `SkipReason: RedundantExport`.
    let again = rt
        .block_on(engine.on_demand(&target, &fixture("directory.json"), &mut state, ADA))
        .unwrap();
    assert_eq!(again.entries.len(), 1);
    assert_eq!(again.entries[0].status(), log::Status::Skipped);
    let skip = again.entries[0].provisioning_steps.last().unwrap();
    assert_eq!(skip.details["SkipReason"], "RedundantExport");
}

mod convergence {
    //! Model-based property: after any sequence of directory snapshots and cycles against a
    //! MockServer, the target holds exactly what the model of Entra's rules says.

    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::*;

    const USERS: usize = 5;
    const GROUPS: usize = 2;
    const TITLES: [&str; 3] = ["A", "B", "C"];

    #[derive(Debug, Clone)]
    struct SnapUser {
        present: bool,
        enabled: bool,
        soft_deleted: bool,
        direct: bool,
        title: u8,
    }

    #[derive(Debug, Clone)]
    struct Snap {
        users: Vec<SnapUser>,
        /// Per group: present and assigned, and its member bitmask.
        groups: Vec<(bool, bool, u8)>,
    }

    fn snap() -> impl Strategy<Value = Snap> {
        let user = (
            prop::bool::weighted(0.85),
            prop::bool::weighted(0.8),
            prop::bool::weighted(0.1),
            any::<bool>(),
            0u8..3,
        )
            .prop_map(|(present, enabled, soft_deleted, direct, title)| SnapUser {
                present,
                enabled,
                soft_deleted,
                direct,
                title,
            });
        let group = (prop::bool::weighted(0.9), any::<bool>(), 0u8..32);
        (
            prop::collection::vec(user, USERS),
            prop::collection::vec(group, GROUPS),
        )
            .prop_map(|(users, groups)| Snap { users, groups })
    }

    fn uid(i: usize) -> String {
        format!("u{i}")
    }

    fn directory(s: &Snap) -> Directory {
        let mut users = Vec::new();
        for (i, u) in s.users.iter().enumerate().filter(|(_, u)| u.present) {
            let mut v = json!({"id": uid(i), "userPrincipalName": format!("u{i}@x.test"), "mailNickname": uid(i),
                "displayName": format!("User {i}"), "jobTitle": TITLES[usize::from(u.title)], "accountEnabled": u.enabled});
            if u.soft_deleted {
                v["deletedDateTime"] = json!("2026-01-01T00:00:00Z");
            }
            users.push(v);
        }
        let mut groups = Vec::new();
        let mut assignments: Vec<Value> = s
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| u.present && u.direct)
            .map(|(i, _)| json!({"principalId": uid(i), "principalType": "User"}))
            .collect();
        for (j, (present, assigned, mask)) in s.groups.iter().enumerate().filter(|(_, g)| g.0) {
            let _ = present;
            let members: Vec<String> = (0..USERS)
                .filter(|i| mask & (1 << i) != 0 && s.users[*i].present)
                .map(uid)
                .collect();
            groups.push(
                json!({"id": format!("g{j}"), "displayName": format!("G{j}"), "members": members}),
            );
            if *assigned {
                assignments.push(json!({"principalId": format!("g{j}"), "principalType": "Group"}));
            }
        }
        Directory::from_value(
            &json!({"users": users, "groups": groups, "assignments": assignments}),
        )
        .unwrap()
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Off {
        OutOfScope,
        Other,
    }

    /// Entra's rules, restated: links with their disable reason, orphans (disabled by
    /// leaving scope, then hard-deleted: no longer managed), titles last exported, groups
    /// and their exported members.
    #[derive(Debug, Default)]
    struct Model {
        linked: BTreeMap<usize, Option<Off>>,
        orphans: BTreeSet<usize>,
        title: BTreeMap<usize, u8>,
        groups: BTreeMap<usize, BTreeSet<usize>>,
    }

    impl Model {
        fn cycle(&mut self, s: &Snap) {
            let group_assigned = |i: usize| {
                s.groups
                    .iter()
                    .any(|(p, a, m)| *p && *a && m & (1 << i) != 0)
            };
            let in_scope = |i: usize| {
                let u = &s.users[i];
                u.present && (u.direct || group_assigned(i)) && u.enabled && !u.soft_deleted
            };
            for i in (0..USERS).filter(|i| in_scope(*i)) {
                self.orphans.remove(&i);
                self.linked.insert(i, None);
                self.title.insert(i, s.users[i].title);
            }
            for i in 0..USERS {
                let u = &s.users[i];
                match self.linked.get(&i).copied() {
                    Some(None) if u.present && !in_scope(i) => {
                        let off = if u.enabled && !u.soft_deleted {
                            Off::OutOfScope
                        } else {
                            Off::Other
                        };
                        self.linked.insert(i, Some(off));
                    }
                    Some(reason) if !u.present => {
                        self.linked.remove(&i);
                        if reason == Some(Off::OutOfScope) {
                            self.orphans.insert(i);
                        } else {
                            self.title.remove(&i);
                            for m in self.groups.values_mut() {
                                m.remove(&i);
                            }
                        }
                    }
                    _ => {}
                }
            }
            for (j, (present, assigned, mask)) in s.groups.iter().enumerate() {
                if !(*present && *assigned) {
                    self.groups.remove(&j);
                    continue;
                }
                let current = self.groups.remove(&j).unwrap_or_default();
                let members = (0..USERS)
                    .filter(|i| {
                        mask & (1 << i) != 0 && s.users[*i].present && self.linked.contains_key(i)
                    })
                    .filter(|i| in_scope(*i) || current.contains(i))
                    .collect();
                self.groups.insert(j, members);
            }
        }

        fn check(&self, users: &[Value], groups: &[Value]) -> Result<(), TestCaseError> {
            let mut by_name: BTreeMap<String, &Value> = BTreeMap::new();
            for u in users {
                by_name.insert(u["userName"].as_str().unwrap_or_default().to_owned(), u);
            }
            let expected: BTreeSet<String> = self
                .linked
                .keys()
                .chain(&self.orphans)
                .map(|i| format!("u{i}@x.test"))
                .collect();
            prop_assert_eq!(by_name.keys().cloned().collect::<BTreeSet<_>>(), expected);
            for (i, off) in &self.linked {
                let u = by_name[&format!("u{i}@x.test")];
                prop_assert_eq!(&u["active"], &json!(off.is_none()), "u{}", i);
                prop_assert_eq!(
                    &u["title"],
                    &json!(TITLES[usize::from(self.title[i])]),
                    "u{}",
                    i
                );
            }
            for i in &self.orphans {
                prop_assert_eq!(&by_name[&format!("u{i}@x.test")]["active"], &json!(false));
            }
            let names: BTreeSet<String> = groups
                .iter()
                .filter_map(|g| g["displayName"].as_str().map(str::to_owned))
                .collect();
            prop_assert_eq!(
                names,
                self.groups
                    .keys()
                    .map(|j| format!("G{j}"))
                    .collect::<BTreeSet<_>>()
            );
            for (j, members) in &self.groups {
                let g = groups
                    .iter()
                    .find(|g| g["displayName"] == format!("G{j}"))
                    .unwrap();
                let got: BTreeSet<String> = g["members"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|m| m["value"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let want: BTreeSet<String> = members
                    .iter()
                    .map(|i| {
                        by_name[&format!("u{i}@x.test")]["id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned()
                    })
                    .collect();
                prop_assert_eq!(got, want, "G{}", j);
            }
            Ok(())
        }
    }

    /// One property run: every snapshot a cycle, the target checked against the model
    /// after each.
    fn converges(
        target: &Target,
        snaps: &[Snap],
        flag: bool,
        concurrency: usize,
        stored: impl Fn() -> (Vec<Value>, Vec<Value>),
    ) -> Result<(), TestCaseError> {
        let rt = runtime();
        let knobs = Knobs {
            concurrency,
            ..Knobs::default()
        };
        let dialect = if flag {
            Dialect::AadOptscim062020
        } else {
            Dialect::Legacy
        };
        let engine = engine("entra-generic", dialect).with_knobs(knobs);
        let mut state = State::default();
        let mut model = Model::default();
        for s in snaps {
            let r = rt.block_on(engine.run_cycle(target, &directory(s), &mut state));
            prop_assert_eq!(
                r.stats.failed,
                0,
                "{:#?}",
                r.entries
                    .iter()
                    .filter(|e| e.status() == log::Status::Failure)
                    .collect::<Vec<_>>()
            );
            model.cycle(s);
            let (users, groups) = stored();
            model.check(&users, &groups)?;
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 200, ..ProptestConfig::default() })]

        /// provisioning converges over HTTP: target users and groups == the model of the
        /// in-scope directory, whatever the number of requests in flight
        #[test]
        fn provisioning_converges_to_the_model(snaps in prop::collection::vec(snap(), 1..5), flag in any::<bool>(), concurrency in 1usize..6) {
            let mock = MockServer::builder().token("t").start_blocking();
            let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
            converges(&target, &snaps, flag, concurrency, || (mock.users(), mock.groups()))?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, max_shrink_iters: 500, ..ProptestConfig::default() })]

        /// provisioning converges in-process (the server's pipeline, no socket): the same
        /// law at 1,000 cases
        #[test]
        fn provisioning_converges_to_the_model_in_process(snaps in prop::collection::vec(snap(), 1..5), flag in any::<bool>(), concurrency in 1usize..6) {
            let target = Target::in_process(&MockServer::builder().token("t"), Some("t".into())).unwrap();
            let stored = || (target.stored(scimock::scim::ResourceKind::User), target.stored(scimock::scim::ResourceKind::Group));
            converges(&target, &snaps, flag, concurrency, stored)?;
        }
    }
}

#[test]
fn the_documented_example_configuration_loads() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/provision.md"))
            .unwrap();
    let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let c = AppConfig::from_toml(&doc[start..end]).unwrap();
    assert_eq!(c.dialect(), Dialect::AadOptscim062020);
    assert_eq!(c.spec.deletion_threshold, Some(500));
    assert_eq!(c.users.scoping.groups.len(), 1);
    assert!(c.users.mappings.iter().any(|m| m.reference));
    assert!(c.groups.unwrap().mappings.iter().any(|m| m.members));
}

/// A server that leaves inactive users out of filter answers: after a restart (state
/// cleared), a disabled user is not found, the create collides, and Entra logs EntryConflict.
#[test]
fn a_server_hiding_inactive_users_yields_entry_conflict_after_a_restart() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let rt = runtime();
    rt.block_on(async {
        let server = wiremock::MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/scim/v2/Users"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "Resources": []})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/scim/v2/Users"))
            .respond_with(ResponseTemplate::new(409).set_body_json(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409", "scimType": "uniqueness",
                "detail": "userName is taken (by an inactive user)"})))
            .mount(&server)
            .await;
        let engine = engine("entra-generic", Dialect::Legacy);
        let target = Target::http(&format!("{}/scim/v2", server.uri()), None).unwrap();
        let dir = Directory::from_value(&serde_json::json!({
            "users": [{"id": "u1", "userPrincipalName": "back@contoso.com", "accountEnabled": true}],
            "assignments": [{"principalId": "u1"}]})).unwrap();
        let r = engine.run_cycle(&target, &dir, &mut State::default()).await;
        assert_eq!(r.entries.len(), 1);
        let e = &r.entries[0];
        assert_eq!(e.provisioning_action, log::Action::Create);
        assert_eq!(e.error_code(), Some("SystemForCrossDomainIdentityManagementEntryConflict"));
        assert!(e.target_identity.id.is_empty(), "a failed create has no target id");
        let reason = &e.provisioning_status_info.error_information.as_ref().unwrap().reason;
        assert!(reason.contains("inactive user"), "the web response is quoted: {reason}");
    });
}

#[test]
fn the_order_knob_sorts_the_user_pass_by_source_id() {
    let rt = runtime();
    let mut dir = fixture("directory.json");
    dir.users.reverse();
    let first_post = |order| {
        let knobs = Knobs {
            order,
            ..Knobs::default()
        };
        let e = engine("entra-generic", Dialect::Legacy).with_knobs(knobs);
        let r = rt.block_on(e.run_cycle(&Target::dry_run(), &dir, &mut State::default()));
        let post = r.requests.iter().position(|q| q.method == "POST").unwrap();
        // The matching query just before the first create names the user.
        r.requests[post - 1].path.clone()
    };
    assert!(first_post(scimock::provision::Order::Directory).contains("frank"));
    assert!(first_post(scimock::provision::Order::SourceId).contains("ada"));
}

#[test]
fn cli_csv_into_a_directory_writes_the_portal_three_files() {
    let tmp = tempfile::tempdir().unwrap();
    let portal = format!("{}/logs/", tmp.path().display());
    let single = tmp.path().join("logs.csv");
    let out = scimock(&[
        "provision",
        "http://127.0.0.1:9/scim/v2",
        "--directory",
        &fixture_path("directory.json"),
        "--dry-run",
        "--report",
        &format!("csv={portal},csv={}", single.display()),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(tmp.path().join("logs").join(name)).unwrap();
    let logs = read("ProvisioningLogs.csv");
    let steps = read("ProvisioningLogs_ProvisioningSteps.csv");
    let props = read("ProvisioningLogs_ModifiedProperties.csv");
    let one = std::fs::read_to_string(&single).unwrap();
    // As many entries as the single file; every step and property row names an entry.
    assert_eq!(logs.lines().count(), one.lines().count());
    let changes: std::collections::BTreeSet<&str> = logs
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        changes.len(),
        logs.lines().count() - 1,
        "change ids are unique"
    );
    for rows in [&steps, &props] {
        assert!(rows.lines().count() > 1, "{rows}");
        for l in rows.lines().skip(1) {
            assert!(changes.contains(l.split(',').next().unwrap()), "{l}");
        }
    }
    assert!(props.contains(",userName,,ada@contoso.com"), "{props}");
}

/// Read-back is the truth (docs/provision.md, "One cycle": Entra compares the evaluated
/// source with the target state it reads back): an attribute the endpoint lost is sent again, as
/// `Add`, the next time the user is processed, and the log shows it; a user whose source
/// did not change is not processed at all.
#[test]
fn an_attribute_the_endpoint_lost_is_added_again_when_the_user_is_processed() {
    use crate::support::Http;
    let mock = mock();
    let rt = runtime();
    let engine = engine("entra-generic", Dialect::Legacy);
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let mut state = State::default();
    let first = rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut state));
    assert_eq!(first.stats.failed, 0);
    // The endpoint loses Ada's title and Bob's title (a server keeping only some attributes).
    let http = Http::to(&mock, "t");
    for name in ["ada@contoso.com", "bob@contoso.com"] {
        let id = by_user_name(&mock.users(), name)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let lose = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "title"}]});
        let a = rt.block_on(http.send("PATCH", &format!("/Users/{id}"), Some(&lose)));
        assert!(a.status < 300, "{a:?}");
    }
    assert!(by_user_name(&mock.users(), "ada@contoso.com")
        .get("title")
        .is_none());
    // Ada's department changes in the source, so Ada is processed; Bob's source does not.
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_path("directory.json")).unwrap())
            .unwrap();
    let ada = v["users"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|u| u["id"] == ADA)
        .unwrap();
    ada["department"] = json!("Platform");
    let changed = Directory::from_value(&v).unwrap();
    let second = rt.block_on(engine.run_cycle(&target, &changed, &mut state));
    assert_eq!(second.stats.failed, 0, "{:#?}", second.entries);
    let patch = second
        .requests
        .iter()
        .find(|r| r.method == "PATCH")
        .expect("Ada is PATCHed");
    let ops = &patch.body.as_ref().unwrap()["Operations"];
    assert!(
        ops.as_array()
            .unwrap()
            .iter()
            .any(|o| o["op"] == "Add" && o["path"] == "title" && o["value"] == "Engineer"),
        "the lost title goes back as Add: {ops}"
    );
    let logged = &entry_for(&second, ADA)[0].modified_properties;
    assert!(
        logged.iter().any(|p| p.display_name == "title"),
        "{logged:?}"
    );
    assert_eq!(
        by_user_name(&mock.users(), "ada@contoso.com")["title"],
        "Engineer"
    );
    // Bob was not processed: Entra reads only changed objects (no delta, no request).
    assert!(by_user_name(&mock.users(), "bob@contoso.com")
        .get("title")
        .is_none());
}

/// Diagnosis: a failed object says what the endpoint answered (status and its `detail`) on
/// the terminal line and in the JUnit message, and JUnit test names do not carry the random
/// cycle id (CI history keys tests by name).
#[test]
fn failures_show_the_endpoints_status_and_detail_and_junit_names_are_stable() {
    let mock = MockServer::builder()
        .token("t")
        .fault("POST /Users status=400")
        .start_blocking();
    let rt = runtime();
    let engine = engine("entra-generic", Dialect::Legacy);
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let r =
        rt.block_on(engine.run_cycle(&target, &fixture("directory.json"), &mut State::default()));
    let failed = r
        .entries
        .iter()
        .find(|e| e.status() == log::Status::Failure)
        .expect("a failed create");
    let said = failed
        .provisioning_status_info
        .error_information
        .as_ref()
        .and_then(|i| i.additional_details.clone())
        .unwrap();
    assert!(said.starts_with("HTTP 400"), "{said}");
    let junit = log::junit(&r.entries);
    assert!(junit.contains("HTTP 400"), "{junit}");
    assert!(!junit.contains(&r.cycle_id), "{junit}");
}

/// A small `[provisioning]` section: userName by UPN (matching), `active` from
/// IsSoftDeleted, then `extra` mapping rows and `actions` for users.
fn config_with(extra: &str, actions: &str) -> AppConfig {
    AppConfig::from_toml(&format!(
        r#"[provisioning]
[provisioning.users]
actions = {actions}
[[provisioning.users.mappings]]
target = "userName"
source = "userPrincipalName"
matching = 1
[[provisioning.users.mappings]]
target = "active"
expression = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
{extra}
"#
    ))
    .unwrap()
}

fn engine_with(config: AppConfig) -> Engine {
    Engine::new(config)
        .with_clock(FixedClock(time::macros::datetime!(2026-01-05 09:00 UTC)))
        .with_ids(SequentialIds::new())
}

fn one_user(extra: Value) -> Directory {
    let mut u = json!({"id": "u1", "userPrincipalName": "ada@contoso.com",
        "displayName": "Ada", "jobTitle": "Engineer", "accountEnabled": true});
    if let (Value::Object(u), Value::Object(extra)) = (&mut u, extra) {
        u.extend(extra);
    }
    Directory::from_value(&json!({"users": [u], "assignments": [{"principalId": "u1"}]})).unwrap()
}

/// Redact() (Microsoft Learn, "Reference for writing expressions…", Redact): the value flows
/// to the target, the provisioning log shows `[Redact]`.
#[test]
fn a_redacted_mapping_sends_its_value_and_logs_redact() {
    let config = config_with(
        "[[provisioning.users.mappings]]\ntarget = \"title\"\nexpression = 'Redact([jobTitle])'",
        r#"["create", "update", "delete"]"#,
    );
    let rt = runtime();
    let r = rt.block_on(engine_with(config).run_cycle(
        &Target::dry_run(),
        &one_user(json!({})),
        &mut State::default(),
    ));
    let post = r.requests.iter().find(|q| q.method == "POST").unwrap();
    assert_eq!(post.body.as_ref().unwrap()["title"], "Engineer");
    let title = r.entries[0]
        .modified_properties
        .iter()
        .find(|p| p.display_name == "title")
        .unwrap();
    assert_eq!(title.new_value.as_deref(), Some("[Redact]"));
    let logs = serde_json::to_string(&r.entries).unwrap();
    assert!(!logs.contains("Engineer"), "{logs}");
}

/// "Exact case?" on a mapping (Microsoft Learn, "Tutorial - Customize user provisioning
/// attribute-mappings"; RFC 7643 §2.2 `caseExact`): a change of case only is exported when
/// the mapping is exact, and is no change otherwise.
#[test]
fn a_case_only_change_is_exported_only_by_an_exact_case_mapping() {
    for exact in [false, true] {
        let config = config_with(
            &format!(
                "[[provisioning.users.mappings]]\ntarget = \"title\"\nsource = \"jobTitle\"\ncase_exact = {exact}"
            ),
            r#"["create", "update", "delete"]"#,
        );
        let engine = engine_with(config);
        let server = MockServer::builder().token("t");
        let target = Target::in_process(&server, Some("t".into())).unwrap();
        let rt = runtime();
        let mut state = State::default();
        let first = rt.block_on(engine.run_cycle(&target, &one_user(json!({})), &mut state));
        assert_eq!(first.stats.failed, 0, "{:#?}", first.entries);
        let louder = one_user(json!({"jobTitle": "ENGINEER"}));
        let second = rt.block_on(engine.run_cycle(&target, &louder, &mut state));
        let patched_title = second.requests.iter().any(|q| {
            q.method == "PATCH"
                && q.body.as_ref().is_some_and(|b| {
                    b["Operations"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|o| o["path"] == "title" && o["value"] == "ENGINEER")
                })
        });
        assert_eq!(
            patched_title, exact,
            "case_exact = {exact}: {:#?}",
            second.requests
        );
        let stored = target.stored(scimock::scim::ResourceKind::User);
        let want = if exact { "ENGINEER" } else { "Engineer" };
        assert_eq!(stored[0]["title"], want, "case_exact = {exact}");
    }
}

/// Disabling is an update: with Update unticked in Target Object Actions, a user who
/// leaves scope is not disabled in the target.
#[test]
fn without_update_an_unassigned_user_is_not_disabled() {
    let config = config_with("", r#"["create", "delete"]"#);
    let engine = engine_with(config);
    let target = Target::in_process(&MockServer::builder().token("t"), Some("t".into())).unwrap();
    let rt = runtime();
    let mut state = State::default();
    rt.block_on(engine.run_cycle(&target, &one_user(json!({})), &mut state));
    let unassigned = Directory::from_value(&json!({"users": [{"id": "u1",
        "userPrincipalName": "ada@contoso.com", "accountEnabled": true}], "assignments": []}))
    .unwrap();
    let r = rt.block_on(engine.run_cycle(&target, &unassigned, &mut state));
    assert!(
        r.requests.iter().all(|q| q.method != "PATCH"),
        "{:#?}",
        r.requests
    );
    let users = target.stored(scimock::scim::ResourceKind::User);
    assert_eq!(users[0]["active"], true);
    assert_eq!(r.stats.disabled, 0);
}

/// A multi-valued source mapped to a single-valued target fails the object with
/// SchemaPropertyCanOnlyAcceptValue (Microsoft Learn, "How to analyze the Microsoft Entra
/// provisioning logs"); one value is sent as that value.
#[test]
fn a_multi_valued_source_into_a_single_valued_target_fails_the_object() {
    let config = config_with(
        "[[provisioning.users.mappings]]\ntarget = \"title\"\nexpression = 'Split([jobTitle], \",\")'",
        r#"["create", "update", "delete"]"#,
    );
    let rt = runtime();
    let engine = engine_with(config);
    let two = rt.block_on(engine.run_cycle(
        &Target::dry_run(),
        &one_user(json!({"jobTitle": "Engineer,Manager"})),
        &mut State::default(),
    ));
    assert_eq!(
        two.entries[0].error_code(),
        Some("SchemaPropertyCanOnlyAcceptValue")
    );
    assert!(two.requests.iter().all(|q| q.method != "POST"));
    let one = rt.block_on(engine.run_cycle(
        &Target::dry_run(),
        &one_user(json!({})),
        &mut State::default(),
    ));
    let post = one.requests.iter().find(|q| q.method == "POST").unwrap();
    assert_eq!(post.body.as_ref().unwrap()["title"], "Engineer");
}

/// SelectUniqueValue is supported only for Workday/SuccessFactors to AD and API-driven
/// inbound provisioning: a SCIM app's configuration with it does not load.
#[test]
fn select_unique_value_is_refused_in_a_scim_apps_mappings() {
    let toml = r#"[provisioning]
[provisioning.users]
[[provisioning.users.mappings]]
target = "userName"
expression = 'SelectUniqueValue([userPrincipalName], [mail])'
matching = 1
"#;
    let e = AppConfig::from_toml(toml).unwrap_err().to_string();
    assert!(e.contains("SelectUniqueValue is supported only"), "{e}");
}

/// A manager out of scope on day one: the user is provisioned without a manager, and the
/// reference is not fixed when the manager comes into scope later (Microsoft Learn "Known
/// issues for provisioning in Microsoft Entra ID"); a restart (fresh state) fixes it.
#[test]
fn a_manager_who_comes_into_scope_later_is_not_linked_until_a_restart() {
    let rt = runtime();
    let engine = engine("entra-generic", Dialect::Legacy);
    let target = Target::in_process(&MockServer::builder().token("t"), Some("t".into())).unwrap();
    let dir = |manager_assigned: bool| {
        let mut assignments = vec![json!({"principalId": "u1"})];
        if manager_assigned {
            assignments.push(json!({"principalId": "m1"}));
        }
        Directory::from_value(&json!({"users": [
            {"id": "u1", "userPrincipalName": "ada@contoso.com", "accountEnabled": true,
             "manager": {"id": "m1"}},
            {"id": "m1", "userPrincipalName": "bob@contoso.com", "accountEnabled": true}],
            "assignments": assignments}))
        .unwrap()
    };
    let manager_of_ada = |target: &Target| {
        let users = target.stored(scimock::scim::ResourceKind::User);
        let ada = users
            .iter()
            .find(|u| u["userName"] == "ada@contoso.com")
            .cloned()
            .unwrap();
        ada["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"].clone()
    };
    let mut state = State::default();
    rt.block_on(engine.run_cycle(&target, &dir(false), &mut state));
    rt.block_on(engine.run_cycle(&target, &dir(true), &mut state));
    assert!(manager_of_ada(&target).is_null(), "fixed without a restart");
    let mut restarted = State::default();
    rt.block_on(engine.run_cycle(&target, &dir(true), &mut restarted));
    assert!(
        !manager_of_ada(&target).is_null(),
        "a restart re-evaluates everyone"
    );
}

/// Provisioning on demand re-evaluates the user even when nothing changed: the Test
/// Connection query, a read of the target, and an entry with import, scoping and a skip
/// whose `SkipReason` is `RedundantExport` (Graph *synchronizationJob: provisionOnDemand*).
#[test]
fn on_demand_for_an_unchanged_user_reads_it_and_logs_a_redundant_export() {
    let mock = mock();
    let rt = runtime();
    let engine = engine("entra-generic", Dialect::Legacy);
    let target = Target::http(&mock.base_url(), Some("t".into())).unwrap();
    let mut state = State::default();
    let dir = fixture("directory.json");
    rt.block_on(engine.run_cycle(&target, &dir, &mut state));
    let r = rt
        .block_on(engine.on_demand(&target, &dir, &mut state, ADA))
        .unwrap();
    let lines: Vec<String> = r.requests.iter().map(|q| q.line()).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].starts_with("GET /Users?filter="), "{lines:#?}");
    let ada = state.users[ADA].target_id.clone();
    assert_eq!(lines[1], format!("GET /Users/{ada}"));
    let steps: Vec<&str> = r.entries[0]
        .provisioning_steps
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "EntryImportUpdate",
            "EntrySynchronizationScoping",
            "EntrySynchronizationSkip"
        ]
    );
    let skip = r.entries[0].provisioning_steps.last().unwrap();
    assert_eq!(skip.details["SkipReason"], "RedundantExport");
}
