//! The replay and validate pages: counts, findings by cause, and every scenario run (failed
//! first) with its steps, exchanges, findings and Entra's consequence.

use std::collections::BTreeMap;

use maud::{html, Markup};

use super::{Bar, RunInfo, Tone, Verdict};
use crate::replay::check::{Finding, Severity};
use crate::replay::result::{Outcome, Report, ScenarioResult, StepResult};
use crate::validate::Validation;

/// The page of a `scimock replay` run.
pub fn replay(info: &RunInfo, report: &Report) -> String {
    let m = report.summary;
    let verdict = if report.unreachable {
        Verdict {
            tone: Tone::Unreachable,
            text: format!(
                "UNREACHABLE: {}",
                crate::replay::report::unreachable_line(report)
            ),
        }
    } else if m.failed > 0 {
        Verdict {
            tone: Tone::Failed,
            text: format!(
                "FAILED: {} of {} scenario runs failed",
                m.failed, m.scenarios
            ),
        }
    } else {
        Verdict {
            tone: Tone::Passed,
            text: format!("PASSED: {} scenario runs passed", m.passed),
        }
    };
    render("replay", info, report, &verdict, None)
}

/// The page of a `scimock validate` run: only mandatory failures fail it.
pub fn validate(info: &RunInfo, validation: &Validation) -> String {
    let report = &validation.report;
    let failed = &validation.mandatory_failed;
    let verdict = if report.unreachable {
        Verdict {
            tone: Tone::Unreachable,
            text: format!(
                "UNREACHABLE: {}",
                crate::replay::report::unreachable_line(report)
            ),
        }
    } else if failed.is_empty() {
        Verdict {
            tone: Tone::Passed,
            text: format!(
                "PASSED: every mandatory test passed ({} optional failed)",
                report.summary.failed
            ),
        }
    } else {
        Verdict {
            tone: Tone::Failed,
            text: format!("FAILED: {} mandatory test(s) failed", failed.len()),
        }
    };
    render("validate", info, report, &verdict, Some(failed))
}

/// The dialects of the results, in order of first appearance.
fn dialects(info: &RunInfo, report: &Report) -> String {
    if let Some(d) = &info.dialect {
        return d.clone();
    }
    let mut seen: Vec<&str> = Vec::new();
    for s in &report.scenarios {
        let d = s.dialect.as_str();
        if !seen.contains(&d) {
            seen.push(d);
        }
    }
    if seen.is_empty() {
        "none".to_owned()
    } else {
        seen.join(", ")
    }
}

fn render(
    command: &str,
    info: &RunInfo,
    report: &Report,
    verdict: &Verdict,
    mandatory_failed: Option<&Vec<String>>,
) -> String {
    let m = report.summary;
    let count = |n: usize| n as u64;
    let failed_class = if m.failed > 0 { "failure" } else { "" };
    let sections = html! {
        section id="counts" {
            h2 { "Counts" }
            (super::counts(&[
                ("scenario runs", count(m.scenarios), ""),
                ("passed", count(m.passed), "success"),
                ("failed", count(m.failed), failed_class),
                ("skipped", count(m.skipped), ""),
                ("steps", count(m.steps), ""),
                ("failed steps", count(m.steps_failed), failed_class),
                ("warnings", count(m.warnings), if m.warnings > 0 { "warning" } else { "" }),
            ]))
            p.muted { "run took " (report.duration_ms) " ms" }
            @if let Some(why) = &report.stopped {
                p.verdict.failed { "stopped: " (why) }
            }
            @if crate::replay::report::all_unauthorized(report) {
                p.verdict.failed { "every answer was 401 Unauthorized: pass --token TOKEN (or set SCIMOCK_TOKEN) with the endpoint's bearer token" }
            }
            @if let Some(failed) = mandatory_failed {
                @if !failed.is_empty() {
                    p { "mandatory tests failed: " }
                    ul { @for name in failed { li { (name) } } }
                }
            }
        }
        (causes(report))
        section id="scenarios" {
            h2 { "Scenario runs" }
            (super::filter_box("scenario runs", "name, dialect, failed, check (status, body…)"))
            @for s in ordered(report) {
                (scenario(info, s, mandatory_failed.is_some()))
            }
        }
    };
    super::page(command, info, &dialects(info, report), verdict, sections)
}

/// Failed runs first, then passed, then skipped; the run's order within each.
fn ordered(report: &Report) -> Vec<&ScenarioResult> {
    let rank = |o: Outcome| match o {
        Outcome::Failed => 0,
        Outcome::Passed => 1,
        Outcome::Skipped => 2,
    };
    let mut all: Vec<&ScenarioResult> = report.scenarios.iter().collect();
    all.sort_by_key(|s| rank(s.outcome));
    all
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Skipped => "skipped",
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Failure => "failure",
        Severity::Warning => "warning",
    }
}

