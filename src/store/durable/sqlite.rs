//! The SQLite side of durable state (feature `state`): the writer thread, start-up checks,
//! `export` and `import`. The module above holds the format and the API.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex, MutexGuard};

use rusqlite::{params, Connection, OpenFlags};
use serde_json::{Map, Value};

use super::owner;
use super::rows::read_all;
use super::{wait, Ack, DurableError, Row, Sync};
use crate::store::Store;

/// The `format` this version writes.
const FORMAT: &str = "1";

/// The most writes one transaction takes.
const MAX_GROUP: usize = 4096;

enum Job {
    Rows(Vec<Row>, tokio::sync::oneshot::Sender<Result<(), String>>),
    /// Replace everything (reset, first start from a seed).
    All(Vec<Row>, tokio::sync::oneshot::Sender<Result<(), String>>),
}

/// The open state database and its writer thread.
#[derive(Debug)]
pub struct Durable {
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    /// Held while a write is applied to the store and its rows are queued, so rows reach
    /// the writer in the order the store applied them.
    order: Mutex<()>,
    failed: std::sync::Arc<AtomicBool>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The one-owner lock; a field drops after [`Drop::drop`] has stopped the writer, so
    /// the lock outlives every commit.
    _owner: owner::Owner,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Rows(r, _) => write!(f, "Rows({})", r.len()),
            Job::All(r, _) => write!(f, "All({})", r.len()),
        }
    }
}

pub(super) fn unusable(path: &Path, reason: impl std::fmt::Display) -> DurableError {
    DurableError::Unusable {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// What a file that is not a regular one is, for the refusal.
fn not_regular(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Looks at an existing file's first bytes: SQLite, JSON, or neither. Its type is looked
/// at first, without opening it: opening a FIFO blocks until a writer comes, and a device
/// or a folder is no database.
fn check_header(path: &Path) -> Result<bool, DurableError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(unusable(path, e)),
        Ok(m) if !m.is_file() => {
            let what = not_regular(m.file_type());
            return Err(unusable(path, format!("it is {what}, not a regular file")));
        }
        Ok(_) => {}
    }
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(unusable(path, e)),
    };
    let mut head = [0u8; 16];
    let n = file.read(&mut head).map_err(|e| unusable(path, e))?;
    let head = head.get(..n).unwrap_or_default();
    if n == 0 {
        return Ok(false); // an empty file becomes a new database
    }
    if head == b"SQLite format 3\0" {
        return Ok(true);
    }
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'n') => Err(DurableError::Json(path.to_owned())),
        _ => Err(DurableError::NotSqlite(path.to_owned())),
    }
}

fn connect(path: &Path, sync: Sync) -> Result<Connection, DurableError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| unusable(path, e))?;
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
        return Err(unusable(path, "the file is read-only"));
    }
    let sync_mode = match sync {
        Sync::Normal => "NORMAL",
        Sync::Full => "FULL",
    };
    let setup = format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync_mode}; \
         PRAGMA busy_timeout = 5000;"
    );
    conn.execute_batch(&setup).map_err(|e| unusable(path, e))?;
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| unusable(path, e))?;
    if check != "ok" {
        return Err(unusable(path, format!("integrity check failed: {check}")));
    }
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         CREATE TABLE IF NOT EXISTS scimock (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS resources (
             kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
             PRIMARY KEY (kind, id)) WITHOUT ROWID;
         INSERT OR IGNORE INTO scimock (key, value) VALUES ('format', '1');
         COMMIT;",
    )
    .map_err(|e| unusable(path, e))?;
    let format: String = conn
        .query_row("SELECT value FROM scimock WHERE key = 'format'", [], |r| {
            r.get(0)
        })
        .map_err(|e| unusable(path, e))?;
    if format != FORMAT {
        return Err(unusable(
            path,
            format!("state format {format} is not this scimock's ({FORMAT})"),
        ));
    }
    Ok(conn)
}

fn apply(conn: &mut Connection, jobs: &[Job]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO resources (kind, id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
        )?;
        let mut delete = tx.prepare_cached("DELETE FROM resources WHERE kind = ?1 AND id = ?2")?;
        for job in jobs {
            let rows = match job {
                Job::Rows(rows, _) => rows,
                Job::All(rows, _) => {
                    tx.execute("DELETE FROM resources", [])?;
                    rows
                }
            };
            for row in rows {
                match &row.body {
                    Some(body) => {
                        upsert.execute(params![row.kind.resource_type(), row.id, body])?
                    }
                    None => delete.execute(params![row.kind.resource_type(), row.id])?,
                };
            }
        }
    }
    tx.commit()
}

