//! .NET regular expressions on the `regex` crate, for Replace (and the scoping filter's
//! REGEX MATCH): named groups `(?<name>…)` / `(?'name'…)` become `(?P<name>…)`, and
//! replacement strings follow .NET substitution rules (`${name}`, `$1`, `$$`, `$&`, …).
//!
//! What the `regex` crate cannot do (look-around, backreferences) is an error, not a
//! silent mismatch. Compiled patterns are cached per evaluator and bounded in size, so a
//! fuzzer cannot make one pattern cost more than a megabyte.

use std::collections::HashMap;

use regex::{Captures, Regex, RegexBuilder};

/// Most distinct patterns one cache keeps before it starts over.
const CACHE_LIMIT: usize = 64;
/// Compiled-size limit per pattern, in bytes.
const SIZE_LIMIT: usize = 1 << 20;

/// Rewrites .NET group syntax the `regex` crate spells differently.
pub(crate) fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // .NET reads `\<` and `\>` as the literal characters (any escaped
                // non-word character is itself); the `regex` crate reads them as word
                // boundaries, refused inside a class. Microsoft's sAMAccountName example
                // escapes both inside a class.
                Some(lt_gt @ ('<' | '>')) => out.push(lt_gt),
                Some(next) => {
                    out.push(c);
                    out.push(next);
                }
                None => out.push(c),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` right after `[` or `[^` is a literal member.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '(' if !in_class && chars.peek() == Some(&'?') => {
                out.push('(');
                out.push('?');
                chars.next();
                match chars.peek().copied() {
                    Some('<') => {
                        chars.next();
                        if matches!(chars.peek(), Some('=' | '!')) {
                            out.push('<'); // look-behind: left for the regex crate to refuse
                        } else {
                            out.push_str("P<");
                        }
                    }
                    Some('\'') => {
                        chars.next();
                        out.push_str("P<");
                        for n in chars.by_ref() {
                            if n == '\'' {
                                out.push('>');
                                break;
                            }
                            out.push(n);
                        }
                    }
                    _ => {}
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Expands a .NET replacement string for one match.
pub(crate) fn expand(re: &Regex, caps: &Captures<'_>, input: &str, replacement: &str) -> String {
    let mut out = String::with_capacity(replacement.len());
    let mut rest = replacement;
    while let Some(i) = rest.find('$') {
        out.push_str(rest.get(..i).unwrap_or(""));
        let after = rest.get(i + 1..).unwrap_or("");
        let whole = caps.get(0);
        let (text, used) = match after.chars().next() {
            Some('$') => (Some("$".to_owned()), 1),
            Some('&') => (whole.map(|m| m.as_str().to_owned()), 1),
            Some('`') => (
                whole
                    .and_then(|m| input.get(..m.start()))
                    .map(str::to_owned),
                1,
            ),
            Some('\'') => (
                whole.and_then(|m| input.get(m.end()..)).map(str::to_owned),
                1,
            ),
            Some('_') => (Some(input.to_owned()), 1),
            Some('+') => {
                let last = (1..caps.len()).rev().find_map(|g| caps.get(g));
                (Some(last.map_or("", |m| m.as_str()).to_owned()), 1)
            }
            Some('{') => match after.find('}') {
                Some(close) => {
                    let name = after.get(1..close).unwrap_or("");
                    let known = match name.parse::<usize>() {
                        Ok(n) => n < caps.len(),
                        Err(_) => re.capture_names().any(|n| n == Some(name)),
                    };
                    if known {
                        let m = match name.parse::<usize>() {
                            Ok(n) => caps.get(n),
                            Err(_) => caps.name(name),
                        };
                        (Some(m.map_or("", |m| m.as_str()).to_owned()), close + 1)
                    } else {
                        // A group the pattern does not define stays literal (.NET).
                        (None, 0)
                    }
                }
                None => (None, 0),
            },
            Some(d) if d.is_ascii_digit() => {
                // The longest run of digits that names a group.
                let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
                let mut found = None;
                for len in (1..=digits.len()).rev() {
                    if let Some(n) = digits.get(..len).and_then(|s| s.parse::<usize>().ok()) {
                        if n < caps.len() {
                            found = Some((caps.get(n).map_or("", |m| m.as_str()).to_owned(), len));
                            break;
                        }
                    }
                }
                match found {
                    Some((t, len)) => (Some(t), len),
                    None => (None, 0),
                }
            }
            _ => (None, 0),
        };
        match text {
            Some(t) => {
                out.push_str(&t);
                rest = after.get(used..).unwrap_or("");
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Compiled patterns, keyed by their .NET text.
#[derive(Debug, Default)]
pub(crate) struct RegexCache {
    map: HashMap<String, Result<Regex, String>>,
}

impl RegexCache {
    /// The compiled pattern, or why it does not compile.
    pub(crate) fn get(&mut self, pattern: &str) -> Result<Regex, String> {
        if let Some(r) = self.map.get(pattern) {
            return r.clone();
        }
        if self.map.len() >= CACHE_LIMIT {
            self.map.clear();
        }
        let compiled = compile(pattern);
        self.map.insert(pattern.to_owned(), compiled.clone());
        compiled
    }
}

/// Compiles a .NET pattern with the size limits.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(&translate(pattern))
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .nest_limit(64)
        .build()
        .map_err(|e| {
            let first = e.to_string();
            let line = first
                .lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .unwrap_or("invalid pattern")
                .trim_start_matches("error: ");
            format!("regex {pattern:?} is not supported: {line}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_groups_are_translated_outside_classes_only() {
        assert_eq!(translate(r"(?<a>\d)[(?<]"), r"(?P<a>\d)[(?<]");
        assert_eq!(translate(r"(?'b'x)"), r"(?P<b>x)");
        assert_eq!(translate(r"\(?<x"), r"\(?<x");
        assert!(compile(r"(?<=a)b").is_err());
        assert!(compile(r"(a)\1").is_err());
    }

    #[test]
    fn escaped_angle_brackets_are_literals_as_in_dotnet() {
        // The character class of Microsoft's sAMAccountName example ("Reference for writing
        // expressions for attribute mappings", Replace).
        let re = compile(r"[\/\\\[\]\:\;\|\=\,\+\*\?\<\>]").unwrap();
        assert_eq!(re.replace_all(r"a<b>c:d*e", ""), "abcde");
        let re = compile(r"\<b\>").unwrap();
        assert!(re.is_match("a<b>c"));
        assert!(!re.is_match("a b c"), "not word boundaries");
    }

    #[test]
    fn substitutions_follow_dotnet_rules() {
        let re = compile(r"(?<cc>\+\d+) (?<num>\d+)").unwrap();
        let input = "+91 9998887777";
        let caps = re.captures(input).unwrap();
        assert_eq!(expand(&re, &caps, input, "${num}"), "9998887777");
        assert_eq!(
            expand(&re, &caps, input, "$2-$1 $$ $& ${nope} $9"),
            "9998887777-+91 $ +91 9998887777 ${nope} $9"
        );
        assert_eq!(expand(&re, &caps, input, "$"), "$");
    }
}
