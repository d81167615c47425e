//! Reports: a coloured terminal summary, JUnit XML (one testcase per step), and JSON (the
//! [`Report`] serialized; format version 1, documented in the module docs of
//! [`crate::replay`]).

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::check::Severity;
use super::result::{Outcome, Report, ScenarioResult, StepResult};

fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

const RED: Style = AnsiColor::Red.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();

fn mark(outcome: Outcome, color: bool) -> String {
    match outcome {
        Outcome::Passed => paint("PASS", GREEN, color),
        Outcome::Failed => paint("FAIL", RED, color),
        Outcome::Skipped => paint("SKIP", YELLOW, color),
    }
}

/// One progress line for a finished scenario: `[ 3/25] PASS name (legacy, 12 ms)`.
pub fn progress_line(result: &ScenarioResult, done: usize, total: usize, color: bool) -> String {
    let width = total.to_string().len();
    format!(
        "[{done:>width$}/{total}] {} {} {}",
        mark(result.outcome, color),
        result.name,
        paint(
            &format!("({}, {} ms)", result.dialect.as_str(), result.duration_ms),
            DIM,
            color
        )
    )
}

/// One occurrence of a finding: where it was seen.
struct Seen<'a> {
    scenario: &'a ScenarioResult,
    step: &'a StepResult,
}

/// The terminal summary: each distinct finding once, with how often it occurred, the first
/// step it occurred in (request, status) and what Entra does about it; then the counts.
/// Identical findings (same check, message and consequence) in many steps are one entry.
pub fn terminal(report: &Report, color: bool) -> String {
    let mut out = String::new();
    let mut groups: Vec<(&super::check::Finding, Vec<Seen<'_>>)> = Vec::new();
    for s in &report.scenarios {
        if s.outcome == Outcome::Failed && s.steps.iter().all(|st| st.findings.is_empty()) {
            let why = s.skipped_because.as_deref().unwrap_or("failed");
            let _ = writeln!(
                out,
                "\n{} {} ({}): {why}",
                mark(s.outcome, color),
                s.name,
                s.dialect.as_str()
            );
        }
        for step in &s.steps {
            for f in &step.findings {
                let seen = Seen { scenario: s, step };
                match groups.iter_mut().find(|(g, _)| {
                    g.severity == f.severity
                        && g.check == f.check
                        && g.message == f.message
                        && g.consequence == f.consequence
                }) {
                    Some((_, all)) => all.push(seen),
                    None => groups.push((f, vec![seen])),
                }
            }
        }
    }
    // When every answer was a 401 the findings differ only in the status expected; one
    // stands for all, and the summary below says "pass --token".
    let shown = if all_unauthorized(report) {
        1
    } else {
        groups.len()
    };
    for (f, seen) in groups.iter().take(shown) {
        write_finding(&mut out, f, seen, color);
    }
    if groups.len() > shown {
        let more: usize = groups.iter().skip(shown).map(|(_, seen)| seen.len()).sum();
        let _ = writeln!(out, "\n… and {more} more 401 answers");
    }
    let m = report.summary;
    let _ = writeln!(
        out,
        "\n{}: {} scenario runs, {} passed, {} failed, {} skipped; {} steps, {} failed; {} warnings ({} ms)",
        report.tenant_url,
        m.scenarios,
        paint(&m.passed.to_string(), GREEN, color),
        paint(&m.failed.to_string(), if m.failed > 0 { RED } else { GREEN }, color),
        m.skipped,
        m.steps,
        m.steps_failed,
        m.warnings,
        report.duration_ms
    );
    if let Some(why) = &report.stopped {
        let _ = writeln!(out, "{}", paint(why, RED, color));
    }
    if all_unauthorized(report) {
        let _ = writeln!(
            out,
            "{}",
            paint(
                "every answer was 401 Unauthorized: pass --token TOKEN (or set SCIMOCK_TOKEN) with the endpoint's bearer token",
                RED,
                color
            )
        );
    }
    if all_not_found(report) {
        let _ = writeln!(
            out,
            "{}",
            paint(&not_found_hint(&report.tenant_url), RED, color)
        );
    }
    if report.unreachable {
        let _ = writeln!(out, "{}", paint(&unreachable_line(report), RED, color));
    }
    out
}

/// Every HTTP status the endpoint answered with.
fn statuses(report: &Report) -> impl Iterator<Item = u16> + '_ {
    report
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .filter_map(|s| s.response.as_ref())
        .map(|r| r.status)
}

/// True when the endpoint answered, and every answer was 401.
pub fn all_unauthorized(report: &Report) -> bool {
    let mut all = statuses(report).peekable();
    all.peek().is_some() && all.all(|s| s == 401)
}

/// True when the endpoint answered, and every answer was 404: a tenant URL whose path is
/// not the SCIM base (a missing `/scim/v2`, a typo).
pub fn all_not_found(report: &Report) -> bool {
    let mut all = statuses(report).peekable();
    all.peek().is_some() && all.all(|s| s == 404)
}

/// One line for a run that reached nothing: why it stopped, or the first transport error,
/// and what to check.
pub fn unreachable_line(report: &Report) -> String {
    let first = report
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .flat_map(|s| &s.findings)
        .find(|f| f.check == "transport")
        .map(|f| f.message.as_str());
    let why = report
        .stopped
        .as_deref()
        .or(first)
        .unwrap_or("no request reached the endpoint");
    unreachable_hint(why, &report.tenant_url)
}

/// What replay, validate and provision say when every answer was 404: the one wording.
pub fn not_found_hint(tenant_url: &str) -> String {
    format!("every answer was 404 Not Found: the tenant URL's path looks wrong ({tenant_url} should be where /Users and /Groups live, e.g. https://host/scim/v2)")
}