fn writer(mut conn: Connection, jobs: mpsc::Receiver<Job>, failed: std::sync::Arc<AtomicBool>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let result = if failed.load(Ordering::Acquire) {
            Err("the state database failed earlier; the server is read-only".to_owned())
        } else {
            apply(&mut conn, &group).map_err(|e| e.to_string())
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, "state database commit failed; refusing writes");
            failed.store(true, Ordering::Release);
        }
        for job in group {
            let (Job::Rows(_, ack) | Job::All(_, ack)) = job;
            let _ = ack.send(result.clone());
        }
    }
}

impl Durable {
    /// Opens (or creates) the database at `path` and starts its writer. Returns the
    /// stored resources as seed text, or `None` for a new (empty) database.
    pub fn open(path: &Path, sync: Sync) -> Result<(Durable, Option<Vec<u8>>), DurableError> {
        let existed = check_header(path)?;
        // Before SQLite touches the file: a second server must not even create its WAL.
        let owner = owner::acquire(path)?;
        let conn = connect(path, sync)?;
        let (text, count) = read_all(&conn, path)?;
        let contents = (existed && count > 0).then_some(text);
        let failed = std::sync::Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let flag = std::sync::Arc::clone(&failed);
        let handle = std::thread::Builder::new()
            .name("scimock-state".into())
            .spawn(move || writer(conn, rx, flag))
            .map_err(|e| unusable(path, e))?;
        Ok((
            Durable {
                path: path.to_owned(),
                jobs: Mutex::new(Some(tx)),
                order: Mutex::new(()),
                failed,
                writer: Mutex::new(Some(handle)),
                _owner: owner,
            },
            contents,
        ))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True once a commit failed: every later write is refused with 503.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Holds the write order: take it before applying a write to the store, queue the
    /// write's rows with [`Durable::write`], then let it go.
    pub fn order(&self) -> MutexGuard<'_, ()> {
        self.order.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(
        &self,
        job: impl FnOnce(tokio::sync::oneshot::Sender<Result<(), String>>) -> Job,
    ) -> Ack {
        let (ack, done) = tokio::sync::oneshot::channel();
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = jobs.as_ref() {
            // A send error drops the job, and with it `ack`: the receiver sees Closed.
            let _ = tx.send(job(ack));
        }
        done
    }

    /// Queues `rows` for the next commit.
    pub fn write(&self, rows: Vec<Row>) -> Ack {
        self.send(|ack| Job::Rows(rows, ack))
    }

    /// Queues replacing every row with `rows`.
    pub fn write_all(&self, rows: Vec<Row>) -> Ack {
        self.send(|ack| Job::All(rows, ack))
    }

    /// Stops the writer after it committed everything queued.
    pub fn close(&self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl Drop for Durable {
    fn drop(&mut self) {
        self.close();
    }
}

/// Reads a whole state database as seed JSON (for `scimock state export`), without
/// starting a writer.
pub fn export(path: &Path) -> Result<Value, DurableError> {
    if !check_header(path)? {
        return Err(unusable(path, "no such state database"));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| unusable(path, e))?;
    let (text, _) = read_all(&conn, path)?;
    serde_json::from_slice::<Map<String, Value>>(&text)
        .map(Value::Object)
        .map_err(|e| unusable(path, e))
}

/// Converts seed JSON (`{"Users": [...], "Groups": [...]}`, today's `--seed` and older
/// `--state` files) into a new state database at `path`, validated as the server would
/// load it (core schemas). Refuses a database that already holds resources. Returns the
/// number of resources written.
pub fn import(json: Vec<u8>, path: &Path) -> Result<usize, String> {
    let store = Store::new(
        std::sync::Arc::new(crate::clock::SystemClock),
        std::sync::Arc::new(crate::clock::RandomIds),
        "",
    );
    store
        .set_seed_text(json)
        .map_err(|e| format!("the JSON does not load: {e}"))?;
    let (durable, stored) = Durable::open(path, Sync::Full).map_err(|e| e.to_string())?;
    if stored.is_some_and(|t| t.len() > r#"{"Users":[],"Groups":[]}"#.len()) {
        return Err(format!(
            "{} already holds resources; import into a new file",
            path.display()
        ));
    }
    let rows = store.all_rows();
    let n = rows.len();
    wait(durable.write_all(rows))?;
    durable.close();
    Ok(n)
}
