//! Recursive-descent parser for attribute-mapping expressions (*Reference for writing
//! expressions for attribute mappings in Microsoft Entra ID*, "Syntax overview").
//!
//! One function per grammar rule, each quoting its rule. The grammar, assembled from
//! the page's syntax list and the forms its own examples use:
//!
//! ```text
//! expression = operand [ compareOp operand ]
//! operand    = call / attribute / string / number / hex / constant
//! call       = name "(" [ slot *( "," slot ) ] ")"
//! slot       = [ expression ]                      ; empty = omitted optional argument
//! attribute  = "[" 1*namechar "]"
//! string     = DQUOTE *( "\\" / "\" DQUOTE / char ) DQUOTE
//! number     = [ "-" ] 1*DIGIT [ "." 1*DIGIT ]
//! hex        = "&H" 1*16HEXDIG
//! constant   = "vbBinaryCompare" / "vbTextCompare"
//! compareOp  = "=" / "<>" / "<" / "<=" / ">" / ">="
//! ```
//!
//! White space (newlines included) may stand between any two tokens. Calls nest at most
//! [`MAX_DEPTH`] deep and the whole text is at most [`MAX_LEN`] characters.

use super::ast::{CompareOp, Constant, Expr};
use super::error::{ParseError, ParseErrorKind};
use super::func::Func;
use super::lexer::{tokenize, Token, TokenKind};

/// Deepest nesting of function calls an expression may have.
pub const MAX_DEPTH: usize = 64;
/// Longest expression accepted, in characters: "the maximum supported length of a single
/// attribute-mapping expression is 10,000 characters" (the reference page).
pub const MAX_LEN: usize = 10_000;

const OPERAND: &str =
    "an argument (a function call, `[attribute]`, string, number, `&H` hex or constant)";
const SLOT_END: &str = "`,` or `)`";

type Result<T> = std::result::Result<T, ParseError>;

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Never read in practice: the stream always ends with its own Eof.
    eof: Token,
}

