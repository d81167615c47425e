//! Durable state (`--state PATH`): every resource as one row of an SQLite database,
//! written by one writer thread that commits in groups.
//!
//! - **Format.** Table `resources(kind, id, body)`: `kind` is `User` or `Group`, `body`
//!   the resource as [`Store::export`] renders it (members included), compact JSON.
//!   Table `scimock(key, value)` holds `format = 1`.
//! - **When a write is durable.** The server sends each acknowledged write's rows to
//!   the writer ([`Durable::write`]) in the order the store applied them, and answers only
//!   after the writer's transaction holding them has committed. Whatever arrived while a
//!   transaction was committing goes into the next one (group commit), so many clients
//!   share one commit.
//! - **fsync.** WAL journal mode with `synchronous = NORMAL`: a commit is in the
//!   operating system's page cache (the WAL file) before the answer is sent, so killing
//!   the process (SIGKILL, a panic, OOM) loses no acknowledged write; only a power loss or
//!   kernel crash can lose the last commits (SQLite fsyncs the WAL at each checkpoint).
//!   [`Sync::Full`] (`synchronous = FULL`) fsyncs every commit and survives power loss.
//! - **Failure.** A commit that fails answers every write in it with 503, and the store
//!   turns read-only ([`Durable::failed`]): the in-memory store already holds those
//!   writes, so accepting more would let memory and disk drift apart. A restart loads
//!   exactly what was committed.
//! - **Start-up.** [`Durable::open`] refuses a path that is not a regular file (a FIFO, a
//!   folder, a device: looked at, never opened), a file that is not an SQLite database (an
//!   older scimock's JSON state file is named as such, pointing to
//!   `scimock state import`), a corrupt one, a path it cannot write, and a database with a
//!   row that is not the resource its key names (`rows.rs`), without changing the file.
//! - **One owner.** A database is used by one server at a time: [`Durable::open`] takes an
//!   OS lock on `DB.lock` beside it and holds it until the writer has stopped; a second
//!   server is refused naming the first (`owner.rs` says why this lock).

//! - **Without the `state` feature** (a library user's `default-features = false`), the
//!   types stay and [`Durable::open`] answers that this build has no SQLite.

#[cfg(not(feature = "state"))]
mod off;
#[cfg(feature = "state")]
mod owner;
#[cfg(feature = "state")]
mod rows;
#[cfg(feature = "state")]
mod sqlite;

use std::path::PathBuf;

use serde_json::Value;

use super::{ResourceKind, Store};

#[cfg(not(feature = "state"))]
pub use off::{export, import, Durable};
#[cfg(feature = "state")]
pub use sqlite::{export, import, Durable};

/// How commits reach the disk (SQLite `synchronous`, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sync {
    /// Survives the process being killed; the last commits can be lost on power loss.
    #[default]
    Normal,
    /// fsync on every commit: survives power loss.
    Full,
}

/// Why a state database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    #[error(
        "{0} is a JSON state file from an older scimock; convert it once with \
         `scimock state import {0} NEW.db` and start with `--state NEW.db`"
    )]
    Json(PathBuf),
    #[error("{0} is not a scimock state database (not SQLite); nothing was changed")]
    NotSqlite(PathBuf),
    #[error("cannot use {path} as the state database: {reason}")]
    Unusable { path: PathBuf, reason: String },
    /// Another server holds the database (its lock file `lock` names it).
    #[error(
        "{path} is in use by {holder}: one server per state database; stop that one \
         or start with another --state file (lock: {lock})"
    )]
    InUse {
        path: PathBuf,
        holder: String,
        lock: PathBuf,
    },
    /// A row whose body is not the resource its key names; nothing was loaded.
    #[error(
        "cannot use {path} as the state database: row ({kind}, {id:?}) of table `resources` \
         is not a stored {kind}: {reason}; nothing was loaded or changed"
    )]
    BadRow {
        path: PathBuf,
        kind: String,
        id: String,
        reason: String,
    },
}

/// One row to write: a resource as it now is, or its removal.
#[derive(Debug, Clone)]
pub struct Row {
    pub kind: ResourceKind,
    pub id: String,
    /// `None` deletes the row.
    pub body: Option<String>,
}

/// What the writer answers for one write: committed, or why not.
pub type Ack = tokio::sync::oneshot::Receiver<Result<(), String>>;

impl Store {
    /// The row for `(kind, id)` as it now is: its rendered form, or a removal.
    pub fn row(&self, kind: ResourceKind, id: &str) -> Row {
        let body = self
            .get(kind, id, true)
            .ok()
            .and_then(|v| serde_json::to_string(&v).ok());
        Row {
            kind,
            id: id.to_owned(),
            body,
        }
    }

    /// Rows for every resource (a reset, or the first start from a seed).
    pub fn all_rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for kind in [ResourceKind::User, ResourceKind::Group] {
            for v in self.all(kind) {
                if let Some(id) = v.get("id").and_then(Value::as_str) {
                    rows.push(Row {
                        kind,
                        id: id.to_owned(),
                        body: serde_json::to_string(&v).ok(),
                    });
                }
            }
        }
        rows
    }

    /// The groups `member_id` belongs to: their rows change when it is deleted.
    pub fn groups_containing(&self, member_id: &str) -> Vec<String> {
        self.read().groups_of(member_id)
    }
}

/// Waits for a commit without a runtime (start-up, `scimock state import`).
pub fn wait(mut ack: Ack) -> Result<(), String> {
    use tokio::sync::oneshot::error::TryRecvError;
    loop {
        match ack.try_recv() {
            Ok(result) => return result,
            Err(TryRecvError::Empty) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(TryRecvError::Closed) => return Err("the state writer stopped".to_owned()),
        }
    }
}
