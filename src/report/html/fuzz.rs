//! The fuzz page: what a `scimock fuzz` run did (seed, dialects, counts, the model's share
//! of the time, tolerated refusals, failed cleanups) and each divergence with its minimal
//! sequence, the scenario written for it and the command that replays it.
//!
//! Every text the endpoint had a hand in (a divergence's detail, its request with the
//! endpoint's ids, the tolerated notes, the scenario's description) is scrubbed of secrets,
//! has its control characters written as `\u{…}` (as the terminal and JUnit reports write
//! them) and is cut to a bound before maud escapes it.

use std::borrow::Cow;
use std::path::Path;

use maud::{html, Markup};

use super::{RunInfo, Tone, Verdict};
use crate::fuzz::{Found, FuzzReport};

/// Characters of one line from the run (a step's label, a request, a note) shown at most.
const LINE_CHARS: usize = 500;
/// Items of a list (the minimal sequence, the tolerated notes) shown at most.
const MAX_ITEMS: usize = 200;

/// The page of a `scimock fuzz` run whose scenarios were written to `scenarios_dir` (the
/// `--out` directory: the page says how to replay them from there).
pub fn fuzz(info: &RunInfo, report: &FuzzReport, scenarios_dir: &Path) -> String {
    let found = report.divergences.len();
    let verdict = if found > 0 {
        Verdict {
            tone: Tone::Failed,
            text: format!(
                "FAILED: {} from scimock's model",
                super::plural(found, "divergence", "divergences")
            ),
        }
    } else {
        Verdict {
            tone: Tone::Passed,
            text: format!(
                "PASSED: no divergence from scimock's model in {}, {}",
                super::plural(report.cases, "case", "cases"),
                super::plural(report.steps, "step", "steps")
            ),
        }
    };
    let count = |n: usize| n as u64;
    let command = replay_command(info, scenarios_dir);
    let sections = html! {
        section id="run" {
            h2 { "Run" }
            (super::counts(&[
                ("cases", count(report.cases), ""),
                ("steps", count(report.steps), ""),
                ("requests", count(report.requests), ""),
                ("divergences", count(found), if found > 0 { "failure" } else { "" }),
                ("failed cleanups", count(report.cleanup_failures), if report.cleanup_failures > 0 { "warning" } else { "" }),
            ]))
            dl.meta {
                dt { "seed" } dd { code { (report.seed) } }
                dt { "duration" } dd { (duration(report)) }
                dt { "model" } dd { (model_share(report)) }
            }
            @if let Some(why) = &report.stopped {
                p.note { "stopped: " (line(info, why)) }
            }
            @if !report.schemas_known {
                p.note { "note: the endpoint's /Schemas did not say which attributes it keeps; every fuzzed attribute was compared" }
            }
            @if report.cleanup_failures > 0 {
                p.warning {
                    "warning: " (report.cleanup_failures)
                    " cleanup delete(s) failed; objects tagged by this run may be left on the endpoint"
                }
            }
            @if !report.notes.is_empty() {
                h3 { "Tolerated (" (report.notes.len()) ")" }
                p.muted { "refusals the fuzzer tolerates, each said once (docs/fuzz.md, \"Tolerances\")" }
                (list(info, &report.notes, false))
            }
        }
        section id="divergences" {
            h2 { "Divergences" }
            @if report.divergences.is_empty() {
                p.muted { "no divergence from scimock's model" }
            }
            @for f in &report.divergences { (divergence(info, f, &command)) }
        }
    };
    let dialects = match &info.dialect {
        Some(d) => d.clone(),
        None if report.dialects.is_empty() => "none".to_owned(),
        None => {
            let names: Vec<&str> = report.dialects.iter().map(|d| d.as_str()).collect();
            names.join(", ")
        }
    };
    super::page("fuzz", info, &dialects, &verdict, sections)
}

/// One divergence: open, with what differed, the minimal sequence and the scenario.
fn divergence(info: &RunInfo, f: &Found, command: &str) -> Markup {
    let d = &f.divergence;
    let json = clean(info, &f.scenario_json());
    html! {
        details class="item divergence failed" open {
            summary {
                span.badge.failed { "diverged" } " "
                strong.name { (d.kind.as_str()) } " in case " (f.case) " "
                span.dialect { "(" (f.dialect.as_str()) ")" }
                ", step " (d.step + 1) " " code { (line(info, &d.label)) }
            }
            dl.meta {
                dt { "request" } dd { code { (line(info, &d.request)) } }
                dt { "endpoint answered" } dd { (d.endpoint_status) }
                dt { "model answered" } dd { (d.model_status) }
                dt { "case seed" } dd { code { (f.case_seed) } }
                dt { "shrunk" } dd {
                    "from " (super::plural(f.original_len, "step", "steps"))
                    " to " (f.minimal_labels.len())
                    " in " (super::plural(f.shrink_runs, "re-run", "re-runs"))
                }
                dt { "confirmed" } dd {
                    @if f.confirmed {
                        span.badge.failure { "confirmed" } " the minimal sequence diverged again"
                    } @else {
                        span.badge.warning { "not reproduced" } " on the confirming run (a flaky endpoint?)"
                    }
                }
            }
            h3 { "What differed" }
            (super::long_text(&clean(info, &d.detail)))
            h3 { "Minimal sequence (" (super::plural(f.minimal_labels.len(), "step", "steps")) ")" }
            (list(info, &f.minimal_labels, true))
            h3 { "Scenario" }
            p {
                "written as " code { (line(info, &f.file_name())) }
                "; replay it (the token in SCIMOCK_TOKEN or --token):"
            }
            pre.body { (command) }
            details.exchange {
                summary { "the scenario (" (super::plural(json.lines().count(), "line", "lines")) ")" }
                (scenario_text(&json))
            }
        }
    }
}

