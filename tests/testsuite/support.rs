//! Shared test helpers: the one insta settings helper (snapshots live in the top-level
//! `snapshots/` directory, named `<area>@<case>.snap`).

use std::path::Path;

/// insta settings for this suite: top-level `snapshots/`, no module prefix.
pub(crate) fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

/// A fixture file's case name (its stem), used as the snapshot suffix so snapshots are
/// named `<name>@<case>.snap`.
pub(crate) fn case_name(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("unnamed")
        .to_owned()
}
