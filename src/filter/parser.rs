//! Recursive-descent parser for RFC 7644 §3.4.2.2 filters and §3.5.2 PATCH paths.
//!
//! One function per ABNF rule, each quoting its rule. Precedence (§3.4.2.2): `or` binds
//! loosest, then `and`, then `not` and grouping. Recursion happens only through groups,
//! `not (…)` and `[…]`, and is bounded by [`MAX_DEPTH`]; `and`/`or` chains are loops.

use super::ast::{AttrExp, AttrOp, AttrPath, CompValue, CompareOp, Filter, PatchPath, ValuePath};
use super::error::{ParseError, ParseErrorKind};
use super::lexer::{tokenize, Token, TokenKind};
use super::uri;

/// Deepest nesting of groups, `not` and value paths a filter may have.
pub const MAX_DEPTH: usize = 64;
/// Longest filter accepted, in bytes.
pub const MAX_LEN: usize = 256 * 1024;

const VALUE: &str = "a value (string, number, `true`, `false` or `null`)";
const OPERATOR: &str = "an operator (`eq`, `ne`, `co`, `sw`, `ew`, `gt`, `ge`, `lt`, `le` or `pr`)";
const ATTRIBUTE: &str = "an attribute path";

type Result<T> = std::result::Result<T, ParseError>;

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// Parses a whole filter.
pub fn parse(src: &str) -> Result<Filter> {
    let mut p = Parser::new(src)?;
    let f = p.filter()?;
    p.expect_end(&["`and`", "`or`"])?;
    Ok(f)
}

