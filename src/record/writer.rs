//! The recording's file, kept off the proxy's hot path. An exchange only appends its
//! step in memory and wakes the writer task; the writer renders the whole sequence and
//! replaces the file atomically ([`crate::files::atomic_write`]) at most once per
//! flush interval, on a blocking thread, so a burst of exchanges shares one write and no
//! exchange waits for the disk. When the proxy stops (a clean stop, or `scimock record`
//! catching SIGINT or SIGTERM) the writer writes once more, after the last connection has
//! ended, so the file then holds every exchange. A kill that cannot be caught (SIGKILL)
//! loses at most the exchanges of the last interval; the file is still a complete,
//! valid recording of the ones before.
//!
//! Writes never interleave: one lock is held from taking the snapshot to the rename, so
//! the file only ever moves forward.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{RecordError, Recording};

/// The file's side of the recording.
#[derive(Debug, Default)]
pub(super) struct FileState {
    /// The recording's version the file holds.
    written: u64,
    /// Times the file was written.
    pub(super) writes: u64,
    /// Why the latest write failed, if it did: the file and the I/O error's text.
    failure: Option<(String, String)>,
}

impl FileState {
    /// The latest write's failure, as the error it was.
    pub(super) fn error(&self) -> Option<RecordError> {
        self.failure
            .as_ref()
            .map(|(path, why)| RecordError::Write(path.clone(), std::io::Error::other(why.clone())))
    }
}

/// What the proxy's connections, the writer task and the [`super::Recorder`] share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) recording: Mutex<Recording>,
    /// Woken after each exchange is recorded; what piles up meanwhile is one write.
    pub(super) changed: tokio::sync::Notify,
    pub(super) file: Mutex<FileState>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(super) fn new(recording: Recording) -> Shared {
        Shared {
            recording: Mutex::new(recording),
            changed: tokio::sync::Notify::new(),
            file: Mutex::new(FileState::default()),
        }
    }

    /// Writes the file with the recording as it is now (blocking I/O). Unless `always`,
    /// nothing is written when the file already holds this version. A failure is kept
    /// for [`super::Recorder::save_error`] and logged.
    pub(super) fn flush(&self, always: bool) -> Result<(), RecordError> {
        let mut file = lock(&self.file);
        let snapshot = {
            let rec = lock(&self.recording);
            if rec.out.is_none() || (!always && rec.version == file.written) {
                return Ok(());
            }
            rec.snapshot()
        };
        let result = snapshot.save();
        file.writes += 1;
        match &result {
            Ok(()) => {
                file.written = snapshot.version;
                file.failure = None;
            }
            Err(e) => {
                tracing::error!(error = %e, "scimock record: cannot save the recording");
                file.failure = Some(match e {
                    RecordError::Write(path, io) => (path.clone(), io.to_string()),
                    other => (String::new(), other.to_string()),
                });
            }
        }
        result
    }
}

/// [`Shared::flush`] on a blocking thread.
async fn flush_off_the_runtime(shared: &Arc<Shared>, always: bool) {
    let shared = Arc::clone(shared);
    let _ = tokio::task::spawn_blocking(move || shared.flush(always)).await;
}

/// The writer task: a write as soon as an exchange arrives after a quiet interval, then
/// at most one per `every` while they keep arriving; once `done` resolves (the proxy has
/// stopped and its connections ended), one last write that always happens.
pub(super) async fn run(
    shared: Arc<Shared>,
    every: Duration,
    done: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(done);
    loop {
        tokio::select! {
            () = shared.changed.notified() => {}
            () = &mut done => break,
        }
        flush_off_the_runtime(&shared, false).await;
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = &mut done => break,
        }
    }
    flush_off_the_runtime(&shared, true).await;
}
