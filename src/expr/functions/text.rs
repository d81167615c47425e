//! String functions: Append, ConvertToBase64, ConvertToUTF8Hex, InStr, Join, Left, Len,
//! Mid, PCase, Split, ToLower, ToUpper, Word. Positions and lengths count Unicode scalar
//! values (.NET counts UTF-16 units, so a character outside the BMP counts once here and
//! twice in Entra).

use super::{Args, Evaluator, Func, Value};
use crate::expr::eval::{check_len, fail, Source, R};

impl Evaluator<'_> {
    /// `Append(source, suffix)`. NULL source → NULL (UNCONFIRMED; NULL propagates); a NULL
    /// suffix appends nothing.
    pub(super) fn append(&mut self, args: &Args, src: &dyn Source) -> R {
        let Some(mut s) = self.text_arg(Func::Append, args, 0, src)? else {
            return Ok(Value::Null);
        };
        if let Some(suffix) = self.text_arg(Func::Append, args, 1, src)? {
            s.push_str(&suffix);
        }
        Ok(Value::Str(s))
    }

    /// `ConvertToBase64(source)`: base64 of the UTF-16LE bytes ("Unicode base64").
    pub(super) fn convert_to_base64(&mut self, args: &Args, src: &dyn Source) -> R {
        let Some(s) = self.text_arg(Func::ConvertToBase64, args, 0, src)? else {
            return Ok(Value::Null);
        };
        let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        Ok(Value::Str(base64(&bytes)))
    }

    /// `ConvertToUTF8Hex(source)`: the UTF-8 bytes as upper-case hex, no separators.
    pub(super) fn convert_to_utf8_hex(&mut self, args: &Args, src: &dyn Source) -> R {
        self.map_text(Func::ConvertToUTF8Hex, args, src, |s| {
            s.bytes().map(|b| format!("{b:02X}")).collect()
        })
    }

    /// `InStr(value1, value2, start, compareType)`: the 1-based position of value2 in
    /// value1 from `start` (default 1), 0 when absent. compareType defaults to binary
    /// (case-sensitive, VBA's default; UNCONFIRMED on the page); `vbTextCompare` / `1`
    /// ignores case. NULL value1 or value2 → NULL (VBA); start < 1 is an error.
    pub(super) fn instr(&mut self, args: &Args, src: &dyn Source) -> R {
        let f = Func::InStr;
        let hay = self.text_arg(f, args, 0, src)?;
        let needle = self.text_arg(f, args, 1, src)?;
        let start = self.int_arg(f, args, 2, src)?.unwrap_or(1);
        let text_compare = match self.arg(args, 3, src)? {
            Value::Null => false,
            v => match v.text().as_deref() {
                Some("0") => false,
                Some("1") => true,
                Some(t) if t.eq_ignore_ascii_case("vbBinaryCompare") => false,
                Some(t) if t.eq_ignore_ascii_case("vbTextCompare") => true,
                _ => {
                    return fail(
                        f.name(),
                        "`compareType` must be vbBinaryCompare (0) or vbTextCompare (1)",
                    )
                }
            },
        };
        let (Some(hay), Some(needle)) = (hay, needle) else {
            return Ok(Value::Null);
        };
        if start < 1 {
            return fail(f.name(), format!("`start` must be 1 or more, got {start}"));
        }
        // Search in a folded copy of the text that remembers, for every byte, the
        // original character it came from, so positions are positions in the original.
        let mut folded = String::with_capacity(hay.len());
        let mut origin: Vec<usize> = Vec::with_capacity(hay.len());
        for (i, c) in hay.chars().enumerate() {
            let before = folded.len();
            if text_compare {
                folded.extend(c.to_lowercase());
            } else {
                folded.push(c);
            }
            origin.extend(std::iter::repeat_n(i, folded.len() - before));
        }
        let needle: String = if text_compare {
            needle.chars().flat_map(char::to_lowercase).collect()
        } else {
            needle
        };
        let chars = hay.chars().count();
        let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
        if skip > chars {
            return Ok(num(0));
        }
        if needle.is_empty() {
            return Ok(num(start));
        }
        let from = origin
            .iter()
            .position(|&i| i >= skip)
            .unwrap_or(folded.len());
        let found = folded
            .get(from..)
            .and_then(|rest| rest.find(&needle))
            .and_then(|at| origin.get(from + at));
        Ok(num(
            found.map_or(0, |&i| i64::try_from(i + 1).unwrap_or(i64::MAX))
        ))
    }

    /// `Join(separator, source1, …)`: multi-valued sources contribute every value; NULL
    /// and empty values are skipped, which is what the page's `Join(", ", "", [surname],
    /// [givenName])` → `Doe, John` requires. All sources NULL → NULL.
    pub(super) fn join(&mut self, args: &Args, src: &dyn Source) -> R {
        let sep = self.text_arg(Func::Join, args, 0, src)?.unwrap_or_default();
        let mut parts: Vec<String> = Vec::new();
        let mut any = false;
        for i in 1..args.len() {
            match self.arg(args, i, src)? {
                Value::Null => {}
                Value::Multi(items) => {
                    any = true;
                    parts.extend(items.into_iter().filter(|s| !s.is_empty()));
                }
                v => {
                    any = true;
                    if let Some(t) = v.text().filter(|t| !t.is_empty()) {
                        parts.push(t.into_owned());
                    }
                }
            }
        }
        let total: usize = parts.iter().map(String::len).sum::<usize>()
            + sep.len().saturating_mul(parts.len().saturating_sub(1));
        check_len("Join", total)?;
        Ok(if any {
            Value::Str(parts.join(&sep))
        } else {
            Value::Null
        })
    }

    /// `Left(String, NumChars)`, with the page's rules: 0 → "", negative → the whole
    /// string, NULL → "", shorter than NumChars → the whole string.
    pub(super) fn left(&mut self, args: &Args, src: &dyn Source) -> R {
        let s = self.text_arg(Func::Left, args, 0, src)?.unwrap_or_default();
        let n = self.required_int(Func::Left, args, 1, src)?;
        if n < 0 {
            return Ok(Value::Str(s));
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        Ok(Value::Str(s.chars().take(n).collect()))
    }

    /// `Len(String)`: characters of the text form (`Len(42568.75)` = 8); NULL or "" → 0.
    pub(super) fn len(&mut self, args: &Args, src: &dyn Source) -> R {
        let s = self.text_arg(Func::Len, args, 0, src)?.unwrap_or_default();
        Ok(num(i64::try_from(s.chars().count()).unwrap_or(i64::MAX)))
    }

    /// `Mid(source, start, length)`: 1-based; a length past the end stops at the end.
    /// Decisions (UNCONFIRMED): NULL source → NULL; start past the end → ""; start < 1 or
    /// a negative length is an error (as in VBA).
    pub(super) fn mid(&mut self, args: &Args, src: &dyn Source) -> R {
        let f = Func::Mid;
        let s = self.text_arg(f, args, 0, src)?;
        let start = self.required_int(f, args, 1, src)?;
        let len = self.required_int(f, args, 2, src)?;
        if start < 1 {
            return fail(f.name(), format!("`start` must be 1 or more, got {start}"));
        }
        if len < 0 {
            return fail(
                f.name(),
                format!("`length` must not be negative, got {len}"),
            );
        }
        let Some(s) = s else { return Ok(Value::Null) };
        let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
        let take = usize::try_from(len).unwrap_or(usize::MAX);
        Ok(Value::Str(s.chars().skip(skip).take(take).collect()))
    }

    /// `PCase(source, wordSeparators)`: the first character of each word upper-case, the
    /// rest lower-case. Everything is lower-cased first, since the page's own outputs
    /// (`PABLO GONSALVES (SECOND)` → `Pablo Gonsalves (Second)`) contradict raw .NET
    /// `ToTitleCase`, which keeps all-caps words. Without separators a word ends at any
    /// character that is not a letter, digit or combining mark (the page's list of
    /// punctuation, symbol, space and control categories); the apostrophe is one, so
    /// `john's` → `John'S`, as Microsoft's Workday guide relies on.
    pub(super) fn pcase(&mut self, args: &Args, src: &dyn Source) -> R {
        let Some(s) = self.text_arg(Func::PCase, args, 0, src)? else {
            return Ok(Value::Null);
        };
        let seps = self.text_arg(Func::PCase, args, 1, src)?;
        let is_sep = |c: char| match &seps {
            Some(set) => set.contains(c),
            None => !(c.is_alphanumeric() || is_combining(c)),
        };
        let mut out = String::with_capacity(s.len());
        let mut at_start = true;
        for c in s.chars() {
            if is_sep(c) {
                out.push(c);
                at_start = true;
            } else if at_start {
                out.extend(c.to_uppercase());
                at_start = false;
            } else {
                out.extend(c.to_lowercase());
            }
        }
        Ok(Value::Str(out))
    }

    /// `Split(source, delimiter)`: a multi-valued result. Elements are not trimmed, so
    /// `"PermissionSetOne, PermissionSetTwo"` split on `,` keeps the space before the
    /// second element (the page prints it without; see `docs/expressions.md`). An empty
    /// delimiter gives one element; NULL → NULL.
    pub(super) fn split(&mut self, args: &Args, src: &dyn Source) -> R {
        let Some(s) = self.text_arg(Func::Split, args, 0, src)? else {
            return Ok(Value::Null);
        };
        let delim = self
            .text_arg(Func::Split, args, 1, src)?
            .unwrap_or_default();
        if delim.is_empty() {
            return Ok(Value::Multi(vec![s]));
        }
        Ok(Value::Multi(
            s.split(delim.as_str()).map(str::to_owned).collect(),
        ))
    }

    /// `ToLower(source, culture)` / `ToUpper`: invariant-culture case mapping; the Turkic
    /// cultures (`tr…`, `az…`) map dotted and dotless i as .NET does. Other cultures are
    /// accepted and treated as invariant.
    pub(super) fn change_case(&mut self, f: Func, args: &Args, src: &dyn Source, upper: bool) -> R {
        let Some(s) = self.text_arg(f, args, 0, src)? else {
            return Ok(Value::Null);
        };
        let culture = self.text_arg(f, args, 1, src)?.unwrap_or_default();
        let turkic = {
            let lang = culture.split('-').next().unwrap_or("").to_ascii_lowercase();
            lang == "tr" || lang == "az"
        };
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            match (upper, turkic, c) {
                (false, true, 'I') => out.push('ı'),
                (false, true, 'İ') => out.push('i'),
                (true, true, 'i') => out.push('İ'),
                (false, _, c) => out.extend(c.to_lowercase()),
                (true, _, c) => out.extend(c.to_uppercase()),
            }
        }
        Ok(Value::Str(out))
    }

    /// `Word(String, WordNumber, Delimiters)`: the n-th run of characters not in
    /// Delimiters. Empty runs between consecutive delimiters are skipped (VBA-like;
    /// UNCONFIRMED). n < 1, NULL string, or too few words → "".
    pub(super) fn word(&mut self, args: &Args, src: &dyn Source) -> R {
        let f = Func::Word;
        let s = self.text_arg(f, args, 0, src)?.unwrap_or_default();
        let n = self.required_int(f, args, 1, src)?;
        let delims = self.text_arg(f, args, 2, src)?.unwrap_or_default();
        if n < 1 {
            return Ok(Value::str(""));
        }
        let index = usize::try_from(n - 1).unwrap_or(usize::MAX);
        let word = s
            .split(|c| delims.contains(c))
            .filter(|w| !w.is_empty())
            .nth(index)
            .unwrap_or("");
        Ok(Value::str(word))
    }
}

fn num(n: i64) -> Value {
    Value::Num(super::Number::Int(n))
}

/// Combining marks, which belong to the word of the letter they follow.
fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Standard base64 with padding (RFC 4648 §4).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(ALPHABET[(i & 63) as usize]);
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_pads_like_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
