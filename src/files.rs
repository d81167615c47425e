//! Writing files so that a crash, a full disk or a kill never leaves half of one: the
//! recorder's sequence, `provision --state`, `serve --port-file`, every report.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically and durably: a temporary file beside it, written
/// and fsynced, then renamed over `path`, then the folder fsynced. A reader sees the old
/// file or the new one, never a cut one; a failed write (a full disk) leaves the old file
/// as it was and removes the temporary one.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return written;
    }
    // The rename itself is durable once the folder is (POSIX; a no-op elsewhere).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Checks that `path` can be written, before any work whose result it will hold: its
/// folder exists and takes a new file (probed with a file that is removed again), and it
/// is not itself a folder. Nothing at `path` is touched.
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a folder",
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let probe = dir.join(format!(".scimock-write-check-{}", std::process::id()));
    std::fs::File::create(&probe)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        atomic_write(&path, b"old").unwrap();
        // A folder where the temporary file would go makes the write fail midway.
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        std::fs::create_dir(&tmp).unwrap();
        assert!(atomic_write(&path, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        std::fs::remove_dir(&tmp).unwrap();
        atomic_write(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn writability_is_checked_without_touching_the_target() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_writable(&dir.path().join("r.xml")).is_ok());
        assert!(!dir.path().join("r.xml").exists());
        assert!(check_writable(&dir.path().join("missing/r.xml")).is_err());
        assert!(check_writable(dir.path()).is_err());
    }
}
