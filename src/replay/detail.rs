//! The parts of a report a person acts on: findings grouped by cause with counts, the
//! exchanges behind failures (bodies truncated, secrets redacted), every exchange whole with
//! `--verbose`, and the `--list` line of a scenario with its source. Plain text; the
//! coloured summary stays in [`super::report`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::check::Severity;
use super::result::{Outcome, Report, StepResult};
use super::scenario::Scenario;

/// Bodies of failed exchanges are cut to this many characters (`--verbose` prints them whole).
pub const BODY_LIMIT: usize = 600;

/// `value` with every secret-looking member replaced by `"[redacted]"` (the spine's one
/// list: [`crate::entra::secrets::is_secret_key`]).
pub fn redact(value: &Value) -> Value {
    crate::entra::secrets::redact_json(value)
}

fn body_text(body: &Value, whole: bool) -> String {
    let text = match redact(body) {
        Value::String(s) => s,
        other => other.to_string(),
    };
    if whole || text.chars().count() <= BODY_LIMIT {
        return text;
    }
    let cut: String = text.chars().take(BODY_LIMIT).collect();
    format!(
        "{cut}… ({} more characters)",
        text.chars().count() - BODY_LIMIT
    )
}

/// Header values that never reach a report.
pub(crate) use crate::entra::secrets::header_value;

fn write_exchange(out: &mut String, step: &StepResult, whole: bool) {
    if let Some(r) = &step.request {
        let _ = writeln!(out, "    > {} {}", r.method, r.target);
        if whole {
            for (k, v) in &r.headers {
                let _ = writeln!(out, "    > {k}: {}", header_value(k, v));
            }
        }
        if let Some(b) = &r.body {
            let _ = writeln!(out, "    > {}", body_text(b, whole));
        }
    }
    match &step.response {
        Some(r) => {
            let ct = r.content_type.as_deref().unwrap_or("no content-type");
            let _ = writeln!(out, "    < {} ({ct})", r.status);
            if whole {
                for (k, v) in &r.headers {
                    let _ = writeln!(out, "    < {k}: {}", header_value(k, v));
                }
            }
            if let Some(b) = &r.body {
                let _ = writeln!(out, "    < {}", body_text(b, whole));
            }
        }
        None if step.request.is_some() => {
            let _ = writeln!(out, "    < no response");
        }
        None => {}
    }
}

/// How many failed scenario runs print their exchanges without `--verbose`.
const MAX_FAILED_RUNS_SHOWN: usize = 5;

/// The exchanges behind failed steps (bodies cut at [`BODY_LIMIT`]), or with `verbose` every
/// exchange of the run in full. Authorization is never recorded, so it is never printed;
/// secret-looking body members are redacted.
pub fn exchanges(report: &Report, verbose: bool) -> String {
    let mut out = String::new();
    // Without --verbose a few failed runs show their exchanges; one is enough when every
    // answer was a 401 (the summary then says "pass --token").
    let shown = match (verbose, super::report::all_unauthorized(report)) {
        (true, _) => usize::MAX,
        (false, true) => 1,
        (false, false) => MAX_FAILED_RUNS_SHOWN,
    };
    let mut runs = 0;
    let mut hidden = 0;
    for s in &report.scenarios {
        let steps: Vec<&StepResult> = s
            .steps
            .iter()
            .filter(|st| st.request.is_some() && (verbose || st.outcome == Outcome::Failed))
            .collect();
        if steps.is_empty() {
            continue;
        }
        runs += 1;
        if runs > shown {
            hidden += 1;
            continue;
        }
        let _ = writeln!(out, "\n{} ({})", s.name, s.dialect.as_str());
        for st in steps {
            let _ = writeln!(out, "  step `{}`", st.name);
            write_exchange(&mut out, st, verbose);
        }
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "\n… and {hidden} more failed runs (--verbose prints every exchange; the JSON report has them all)"
        );
    }
    if !out.is_empty() {
        out.insert_str(
            0,
            if verbose {
                "\nexchanges:"
            } else {
                "\nfailed exchanges:"
            },
        );
    }
    out
}

