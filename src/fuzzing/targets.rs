//! The fuzz targets as one exhaustive enum, and the replay of their committed inputs
//! (`fuzz/seeds/<target>/*` and the findings in `testdata/fuzz/<target>/*`) under plain
//! `cargo test`, the way rustls replays its corpus in `test_read_fuzz_corpus`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use super::*;

/// Declares [`FuzzTarget`] from one line per target: variant, the name `cargo fuzz run`
/// takes (the file `fuzz/fuzz_targets/<name>.rs`), and the body as a `fn(&[u8])`.
/// Adding a target is one line here; the matches the macro writes have no `_ =>` arm.
macro_rules! fuzz_targets {
    ($($variant:ident $name:literal => $run:expr;)*) => {
        /// Every fuzz target, by the name `cargo fuzz run` takes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum FuzzTarget {
            $($variant,)*
        }

        impl FuzzTarget {
            /// All targets, in declaration order.
            pub const ALL: &'static [FuzzTarget] = &[$(FuzzTarget::$variant,)*];

            /// The target's name: its file stem under `fuzz/fuzz_targets/`.
            pub fn name(self) -> &'static str {
                match self {
                    $(FuzzTarget::$variant => $name,)*
                }
            }

            /// Runs the target's body on libFuzzer's raw input bytes, decoding structured
            /// inputs with `arbitrary` exactly as `fuzz_target!` does.
            pub fn run(self, data: &[u8]) {
                let body: fn(&[u8]) = match self {
                    $(FuzzTarget::$variant => $run,)*
                };
                body(data)
            }
        }
    };
}

fuzz_targets! {
    FilterParser "filter_parser" => filter_parser;
    FilterEval "filter_eval" => |d| structured(d, filter_eval_input);
    PatchPath "patch_path" => patch_path;
    PatchApply "patch_apply" => |d| structured(d, patch_apply);
    Membership "membership" => |d| structured(d, |s: &Vec<MembershipStep>| membership(s));
    HttpRequest "http_request" => |d| structured(d, http_request);
    HttpBytes "http_bytes" => http_bytes;
    ReplayFixture "replay_fixture" => replay_fixture;
    ExprParser "expr_parser" => expr_parser;
    ExprEval "expr_eval" => |d| structured(d, expr_eval);
}

/// Decodes `data` as `fuzz_target!(|input: T| …)` does (`arbitrary_take_rest`) and runs
/// `body` on it; input that does not decode is skipped, as libFuzzer skips it.
fn structured<'a, T: arbitrary::Arbitrary<'a>>(data: &'a [u8], body: impl FnOnce(&T)) {
    if let Ok(input) = T::arbitrary_take_rest(arbitrary::Unstructured::new(data)) {
        body(&input);
    }
}

/// The committed inputs of `target` under the repository `root`: its seeds
/// (`fuzz/seeds/<name>/`) and its saved findings (`testdata/fuzz/<name>/`), dotfiles
/// (`.gitkeep`) left out, sorted.
pub fn committed_inputs(root: &Path, target: FuzzTarget) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let files = |dir: PathBuf| -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found
    };
    (
        files(root.join("fuzz/seeds").join(target.name())),
        files(root.join("testdata/fuzz").join(target.name())),
    )
}

/// One input that made a body panic (or could not be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayFailure {
    pub file: PathBuf,
    pub message: String,
}

/// Runs `body` on every file, catching panics, and returns the files that failed with
/// their panic messages: one failing input does not hide the others.
pub fn replay_files(files: &[PathBuf], body: impl Fn(&[u8])) -> Vec<ReplayFailure> {
    let mut failures = Vec::new();
    for file in files {
        let outcome = match std::fs::read(file) {
            Ok(data) => catch_unwind(AssertUnwindSafe(|| body(&data))).map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "non-string panic".to_owned())
            }),
            Err(e) => Err(format!("unreadable: {e}")),
        };
        if let Err(message) = outcome {
            failures.push(ReplayFailure {
                file: file.clone(),
                message,
            });
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn fuzz_targets_are_exactly_the_files_in_fuzz_fuzz_targets() {
        let mut files: Vec<String> = std::fs::read_dir(root().join("fuzz/fuzz_targets"))
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".rs").map(str::to_owned)
            })
            .collect();
        files.sort();
        let mut names: Vec<String> = FuzzTarget::ALL
            .iter()
            .map(|t| t.name().to_owned())
            .collect();
        names.sort();
        assert_eq!(names, files);
    }

    /// Every committed seed and saved finding of every target runs through its body again
    /// without a panic.
    #[test]
    fn committed_fuzz_inputs_replay_without_failing() {
        let (mut seeds, mut findings, mut failures) = (0, 0, Vec::new());
        for &target in FuzzTarget::ALL {
            let (s, f) = committed_inputs(root(), target);
            seeds += s.len();
            findings += f.len();
            failures.extend(replay_files(&s, |d| target.run(d)));
            failures.extend(replay_files(&f, |d| target.run(d)));
        }
        eprintln!("replayed {seeds} fuzz seeds and {findings} saved findings");
        assert!(failures.is_empty(), "{failures:#?}");
        // Seeds are committed, so finding none means the paths are wrong.
        assert!(seeds > 0, "no seeds found under fuzz/seeds/");
        // A seed directory no target owns would never be replayed.
        for dir in std::fs::read_dir(root().join("fuzz/seeds"))
            .unwrap()
            .flatten()
        {
            let name = dir.file_name().to_string_lossy().into_owned();
            assert!(
                FuzzTarget::ALL.iter().any(|t| t.name() == name),
                "fuzz/seeds/{name} belongs to no fuzz target"
            );
        }
    }

    /// The harness itself can fail: a body that panics on one committed seed is reported
    /// for exactly that file, with its message, and the other seeds still run.
    #[test]
    fn replay_reports_a_seed_that_makes_a_body_panic() {
        let (seeds, _) = committed_inputs(root(), FuzzTarget::FilterParser);
        let poisoned = seeds
            .iter()
            .find(|p| p.ends_with("op_eq"))
            .expect("seed op_eq")
            .clone();
        let poison = std::fs::read(&poisoned).unwrap();
        let ran = std::cell::Cell::new(0);
        let failures = replay_files(&seeds, |data| {
            ran.set(ran.get() + 1);
            assert_ne!(data, &poison[..], "deliberately broken target");
            FuzzTarget::FilterParser.run(data);
        });
        assert_eq!(ran.get(), seeds.len());
        assert_eq!(failures.len(), 1, "{failures:#?}");
        assert_eq!(failures[0].file, poisoned);
        assert!(
            failures[0].message.contains("deliberately broken target"),
            "{}",
            failures[0].message
        );
    }

    #[test]
    fn replay_reports_a_missing_file() {
        let failures = replay_files(&[root().join("fuzz/seeds/no-such-file")], |_| {});
        assert_eq!(failures.len(), 1);
        assert!(failures[0].message.starts_with("unreadable"));
    }
}