/// Parses a PATCH `path` (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`.
pub fn parse_path(src: &str) -> Result<PatchPath> {
    let mut p = Parser::new(src)?;
    let path = p.patch_path()?;
    p.expect_end(&[])?;
    Ok(path)
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Result<Self> {
        if src.len() > MAX_LEN {
            return Err(ParseError {
                kind: ParseErrorKind::TooLong,
                span: MAX_LEN..src.len(),
                expected: Vec::new(),
                found: None,
                note: Some(format!("{} bytes, limit is {MAX_LEN}", src.len())),
            });
        }
        let tokens = tokenize(src);
        if tokens.len() == 1 {
            return Err(ParseError {
                kind: ParseErrorKind::Empty,
                span: 0..src.len(),
                expected: Vec::new(),
                found: None,
                note: None,
            });
        }
        Ok(Parser {
            src,
            tokens,
            pos: 0,
            depth: 0,
        })
    }

    // ---- token helpers -------------------------------------------------------------

    fn peek(&self) -> &Token {
        // The stream always ends with Eof and `bump` never moves past it.
        let last = self.tokens.len() - 1;
        &self.tokens[self.pos.min(last)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.kind != TokenKind::Eof {
            self.pos += 1;
        }
        t
    }

    fn text(&self, t: &Token) -> &'a str {
        self.src.get(t.span.clone()).unwrap_or("")
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        let t = self.peek();
        t.kind == TokenKind::Word && self.text(t).eq_ignore_ascii_case(keyword)
    }

    fn error_at(&self, t: &Token, expected: &[&'static str]) -> ParseError {
        let (kind, found, note) = match t.kind {
            TokenKind::Eof => (ParseErrorKind::UnexpectedEnd, None, None),
            TokenKind::Unterminated => (
                ParseErrorKind::UnterminatedString,
                Some(self.text(t).to_owned()),
                None,
            ),
            TokenKind::Invalid => (
                ParseErrorKind::InvalidCharacter,
                Some(self.text(t).to_owned()),
                None,
            ),
            _ => (
                ParseErrorKind::UnexpectedToken,
                Some(self.text(t).to_owned()),
                None,
            ),
        };
        ParseError {
            kind,
            span: t.span.clone(),
            expected: expected.to_vec(),
            found,
            note,
        }
    }

    fn expect(&mut self, kind: TokenKind, expected: &'static str) -> Result<Token> {
        if self.peek().kind == kind {
            Ok(self.bump())
        } else {
            Err(self.error_at(self.peek(), &[expected]))
        }
    }

    fn expect_end(&self, also: &[&'static str]) -> Result<()> {
        let t = self.peek();
        if t.kind == TokenKind::Eof {
            return Ok(());
        }
        let mut expected = also.to_vec();
        expected.push("end of filter");
        Err(self.error_at(t, &expected))
    }

    /// Requires white space before the next token, where the ABNF writes `SP`.
    fn expect_space(&self, what: &'static str) -> Result<()> {
        let t = self.peek();
        if t.space_before || t.kind == TokenKind::Eof {
            Ok(())
        } else {
            let mut e = self.error_at(t, &[what]);
            e.note = Some("a space is required here".to_owned());
            Err(e)
        }
    }

    fn enter(&mut self, at: &Token) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError {
                kind: ParseErrorKind::TooDeep,
                span: at.span.clone(),
                expected: Vec::new(),
                found: None,
                note: Some(format!("limit is {MAX_DEPTH} levels")),
            });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // ---- grammar -------------------------------------------------------------------

    /// `FILTER = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"`
    ///
    /// `logExp = FILTER SP ("and" / "or") SP FILTER`, split by precedence into an
    /// `or` chain of `and` chains.
    fn filter(&mut self) -> Result<Filter> {
        self.log_exp_or()
    }

    /// The `or` level of `logExp`.
    fn log_exp_or(&mut self) -> Result<Filter> {
        let first = self.log_exp_and()?;
        if !self.peek_keyword("or") {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.peek_keyword("or") {
            self.expect_space("`or`")?;
            self.bump();
            self.expect_space("a filter after `or`")?;
            operands.push(self.log_exp_and()?);
        }
        Ok(Filter::Or(operands))
    }

    /// The `and` level of `logExp`.
    fn log_exp_and(&mut self) -> Result<Filter> {
        let first = self.unary()?;
        if !self.peek_keyword("and") {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.peek_keyword("and") {
            self.expect_space("`and`")?;
            self.bump();
            self.expect_space("a filter after `and`")?;
            operands.push(self.unary()?);
        }
        Ok(Filter::And(operands))
    }

    /// `*1"not" "(" FILTER ")"`, or an `attrExp` / `valuePath`.
    fn unary(&mut self) -> Result<Filter> {
        let t = self.peek().clone();
        match t.kind {
            TokenKind::Word if self.text(&t).eq_ignore_ascii_case("not") => {
                // `not` is only a keyword when a group follows; otherwise it is an
                // attribute named "not" (ATTRNAME allows it).
                let next = self.tokens.get(self.pos + 1).map(|n| n.kind);
                if next == Some(TokenKind::LParen) {
                    self.bump();
                    let inner = self.group()?;
                    Ok(Filter::Not(Box::new(inner)))
                } else if next.is_some_and(|k| k == TokenKind::Word)
                    && self.is_operator_at(self.pos + 1)
                {
                    self.attr_exp_or_value_path()
                } else {
                    self.bump();
                    Err(self.error_at(self.peek(), &["`(` after `not`"]))
                }
            }
            TokenKind::LParen => self.group(),
            // `and`/`or` where an operand should start is a missing operand, unless an
            // operator follows and makes it an attribute of that name.
            TokenKind::Word
                if ["and", "or"]
                    .iter()
                    .any(|k| self.text(&t).eq_ignore_ascii_case(k))
                    && !self.is_operator_at(self.pos + 1) =>
            {
                Err(self.error_at(&t, &[ATTRIBUTE, "`not`", "`(`"]))
            }
            TokenKind::Word => self.attr_exp_or_value_path(),
            _ => Err(self.error_at(&t, &[ATTRIBUTE, "`not`", "`(`"])),
        }
    }

    fn is_operator_at(&self, i: usize) -> bool {
        self.tokens.get(i).is_some_and(|t| {
            let w = self.text(t);
            CompareOp::from_keyword(w).is_some() || w.eq_ignore_ascii_case("pr")
        })
    }

    /// `"(" FILTER ")"`
    fn group(&mut self) -> Result<Filter> {
        let open = self.expect(TokenKind::LParen, "`(`")?;
        self.enter(&open)?;
        let inner = self.filter()?;
        self.leave();
        if self.peek().kind != TokenKind::RParen {
            return Err(self.error_at(self.peek(), &["`)`", "`and`", "`or`"]));
        }
        self.bump();
        Ok(inner)
    }

    /// `attrExp` or `valuePath`, which both start with an `attrPath`; also Entra's
    /// `valuePath "." subAttr SP compareOp SP compValue` (see [`Filter::ValuePathAttr`]).
    fn attr_exp_or_value_path(&mut self) -> Result<Filter> {
        let path = self.attr_path()?;
        if self.peek().kind == TokenKind::LBracket && !self.peek().space_before {
            if path.sub_attr.is_some() {
                let t = self.peek().clone();
                return Err(self.bad_path(&t, "`[…]` must follow a top-level attribute"));
            }
            let value_path = self.value_path_rest(path)?;
            if let Some(sub_attr) = self.sub_attr_suffix()? {
                let op = self.attr_op()?;
                return Ok(Filter::ValuePathAttr {
                    value_path,
                    sub_attr,
                    op,
                });
            }
            return Ok(Filter::ValuePath(value_path));
        }
        let op = self.attr_op()?;
        Ok(Filter::Attr(AttrExp { path, op }))
    }

    /// `attrExp = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)`, after the path.
    fn attr_op(&mut self) -> Result<AttrOp> {
        self.expect_space(OPERATOR)?;
        let t = self.peek().clone();
        if t.kind != TokenKind::Word {
            return Err(self.error_at(&t, &[OPERATOR]));
        }
        let word = self.text(&t);
        if word.eq_ignore_ascii_case("pr") {
            self.bump();
            return Ok(AttrOp::Present);
        }
        let op = self.compare_op()?;
        self.expect_space(VALUE)?;
        let value = self.comp_value()?;
        Ok(AttrOp::Compare(op, value))
    }

    /// `compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"`
    fn compare_op(&mut self) -> Result<CompareOp> {
        let t = self.peek().clone();
        match CompareOp::from_keyword(self.text(&t)) {
            Some(op) if t.kind == TokenKind::Word => {
                self.bump();
                Ok(op)
            }
            _ => {
                let mut e = self.error_at(&t, &[OPERATOR]);
                if t.kind == TokenKind::Word {
                    e.kind = ParseErrorKind::UnknownOperator;
                }
                Err(e)
            }
        }
    }

    /// `compValue = false / null / true / number / string` (JSON literals, RFC 8259).
    fn comp_value(&mut self) -> Result<CompValue> {
        let t = self.peek().clone();
        let text = self.text(&t);
        let value = match t.kind {
            TokenKind::String => CompValue::String(self.json_string(&t)?),
            TokenKind::Number => match serde_json::from_str::<serde_json::Number>(text) {
                Ok(n) => CompValue::Number(n),
                Err(_) => {
                    let mut e = self.error_at(&t, &[VALUE]);
                    e.kind = ParseErrorKind::InvalidNumber;
                    return Err(e);
                }
            },
            TokenKind::Word if text.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            TokenKind::Word if text.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            TokenKind::Word if text.eq_ignore_ascii_case("null") => CompValue::Null,
            TokenKind::Word => {
                let mut e = self.error_at(&t, &[VALUE]);
                e.note = Some("string values need double quotes".to_owned());
                return Err(e);
            }
            _ => return Err(self.error_at(&t, &[VALUE])),
        };
        self.bump();
        Ok(value)
    }

    /// Decodes a string token with JSON's escape rules (RFC 7644 §3.4.2.2: string values
    /// are JSON strings), pointing any error at the offending byte.
    fn json_string(&self, t: &Token) -> Result<String> {
        let text = self.text(t);
        serde_json::from_str::<String>(text).map_err(|e| {
            let at = t.span.start + e.column().saturating_sub(1);
            let at = at.clamp(t.span.start, t.span.end.saturating_sub(1));
            ParseError {
                kind: ParseErrorKind::InvalidString,
                span: at..(at + 1).min(t.span.end),
                expected: Vec::new(),
                found: Some(text.to_owned()),
                note: Some("bad escape or control character; strings follow JSON".to_owned()),
            }
        })
    }

    /// `valuePath = attrPath "[" valFilter "]"`, after the `attrPath`.
    fn value_path_rest(&mut self, attr: AttrPath) -> Result<ValuePath> {
        let open = self.expect(TokenKind::LBracket, "`[`")?;
        self.enter(&open)?;
        let filter = self.val_filter()?;
        self.leave();
        if self.peek().kind != TokenKind::RBracket {
            return Err(self.error_at(self.peek(), &["`]`", "`and`", "`or`"]));
        }
        self.bump();
        Ok(ValuePath {
            attr,
            filter: Box::new(filter),
        })
    }

    /// `valFilter = attrExp / logExp / *1"not" "(" valFilter ")"`
    ///
    /// Parsed as a full `FILTER`; a nested `[` inside is refused, since RFC 7644
    /// §3.4.2.2 allows no value path within a value path.
    fn val_filter(&mut self) -> Result<Filter> {
        let start = self.pos;
        let f = self.filter()?;
        if let Some(t) = self.tokens[start..self.pos]
            .iter()
            .find(|t| t.kind == TokenKind::LBracket)
        {
            let mut e = self.error_at(t, &[OPERATOR]);
            e.note = Some("a value path cannot contain another `[…]`".to_owned());
            return Err(e);
        }
        Ok(f)
    }

    /// `subAttr = "." ATTRNAME` directly after `]` (no space).
    fn sub_attr_suffix(&mut self) -> Result<Option<String>> {
        let t = self.peek().clone();
        let text = self.text(&t);
        if t.kind != TokenKind::Word || t.space_before || !text.starts_with('.') {
            return Ok(None);
        }
        let name = &text[1..];
        if !is_attr_name(name) {
            return Err(self.bad_path(&t, "`.` must be followed by one sub-attribute name"));
        }
        self.bump();
        Ok(Some(name.to_owned()))
    }

    /// `attrPath = [URI ":"] ATTRNAME *1subAttr`
    ///
    /// The `URI` is any RFC 3986 §3 URI (RFC 7644 §3.10: the schema URI, usually a URN)
    /// and ends at the word's last `:`, since no `ATTRNAME` or `subAttr` holds one.
    fn attr_path(&mut self) -> Result<AttrPath> {
        let t = self.peek().clone();
        if t.kind != TokenKind::Word {
            return Err(self.error_at(&t, &[ATTRIBUTE]));
        }
        let text = self.text(&t);
        let (urn, rest) = match text.rfind(':') {
            Some(i) => (Some(&text[..i]), &text[i + 1..]),
            None => (None, text),
        };
        let mut parts = rest.splitn(3, '.');
        let name = parts.next().unwrap_or("");
        let sub = parts.next();
        if parts.next().is_some() {
            return Err(self.bad_path(&t, "at most one `.sub-attribute` is allowed"));
        }
        if !is_attr_name(name) || sub.is_some_and(|s| !is_attr_name(s)) {
            return Err(self.bad_path(
                &t,
                "attribute names start with a letter and use letters, digits, `-` and `_`",
            ));
        }
        if let Some(urn) = urn.filter(|u| !uri::uri(u)) {
            let why = format!(
                "`{urn}` before the last `:` is no schema URI; RFC 3986 §3 wants a scheme \
                 (a letter, then letters, digits, `+`, `-`, `.`), `:`, then the rest"
            );
            return Err(self.bad_path(&t, &why));
        }
        self.bump();
        Ok(AttrPath {
            urn: urn.map(str::to_owned),
            name: name.to_owned(),
            sub_attr: sub.map(str::to_owned),
        })
    }

    fn bad_path(&self, t: &Token, why: &str) -> ParseError {
        let mut e = self.error_at(t, &[ATTRIBUTE]);
        e.note = Some(why.to_owned());
        e
    }

    /// `PATH = attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2).
    fn patch_path(&mut self) -> Result<PatchPath> {
        let attr = self.attr_path()?;
        if self.peek().kind != TokenKind::LBracket {
            return Ok(PatchPath::Attr(attr));
        }
        if attr.sub_attr.is_some() {
            let t = self.peek().clone();
            return Err(self.bad_path(&t, "`[…]` must follow a top-level attribute"));
        }
        let value_path = self.value_path_rest(attr)?;
        let sub_attr = self.sub_attr_suffix()?;
        Ok(PatchPath::Value {
            value_path,
            sub_attr,
        })
    }
}

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA`; also `$ref`,
/// which RFC 7643 §2.4 names as a sub-attribute even though the ABNF forgets `$`.
fn is_attr_name(s: &str) -> bool {
    let body = s.strip_prefix('$').unwrap_or(s);
    let mut bytes = body.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(src: &str) -> String {
        parse(src)
            .map(|f| f.to_string())
            .unwrap_or_else(|e| e.render(src))
    }

    #[test]
    fn or_binds_looser_than_and() {
        let f = parse("a pr or b pr and c pr").unwrap();
        assert!(matches!(&f, Filter::Or(ops) if matches!(ops[1], Filter::And(_))));
        let g = parse("a pr and b pr or c pr").unwrap();
        assert!(matches!(&g, Filter::Or(ops) if matches!(ops[0], Filter::And(_))));
    }

    #[test]
    fn groups_are_kept_and_printed_only_where_needed() {
        assert_eq!(canonical("((a pr))"), "a pr");
        assert_eq!(
            canonical("(a pr or b pr) and c pr"),
            "(a pr or b pr) and c pr"
        );
        assert_eq!(
            canonical("a pr or (b pr and c pr)"),
            "a pr or b pr and c pr"
        );
    }

    #[test]
    fn keywords_and_operators_are_case_insensitive() {
        assert_eq!(canonical("a EQ 1 AND NOT(b Pr)"), "a eq 1 and not (b pr)");
    }

    #[test]
    fn patch_paths_cover_rfc_7644_section_3_5_2_forms() {
        for (src, want) in [
            ("members", "members"),
            ("name.familyName", "name.familyName"),
            (
                r#"emails[type eq "work"].value"#,
                r#"emails[type eq "work"].value"#,
            ),
            (
                r#"members[value eq "2819c223"]"#,
                r#"members[value eq "2819c223"]"#,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            ),
        ] {
            assert_eq!(parse_path(src).unwrap().to_string(), want);
        }
    }

    #[test]
    fn patch_paths_reject_filters_and_trailing_text() {
        assert!(parse_path(r#"userName eq "x""#).is_err());
        assert!(parse_path(r#"emails[type eq "work"] x"#).is_err());
        assert!(parse_path(r#"name.givenName[value eq "x"]"#).is_err());
        assert_eq!(parse_path("").unwrap_err().kind, ParseErrorKind::Empty);
    }

    #[test]
    fn string_errors_point_at_the_bad_escape() {
        let e = parse(r#"a eq "ok\x""#).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::InvalidString);
        assert_eq!(e.span.start, 9);
    }
}
