//! Durable state (issue 14, deliverable 2, "Why" 3 and 4): with `--state DB` no
//! acknowledged write is lost when the process is SIGKILLed under write load, and a state
//! path that cannot be used stops start-up with exit 2 and leaves the file untouched.
//! The binary is spawned on 127.0.0.1:0; bounded in kills and time.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scimock::server::StartError;
use scimock::store::durable::{self, Sync};
use scimock::MockServer;
use serde_json::json;

use crate::wire::send;

/// Starts `scimock serve --state db` and returns it with its address.
fn serve(db: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["serve", "--no-auth", "--listen", "127.0.0.1:0", "--state"])
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the banner").unwrap();
        if let Some(addr) = line.trim().strip_prefix("listen") {
            break addr.trim().parse().unwrap();
        }
    };
    // Keep reading the banner in the background so the child never blocks on stdout.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn stored_user_ids(db: &Path) -> BTreeSet<String> {
    let data = durable::export(db).unwrap();
    data["Users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn sigkill_under_write_load_loses_no_acknowledged_write() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let kills = 6;
    for round in 0..kills {
        let (mut child, addr) = serve(&db);
        let clients: Vec<_> = (0..4)
            .map(|c| {
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    for i in 0.. {
                        let body = json!({"userName": format!("r{round}-c{c}-{i}")}).to_string();
                        // The kill ends every client with a connection error.
                        match send(addr, "POST", "/scim/v2/Users", &[], Some(&body)) {
                            Ok(a) if a.status == 201 => {
                                mine.push(a.body["id"].as_str().unwrap_or_default().to_owned())
                            }
                            Ok(a) => panic!("unexpected answer {}: {}", a.status, a.text),
                            Err(_) => break,
                        }
                    }
                    mine
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100 + fastrand::u64(0..300)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for c in clients {
            acked.extend(c.join().unwrap());
        }
        let stored = stored_user_ids(&db);
        let lost: Vec<&String> = acked.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "kill {round}: {} acknowledged writes lost",
            lost.len()
        );
    }
    assert!(
        acked.len() > kills,
        "only {} writes acknowledged",
        acked.len()
    );
    eprintln!(
        "durability: {kills} SIGKILLs, {} acknowledged writes, none lost, {:?}",
        acked.len(),
        started.elapsed()
    );
}

/// Starts `scimock serve --state state` and expects it to stop on its own: its exit code
/// and stderr. One that is still running after 20 s is killed and reported as `-1`.
fn start_fails(state: &Path) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(["serve", "--no-auth", "--listen", "127.0.0.1:0", "--state"])
        .arg(state)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    match status {
        Some(s) => (s.code().unwrap_or(-1), err),
        None => (-1, format!("still running after 20 s; stderr: {err}")),
    }
}

#[test]
fn an_unusable_state_path_stops_start_up_with_exit_2_and_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    // Unwritable even for root: the parent is a regular file.
    let file = dir.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    let (code, err) = start_fails(&file.join("state.db"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot use") && err.contains("state.db"),
        "{err}"
    );
    // Today's JSON state format is named and pointed to the converter, untouched.
    let json_state = dir.path().join("state.json");
    let text = r#"{"Users": [{"userName": "a"}], "Groups": []}"#;
    std::fs::write(&json_state, text).unwrap();
    let (code, err) = start_fails(&json_state);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("scimock state import"), "{err}");
    assert_eq!(std::fs::read_to_string(&json_state).unwrap(), text);
    // Not a database at all: refused, untouched.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"\x00\x01 not sqlite at all").unwrap();
    let (code, err) = start_fails(&junk);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a scimock state database"), "{err}");
    assert_eq!(std::fs::read(&junk).unwrap(), b"\x00\x01 not sqlite at all");
    // A damaged database: refused, untouched.
    let bad = dir.path().join("bad.db");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend(std::iter::repeat_n(0xA5u8, 4096));
    std::fs::write(&bad, &bytes).unwrap();
    let (code, err) = start_fails(&bad);
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read(&bad).unwrap(), bytes);
}

