//! The provision page: the cycle summary with the quarantine verdict (Microsoft Learn
//! "Application provisioning in quarantine status"), failures by error code, and one row per
//! object action in the shape of the portal's provisioning logs (Microsoft Learn "How to
//! analyze the Microsoft Entra provisioning logs": action, status, error code, modified
//! properties old → new, steps).

use std::collections::BTreeMap;

use maud::{html, Markup};

use super::{Bar, RunInfo, Tone, Verdict};
use crate::provision::log::{self, Entry, ModifiedProperty, Status};
use crate::provision::CycleReport;

/// The page of a `scimock provision` cycle (`on_demand`: one user on demand).
pub fn provision(info: &RunInfo, report: &CycleReport, on_demand: bool) -> String {
    let s = &report.stats;
    let verdict = match &report.quarantine {
        Some(q) => Verdict {
            tone: Tone::Failed,
            text: format!("QUARANTINED: {} ({})", q.reason, q.rule),
        },
        None if s.failed > 0 => Verdict {
            tone: Tone::Failed,
            text: format!("FAILED: {} of {} objects failed", s.failed, s.processed),
        },
        None => Verdict {
            tone: Tone::Passed,
            text: format!("SUCCEEDED: {} objects processed, none failed", s.processed),
        },
    };
    let kind = if on_demand {
        "on-demand"
    } else if report.initial {
        "initial"
    } else {
        "incremental"
    };
    let fail_class = if s.failed > 0 { "failure" } else { "" };
    let sections = html! {
        section id="cycle" {
            h2 { "Cycle summary" }
            p { (kind) " cycle " code { (report.cycle_id) } ": " (report.sent) " requests sent" }
            (super::counts(&[
                ("processed", s.processed, ""),
                ("created", s.created, "success"),
                ("updated", s.updated, "success"),
                ("disabled", s.disabled, ""),
                ("deleted", s.deleted, ""),
                ("skipped", s.skipped, ""),
                ("failed", s.failed, fail_class),
                ("staged", s.staged, if s.staged > 0 { "warning" } else { "" }),
            ]))
            h3 { "Quarantine" }
            @match &report.quarantine {
                Some(q) => dl.meta {
                    dt { "verdict" } dd { span.badge.failure { "quarantined" } }
                    dt { "reason" } dd { code { (q.reason) } }
                    dt { "rule" } dd { (q.rule) }
                    dt { "since" } dd { (q.current_began) }
                },
                None if report.escrows_pruned => p { "none: the escrow threshold was reached in the initial cycle, so the escrows were pruned instead" },
                None => p { "none" },
            }
        }
        (causes(report))
        section id="objects" {
            h2 { "Provisioning logs (" (report.entries.len()) " entries)" }
            (super::filter_box("entries", "name, id, action, failure, error code…"))
            @if report.entries.is_empty() {
                p.muted { "no entries" }
            } @else {
                table.logs {
                    thead { tr {
                        th { "date" } th { "identity" } th { "action" } th { "status" }
                        th { "error code" } th { "modified properties (old → new)" } th { "details" }
                    } }
                    tbody { @for e in ordered(&report.entries) { (row(info, e)) } }
                }
            }
        }
    };
    let dialect = info.dialect.clone().unwrap_or_else(|| "default".to_owned());
    super::page("provision", info, &dialect, &verdict, sections)
}

/// Failures first, then warnings, then the rest; log order within each.
fn ordered(entries: &[Entry]) -> Vec<&Entry> {
    let rank = |s: Status| match s {
        Status::Failure => 0,
        Status::Warning => 1,
        Status::Success | Status::Skipped => 2,
    };
    let mut all: Vec<&Entry> = entries.iter().collect();
    all.sort_by_key(|e| rank(e.status()));
    all
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Success => "success",
        Status::Warning => "warning",
        Status::Failure => "failure",
        Status::Skipped => "skipped",
    }
}

