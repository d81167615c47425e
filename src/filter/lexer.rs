//! The filter lexer. It never fails: anything it cannot classify becomes an
//! [`TokenKind::Invalid`] or [`TokenKind::Unterminated`] token, and the stream always ends
//! with one empty-span [`TokenKind::Eof`]. The parser decides what is an error.

use std::ops::Range;

/// What a token is. Words (`userName`, `eq`, `and`, `urn:…:User:manager.value`) are one
/// kind; the parser gives them meaning by position, since keywords are case-insensitive
/// and may also be attribute names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A run of name characters: letters, digits, `-`, `_`, `:`, `.`, `$`, `+`, not starting
    /// with a digit or `-`; after its first `:`, also the other characters RFC 3986 §2
    /// allows in a URI (a schema URI prefix, `attrPath = [URI ":"] …`) but `(` `)` `[` `]`,
    /// which are the filter grammar's.
    Word,
    /// A `"…"` string literal with its quotes, escapes not yet decoded.
    String,
    /// A `"…` string literal missing its closing quote (runs to the end of input).
    Unterminated,
    /// A run starting with a digit or `-`: a number candidate for the parser to validate.
    Number,
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// One character that starts no token.
    Invalid,
    Eof,
}

/// A token: its kind, byte span, and whether white space came right before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) span: Range<usize>,
    pub(crate) space_before: bool,
}

fn is_word_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.' | b'$' | b'+')
}

/// The URI characters (RFC 3986 §2.2, §2.3, `%` of §2.1) a word takes after a `:`.
fn is_uri_char(b: u8) -> bool {
    matches!(
        b,
        b'/' | b'?' | b'#' | b'@' | b'~' | b'%' | b'!' | b'&' | b'\'' | b'*' | b',' | b';' | b'='
    )
}

fn is_number_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
}

/// Splits `src` into tokens. Total: every byte is covered by a token or skipped white space.
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::with_capacity(src.len() / 4 + 1);
    let mut pos = 0;
    while pos < bytes.len() {
        let mut space_before = false;
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
            space_before = true;
        }
        if pos >= bytes.len() {
            break;
        }
        let begin = pos;
        let kind = match bytes[pos] {
            b'(' => {
                pos += 1;
                TokenKind::LParen
            }
            b')' => {
                pos += 1;
                TokenKind::RParen
            }
            b'[' => {
                pos += 1;
                TokenKind::LBracket
            }
            b']' => {
                pos += 1;
                TokenKind::RBracket
            }
            b'"' => {
                pos += 1;
                let mut closed = false;
                while pos < bytes.len() {
                    match bytes[pos] {
                        b'\\' => pos = (pos + 2).min(bytes.len()),
                        b'"' => {
                            pos += 1;
                            closed = true;
                            break;
                        }
                        _ => pos += 1,
                    }
                }
                if closed {
                    TokenKind::String
                } else {
                    TokenKind::Unterminated
                }
            }
            b'0'..=b'9' | b'-' => {
                while pos < bytes.len() && is_number_char(bytes[pos]) {
                    pos += 1;
                }
                TokenKind::Number
            }
            b if is_word_char(b) => {
                let mut uri = false;
                while pos < bytes.len()
                    && (is_word_char(bytes[pos]) || (uri && is_uri_char(bytes[pos])))
                {
                    uri |= bytes[pos] == b':';
                    pos += 1;
                }
                TokenKind::Word
            }
            _ => {
                // One whole character, so spans stay on UTF-8 boundaries.
                let len = src[pos..].chars().next().map_or(1, char::len_utf8);
                pos += len;
                TokenKind::Invalid
            }
        };
        debug_assert!(pos > begin, "lexer must make progress");
        tokens.push(Token {
            kind,
            span: begin..pos,
            space_before,
        });
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        span: src.len()..src.len(),
        space_before: true,
    });
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn splits_a_value_path_filter() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#"emails[type eq "work"].value eq "a\"b""#),
            vec![Word, LBracket, Word, Word, String, RBracket, Word, Word, String, Eof]
        );
    }

    #[test]
    fn never_fails_on_garbage_and_ends_with_eof() {
        use TokenKind::*;
        assert_eq!(
            kinds("é ! \"abc"),
            vec![Invalid, Invalid, Unterminated, Eof]
        );
        assert_eq!(kinds(""), vec![Eof]);
        assert_eq!(kinds("\"\\"), vec![Unterminated, Eof]);
    }

    #[test]
    fn a_word_takes_uri_characters_only_after_a_colon() {
        use TokenKind::*;
        assert_eq!(
            kinds("http://h.test/a?b#c:x[y eq 1]"),
            vec![Word, LBracket, Word, Word, Number, RBracket, Eof]
        );
        assert_eq!(tokenize("http://h/p:name pr")[0].span, 0..15);
        assert_eq!(kinds("a/b"), vec![Word, Invalid, Word, Eof]);
        assert_eq!(kinds("title pr & a"), vec![Word, Word, Invalid, Word, Eof]);
    }

    #[test]
    fn records_white_space_before_tokens() {
        let t = tokenize("a eq\"x\"");
        assert!(!t[2].space_before);
        assert!(t[1].space_before);
    }
}