#[test]
fn import_serve_and_export_round_trip_through_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let seed = json!({
        "Users": [{"userName": "ann", "id": "u1"}, {"userName": "bob", "id": "u2"}],
        "Groups": [{"displayName": "g", "id": "g1", "members": [{"value": "u1"}]}]
    });
    assert_eq!(
        durable::import(seed.to_string().into_bytes(), &db).unwrap(),
        3
    );
    let server = MockServer::builder()
        .no_auth()
        .state(&db, Sync::Normal)
        .start_blocking();
    let addr = server.address();
    let a = send(addr, "GET", "/scim/v2/Users/u1", &[], None).unwrap();
    assert_eq!(a.body["userName"], "ann", "{}", a.text);
    assert_eq!(
        send(addr, "DELETE", "/scim/v2/Users/u1", &[], None)
            .unwrap()
            .status,
        204
    );
    let c = send(
        addr,
        "POST",
        "/scim/v2/Users",
        &[],
        Some(r#"{"userName":"cy"}"#),
    )
    .unwrap();
    assert_eq!(c.status, 201);
    drop(server);
    let out = durable::export(&db).unwrap();
    let names: Vec<&str> = out["Users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["userName"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "{out}");
    assert!(names.contains(&"bob") && names.contains(&"cy"), "{out}");
    // The deleted member left the group in the database too.
    assert_eq!(out["Groups"][0]["members"], json!([]), "{out}");
    // Importing into a database that holds resources is refused.
    assert!(durable::import(seed.to_string().into_bytes(), &db).is_err());
}

/// Deliverable 2: a write that cannot be committed is answered 503 with a SCIM body and
/// never acknowledged; the server then refuses writes (reads go on) until it is restarted,
/// and the database holds only what was acknowledged. The failure is a real one: another
/// process holds SQLite's write lock past the server's 5 s busy timeout.
#[test]
fn a_write_that_cannot_be_committed_is_503_and_never_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let server = MockServer::builder()
        .no_auth()
        .state(&db, Sync::Normal)
        .start_blocking();
    let addr = server.address();
    let post = |name: &str| {
        let body = format!(r#"{{"userName":"{name}"}}"#);
        send(addr, "POST", "/scim/v2/Users", &[], Some(&body)).unwrap()
    };
    assert_eq!(post("before").status, 201);

    let other = rusqlite::Connection::open(&db).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let refused = post("during");
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert_eq!(refused.body["status"], "503", "{}", refused.text);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("could not be committed"),
        "{}",
        refused.text
    );
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);

    // The lock is gone, but the server no longer trusts its database: writes stay 503,
    // reads are answered.
    let after = post("after");
    assert_eq!(after.status, 503, "{}", after.text);
    let list = send(
        addr,
        "GET",
        "/scim/v2/Users?filter=userName+eq+%22before%22",
        &[],
        None,
    )
    .unwrap();
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["totalResults"], 1, "{}", list.text);
    drop(server);

    let names: BTreeSet<String> = durable::export(&db).unwrap()["Users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["userName"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names, BTreeSet::from(["before".to_owned()]));
}

/// Kills the child on drop, so a failing assertion leaves no server behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Issue 32, item 1: a second server on a database another one holds is refused, naming
/// the holder, from the binary (exit 2) and from the library (a `StartError`); the first
/// keeps serving; once it is gone (killed, so no clean unlock), a new one starts.
#[test]
fn a_second_server_on_one_state_database_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (first, addr) = serve(&db);
    let first = Running(first);
    let holder = format!("pid {}", first.0.id());
    let body = r#"{"userName":"only-once"}"#;
    let created = send(addr, "POST", "/scim/v2/Users", &[], Some(body)).unwrap();
    assert_eq!(created.status, 201, "{}", created.text);

    let (code, err) = start_fails(&db);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&holder) && err.contains("in use"), "{err}");
    // Through another path to the same file, and from the library.
    let other_path = dir.path().join(".").join("state.db");
    match MockServer::builder()
        .no_auth()
        .state(&other_path, Sync::Normal)
        .try_start()
    {
        Err(StartError::State(e)) => assert!(e.to_string().contains(&holder), "{e}"),
        Ok(_) => panic!("a second server started on a held database"),
        Err(e) => panic!("refused for another reason: {e}"),
    }
    // The holder is untouched: it still serves its write, stored once.
    let list = send(addr, "GET", "/scim/v2/Users", &[], None).unwrap();
    assert_eq!(list.body["totalResults"], 1, "{}", list.text);

    drop(first); // SIGKILL: the lock must not outlive its holder
    let (again, addr) = serve(&db);
    let _again = Running(again);
    let list = send(addr, "GET", "/scim/v2/Users", &[], None).unwrap();
    assert_eq!(list.body["totalResults"], 1, "{}", list.text);
}

