//! Replace's five modes, chosen by which optional slots are written (the current
//! reference page's table; its 2021 version described the replacementAttributeName mode
//! the other way round, and the current text and Example 5 agree, so they win).
//!
//! | written slots | result |
//! |---|---|
//! | oldValue + template | template with every oldValue replaced by source |
//! | oldValue + replacementValue | source with every oldValue replaced |
//! | regexPattern + regexGroupName + replacementAttributeName | source if it has a value, else the group's match in replacementAttributeName |
//! | regexPattern + regexGroupName + replacementValue | source with the group's match replaced in every match |
//! | regexPattern + replacementValue | .NET `Regex.Replace(source, pattern, replacementValue)` |
//!
//! All comparisons are case-sensitive. A NULL source gives NULL (except in the
//! replacementAttributeName mode, where it selects the fallback); a NULL replacement is
//! the empty string.

use super::{Args, Evaluator, Func, Value};
use crate::expr::eval::{check_len, fail, Source, R};
use crate::expr::regex::expand;

const SOURCE: usize = 0;
const OLD: usize = 1;
const PATTERN: usize = 2;
const GROUP: usize = 3;
const REPLACEMENT: usize = 4;
const ATTRIBUTE: usize = 5;
const TEMPLATE: usize = 6;

impl Evaluator<'_> {
    pub(super) fn replace(&mut self, args: &Args, src: &dyn Source) -> R {
        let f = Func::Replace;
        let has = |i| Self::present(args, i);
        let source = self.text_arg(f, args, SOURCE, src)?;
        if has(OLD) {
            let old = self.text_arg(f, args, OLD, src)?.unwrap_or_default();
            if has(TEMPLATE) {
                let template = self.text_arg(f, args, TEMPLATE, src)?.unwrap_or_default();
                let Some(source) = source else {
                    return Ok(Value::Null);
                };
                if old.is_empty() {
                    return Ok(Value::Str(template));
                }
                let n = template.matches(old.as_str()).count();
                check_len(
                    f.name(),
                    template
                        .len()
                        .saturating_add(n.saturating_mul(source.len())),
                )?;
                return Ok(Value::Str(template.replace(&old, &source)));
            }
            if has(REPLACEMENT) {
                let new = self
                    .text_arg(f, args, REPLACEMENT, src)?
                    .unwrap_or_default();
                let Some(source) = source else {
                    return Ok(Value::Null);
                };
                if old.is_empty() {
                    return Ok(Value::Str(source));
                }
                let n = source.matches(old.as_str()).count();
                check_len(
                    f.name(),
                    source.len().saturating_add(n.saturating_mul(new.len())),
                )?;
                return Ok(Value::Str(source.replace(&old, &new)));
            }
            return fail(
                f.name(),
                "with `oldValue`, give `replacementValue` or `template`",
            );
        }
        if !has(PATTERN) {
            return fail(f.name(), "give `oldValue` or `regexPattern`");
        }
        let pattern = self.text_arg(f, args, PATTERN, src)?.unwrap_or_default();
        let re = self.regexes.get(&pattern).or_else(|e| fail(f.name(), e))?;
        let group = if has(GROUP) {
            Some(self.text_arg(f, args, GROUP, src)?.unwrap_or_default())
        } else {
            None
        };
        match group {
            Some(group) if has(ATTRIBUTE) => {
                if let Some(s) = source.filter(|s| !s.is_empty()) {
                    return Ok(Value::Str(s));
                }
                let other = self.text_arg(f, args, ATTRIBUTE, src)?;
                Ok(other
                    .and_then(|o| {
                        re.captures(&o)
                            .and_then(|c| c.name(&group).map(|m| m.as_str().to_owned()))
                    })
                    .map_or(Value::Null, Value::Str))
            }
            Some(group) if has(REPLACEMENT) => {
                let new = self
                    .text_arg(f, args, REPLACEMENT, src)?
                    .unwrap_or_default();
                let Some(source) = source else {
                    return Ok(Value::Null);
                };
                let mut out = String::with_capacity(source.len());
                let mut last = 0;
                for caps in re.captures_iter(&source) {
                    if let Some(m) = caps.name(&group) {
                        out.push_str(source.get(last..m.start()).unwrap_or(""));
                        out.push_str(&new);
                        last = m.end();
                        check_len(f.name(), out.len())?;
                    }
                }
                out.push_str(source.get(last..).unwrap_or(""));
                Ok(Value::Str(out))
            }
            Some(_) => fail(
                f.name(),
                "with `regexGroupName`, give `replacementValue` or `replacementAttributeName`",
            ),
            None if has(REPLACEMENT) => {
                let new = self
                    .text_arg(f, args, REPLACEMENT, src)?
                    .unwrap_or_default();
                let Some(source) = source else {
                    return Ok(Value::Null);
                };
                // Regex.Replace, built by hand so the size bound applies to every step.
                let mut out = String::with_capacity(source.len());
                let mut last = 0;
                for caps in re.captures_iter(&source) {
                    let Some(m) = caps.get(0) else { continue };
                    out.push_str(source.get(last..m.start()).unwrap_or(""));
                    out.push_str(&expand(&re, &caps, &source, &new));
                    last = m.end();
                    check_len(f.name(), out.len())?;
                }
                out.push_str(source.get(last..).unwrap_or(""));
                Ok(Value::Str(out))
            }
            None => fail(f.name(), "with `regexPattern`, give `replacementValue`"),
        }
    }
}
