//! The expression lexer. It never fails: text it cannot classify becomes a
//! [`TokenKind::Invalid`] token (or an `Unterminated…` one), and the stream always ends
//! with one empty-span [`TokenKind::Eof`]. The parser owns every error.

use std::ops::Range;

/// What a token is. Function names and bare identifiers are both [`TokenKind::Word`];
/// the parser tells them apart by whether `(` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Letters, digits and `_`, starting with a letter or `_`.
    Word,
    /// `[…]` with its brackets; the name is validated by the parser.
    Attribute,
    /// `[…` without its `]` before the end of the line.
    UnterminatedAttribute,
    /// `"…"` with its quotes, escapes not yet decoded.
    String,
    /// `"…` without its closing quote (runs to the end of input).
    UnterminatedString,
    /// A run starting with a digit, or `-` then a digit: a number candidate.
    Number,
    /// `&H` or `&h` and the hex digits (and letters, for the error) after it.
    Hex,
    LParen,
    RParen,
    Comma,
    /// `=`, `<>`, `<`, `<=`, `>`, `>=`.
    Operator,
    /// One character that starts no token.
    Invalid,
    Eof,
}

/// A token: its kind and its byte span in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) span: Range<usize>,
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_word_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `src` into tokens. Total: every byte is covered by a token or skipped white space.
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let at = |i: usize| bytes.get(i).copied();
    let mut tokens = Vec::with_capacity(src.len() / 3 + 1);
    let mut pos = 0;
    while pos < bytes.len() {
        let Some(b) = at(pos) else { break };
        if b.is_ascii_whitespace() {
            pos += 1;
            continue;
        }
        let begin = pos;
        pos += 1;
        let kind = match b {
            b'(' => TokenKind::LParen,
            b')' => TokenKind::RParen,
            b',' => TokenKind::Comma,
            b'=' => TokenKind::Operator,
            b'<' => {
                if matches!(at(pos), Some(b'>' | b'=')) {
                    pos += 1;
                }
                TokenKind::Operator
            }
            b'>' => {
                if at(pos) == Some(b'=') {
                    pos += 1;
                }
                TokenKind::Operator
            }
            b'[' => {
                let mut kind = TokenKind::UnterminatedAttribute;
                while let Some(c) = at(pos) {
                    if c == b'\n' {
                        break;
                    }
                    pos += 1;
                    if c == b']' {
                        kind = TokenKind::Attribute;
                        break;
                    }
                }
                kind
            }
            b'"' => {
                let mut kind = TokenKind::UnterminatedString;
                while let Some(c) = at(pos) {
                    match c {
                        b'\\' => pos = (pos + 2).min(bytes.len()),
                        b'"' => {
                            pos += 1;
                            kind = TokenKind::String;
                            break;
                        }
                        _ => pos += 1,
                    }
                }
                kind
            }
            b'&' if matches!(at(pos), Some(b'H' | b'h')) => {
                pos += 1;
                while at(pos).is_some_and(|c| c.is_ascii_alphanumeric()) {
                    pos += 1;
                }
                TokenKind::Hex
            }
            b'-' if at(pos).is_some_and(|c| c.is_ascii_digit()) => {
                number_tail(bytes, &mut pos);
                TokenKind::Number
            }
            b'0'..=b'9' => {
                number_tail(bytes, &mut pos);
                TokenKind::Number
            }
            b if is_word_start(b) => {
                while at(pos).is_some_and(is_word_char) {
                    pos += 1;
                }
                TokenKind::Word
            }
            _ => {
                // One whole character, so spans stay on UTF-8 boundaries.
                let len = src
                    .get(begin..)
                    .and_then(|s| s.chars().next())
                    .map_or(1, char::len_utf8);
                pos = begin + len;
                TokenKind::Invalid
            }
        };
        debug_assert!(pos > begin, "lexer must make progress");
        tokens.push(Token {
            kind,
            span: begin..pos,
        });
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        span: src.len()..src.len(),
    });
    tokens
}

/// Digits, `.` and letters after a number's first character, so `12ab` and `1.2.3` are
/// one token the parser can reject whole.
fn number_tail(bytes: &[u8], pos: &mut usize) {
    while bytes
        .get(*pos)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'_')
    {
        *pos += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn splits_a_call_with_every_argument_kind() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#"F([a], "b\"c", -1, &HF7, vbTextCompare, , [x]<>2)"#),
            vec![
                Word, LParen, Attribute, Comma, String, Comma, Number, Comma, Hex, Comma, Word,
                Comma, Comma, Attribute, Operator, Number, RParen, Eof
            ]
        );
    }

    #[test]
    fn never_fails_on_garbage_and_ends_with_eof() {
        use TokenKind::*;
        assert_eq!(
            kinds("é ! \"abc"),
            vec![Invalid, Invalid, UnterminatedString, Eof]
        );
        assert_eq!(kinds("[abc\n]"), vec![UnterminatedAttribute, Invalid, Eof]);
        assert_eq!(kinds(""), vec![Eof]);
        assert_eq!(kinds("\"\\"), vec![UnterminatedString, Eof]);
        assert_eq!(kinds("& -"), vec![Invalid, Invalid, Eof]);
    }

    #[test]
    fn reads_two_character_operators() {
        let t = tokenize("a<=b<>c>=d");
        let ops: Vec<_> = t
            .iter()
            .filter(|t| t.kind == TokenKind::Operator)
            .map(|t| t.span.len())
            .collect();
        assert_eq!(ops, vec![2, 2, 2]);
    }
}