/// Findings grouped by cause (severity, check, what the endpoint did), most frequent first,
/// each with its count, what Entra does about it and up to three of the steps it came from.
pub fn causes(report: &Report) -> String {
    // Grouped by what the endpoint did (its status and `detail`, the JSON pointer that
    // differed, the attribute it did not store), so five different gaps with one Entra
    // consequence stay five rows. One gap can have several consequences (a manager lost on
    // create names no user; lost after an update, Entra sends it again): a row prints each,
    // with its count when there is more than one.
    type Key = (Severity, &'static str, String);
    let mut groups: BTreeMap<Key, Vec<(&str, String)>> = BTreeMap::new();
    for s in &report.scenarios {
        for st in &s.steps {
            for f in &st.findings {
                let key = (f.severity, f.check, what_the_endpoint_did(st, f));
                let place = format!("{} ({}) / {}", s.name, s.dialect.as_str(), st.name);
                groups
                    .entry(key)
                    .or_default()
                    .push((f.consequence.as_str(), place));
            }
        }
    }
    if groups.is_empty() {
        return String::new();
    }
    let mut rows: Vec<_> = groups.into_iter().collect();
    rows.sort_by(|a, b| b.0 .0.cmp(&a.0 .0).then(b.1.len().cmp(&a.1.len())));
    let mut out = String::from("\nfindings by cause:\n");
    for ((severity, check, what), at) in rows {
        let label = match severity {
            Severity::Failure => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "  {:>3} × {label} [{check}] {what}", at.len());
        // Each consequence once, the most frequent first (then in order of appearance).
        let mut consequences: Vec<(&str, usize)> = Vec::new();
        for (c, _) in &at {
            match consequences.iter_mut().find(|(seen, _)| seen == c) {
                Some((_, n)) => *n += 1,
                None => consequences.push((c, 1)),
            }
        }
        consequences.sort_by_key(|c| std::cmp::Reverse(c.1));
        for (c, n) in &consequences {
            if consequences.len() == 1 {
                let _ = writeln!(out, "        entra: {c}");
            } else {
                let _ = writeln!(out, "        entra ({n} of them): {c}");
            }
        }
        for (_, place) in at.iter().take(3) {
            let _ = writeln!(out, "        {place}");
        }
        if at.len() > 3 {
            let _ = writeln!(out, "        … and {} more", at.len() - 3);
        }
    }
    out
}

/// What the endpoint did, in a few words that group alike findings: `answered 400:
/// <detail>` for a status, the JSON pointers of a body difference, the attribute of a
/// read-back, else the finding's first line.
fn what_the_endpoint_did(step: &StepResult, f: &super::check::Finding) -> String {
    let first = f.message.lines().next().unwrap_or("");
    match f.check {
        "status" => match &step.response {
            Some(r) => {
                let detail = r
                    .body
                    .as_ref()
                    .and_then(|b| b.get("detail"))
                    .and_then(Value::as_str)
                    .map(|d| format!(": {}", cut(&masked(d), 120)))
                    .unwrap_or_default();
                format!("answered {}{detail}", r.status)
            }
            None => cut(first, 160),
        },
        "body" => {
            let pointers: Vec<&str> = f
                .message
                .lines()
                .skip(1)
                .filter_map(|l| l.trim().split_once(':').map(|(p, _)| p))
                .filter(|p| p.starts_with('/'))
                .collect();
            if pointers.is_empty() {
                cut(first, 160)
            } else {
                format!("body differs at {}", pointers.join(", "))
            }
        }
        "read-back" => match first.split('`').nth(1) {
            Some(attr) if first.contains("was removed") => {
                format!("kept `{}` after its removal", masked(attr))
            }
            // An element found by its generated value is one cause whatever the value.
            Some(attr) => format!("did not store `{}` as sent", masked(attr)),
            None => cut(first, 160),
        },
        // The pointer, not what the endpoint had there (a member list, a value).
        "empty" | "absent" | "exists" => cut(first.split(", got").next().unwrap_or(first), 160),
        _ => cut(first, 160),
    }
}

/// Text with the values a test generated masked, so the same refusal (or the same lost
/// attribute) of different generated values is one cause: `Invalid URI: BZXZCSHLDVNB` →
/// `Invalid URI: …`, `roles[type eq "QWERTYUIOPAS"]` → `roles[type eq "…"]`. What names a
/// cause stays: attribute names, paths, URNs, `work`. Whitespace runs become one space, so a
/// multi-line detail is one line.
fn masked(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(line.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if generated(token) {
            out.push('…');
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in line.chars() {
        if c.is_whitespace() || "'\",:;()[]{}=<>".contains(c) {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// Whether a token looks like a value a test generated rather than words of a message:
/// the Validator's random capitals (`WUZPWMBDDCGI`, six or more), an e-mail address or
/// UPN, a UUID or a string holding one, 16 or more hex digits (an id), or a number of
/// three or more digits (ids, phones) that is not an HTTP status (`status=404` names the
/// cause; RFC 9110 §15 codes are 100–599).
fn generated(token: &str) -> bool {
    let t = token.trim_matches(|c: char| c == '.' || c == '!' || c == '?');
    let capitals = t.len() >= 6
        && t.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let number = t.len() >= 3
        && t.chars().all(|c| c.is_ascii_digit())
        && (t.len() > 3 || !matches!(t.parse::<u16>(), Ok(100..=599)));
    let uuid = t.as_bytes().windows(36).any(|w| {
        w.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
    });
    // An id as scim2-server writes it: a UUID's 32 hex digits without dashes.
    let hex_id = t.len() >= 16
        && t.chars().all(|c| c.is_ascii_hexdigit())
        && t.chars().any(|c| c.is_ascii_digit());
    capitals || number || uuid || hex_id || (t.contains('@') && t.len() > 1)
}

/// `text` cut to `max` characters, with `…`.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Skipped scenario runs grouped by reason, each with its count and scenario names, so a
/// default run says what it left out and which flag runs it.
pub fn skips(report: &Report) -> String {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in &report.scenarios {
        if s.outcome == Outcome::Skipped {
            let why = s.skipped_because.as_deref().unwrap_or("skipped");
            let names = groups.entry(why).or_default();
            if !names.contains(&s.name.as_str()) {
                names.push(&s.name);
            }
        }
    }
    let mut out = String::new();
    for (why, names) in groups {
        let runs = report
            .scenarios
            .iter()
            .filter(|s| s.skipped_because.as_deref() == Some(why))
            .count();
        let _ = writeln!(out, "skipped {runs} run(s): {why}: {}", names.join(", "));
    }
    out
}

/// One `--list` line: name, dialects, what it needs, audit rows and source.
pub fn list_line(s: &Scenario, dialects: &[&str]) -> String {
    let mut needs: Vec<String> = s.requires.clone();
    if let Some(p) = &s.profile {
        needs.push(format!("profile={p}"));
    }
    let rows = if s.rows.is_empty() {
        String::new()
    } else {
        format!(" [{}]", s.rows.join(","))
    };
    let source = if s.source.is_empty() {
        &s.note
    } else {
        &s.source
    };
    format!(
        "{:<40} {:<26} {:<24}{rows} {source}",
        s.name,
        dialects.join(","),
        needs.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_secret_members_at_any_depth() {
        let v = json!({"userName": "a", "password": "p", "x": [{"client_secret": "s", "keep": 1}]});
        assert_eq!(
            redact(&v),
            json!({"userName": "a", "password": "[redacted]", "x": [{"client_secret": "[redacted]", "keep": 1}]})
        );
    }

    #[test]
    fn truncates_long_bodies_unless_whole() {
        let long = Value::String("x".repeat(BODY_LIMIT + 5));
        assert!(body_text(&long, false).ends_with("… (5 more characters)"));
        assert_eq!(body_text(&long, true).len(), BODY_LIMIT + 5);
    }

    #[test]
    fn the_same_refusal_of_different_values_is_one_cause_on_one_line() {
        let pydantic = |v: &str| {
            format!("1 validation error for User\nprofileUrl\n  Input should be a valid URL [type=url_parsing, input_value='{v}', input_type=str]")
        };
        assert_eq!(
            masked(&pydantic("QZXWVUTS")),
            masked(&pydantic("ABCDEFGHIJKL"))
        );
        assert_eq!(
            masked(&pydantic("QZXWVUTS")),
            "1 validation error for User profileUrl Input should be a valid URL [type=url_parsing, input_value='…', input_type=str]"
        );
        // scim2-server puts the value bare.
        assert_eq!(
            masked("Value error, Invalid URI: BZXZCSHLDVNB: profileUrl"),
            "Value error, Invalid URI: …: profileUrl"
        );
        assert_eq!(
            masked(r#"userName "ada@x.test" is taken"#),
            masked(r#"userName "bob@y.test" is taken"#)
        );
        assert_eq!(
            masked("no user 6f1c2d3e-0000-4abc-8def-0123456789ab (id 4711)"),
            "no user … (id …)"
        );
        // A status names the cause; a three-digit id outside 100–599 is generated.
        assert_eq!(
            masked("injected fault: GET /Users status=404 for 999"),
            "injected fault: GET /Users status=404 for …"
        );
        // scim2-server's ids; a word of hex letters stays.
        assert_eq!(
            masked(
                r#"'manager[value eq "8f7f0c1d2e3a4b5c6d7e8f9a0b1c2d3e"]' is not an attribute; deadbeefcafe"#
            ),
            r#"'manager[value eq "…"]' is not an attribute; deadbeefcafe"#
        );
        // Paths and words that name the cause stay apart.
        let path = |p: &str| masked(&format!("Invalid path '{p}' for 'add' op"));
        assert_ne!(
            path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
        );
        assert_eq!(masked("can't store it's OK"), "can't store it's OK");
    }

    #[test]
    fn an_element_found_by_a_generated_value_is_one_cause() {
        assert_eq!(
            masked(r#"roles[value eq "QZXWVUTS"].display"#),
            r#"roles[value eq "…"].display"#
        );
        assert_eq!(
            masked(r#"roles[type eq "QWERTYUIOPAS"]"#),
            r#"roles[type eq "…"]"#
        );
        assert_eq!(
            masked(r#"emails[type eq "work"].value"#),
            r#"emails[type eq "work"].value"#
        );
    }

    #[test]
    fn one_gap_with_two_consequences_is_one_cause_with_both() {
        use super::super::check::{Finding, Severity};
        use super::super::result::{ScenarioResult, StepResult, Summary};
        let step = |name: &str, consequence: &str| {
            StepResult {
            name: name.into(),
            note: String::new(),
            outcome: Outcome::Passed,
            request: None,
            response: None,
            findings: vec![Finding {
                severity: Severity::Warning,
                check: "read-back",
                message: "`manager.value` was sent as \"QWERTYUIOP\" but the resource read back has no value there".into(),
                consequence: consequence.into(),
            }],
            duration_ms: 0,
        }
        };
        let report = Report {
            format: 1,
            tenant_url: "http://x".into(),
            summary: Summary::default(),
            scenarios: vec![ScenarioResult {
                name: "s".into(),
                dialect: crate::entra::Dialect::Legacy,
                description: String::new(),
                note: String::new(),
                outcome: Outcome::Passed,
                skipped_because: None,
                steps: vec![
                    step("create", "names no user"),
                    step("update", "sent again"),
                    step("update 2", "sent again"),
                ],
                cleanup: vec![],
                duration_ms: 0,
            }],
            duration_ms: 0,
            unreachable: false,
            stopped: None,
        };
        let text = causes(&report);
        assert!(
            text.contains("3 × warning [read-back] did not store `manager.value` as sent"),
            "{text}"
        );
        let again = text.find("entra (2 of them): sent again").expect(&text);
        let nobody = text.find("entra (1 of them): names no user").expect(&text);
        assert!(again < nobody, "{text}");
    }
}