/// A list of lines, each bounded, at most [`MAX_ITEMS`] of them.
fn list(info: &RunInfo, items: &[String], numbered: bool) -> Markup {
    let shown = items.iter().take(MAX_ITEMS);
    let more = items.len().saturating_sub(MAX_ITEMS);
    let rest = html! {
        @if more > 0 { li.muted { "… and " (more) " more" } }
    };
    html! {
        @if numbered {
            ol { @for item in shown { li { (line(info, item)) } } (rest) }
        } @else {
            ul { @for item in shown { li { (line(info, item)) } } (rest) }
        }
    }
}

/// The scenario in one `<pre>` (it is behind a `<details>` already), at most
/// [`super::MAX_BODY_CHARS`] characters of it.
fn scenario_text(json: &str) -> Markup {
    let (shown, left_out) = super::split_chars(json, super::MAX_BODY_CHARS);
    let left = left_out.chars().count();
    html! {
        pre.body { (shown) }
        @if left > 0 {
            p.note { (left) " more characters are left out of this page (the scenario file has them all)" }
        }
    }
}

/// `1234 ms (227 steps/s)`.
fn duration(report: &FuzzReport) -> String {
    if report.duration_ms == 0 {
        return "0 ms".to_owned();
    }
    let rate = report.steps as f64 * 1000.0 / report.duration_ms as f64;
    format!("{} ms ({rate:.0} steps/s)", report.duration_ms)
}

/// The reference model's share of the run's time: whether the endpoint (or `--rate`) or
/// scimock set the pace.
fn model_share(report: &FuzzReport) -> String {
    let share = report
        .model_percent()
        .map(|p| format!(" ({p:.0} % of the run)"))
        .unwrap_or_default();
    format!(
        "{} ms{share} in the reference model; the rest is the endpoint, the network and the fuzzer",
        report.model_ms
    )
}

/// `scimock replay URL --scenarios-dir DIR`, user info and secrets left out, each argument
/// quoted for a POSIX shell where it needs to be.
fn replay_command(info: &RunInfo, dir: &Path) -> String {
    let url = super::without_user_info(&info.target);
    let dir = dir.to_string_lossy();
    clean(
        info,
        &format!(
            "scimock replay {} --scenarios-dir {}",
            shell_word(&url),
            shell_word(&dir)
        ),
    )
}

/// `word` as one POSIX shell word: as it is when it holds only safe characters, else in
/// single quotes.
fn shell_word(word: &str) -> Cow<'_, str> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
    }
}

/// Text from the run as the page may hold it: secrets scrubbed, control characters written
/// as `\u{…}`. maud escapes the rest.
fn clean(info: &RunInfo, text: &str) -> String {
    crate::entra::secrets::printable(&info.scrub(text)).into_owned()
}

/// [`clean`], cut after [`LINE_CHARS`] characters with an ellipsis.
fn line(info: &RunInfo, text: &str) -> String {
    let text = clean(info, text);
    match super::split_chars(&text, LINE_CHARS) {
        (head, "") => head.to_owned(),
        (head, _) => format!("{head}…"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_where_a_shell_would_split_or_expand_them() {
        assert_eq!(shell_word("http://h:1/scim/v2"), "http://h:1/scim/v2");
        assert_eq!(shell_word("found"), "found");
        assert_eq!(shell_word("my dir"), "'my dir'");
        assert_eq!(shell_word("a'b"), r"'a'\''b'");
        assert_eq!(
            shell_word("http://h/scim?aadOptscim062020"),
            "'http://h/scim?aadOptscim062020'"
        );
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn lines_are_scrubbed_printable_and_bounded() {
        let info = RunInfo {
            secrets: vec!["longsecret".into()],
            ..RunInfo::default()
        };
        assert_eq!(
            line(&info, "a\u{1b}[31mb longsecret\r"),
            "a\\u{1b}[31mb [redacted]\\u{d}"
        );
        let long = "é".repeat(LINE_CHARS + 10);
        let cut = line(&info, &long);
        assert_eq!(cut.chars().count(), LINE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
