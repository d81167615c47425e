//! One bound on what the store keeps, so whatever it accepts it can read back.
//!
//! Stored resources are JSON text, parsed again on every read, filter, PATCH, save and
//! load. serde_json refuses input nested deeper than 128 containers, so a resource built
//! deeper than that (a PATCH can nest a 124-deep body under an extension's value path)
//! would be accepted once and then be unreadable. Every value the store is about to keep
//! (POST, PUT and PATCH results, seeds and state alike: all go through
//! `validate::prepare`) is checked against [`MAX_DEPTH`], well below that reader limit,
//! and [`MAX_RESOURCE_BYTES`], and refused with `400 invalidValue` (RFC 7644 §3.12) naming
//! the bound.

use serde_json::{Map, Value};

use crate::{Error, Result};

/// Deepest nesting of arrays and objects a stored resource may have (the resource object
/// itself is level 1). serde_json's reader stops at 128; half of it leaves room for the
/// envelopes a resource is read back in (a `ListResponse`, a state file, the journal).
pub const MAX_DEPTH: usize = 64;

/// Largest compact JSON text of one stored resource (group members are kept apart and do
/// not count).
pub const MAX_RESOURCE_BYTES: usize = 4 * 1024 * 1024;

/// Checks `value` against [`MAX_DEPTH`] and [`MAX_RESOURCE_BYTES`], without recursion.
pub(crate) fn check(what: &str, value: &Value) -> Result<()> {
    walk(what, vec![(value, 1)], 0, 0)
}

/// [`check`] for a resource object not (yet) wrapped in a `Value`.
pub(crate) fn check_object(what: &str, map: &Map<String, Value>) -> Result<()> {
    let bytes = 2 + map.iter().map(|(k, _)| k.len() + 4).sum::<usize>();
    walk(what, map.values().map(|v| (v, 2)).collect(), 1, bytes)
}

fn walk(what: &str, mut stack: Vec<(&Value, usize)>, deepest: usize, bytes: usize) -> Result<()> {
    let (mut deepest, mut bytes) = (deepest, bytes);
    while let Some((v, depth)) = stack.pop() {
        match v {
            Value::Object(map) => {
                deepest = deepest.max(depth);
                bytes += 2 + map.len();
                for (k, item) in map {
                    bytes += k.len() + 3;
                    stack.push((item, depth + 1));
                }
            }
            Value::Array(items) => {
                deepest = deepest.max(depth);
                bytes += 2 + items.len();
                stack.extend(items.iter().map(|i| (i, depth + 1)));
            }
            // Escapes can only lengthen the text; the estimate stays a lower bound.
            Value::String(s) => bytes += s.len() + 2,
            Value::Number(n) => bytes += n.to_string().len(),
            Value::Bool(_) | Value::Null => bytes += 5,
        }
        if deepest > MAX_DEPTH {
            return Err(Error::invalid_value(format!(
                "the {what} would be nested more than {MAX_DEPTH} levels deep; scimock \
                 stores values at most {MAX_DEPTH} arrays/objects deep"
            )));
        }
        if bytes > MAX_RESOURCE_BYTES {
            return Err(Error::invalid_value(format!(
                "the {what} would be larger than {MAX_RESOURCE_BYTES} bytes as JSON; \
                 scimock stores resources up to that size"
            )));
        }
    }
    Ok(())
}

/// Reads JSON text the store wrote or a person supplied (seeds, state, journal bodies):
/// serde_json with its 128-level limit, then [`MAX_DEPTH`] on the result, and no integer
/// beyond 64 bits (those are `400 invalidValue`, not rounded).
pub fn read_json(what: &str, text: &[u8]) -> Result<Value> {
    let value: Value = serde_json::from_slice(text)
        .map_err(|e| Error::invalid_syntax(format!("{what} is not valid JSON: {e}")))?;
    check_integers(what, text)?;
    check(what, &value)?;
    Ok(value)
}

/// Refuses an integer literal that fits neither `i64` nor `u64`. serde_json reads one as a
/// double, so `12345678901234567890123` would be stored as `1.2345678901234568e22`: a
/// silent change of the value the client sent. RFC 7643 §2.3.4 makes `integer` a whole
/// number and RFC 8259 §6 warns that wider ones are not interoperable, so such a value is
/// `400 invalidValue` rather than rounded. Numbers with a fraction or exponent are decimals
/// (RFC 7643 §2.3.3) and read as doubles, as before. `text` must be valid JSON.
pub(crate) fn check_integers(what: &str, text: &[u8]) -> Result<()> {
    match wide_integer(text) {
        None => Ok(()),
        Some(literal) => Err(Error::invalid_value(format!(
            "the {what} holds the integer {literal}, beyond 64 bits; scimock keeps integers \
             from -2^63 to 2^64-1 exactly and would otherwise round it (RFC 7643 §2.3.4)"
        ))),
    }
}

/// The first integer literal of valid JSON `text` outside the 64-bit range, shortened
/// for an error message.
fn wide_integer(text: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < text.len()
                    && matches!(text[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let literal = std::str::from_utf8(&text[start..i]).unwrap_or("");
                let integer = !literal.contains(['.', 'e', 'E']);
                if integer && literal.parse::<i64>().is_err() && literal.parse::<u64>().is_err() {
                    let shown: String = literal.chars().take(40).collect();
                    let more = if literal.len() > 40 { "…" } else { "" };
                    return Some(format!("{shown}{more}"));
                }
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> Value {
        let mut v = Value::from(1);
        for _ in 1..depth {
            v = Value::Array(vec![v]);
        }
        serde_json::json!({ "a": v })
    }

    #[test]
    fn depth_counts_containers_and_stops_at_the_bound() {
        assert!(check("resource", &nested(MAX_DEPTH - 1)).is_ok());
        let e = check("resource", &nested(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidValue, "{e}");
        assert!(e.to_string().contains("64 levels"), "{e}");
    }

    #[test]
    fn size_is_bounded() {
        let big = serde_json::json!({ "a": "x".repeat(MAX_RESOURCE_BYTES) });
        assert_eq!(
            check("resource", &big).map_err(|e| e.kind()),
            Err(crate::ErrorKind::InvalidValue)
        );
    }

    #[test]
    fn integers_beyond_64_bits_are_refused_not_rounded() {
        for wide in [
            "18446744073709551616",
            "-9223372036854775809",
            "123456789012345678901234567890",
        ] {
            let text = format!(r#"{{"a":{{"b":[1,{wide}]}}}}"#);
            let e = read_json("body", text.as_bytes()).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidValue, "{e}");
            assert!(e.to_string().contains(wide), "{e}");
        }
        // The 64-bit edges, decimals, exponents and digits inside strings are kept.
        let ok = r#"{"max":18446744073709551615,"min":-9223372036854775808,"d":1.5e300,
                     "f":123456789012345678901234567890.5,"s":"123456789012345678901234567890",
                     "q":"\"99999999999999999999999","n":-0}"#;
        let v = read_json("body", ok.as_bytes()).unwrap();
        assert_eq!(v["max"], serde_json::json!(u64::MAX));
        assert_eq!(v["min"], serde_json::json!(i64::MIN));
    }

    #[test]
    fn anything_within_the_bound_reads_back() {
        let v = nested(MAX_DEPTH);
        let text = serde_json::to_vec(&v).unwrap();
        assert_eq!(read_json("state", &text).unwrap(), v);
    }
}
