//! Typed values an expression evaluates to, and how each reads as text, number, boolean
//! or date.
//!
//! Entra moves every value as a string (booleans as `"True"`/`"False"`, numbers as their
//! digits), so a typed value always has one text form, [`Value::text`]. The types matter
//! for comparisons (`DateDiff(…) > 5` compares numbers) and for output (`scimock expr
//! eval` prints JSON numbers and booleans).

use std::borrow::Cow;
use std::fmt;

use time::OffsetDateTime;

use super::dates;

/// A number: integers stay exact (FILETIME values exceed `f64`'s 53 bits).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    /// Reads `-12`, `42568.75`, ` 7 ` (trimmed). Integers that overflow `i64` become floats.
    pub fn parse(text: &str) -> Option<Number> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        if let Ok(i) = t.parse::<i64>() {
            return Some(Number::Int(i));
        }
        let body = t.strip_prefix(['-', '+']).unwrap_or(t);
        let ok = !body.is_empty()
            && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && body.bytes().filter(|b| *b == b'.').count() <= 1
            && body.bytes().any(|b| b.is_ascii_digit());
        if !ok {
            return None;
        }
        t.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Number::Float)
    }

    /// The value as `f64` (integers beyond 2^53 round).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    /// The value as an integer if it is one (`3.0` is).
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(f as i64),
            Number::Float(_) => None,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) if x.fract() == 0.0 && x.abs() < 1e15 => write!(f, "{}", *x as i64),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// An expression's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value: an absent attribute, or a function's NULL result.
    Null,
    Str(String),
    Bool(bool),
    Num(Number),
    /// A UTC instant (CDate, DateAdd, Now, …); its text is `M/d/yyyy h:mm:ss tt`.
    Date(OffsetDateTime),
    /// A multi-valued attribute or `Split` result.
    Multi(Vec<String>),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// True for NULL, `""` and an empty multi-valued value.
    pub fn is_null_or_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::Multi(v) => v.is_empty(),
            _ => false,
        }
    }

    /// The single-valued text form, `None` for NULL and multi-valued values.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null | Value::Multi(_) => None,
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Bool(b) => Some(Cow::Borrowed(bool_text(*b))),
            Value::Num(n) => Some(Cow::Owned(n.to_string())),
            Value::Date(d) => Some(Cow::Owned(dates::render_default(*d))),
        }
    }

    /// The value as a number: numbers, and strings that read as one.
    pub fn number(&self) -> Option<Number> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Str(s) => Number::parse(s),
            _ => None,
        }
    }

    /// The value as a boolean: booleans, and the strings `True`/`False` in any case.
    pub fn boolean(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// The value as JSON: strings, numbers, booleans, arrays, and `null` for NULL. Dates
    /// print as their `M/d/yyyy h:mm:ss tt` text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Str(s) => J::String(s.clone()),
            Value::Bool(b) => J::Bool(*b),
            Value::Num(Number::Int(i)) => J::from(*i),
            Value::Num(Number::Float(f)) => {
                serde_json::Number::from_f64(*f).map_or(J::Null, J::Number)
            }
            Value::Date(d) => J::String(dates::render_default(*d)),
            Value::Multi(v) => J::Array(v.iter().cloned().map(J::String).collect()),
        }
    }

    /// A source attribute's JSON value as an expression value: `null` is NULL, arrays are
    /// multi-valued (their scalar elements as text), objects are their JSON text.
    pub fn from_json(v: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Num(Number::Int(i)),
                None => n
                    .as_f64()
                    .map_or(Value::Null, |f| Value::Num(Number::Float(f))),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::Multi(
                items
                    .iter()
                    .filter_map(|item| match item {
                        J::Null => None,
                        J::String(s) => Some(s.clone()),
                        other => Value::from_json(other).text().map(Cow::into_owned),
                    })
                    .collect(),
            ),
            J::Object(_) => Value::Str(v.to_string()),
        }
    }
}

/// `"True"` / `"False"`, the way booleans travel.
pub fn bool_text(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_their_literals() {
        assert_eq!(Number::parse("42568.75").unwrap().to_string(), "42568.75");
        assert_eq!(Number::parse("-10").unwrap(), Number::Int(-10));
        assert_eq!(Number::parse("1e5"), None);
        assert_eq!(Number::parse("."), None);
        assert_eq!(Number::Float(3.0).to_string(), "3");
    }

    #[test]
    fn booleans_read_from_their_strings_in_any_case() {
        assert_eq!(Value::str("TRUE").boolean(), Some(true));
        assert_eq!(Value::str("yes").boolean(), None);
        assert_eq!(Value::Bool(false).text().unwrap(), "False");
    }

    #[test]
    fn json_arrays_become_multi_valued_text() {
        let v = Value::from_json(&serde_json::json!(["a", 1, true, null]));
        assert_eq!(v, Value::Multi(vec!["a".into(), "1".into(), "True".into()]));
    }
}
