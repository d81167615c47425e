//! The one JUnit XML writer of replay, validate and provision, on quick-xml. The shape
//! follows the common JUnit schema (`testdata/junit/junit.xsd`): `<testsuites>` →
//! `<testsuite>` → `<testcase>` with `<failure>`, `<skipped>` or `<system-out>`. Every text
//! and attribute is escaped by quick-xml, and characters XML 1.0 cannot carry at all (C0
//! controls other than tab, newline and carriage return; U+FFFE, U+FFFF), which a hostile
//! endpoint may send, are written as `\u{…}` so the file always parses.

use std::borrow::Cow;
use std::io::Write as _;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

/// One test suite.
#[derive(Debug, Clone, Default)]
pub struct Suite {
    pub name: String,
    pub time_ms: Option<u64>,
    pub cases: Vec<Case>,
}

/// One test case.
#[derive(Debug, Clone, Default)]
pub struct Case {
    pub name: String,
    pub classname: String,
    pub time_ms: Option<u64>,
    pub outcome: CaseOutcome,
    /// Warnings and notes, shown as `<system-out>`.
    pub output: Option<String>,
}

/// How a case ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CaseOutcome {
    #[default]
    Passed,
    /// `<failure type=kind message=message>text</failure>`.
    Failed {
        kind: String,
        message: String,
        text: String,
    },
    /// `<skipped message=…/>`.
    Skipped { message: String },
}

/// Text XML 1.0 can carry (§2.2 `Char`): everything else becomes `\u{…}`.
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        ((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
            || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if bad(c) {
                    format!("\\u{{{:x}}}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

fn start<'a>(tag: &'a str, attrs: &[(&str, &str)]) -> BytesStart<'a> {
    let mut el = BytesStart::new(tag);
    for (k, v) in attrs {
        el.push_attribute((*k, xml_safe(v).as_ref()));
    }
    el
}

/// The whole document: `<testsuites name=… tests failures time>` over `suites`.
pub fn write(name: &str, time_ms: Option<u64>, suites: &[Suite]) -> String {
    // Writing into a Vec cannot fail; an error here would be a quick-xml bug.
    render(name, time_ms, suites).unwrap_or_default()
}

fn render(name: &str, time_ms: Option<u64>, suites: &[Suite]) -> std::io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let failed = |c: &&Case| matches!(c.outcome, CaseOutcome::Failed { .. });
    let skipped = |c: &&Case| matches!(c.outcome, CaseOutcome::Skipped { .. });
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites
        .iter()
        .map(|s| s.cases.iter().filter(failed).count())
        .sum();
    let (tests, failures) = (tests.to_string(), failures.to_string());
    let mut attrs = vec![("name", name), ("tests", &tests), ("failures", &failures)];
    let time = time_ms.map(seconds);
    if let Some(t) = &time {
        attrs.push(("time", t));
    }
    w.write_event(Event::Start(start("testsuites", &attrs)))?;
    for s in suites {
        let tests = s.cases.len().to_string();
        let failures = s.cases.iter().filter(failed).count().to_string();
        let skipped = s.cases.iter().filter(skipped).count().to_string();
        let mut attrs = vec![
            ("name", s.name.as_str()),
            ("tests", &tests),
            ("failures", &failures),
            ("errors", "0"),
            ("skipped", &skipped),
        ];
        let time = s.time_ms.map(seconds);
        if let Some(t) = &time {
            attrs.push(("time", t));
        }
        w.write_event(Event::Start(start("testsuite", &attrs)))?;
        for c in &s.cases {
            case(&mut w, c)?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let mut bytes = w.into_inner();
    bytes.write_all(b"\n")?;
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn case(w: &mut Writer<Vec<u8>>, c: &Case) -> std::io::Result<()> {
    let time = c.time_ms.map(seconds);
    let mut attrs = vec![
        ("name", c.name.as_str()),
        ("classname", c.classname.as_str()),
    ];
    if let Some(t) = &time {
        attrs.push(("time", t));
    }
    let el = start("testcase", &attrs);
    if c.outcome == CaseOutcome::Passed && c.output.is_none() {
        return w.write_event(Event::Empty(el));
    }
    w.write_event(Event::Start(el))?;
    match &c.outcome {
        CaseOutcome::Failed {
            kind,
            message,
            text,
        } => {
            let el = start("failure", &[("message", message), ("type", kind)]);
            if text.is_empty() {
                w.write_event(Event::Empty(el))?;
            } else {
                w.write_event(Event::Start(el))?;
                w.write_event(Event::Text(BytesText::new(&xml_safe(text))))?;
                w.write_event(Event::End(BytesEnd::new("failure")))?;
            }
        }
        CaseOutcome::Skipped { message } => {
            w.write_event(Event::Empty(start("skipped", &[("message", message)])))?;
        }
        CaseOutcome::Passed => {}
    }
    if let Some(out) = &c.output {
        w.write_event(Event::Start(BytesStart::new("system-out")))?;
        w.write_event(Event::Text(BytesText::new(&xml_safe(out))))?;
        w.write_event(Event::End(BytesEnd::new("system-out")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_make_the_document_invalid() {
        let hostile = "a\u{0}b\u{1b}[31m<c>&\"d\u{FFFF}";
        let doc = write(
            hostile,
            Some(1500),
            &[Suite {
                name: hostile.into(),
                time_ms: None,
                cases: vec![
                    Case {
                        name: hostile.into(),
                        outcome: CaseOutcome::Failed {
                            kind: "status".into(),
                            message: hostile.into(),
                            text: hostile.into(),
                        },
                        output: Some(hostile.into()),
                        ..Case::default()
                    },
                    Case {
                        name: "s".into(),
                        outcome: CaseOutcome::Skipped {
                            message: "why".into(),
                        },
                        ..Case::default()
                    },
                ],
            }],
        );
        assert!(
            !doc.chars()
                .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')),
            "{doc}"
        );
        let mut reader = quick_xml::Reader::from_str(&doc);
        loop {
            match reader.read_event() {
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("{e}: {doc}"),
            }
        }
        assert!(
            doc.contains("tests=\"2\" failures=\"1\" time=\"1.500\""),
            "{doc}"
        );
        assert!(doc.contains("a\\u{0}b\\u{1b}[31m&lt;c&gt;&amp;"), "{doc}");
    }
}
