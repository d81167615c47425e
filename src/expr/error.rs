//! Expression parse errors (what, where, what was expected) and evaluation errors.

use std::fmt::{self, Display, Formatter};
use std::ops::Range;

/// Why an expression did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// A token that cannot stand here (see `expected`).
    UnexpectedToken,
    /// Input ended where more was needed.
    UnexpectedEnd,
    /// A `"` string without its closing quote.
    UnterminatedString,
    /// A `[` attribute without its `]` on the same line.
    UnterminatedAttribute,
    /// `[]`, or an attribute name with characters no attribute name has.
    InvalidAttribute,
    /// A number or `&H` hex literal that is malformed or out of range.
    InvalidNumber,
    /// A character that starts no token.
    InvalidCharacter,
    /// A call to a function the reference page does not list.
    UnknownFunction,
    /// A bare word that is neither a function call nor a known constant.
    UnknownIdentifier,
    /// A call with a number of arguments its function does not take.
    WrongArity,
    /// An empty slot where the function requires an argument.
    MissingArgument,
    /// `SelectUniqueValue` anywhere but as the whole expression.
    NotTopLevel,
    /// Calls nested deeper than [`super::MAX_DEPTH`].
    TooDeep,
    /// More than [`super::MAX_LEN`] characters (Entra's documented limit).
    TooLong,
    /// Nothing but white space.
    Empty,
}

impl ParseErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ParseErrorKind::UnexpectedToken => "unexpected token",
            ParseErrorKind::UnexpectedEnd => "unexpected end of expression",
            ParseErrorKind::UnterminatedString => "unterminated string",
            ParseErrorKind::UnterminatedAttribute => "unterminated attribute",
            ParseErrorKind::InvalidAttribute => "invalid attribute name",
            ParseErrorKind::InvalidNumber => "invalid number",
            ParseErrorKind::InvalidCharacter => "invalid character",
            ParseErrorKind::UnknownFunction => "unknown function",
            ParseErrorKind::UnknownIdentifier => "unknown identifier",
            ParseErrorKind::WrongArity => "wrong number of arguments",
            ParseErrorKind::MissingArgument => "missing required argument",
            ParseErrorKind::NotTopLevel => "function must be the whole expression",
            ParseErrorKind::TooDeep => "expression nested too deeply",
            ParseErrorKind::TooLong => "expression too long",
            ParseErrorKind::Empty => "empty expression",
        }
    }
}

/// An expression parse error: `kind`, the byte `span` in the source, what was `expected`
/// there, what was `found` (`None` at the end of input), and a `note` naming the function
/// or limit involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub span: Range<usize>,
    pub expected: Vec<&'static str>,
    pub found: Option<String>,
    pub note: Option<String>,
}

impl std::error::Error for ParseError {}

impl Display for ParseError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut notes: Vec<&str> = Vec::new();
        if self.expected.is_empty() {
            f.write_str(self.kind.describe())?;
        } else {
            f.write_str("expected ")?;
            for (i, item) in self.expected.iter().enumerate() {
                if i > 0 {
                    f.write_str(if i + 1 == self.expected.len() {
                        " or "
                    } else {
                        ", "
                    })?;
                }
                f.write_str(item)?;
            }
            match &self.found {
                Some(text) => write!(f, ", found `{}`", crate::caret::printable(text))?,
                None => f.write_str(", found end of expression")?,
            }
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
    /// A caret frame for terminals and snapshots, windowed around the span on the line
    /// where it starts:
    ///
    /// ```text
    /// error: expected `,` or `)`, found end of expression at byte 15
    ///   |
    ///   | Append([a], "b"
    ///   |                ^
    /// ```
    ///
    /// Control characters print as `?` so the caret column stays true; any span, even one
    /// past the end or inside a character, is clamped first.
    pub fn render(&self, source: &str) -> String {
        crate::caret::frame(self, source, self.span.clone(), true)
    }
}

/// Why an expression that parsed could not be evaluated: the function (or operator) and
/// what was wrong, e.g. `DateAdd: unknown interval "q" (use yyyy, m, d, ww, h, n or s)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{function}: {message}")]
pub struct EvalError {
    /// The function's documented name, or the operator (`=`) for comparisons.
    pub function: String,
    pub message: String,
}

impl EvalError {
    pub(crate) fn new(function: &str, message: impl Into<String>) -> Self {
        EvalError {
            function: function.to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(span: Range<usize>) -> ParseError {
        ParseError {
            kind: ParseErrorKind::UnexpectedToken,
            span,
            expected: vec!["`)`"],
            found: Some("x".into()),
            note: None,
        }
    }

    #[test]
    fn render_draws_the_caret_under_the_span_on_its_own_line() {
        let src = "Join(\" \",\n  [a] [b])";
        let r = error(16..19).render(src);
        assert!(r.contains("  |   [a] [b])\n  |       ^^^\n"), "{r}");
    }

    #[test]
    fn render_copes_with_spans_out_of_range_or_inside_a_character() {
        for (start, end) in [(0, 0), (1, 2), (5, 100), (100, 200), (2, 1)] {
            let r = error(start..end).render("éé\u{1}");
            assert!(r.starts_with("error: "));
        }
    }
}
