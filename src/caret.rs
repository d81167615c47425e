//! The caret frame the filter and expression parsers draw under an error, and the two
//! text helpers it needs. One drawing for both, so a fix to windowing or clamping lands in
//! both error types.

use std::fmt::Display;
use std::ops::Range;

/// Columns of source shown around the span.
const WINDOW: usize = 60;

/// ```text
/// error: <message>
///   |
///   | …source around the span…
///   |        ^^^
/// ```
///
/// Any span, even one past the end or inside a character, is clamped first. Control
/// characters print as `?` so the caret column stays true; text cut off by the window is
/// marked `…`. With `one_line`, only the line holding the span's start is drawn (for
/// expressions written over several lines).
pub(crate) fn frame(
    message: &dyn Display,
    source: &str,
    span: Range<usize>,
    one_line: bool,
) -> String {
    let start = floor_char_boundary(source, span.start);
    let end = floor_char_boundary(source, span.end.max(start));
    let (line_from, line_to) = if one_line {
        let from = source
            .get(..start)
            .and_then(|s| s.rfind('\n'))
            .map_or(0, |i| i + 1);
        let to = source
            .get(start..)
            .and_then(|s| s.find('\n'))
            .map_or(source.len(), |i| start + i);
        (from, to)
    } else {
        (0, source.len())
    };
    let end = end.min(line_to).max(start);
    let from = floor_char_boundary(source, start.saturating_sub(WINDOW / 2)).max(line_from);
    let to = floor_char_boundary(source, (end + WINDOW / 2).min(line_to)).max(end);
    let piece = |a: usize, b: usize| -> String {
        source
            .get(a..b)
            .unwrap_or("")
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    let prefix = if from > line_from { "…" } else { "" };
    let suffix = if to < line_to { "…" } else { "" };
    let before = piece(from, start);
    let marked = piece(start, end);
    let pad = prefix.chars().count() + before.chars().count();
    let carets = marked.chars().count().max(1);
    format!(
        "error: {message}\n  |\n  | {prefix}{before}{marked}{rest}{suffix}\n  | {space}{caret}\n",
        rest = piece(end, to),
        space = " ".repeat(pad),
        caret = "^".repeat(carets),
    )
}

/// The text with control characters escaped, quotes left alone.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The largest char boundary at or below `i` (the end of `s` when `i` is past it).
pub(crate) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