/// What replay, validate and provision say when no request got an answer: `why` (the
/// connection error) and the two things to check, in one wording.
pub fn unreachable_hint(why: &str, tenant_url: &str) -> String {
    format!("{why} (is the endpoint running, and is the tenant URL {tenant_url} right?)")
}

fn write_finding(out: &mut String, f: &super::check::Finding, seen: &[Seen<'_>], color: bool) {
    let label = match f.severity {
        Severity::Failure => paint("error", RED, color),
        Severity::Warning => paint("warning", YELLOW, color),
    };
    let count = if seen.len() > 1 {
        paint(&format!(" (×{})", seen.len()), DIM, color)
    } else {
        String::new()
    };
    let mut lines = f.message.lines();
    let _ = writeln!(
        out,
        "\n{label} [{}]{count}: {}",
        f.check,
        lines.next().unwrap_or("")
    );
    for line in lines {
        let _ = writeln!(out, "    {line}");
    }
    if let Some(first) = seen.first() {
        let (s, step) = (first.scenario, first.step);
        let _ = write!(
            out,
            "  in `{}` ({}) step `{}`",
            s.name,
            s.dialect.as_str(),
            step.name
        );
        if let Some(r) = &step.request {
            let _ = write!(out, ": {} {}", r.method, r.target);
        }
        if let Some(r) = &step.response {
            let _ = write!(out, " → {}", r.status);
        }
        let _ = writeln!(out);
    }
    if seen.len() > 1 {
        let mut names: Vec<&str> = seen.iter().map(|x| x.scenario.name.as_str()).collect();
        names.dedup();
        let more = names.len().saturating_sub(1);
        if more > 0 {
            let _ = writeln!(
                out,
                "  and {} more steps in {more} more scenario runs",
                seen.len() - 1
            );
        } else {
            let _ = writeln!(out, "  and {} more steps", seen.len() - 1);
        }
    }
    let _ = writeln!(out, "  {} {}", paint("entra:", DIM, color), f.consequence);
}

/// The report as pretty JSON.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// JUnit XML (the spine's one writer): a `<testsuite>` per scenario run
/// (`name (dialect)`), a `<testcase>` per step, `<failure>` for failed steps, `<skipped>`
/// for skipped ones, warnings in `<system-out>`.
pub fn junit(report: &Report) -> Result<String, std::io::Error> {
    use crate::entra::junit::{Case, CaseOutcome, Suite};
    let suites: Vec<Suite> = report
        .scenarios
        .iter()
        .map(|s| {
            let suite_name = format!("{} ({})", s.name, s.dialect.as_str());
            let mut cases: Vec<Case> = s.steps.iter().map(|st| case(&suite_name, st)).collect();
            if cases.is_empty() {
                // A skipped or broken scenario still shows up as one case.
                let message = s.skipped_because.clone().unwrap_or_default();
                cases.push(Case {
                    name: "scenario".into(),
                    classname: suite_name.clone(),
                    time_ms: None,
                    outcome: if s.outcome == Outcome::Skipped {
                        CaseOutcome::Skipped { message }
                    } else {
                        CaseOutcome::Failed {
                            kind: "failure".into(),
                            message,
                            text: String::new(),
                        }
                    },
                    output: None,
                });
            }
            Suite {
                name: suite_name,
                time_ms: Some(s.duration_ms),
                cases,
            }
        })
        .collect();
    Ok(crate::entra::junit::write(
        "scimock replay",
        Some(report.duration_ms),
        &suites,
    ))
}

fn case(classname: &str, step: &StepResult) -> crate::entra::junit::Case {
    use crate::entra::junit::{Case, CaseOutcome};
    let outcome = match step.outcome {
        Outcome::Failed => {
            let failures: Vec<_> = step
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Failure)
                .collect();
            let message = failures.first().map_or(String::new(), |f| {
                f.message.lines().next().unwrap_or("").to_owned()
            });
            let mut text = String::new();
            if let Some(r) = &step.request {
                let _ = writeln!(text, "request: {} {}", r.method, r.target);
            }
            if let Some(r) = &step.response {
                let _ = writeln!(text, "response: {}", r.status);
            }
            for f in &failures {
                let _ = writeln!(
                    text,
                    "[{}] {}\nentra: {}",
                    f.check, f.message, f.consequence
                );
            }
            CaseOutcome::Failed {
                kind: failures.first().map_or("failure", |f| f.check).to_owned(),
                message,
                text,
            }
        }
        Outcome::Skipped => CaseOutcome::Skipped {
            message: "an earlier step failed".into(),
        },
        Outcome::Passed => CaseOutcome::Passed,
    };
    let warnings: Vec<String> = step
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| {
            format!(
                "warning [{}]: {} (entra: {})",
                f.check, f.message, f.consequence
            )
        })
        .collect();
    Case {
        name: step.name.clone(),
        classname: classname.to_owned(),
        time_ms: Some(step.duration_ms),
        outcome,
        output: (!warnings.is_empty()).then(|| warnings.join("\n")),
    }
}

/// (testcases, skipped testcases) as `junit` writes them: one per step, or one for a
/// scenario that ran no step.
pub fn junit_counts(report: &Report) -> (usize, usize) {
    let mut cases = 0;
    let mut skipped = 0;
    for s in &report.scenarios {
        if s.steps.is_empty() {
            cases += 1;
            skipped += usize::from(s.outcome == Outcome::Skipped);
        }
        cases += s.steps.len();
        skipped += s
            .steps
            .iter()
            .filter(|st| st.outcome == Outcome::Skipped)
            .count();
    }
    (cases, skipped)
}
