//! Filter parse errors: what went wrong, where (byte span), and what was expected.

use std::fmt::{self, Display, Formatter};
use std::ops::Range;

/// Why a filter did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// A token that cannot stand here (see `expected`).
    UnexpectedToken,
    /// Input ended where more was needed.
    UnexpectedEnd,
    /// A `"` string without its closing quote.
    UnterminatedString,
    /// A string with a bad escape or a raw control character (JSON rules, RFC 8259 §7).
    InvalidString,
    /// A number that is not a JSON number (RFC 8259 §6).
    InvalidNumber,
    /// A character that starts no token.
    InvalidCharacter,
    /// A word where a comparison operator was expected (`userName is "x"`).
    UnknownOperator,
    /// Nesting deeper than [`super::MAX_DEPTH`].
    TooDeep,
    /// Input longer than [`super::MAX_LEN`] bytes.
    TooLong,
    /// Nothing but white space.
    Empty,
}

impl ParseErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ParseErrorKind::UnexpectedToken => "unexpected token",
            ParseErrorKind::UnexpectedEnd => "unexpected end of filter",
            ParseErrorKind::UnterminatedString => "unterminated string",
            ParseErrorKind::InvalidString => "invalid string",
            ParseErrorKind::InvalidNumber => "invalid number",
            ParseErrorKind::InvalidCharacter => "invalid character",
            ParseErrorKind::UnknownOperator => "unknown operator",
            ParseErrorKind::TooDeep => "filter nested too deeply",
            ParseErrorKind::TooLong => "filter too long",
            ParseErrorKind::Empty => "empty filter",
        }
    }
}

/// A filter parse error: `kind`, the byte `span` in the source, what was `expected` there,
/// and what was `found` (the offending text, or `None` at the end of input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub span: Range<usize>,
    pub expected: Vec<&'static str>,
    pub found: Option<String>,
    /// Extra words for kinds that need them (the bad escape, the limit that was hit).
    pub note: Option<String>,
}

impl std::error::Error for ParseError {}

fn join_alternatives(f: &mut Formatter<'_>, items: &[&str]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(if i + 1 == items.len() { " or " } else { ", " })?;
        }
        f.write_str(item)?;
    }
    Ok(())
}

impl Display for ParseError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let found = match &self.found {
            Some(text) => format!("`{}`", crate::caret::printable(text)),
            None => "end of filter".to_owned(),
        };
        let mut notes: Vec<&str> = Vec::new();
        if self.expected.is_empty() {
            f.write_str(self.kind.describe())?;
        } else {
            f.write_str("expected ")?;
            join_alternatives(f, &self.expected)?;
            write!(f, ", found {found}")?;
            if !matches!(
                self.kind,
                ParseErrorKind::UnexpectedToken | ParseErrorKind::UnexpectedEnd
            ) {
                notes.push(self.kind.describe());
            }
        }
        if let Some(note) = &self.note {
            notes.push(note);
        }
        if !notes.is_empty() {
            write!(f, " ({})", notes.join("; "))?;
        }
        write!(f, " at byte {}", self.span.start)
    }
}

impl ParseError {
    /// A caret frame for terminals and snapshots:
    ///
    /// ```text
    /// error: expected `)`, found end of filter at byte 15
    ///   |
    ///   | not (a eq "b"
    ///   |              ^
    /// ```
    ///
    /// Long inputs are windowed around the span; control characters print as `?` so the
    /// caret column stays true.
    pub fn render(&self, source: &str) -> String {
        crate::caret::frame(self, source, self.span.clone(), false)
    }
}