/// Issue 32, item 1, in one process: two `MockServer`s on one database.
#[test]
fn a_second_mock_server_in_one_process_gets_a_start_error_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let start = || {
        MockServer::builder()
            .no_auth()
            .state(&db, Sync::Normal)
            .try_start()
    };
    let first = start().unwrap();
    let err = start().expect_err("the second start is refused");
    assert!(
        err.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    drop(first);
    assert!(start().is_ok());
}

/// Issue 32, item 2: a FIFO, a directory or a device as `--state` is refused at start
/// (a FIFO used to hang it, waiting for a writer), naming what it is.
#[test]
fn a_fifo_a_directory_or_a_device_as_state_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("state.fifo");
    match Command::new("mkfifo").arg(&fifo).status() {
        Ok(s) if s.success() => {
            let (code, err) = start_fails(&fifo);
            assert_eq!(code, 2, "{err}");
            assert!(
                err.contains("a FIFO (named pipe), not a regular file"),
                "{err}"
            );
            // Nothing was created beside it (no lock file, no WAL).
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        }
        _ => eprintln!("skipped the FIFO case: no mkfifo here"),
    }
    let (code, err) = start_fails(dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("a directory, not a regular file"), "{err}");
    let null = Path::new("/dev/null");
    if null.exists() {
        let (code, err) = start_fails(null);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("a character device"), "{err}");
    }
}

/// Issue 32, item 3: each row is loaded as its own resource. A row whose body closes the
/// `Users` array and opens another (so joined texts would load a user no row holds and
/// drop one that is there), a body under another row's key, and a group stored as a user
/// are each refused at start, naming the table and the row; the database is left as it is.
#[test]
fn a_tampered_row_is_refused_at_start_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let seed = json!({
        "Users": [{"userName": "ann", "id": "u1"}, {"userName": "bob", "id": "u2"}],
        "Groups": [{"displayName": "g", "id": "g1"}]
    });
    let tamper = |name: &str, sql: &str| {
        let db = dir.path().join(name);
        durable::import(seed.to_string().into_bytes(), &db).unwrap();
        let conn = rusqlite::Connection::open(&db).unwrap();
        assert_eq!(conn.execute(sql, []).unwrap(), 1);
        drop(conn);
        db
    };
    let smuggled = tamper(
        "smuggled.db",
        r#"UPDATE resources SET body = body || '],"Users":[{"userName":"mallory","id":"u9"}' WHERE id = 'u1'"#,
    );
    let (code, err) = start_fails(&smuggled);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("row (User, \"u1\") of table `resources`") && err.contains("not one resource"),
        "{err}"
    );
    let body = |db: &Path| -> String {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("SELECT body FROM resources WHERE id = 'u1'", [], |r| {
                r.get(0)
            })
            .unwrap()
    };
    assert!(
        body(&smuggled).contains("mallory"),
        "the database was changed"
    );
    assert!(
        durable::export(&smuggled).is_err(),
        "export reads it as it is"
    );

    let moved = tamper(
        "moved.db",
        "UPDATE resources SET body = (SELECT body FROM resources WHERE id = 'u2') WHERE id = 'u1'",
    );
    let (code, err) = start_fails(&moved);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("\"u1\"") && err.contains("not the row's key"),
        "{err}"
    );

    let group_as_user = tamper(
        "kind.db",
        "UPDATE resources SET kind = 'User' WHERE id = 'g1'",
    );
    let (code, err) = start_fails(&group_as_user);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("row (User, \"g1\")") && err.contains("do not hold"),
        "{err}"
    );
}