/// Findings grouped by cause (severity, check, consequence): a chart by check and a table
/// with counts and where each cause was seen, failures and the most frequent first.
fn causes(report: &Report) -> Markup {
    type Key<'a> = (Severity, &'static str, &'a str);
    let mut groups: BTreeMap<Key<'_>, Vec<String>> = BTreeMap::new();
    for s in &report.scenarios {
        for st in &s.steps {
            for f in &st.findings {
                groups
                    .entry((f.severity, f.check, f.consequence.as_str()))
                    .or_default()
                    .push(format!("{} ({}) / {}", s.name, s.dialect.as_str(), st.name));
            }
        }
    }
    let mut rows: Vec<_> = groups.into_iter().collect();
    rows.sort_by(|a, b| b.0 .0.cmp(&a.0 .0).then(b.1.len().cmp(&a.1.len())));
    let bars: Vec<Bar> = rows
        .iter()
        .map(|((severity, check, consequence), at)| Bar {
            label: format!("[{check}] {}", super::split_source(consequence).0),
            count: at.len(),
            class: severity_name(*severity),
        })
        .collect();
    html! {
        section id="causes" {
            h2 { "Findings by cause" }
            @if rows.is_empty() {
                p.muted { "no findings" }
            } @else {
                (super::bar_chart("findings by cause", &bars))
                table.causes {
                    thead { tr { th { "count" } th { "severity" } th { "check" } th { "what Entra does" } th { "seen in" } } }
                    tbody {
                        @for ((severity, check, consequence), at) in &rows {
                            tr class=(severity_name(*severity)) {
                                td.count { (at.len()) }
                                td { span class={ "badge " (severity_name(*severity)) } { (severity_name(*severity)) } }
                                td { code { (check) } }
                                td { (super::consequence(consequence)) }
                                td {
                                    ul {
                                        @for place in at.iter().take(5) { li { (place) } }
                                        @if at.len() > 5 { li.muted { "… and " (at.len() - 5) " more" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One scenario run: a `<details>`, open when it failed.
fn scenario(info: &RunInfo, s: &ScenarioResult, validate: bool) -> Markup {
    let outcome = outcome_name(s.outcome);
    let failed = s.outcome == Outcome::Failed;
    let mut checks: Vec<&str> = s
        .steps
        .iter()
        .flat_map(|st| &st.findings)
        .map(|f| f.check)
        .collect();
    checks.sort_unstable();
    checks.dedup();
    let mut filter = format!("{} {} {outcome}", s.name, s.dialect.as_str());
    for check in checks {
        filter.push(' ');
        filter.push_str(check);
    }
    let kind = validate
        .then(|| {
            s.description
                .split_once(": ")
                .map(|(k, _)| k)
                .filter(|k| *k == "mandatory" || *k == "optional")
        })
        .flatten();
    html! {
        details class={ "item scenario " (outcome) } open[failed] data-filter=(filter) {
            summary {
                span class={ "badge " (outcome) } { (outcome) } " "
                strong.name { (s.name) } " "
                span.dialect { "(" (s.dialect.as_str()) ")" }
                @if let Some(kind) = kind { " " span.badge.skipped { (kind) } }
                " " span.muted { (super::plural(s.steps.len(), "step", "steps")) " · " (s.duration_ms) " ms" }
            }
            @if !s.description.is_empty() { p.muted { (s.description) } }
            @if !s.note.is_empty() { p.note { (s.note) } }
            @if let Some(why) = &s.skipped_because { p.note { (outcome) ": " (why) } }
            @if !s.steps.is_empty() {
                ol.steps { @for st in &s.steps { (step(info, st)) } }
            }
            @if !s.cleanup.is_empty() {
                details.cleanup {
                    summary { "cleanup (" (super::plural(s.cleanup.len(), "request", "requests")) ", best effort)" }
                    ul {
                        @for c in &s.cleanup {
                            li.line {
                                "DELETE " (c.target) " → "
                                @match c.status { Some(st) => (st), None => "no response" }
                                @if let Some(e) = &c.error { " · " (info.scrub(e)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One step: its line, findings and the exchange (open when it failed).
fn step(info: &RunInfo, st: &StepResult) -> Markup {
    let outcome = outcome_name(st.outcome);
    let failed = st.outcome == Outcome::Failed;
    html! {
        li class={ "step " (outcome) } {
            span class={ "badge " (outcome) } { (outcome) } " "
            strong { (st.name) }
            @if let Some(r) = &st.request {
                " " span.line { (r.method) " " (info.scrub(&r.target)) }
                @if let Some(resp) = &st.response { span.line { " → " (resp.status) } }
            }
            " " span.muted { (st.duration_ms) " ms" }
            @if !st.note.is_empty() { div.note { (st.note) } }
            @if !st.findings.is_empty() {
                ul.findings { @for f in &st.findings { (finding(info, f)) } }
            }
            @if st.request.is_some() || st.response.is_some() {
                details.exchange open[failed] {
                    summary { "request and response" }
                    (exchange(info, st))
                }
            }
        }
    }
}

fn finding(info: &RunInfo, f: &Finding) -> Markup {
    let severity = severity_name(f.severity);
    html! {
        li class=(severity) {
            span class={ "badge " (severity) } { (severity) } " " code { (f.check) }
            pre { (info.scrub(&f.message)) }
            (super::consequence(&f.consequence))
        }
    }
}

fn exchange(info: &RunInfo, st: &StepResult) -> Markup {
    html! {
        @if let Some(r) = &st.request {
            div.request {
                div.line { "> " (r.method) " " (info.scrub(&r.target)) }
                (super::headers(info, &r.headers))
                @if let Some(b) = &r.body { (super::body(info, b)) }
            }
        }
        @match &st.response {
            Some(r) => div.response {
                div.line {
                    "< " (r.status)
                    @if let Some(ct) = &r.content_type { " " span.muted { "(" (info.scrub(ct)) ")" } }
                }
                (super::headers(info, &r.headers))
                @if let Some(b) = &r.body { (super::body(info, b)) }
            },
            None => div.line.muted { "< no response" },
        }
    }
}