/// Parses a whole expression.
pub fn parse(src: &str) -> Result<Expr> {
    let chars = src.chars().count();
    if chars > MAX_LEN {
        let cut = src
            .char_indices()
            .nth(MAX_LEN)
            .map_or(src.len(), |(i, _)| i);
        return Err(ParseError {
            kind: ParseErrorKind::TooLong,
            span: cut..src.len(),
            expected: Vec::new(),
            found: None,
            note: Some(format!("{chars} characters, limit is {MAX_LEN}")),
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
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
        depth: 0,
        eof: Token {
            kind: TokenKind::Eof,
            span: src.len()..src.len(),
        },
    };
    let e = p.expression()?;
    let t = p.peek();
    if t.kind != TokenKind::Eof {
        let expected: &[&'static str] = if matches!(e, Expr::Compare { .. }) {
            &["end of expression"]
        } else {
            &["a comparison operator", "end of expression"]
        };
        return Err(p.error_at(t, expected));
    }
    Ok(e)
}

impl<'a> Parser<'a> {
    // ---- token helpers -------------------------------------------------------------

    fn peek(&self) -> &Token {
        // The stream always ends with Eof and `bump` never moves past it.
        let last = self.tokens.len().saturating_sub(1);
        self.tokens.get(self.pos.min(last)).unwrap_or(&self.eof)
    }

    fn peek_kind_at(&self, offset: usize) -> TokenKind {
        self.tokens
            .get(self.pos + offset)
            .map_or(TokenKind::Eof, |t| t.kind)
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

    fn error_at(&self, t: &Token, expected: &[&'static str]) -> ParseError {
        let kind = match t.kind {
            TokenKind::Eof => ParseErrorKind::UnexpectedEnd,
            TokenKind::UnterminatedString => ParseErrorKind::UnterminatedString,
            TokenKind::UnterminatedAttribute => ParseErrorKind::UnterminatedAttribute,
            TokenKind::Invalid => ParseErrorKind::InvalidCharacter,
            _ => ParseErrorKind::UnexpectedToken,
        };
        ParseError {
            kind,
            span: t.span.clone(),
            expected: expected.to_vec(),
            found: (t.kind != TokenKind::Eof).then(|| self.text(t).to_owned()),
            note: None,
        }
    }

    fn error(
        &self,
        kind: ParseErrorKind,
        span: std::ops::Range<usize>,
        note: String,
    ) -> ParseError {
        ParseError {
            kind,
            span,
            expected: Vec::new(),
            found: None,
            note: Some(note),
        }
    }

    // ---- grammar -------------------------------------------------------------------

    /// `expression = operand [ compareOp operand ]`
    ///
    /// Comparisons do not chain: `a = b = c` stops after `b`.
    fn expression(&mut self) -> Result<Expr> {
        let left_at = self.peek().span.start;
        let left = self.operand()?;
        if self.peek().kind != TokenKind::Operator {
            return Ok(left);
        }
        let op_token = self.bump();
        let op = CompareOp::from_str(self.text(&op_token))
            .ok_or_else(|| self.error_at(&op_token, &["a comparison operator"]))?;
        let right_at = self.peek().span.start;
        let right = self.operand()?;
        for (side, at) in [(&left, left_at), (&right, right_at)] {
            if matches!(
                side,
                Expr::Call {
                    func: Func::SelectUniqueValue,
                    ..
                }
            ) {
                return Err(self.not_top_level(at));
            }
        }
        Ok(Expr::Compare {
            op,
            left: Box::new(left),
            right: Box::new(right),
        })
    }

    /// `operand = call / attribute / string / number / hex / constant`
    fn operand(&mut self) -> Result<Expr> {
        let t = self.peek().clone();
        match t.kind {
            TokenKind::Word if self.peek_kind_at(1) == TokenKind::LParen => self.call(),
            TokenKind::Word => self.constant(),
            TokenKind::Attribute => self.attribute(),
            TokenKind::String => {
                self.bump();
                Ok(Expr::Str(self.string(&t)))
            }
            TokenKind::Number => self.number(),
            TokenKind::Hex => self.hex(),
            _ => Err(self.error_at(&t, &[OPERAND])),
        }
    }

    /// `call = name "(" [ slot *( "," slot ) ] ")"`, `slot = [ expression ]`
    ///
    /// The name must be on the reference page; the slot count and every required slot are
    /// checked here, so an error names the function and the parameter.
    fn call(&mut self) -> Result<Expr> {
        let name_token = self.bump();
        let name = self.text(&name_token);
        let Some(func) = Func::from_name(name) else {
            let mut e = self.error(
                ParseErrorKind::UnknownFunction,
                name_token.span.clone(),
                format!("`{name}` is not a function of the attribute-mapping language"),
            );
            e.found = Some(name.to_owned());
            return Err(e);
        };
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                ParseErrorKind::TooDeep,
                name_token.span.clone(),
                format!("limit is {MAX_DEPTH} nested calls"),
            ));
        }
        if func == Func::SelectUniqueValue && self.depth > 1 {
            return Err(self.not_top_level(name_token.span.start));
        }
        self.bump(); // `(`: the caller saw it.
        let mut args = Vec::new();
        let mut slot_spans = Vec::new();
        if self.peek().kind == TokenKind::RParen {
            self.bump();
        } else {
            loop {
                let at = self.peek().span.clone();
                debug_assert!(self.peek().kind != TokenKind::Eof || at.is_empty());
                let slot = match self.peek().kind {
                    TokenKind::Comma | TokenKind::RParen => None,
                    _ => Some(self.expression()?),
                };
                args.push(slot);
                slot_spans.push(at);
                let t = self.bump();
                match t.kind {
                    TokenKind::Comma => continue,
                    TokenKind::RParen => break,
                    _ => {
                        let expected: &[&'static str] = match args.last() {
                            Some(Some(Expr::Compare { .. })) => &[SLOT_END],
                            Some(Some(_)) => &[SLOT_END, "a comparison operator"],
                            _ => &[SLOT_END, OPERAND],
                        };
                        return Err(self.error_at(&t, expected));
                    }
                }
            }
        }
        let end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(self.src.len(), |t| t.span.end);
        self.depth -= 1;
        let call_span = name_token.span.start..end;
        let n = args.len();
        if !func.arity().allows(n) {
            return Err(self.error(
                ParseErrorKind::WrongArity,
                call_span,
                format!(
                    "`{}` takes {}, found {n}",
                    func.name(),
                    func.arity().describe()
                ),
            ));
        }
        for (i, (slot, span)) in args.iter().zip(&slot_spans).enumerate() {
            if slot.is_none() && !func.optional(i, n) {
                return Err(self.error(
                    ParseErrorKind::MissingArgument,
                    span.start..span.start,
                    format!(
                        "argument {} (`{}`) of `{}` is required",
                        i + 1,
                        func.param_name(i),
                        func.name()
                    ),
                ));
            }
        }
        Ok(Expr::Call { func, args })
    }

    /// `attribute = "[" 1*namechar "]"`: any characters but white space, control
    /// characters, `[`, `]` and `"`.
    fn attribute(&mut self) -> Result<Expr> {
        let t = self.bump();
        let text = self.text(&t);
        let name = text
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or("");
        let bad = name
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control() || matches!(c, '[' | ']' | '"'));
        if name.is_empty() || bad.is_some() {
            let span = match bad {
                Some((i, c)) => t.span.start + 1 + i..t.span.start + 1 + i + c.len_utf8(),
                None => t.span.clone(),
            };
            let mut e = self.error(
                ParseErrorKind::InvalidAttribute,
                span,
                "an attribute name is one or more characters other than white space, `[`, `]` and `\"`".to_owned(),
            );
            e.found = Some(text.to_owned());
            return Err(e);
        }
        Ok(Expr::Attribute(name.to_owned()))
    }

    /// `string = DQUOTE *( "\\" / "\" DQUOTE / char ) DQUOTE`
    ///
    /// `\\` is a backslash and `\"` a quote; any other backslash stays as written
    /// (`"\+"` is the two characters `\+`), the lenient reading of the page's
    /// UNCONFIRMED point about unknown escapes.
    fn string(&self, t: &Token) -> String {
        let text = self.text(t);
        let inner = text
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or("");
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some(e @ ('\\' | '"')) => out.push(e),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        }
        out
    }

    /// `number = [ "-" ] 1*DIGIT [ "." 1*DIGIT ]`
    fn number(&mut self) -> Result<Expr> {
        let t = self.bump();
        let text = self.text(&t);
        let body = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if digits(int) && frac.is_none_or(digits) {
            Ok(Expr::Number(text.to_owned()))
        } else {
            let mut e = self.error_at(&t, &["a number like `10`, `-10` or `42568.75`"]);
            e.kind = ParseErrorKind::InvalidNumber;
            Err(e)
        }
    }

    /// `hex = "&H" 1*16HEXDIG`
    fn hex(&mut self) -> Result<Expr> {
        let t = self.bump();
        let digits = self.text(&t).get(2..).unwrap_or("");
        match u64::from_str_radix(digits, 16) {
            Ok(n) if !digits.is_empty() && digits.len() <= 16 && !digits.starts_with('+') => {
                Ok(Expr::Hex(n))
            }
            _ => {
                let mut e = self.error_at(&t, &["a hex number like `&HF7` (at most 16 digits)"]);
                e.kind = ParseErrorKind::InvalidNumber;
                Err(e)
            }
        }
    }

    /// `constant = "vbBinaryCompare" / "vbTextCompare"` (any case)
    fn constant(&mut self) -> Result<Expr> {
        let t = self.bump();
        let word = self.text(&t);
        if let Some(c) = Constant::from_name(word) {
            return Ok(Expr::Constant(c));
        }
        let mut e = self.error_at(
            &t,
            &[
                "`(` after a function name",
                "`vbBinaryCompare`",
                "`vbTextCompare`",
            ],
        );
        e.kind = ParseErrorKind::UnknownIdentifier;
        if Func::from_name(word).is_some() {
            e.note = Some(format!("`{word}` is a function; call it as `{word}(…)`"));
        } else if word.eq_ignore_ascii_case("IgnoreAttributeFlow")
            || word.eq_ignore_ascii_case("IgnoreObjectFlow")
        {
            e.note = Some(format!(
                "`{word}` is only documented for HR inbound provisioning"
            ));
        }
        Err(e)
    }

    fn not_top_level(&self, at: usize) -> ParseError {
        let end = self
            .tokens
            .iter()
            .find(|t| t.span.start >= at)
            .map_or(at, |t| t.span.end);
        self.error(
            ParseErrorKind::NotTopLevel,
            at..end,
            "`SelectUniqueValue` must be the whole expression, not nested".to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(src: &str) -> String {
        match parse(src) {
            Ok(e) => e.to_string(),
            Err(e) => panic!("{}", e.render(src)),
        }
    }

    fn kind(src: &str) -> ParseErrorKind {
        parse(src)
            .map(|e| panic!("{src} parsed as {e}"))
            .unwrap_err()
            .kind
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(
            canonical(r#"Replace([mail], "@contoso.com", , ,"", ,)"#),
            r#"Replace([mail], "@contoso.com", , , "", , )"#
        );
        assert_eq!(canonical("BitAnd(&Hf, &HF7)"), "BitAnd(&HF, &HF7)");
        assert_eq!(
            canonical(r#"InStr("repEated","e",3,VBBINARYCOMPARE)"#),
            r#"InStr("repEated", "e", 3, vbBinaryCompare)"#
        );
        assert_eq!(
            canonical(r#"switch([a], , "1", "x")"#),
            r#"Switch([a], , "1", "x")"#
        );
        assert_eq!(canonical("Join (\"\",\n [a])"), r#"Join("", [a])"#);
        assert_eq!(
            canonical(r#"IIF(DateDiff("d", Now(), CDate([x]))>5,"a","b")"#),
            r#"IIF(DateDiff("d", Now(), CDate([x])) > 5, "a", "b")"#
        );
        assert_eq!(canonical(r#""a\"b\\c\+""#), r#""a\"b\\c\\+""#);
    }

    #[test]
    fn checks_names_arity_and_required_slots() {
        assert_eq!(kind("Foo([a])"), ParseErrorKind::UnknownFunction);
        assert_eq!(kind("Append([a])"), ParseErrorKind::WrongArity);
        assert_eq!(kind("Switch([a], , \"1\")"), ParseErrorKind::WrongArity);
        assert_eq!(kind("Append(, \"x\")"), ParseErrorKind::MissingArgument);
        assert_eq!(kind("Now"), ParseErrorKind::UnknownIdentifier);
        let e = parse("Mid([a], 1)").unwrap_err();
        assert!(
            e.to_string().contains("`Mid` takes 3 arguments, found 2"),
            "{e}"
        );
        let e = parse("Left(, 1)").unwrap_err();
        assert!(e.to_string().contains("`string`"), "{e}");
    }

    #[test]
    fn rejects_bad_literals_and_trailing_text() {
        assert_eq!(kind("Len(1.2.3)"), ParseErrorKind::InvalidNumber);
        assert_eq!(kind("BitAnd(&HZ, 1)"), ParseErrorKind::InvalidNumber);
        assert_eq!(kind("[a b]"), ParseErrorKind::InvalidAttribute);
        assert_eq!(kind("[]"), ParseErrorKind::InvalidAttribute);
        assert_eq!(kind("[a] = [b] = [c]"), ParseErrorKind::UnexpectedToken);
        assert_eq!(kind("\"abc"), ParseErrorKind::UnterminatedString);
        assert_eq!(kind("   "), ParseErrorKind::Empty);
    }

    #[test]
    fn select_unique_value_only_at_the_top() {
        assert!(parse("SelectUniqueValue([a], [b])").is_ok());
        assert_eq!(
            kind("ToLower(SelectUniqueValue([a], [b]))"),
            ParseErrorKind::NotTopLevel
        );
        assert_eq!(
            kind("SelectUniqueValue([a], [b]) = \"x\""),
            ParseErrorKind::NotTopLevel
        );
    }

    #[test]
    fn limits_have_their_own_kinds() {
        let deep = format!(
            "{}[a]{}",
            "ToLower(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(kind(&deep), ParseErrorKind::TooDeep);
        let ok = format!(
            "{}[a]{}",
            "ToLower(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        assert!(parse(&ok).is_ok());
        let long = format!("\"{}\"", "é".repeat(MAX_LEN - 1));
        assert_eq!(kind(&long), ParseErrorKind::TooLong);
        let fits = format!("\"{}\"", "é".repeat(MAX_LEN - 2));
        assert!(parse(&fits).is_ok());
    }
}