/// Failures by error code (a chart and a table), or the actions when nothing failed.
fn causes(report: &CycleReport) -> Markup {
    let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut actions: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &report.entries {
        if e.status() == Status::Failure {
            *codes
                .entry(e.error_code().unwrap_or("(no code)"))
                .or_default() += 1;
        }
        *actions
            .entry(log::action_name(e.provisioning_action))
            .or_default() += 1;
    }
    let mut bars: Vec<Bar> = codes
        .iter()
        .map(|(code, n)| Bar {
            label: short_code(code).to_owned(),
            count: *n,
            class: "failure",
        })
        .collect();
    bars.sort_by_key(|b| std::cmp::Reverse(b.count));
    let action_bars: Vec<Bar> = actions
        .iter()
        .map(|(a, n)| Bar {
            label: (*a).to_owned(),
            count: *n,
            class: "neutral",
        })
        .collect();
    html! {
        section id="causes" {
            h2 { "Failures by error code" }
            @if bars.is_empty() {
                p.muted { "no failures" }
            } @else {
                (super::bar_chart("failures by error code", &bars))
                table.causes {
                    thead { tr { th { "count" } th { "error code" } } }
                    tbody { @for (code, n) in &codes { tr.failure { td.count { (n) } td { code { (code) } } } } }
                }
            }
            @if !action_bars.is_empty() {
                h3 { "Entries by action" }
                (super::bar_chart("entries by action", &action_bars))
            }
        }
    }
}

/// `SystemForCrossDomainIdentityManagementEntryConflict` → `EntryConflict` for chart labels.
fn short_code(code: &str) -> &str {
    code.strip_prefix(crate::entra::consequence::SCIM_CONNECTOR)
        .filter(|rest| !rest.is_empty())
        .unwrap_or(code)
}

fn row(info: &RunInfo, e: &Entry) -> Markup {
    let status = status_class(e.status());
    let action = log::action_name(e.provisioning_action);
    let who = &e.source_identity;
    let code = e.error_code().unwrap_or("");
    let filter = format!(
        "{} {} {} {action} {} {code}",
        who.identity_type,
        who.display_name,
        who.id,
        log::status_name(e.status())
    );
    html! {
        tr class=(status) data-filter=(filter) {
            td.line { (e.activity_date_time) }
            td {
                (who.identity_type) " " strong { (who.display_name) }
                div.muted.line { (who.id) " → " (if e.target_identity.id.is_empty() { "—" } else { &e.target_identity.id }) }
            }
            td { (action) }
            td { span class={ "badge " (status) } { (log::status_name(e.status())) } }
            td { @if !code.is_empty() { code { (code) } } }
            td {
                @if !e.modified_properties.is_empty() {
                    ul { @for p in &e.modified_properties { (property(info, p)) } }
                }
            }
            td {
                details {
                    summary { (super::plural(e.provisioning_steps.len(), "step", "steps")) }
                    ol {
                        @for s in &e.provisioning_steps {
                            li {
                                span class={ "badge " (status_class(s.status)) } { (log::status_name(s.status)) } " "
                                (s.name) ": " (info.scrub(&s.description))
                            }
                        }
                    }
                    @if let Some(i) = &e.provisioning_status_info.error_information {
                        div.reason {
                            strong { "reason" }
                            (super::long_text(&info.scrub(&i.reason)))
                            @if let Some(d) = &i.additional_details { p { (info.scrub(d)) } }
                            @if let Some(a) = &i.recommended_action { p { "recommended action: " (a) } }
                        }
                    }
                }
            }
        }
    }
}

/// True for property names whose values never reach the page.
fn property(info: &RunInfo, p: &ModifiedProperty) -> Markup {
    let shown = |v: &Option<String>| -> String {
        match v {
            None => "—".to_owned(),
            Some(_) if crate::entra::secrets::is_secret_key(&p.display_name) => {
                super::REDACTED.to_owned()
            }
            Some(v) => super::split_chars(&info.scrub(v), 200).0.to_owned(),
        }
    };
    html! {
        li {
            code { (p.display_name) } ": "
            span.old { (shown(&p.old_value)) } span.arrow { "→" } span.new { (shown(&p.new_value)) }
        }
    }
}
