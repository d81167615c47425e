//! Reports: a coloured terminal summary, JUnit XML (one testcase per step), and JSON (the
//! [`Report`] serialized; format version 1, documented in the module docs of
//! [`crate::replay`]).

use std::fmt::Write as _;
use std::io::Write as _;

use anstyle::{AnsiColor, Style};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

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

/// The terminal summary: every failed step with its request, what came back, the findings
/// and their consequences, then the counts.
pub fn terminal(report: &Report, color: bool) -> String {
    let mut out = String::new();
    for s in &report.scenarios {
        if s.outcome != Outcome::Failed && !has_warnings(s) {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{} {} ({})",
            mark(s.outcome, color),
            s.name,
            s.dialect.as_str()
        );
        if let Some(why) = &s.skipped_because {
            let _ = writeln!(out, "    {why}");
        }
        for step in &s.steps {
            if step.findings.is_empty() {
                continue;
            }
            write_step(&mut out, step, color);
        }
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
    if report.unreachable {
        let _ = writeln!(
            out,
            "{}",
            paint(
                "no request reached the endpoint: is it running, and is the tenant URL right?",
                RED,
                color
            )
        );
    }
    out
}

fn has_warnings(s: &ScenarioResult) -> bool {
    s.steps
        .iter()
        .any(|st| st.findings.iter().any(|f| f.severity == Severity::Warning))
}

fn write_step(out: &mut String, step: &StepResult, color: bool) {
    let _ = writeln!(out, "  step `{}` {}", step.name, mark(step.outcome, color));
    if let Some(r) = &step.request {
        let _ = writeln!(out, "    request:  {} {}", r.method, r.target);
    }
    if let Some(r) = &step.response {
        let _ = writeln!(out, "    response: {}", r.status);
    }
    for f in &step.findings {
        let label = match f.severity {
            Severity::Failure => paint("error", RED, color),
            Severity::Warning => paint("warning", YELLOW, color),
        };
        let mut lines = f.message.lines();
        let _ = writeln!(
            out,
            "    {label} [{}]: {}",
            f.check,
            lines.next().unwrap_or("")
        );
        for line in lines {
            let _ = writeln!(out, "      {line}");
        }
        let _ = writeln!(out, "    {} {}", paint("entra:", DIM, color), f.consequence);
    }
}

/// The report as pretty JSON.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// JUnit XML: a `<testsuite>` per scenario run (`name (dialect)`), a `<testcase>` per step,
/// `<failure>` for failed steps, `<skipped>` for skipped ones, warnings in `<system-out>`.
pub fn junit(report: &Report) -> Result<String, std::io::Error> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let m = report.summary;
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", "scimock replay"));
    root.push_attribute(("tests", m.steps.to_string().as_str()));
    root.push_attribute(("failures", m.steps_failed.to_string().as_str()));
    root.push_attribute(("time", seconds(report.duration_ms).as_str()));
    w.write_event(Event::Start(root))?;
    for s in &report.scenarios {
        let suite_name = format!("{} ({})", s.name, s.dialect.as_str());
        let failures = s
            .steps
            .iter()
            .filter(|st| st.outcome == Outcome::Failed)
            .count();
        let skipped = s
            .steps
            .iter()
            .filter(|st| st.outcome == Outcome::Skipped)
            .count();
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", suite_name.as_str()));
        suite.push_attribute(("tests", s.steps.len().max(1).to_string().as_str()));
        suite.push_attribute(("failures", failures.to_string().as_str()));
        suite.push_attribute(("errors", "0"));
        suite.push_attribute(("skipped", skipped.to_string().as_str()));
        suite.push_attribute(("time", seconds(s.duration_ms).as_str()));
        w.write_event(Event::Start(suite))?;
        if s.steps.is_empty() {
            // A skipped or broken scenario still shows up as one case.
            let mut case = BytesStart::new("testcase");
            case.push_attribute(("name", "scenario"));
            case.push_attribute(("classname", suite_name.as_str()));
            w.write_event(Event::Start(case))?;
            let why = s.skipped_because.clone().unwrap_or_default();
            let tag = if s.outcome == Outcome::Skipped {
                "skipped"
            } else {
                "failure"
            };
            let mut el = BytesStart::new(tag);
            el.push_attribute(("message", why.as_str()));
            w.write_event(Event::Empty(el))?;
            w.write_event(Event::End(BytesEnd::new("testcase")))?;
        }
        for step in &s.steps {
            write_case(&mut w, &suite_name, step)?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let mut bytes = w.into_inner();
    bytes.write_all(b"\n")?;
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn write_case(
    w: &mut Writer<Vec<u8>>,
    classname: &str,
    step: &StepResult,
) -> Result<(), std::io::Error> {
    let mut case = BytesStart::new("testcase");
    case.push_attribute(("name", step.name.as_str()));
    case.push_attribute(("classname", classname));
    case.push_attribute(("time", seconds(step.duration_ms).as_str()));
    if step.outcome == Outcome::Passed && step.findings.is_empty() {
        return w.write_event(Event::Empty(case));
    }
    w.write_event(Event::Start(case))?;
    match step.outcome {
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
            let mut el = BytesStart::new("failure");
            el.push_attribute(("message", message.as_str()));
            el.push_attribute(("type", failures.first().map_or("failure", |f| f.check)));
            w.write_event(Event::Start(el))?;
            w.write_event(Event::Text(BytesText::new(&text)))?;
            w.write_event(Event::End(BytesEnd::new("failure")))?;
        }
        Outcome::Skipped => {
            let mut el = BytesStart::new("skipped");
            el.push_attribute(("message", "an earlier step failed"));
            w.write_event(Event::Empty(el))?;
        }
        Outcome::Passed => {}
    }
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
    if !warnings.is_empty() {
        w.write_event(Event::Start(BytesStart::new("system-out")))?;
        w.write_event(Event::Text(BytesText::new(&warnings.join("\n"))))?;
        w.write_event(Event::End(BytesEnd::new("system-out")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))?;
    Ok(())
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}
