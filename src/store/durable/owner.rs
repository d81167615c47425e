//! One owner per state database: the exclusive lock a server holds on `DB.lock`, beside
//! the database, for as long as it has the database open. A second server (another
//! process, or another [`crate::MockServer`] of the same one) is refused with the holder's
//! pid, before it reads or writes anything.
//!
//! Why an OS lock on a sidecar file (`flock` on Unix, `LockFileEx` on Windows, through
//! [`std::fs::File::try_lock`]):
//! - The operating system drops it when the holder's process ends, however it ends
//!   (SIGKILL, OOM, a panic, a power loss): a crashed holder never leaves a stale lock,
//!   and nothing has to guess whether a pid in a file is still alive.
//! - It leaves SQLite's own locking alone. SQLite's `locking_mode = EXCLUSIVE` would also
//!   keep out `scimock state export` and every other reader; and a lock on the database
//!   file itself can collide with SQLite's byte-range locks where the file system
//!   emulates `flock` with them (NFS).
//! - The file is never removed: removing it on exit would let a third server lock a new
//!   file at the same path while a second still holds the old one. It is a few bytes,
//!   naming the last holder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::sqlite::unusable;
use super::DurableError;

/// The held lock; dropping it (with its file) releases it.
#[derive(Debug)]
pub(super) struct Owner {
    _file: File,
}

/// `DB.lock` for the database's canonical path, so the same database reached through a
/// symlink or another relative path is one lock (a hard link is not followed).
pub(super) fn lock_path(db: &Path) -> PathBuf {
    let canonical = db.canonicalize().unwrap_or_else(|_| {
        // Not created yet: its folder's canonical path and its name.
        let dir = match db.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        match (dir.canonicalize(), db.file_name()) {
            (Ok(dir), Some(name)) => dir.join(name),
            _ => db.to_owned(),
        }
    });
    let mut name = canonical.into_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the lock of `db`, or says who holds it.
pub(super) fn acquire(db: &Path) -> Result<Owner, DurableError> {
    let path = lock_path(db);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| {
            unusable(
                db,
                format!("cannot open its lock file {}: {e}", path.display()),
            )
        })?;
    match try_lock_awhile(&file) {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            // Where the platform's lock is mandatory (Windows) the holder cannot be read.
            let _ = file.read_to_string(&mut text);
            let holder = match text.trim() {
                "" => "another process".to_owned(),
                named => named.to_owned(),
            };
            return Err(DurableError::InUse {
                path: db.to_owned(),
                holder,
                lock: path,
            });
        }
        Err(TryLockError::Error(e)) => {
            return Err(unusable(db, format!("cannot lock {}: {e}", path.display())))
        }
    }
    // The next server's refusal names this process. A failure here only loses the name.
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "scimock pid {}", std::process::id()));
    Ok(Owner { _file: file })
}

/// How long a lock that is held is retried before the holder is named.
const PATIENCE: Duration = Duration::from_secs(1);

/// `try_lock`, retried for [`PATIENCE`] while it would block. A process that starts a
/// child copies its descriptors into the child, and a `flock` lock is released only when
/// every copy is closed: the child holds this lock until it `exec`s (descriptors are
/// close-on-exec). A server dropped and started again in a process that is also spawning
/// processes (a test harness) would otherwise be refused by its own late copy: measured
/// here, 68% of immediate re-locks failed beside four threads spawning `true`; none did
/// with retries, the longest wait 7 ms. A real second owner is refused after the wait.
fn try_lock_awhile(file: &File) -> Result<(), TryLockError> {
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Err(TryLockError::WouldBlock) if start.elapsed() < PATIENCE => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_database_names_the_first_holder_until_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let first = acquire(&db).unwrap();
        // Another path to the same database is the same lock.
        let other = dir.path().join(".").join("s.db");
        match acquire(&other) {
            Err(DurableError::InUse { holder, .. }) => {
                assert_eq!(holder, format!("scimock pid {}", std::process::id()))
            }
            e => panic!("not refused: {e:?}"),
        }
        drop(first);
        let _again = acquire(&db).unwrap();
    }

    #[cfg(unix)]
    /// The race CI met: children spawned while the lock is held keep a copy of its
    /// descriptor until they `exec`, so a re-lock right after the drop can find it held.
    #[test]
    fn a_lock_dropped_while_children_are_spawned_can_be_taken_again_at_once() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let stop = Arc::new(AtomicBool::new(false));
        let spawners: Vec<_> = (0..2)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let _ = std::process::Command::new("true").status();
                    }
                })
            })
            .collect();
        let mut refused = 0;
        for _ in 0..200 {
            let owner = acquire(&db).unwrap();
            drop(owner);
            refused += usize::from(acquire(&db).is_err());
        }
        stop.store(true, Ordering::Relaxed);
        for s in spawners {
            s.join().unwrap();
        }
        assert_eq!(refused, 0);
    }
}
