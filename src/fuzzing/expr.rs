//! Bodies of the `expr_parser` and `expr_eval` fuzz targets (attribute-mapping
//! expressions, `crate::expr`), and the test that replays their saved findings.

use serde_json::{Map, Value};

use crate::clock::FixedClock;
use crate::expr::{self, Evaluator};

/// `expr_parser`: parsing never panics; on success the canonical form re-parses to the
/// same tree and is a fixed point of printing; on error `render` and `Display` cope with
/// the span.
pub fn expr_parser(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match expr::parse(src) {
        Ok(e) => {
            let printed = e.to_string();
            let again = expr::parse(&printed)
                .unwrap_or_else(|err| panic!("canonical form {printed:?} of {src:?} fails: {err}"));
            assert_eq!(again, e, "round trip changed the tree of {src:?}");
            assert_eq!(again.to_string(), printed, "canonical form is not stable");
        }
        Err(err) => {
            let _ = err.render(src);
            let _ = err.to_string();
        }
    }
}

/// Source attribute names `expr_eval` draws from (those the page's examples use).
pub(crate) const EXPR_ATTR_NAMES: &[&str] = &[
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
    "IsSoftDeleted",
    "proxyAddresses",
    "StatusHireDate",
    "telephoneNumber",
    "mobile",
    "country",
];

/// Values `expr_eval` mostly draws from: dates in the page's shapes, booleans as text,
/// diacritics, phone numbers.
pub(crate) const EXPR_STRINGS: &[&str] = &[
    "",
    "True",
    "False",
    "2012-03-16-07:00",
    "8/25/2021 5:41:18 PM",
    "20150123105347.1Z",
    "+91 9998887777",
    "Zoë Ærø",
    "John",
    "514",
];

/// One attribute value of a fuzzed source object.
#[derive(Debug, Clone)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum FuzzAttrValue {
    Null,
    Known(u8),
    Text(String),
    Int(i32),
    Bool(bool),
    Multi(Vec<String>),
}

/// `expr_eval`'s structured input: a source object (names from `EXPR_ATTR_NAMES`), an
/// RNG seed, and the expression text (last, so it takes the rest of the input verbatim).
#[derive(Debug, Clone)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub struct ExprEvalInput {
    pub source: Vec<(u8, FuzzAttrValue)>,
    pub seed: u64,
    pub expr: String,
}

impl ExprEvalInput {
    /// The source object as JSON.
    pub fn source_value(&self) -> Value {
        let mut m = Map::new();
        for (name, v) in self.source.iter().take(16) {
            let name = EXPR_ATTR_NAMES
                .get(usize::from(*name) % EXPR_ATTR_NAMES.len())
                .copied()
                .unwrap_or("givenName");
            let value = match v {
                FuzzAttrValue::Null => Value::Null,
                FuzzAttrValue::Known(i) => Value::String(
                    EXPR_STRINGS
                        .get(usize::from(*i) % EXPR_STRINGS.len())
                        .copied()
                        .unwrap_or("")
                        .to_owned(),
                ),
                FuzzAttrValue::Text(s) => Value::String(s.clone()),
                FuzzAttrValue::Int(i) => Value::from(*i),
                FuzzAttrValue::Bool(b) => Value::Bool(*b),
                FuzzAttrValue::Multi(items) => {
                    Value::Array(items.iter().take(8).cloned().map(Value::String).collect())
                }
            };
            m.insert(name.to_owned(), value);
        }
        Value::Object(m)
    }
}

/// `expr_eval`: evaluating any parsed expression against any source never panics, and
/// with a fixed clock and seed gives the same outcome twice.
pub fn expr_eval(input: &ExprEvalInput) {
    let Ok(e) = expr::parse(&input.expr) else {
        return;
    };
    let source = input.source_value();
    let clock = FixedClock(time::macros::datetime!(2021-08-25 17:41:18 UTC));
    let unique = |v: &str| v.len().is_multiple_of(2);
    let run = || {
        Evaluator::new()
            .with_clock(&clock)
            .with_seed(input.seed)
            .with_uniqueness(&unique)
            .with_default_domain("contoso.com")
            .eval(&e, &source)
    };
    let first = run();
    assert_eq!(first, run(), "{e} is not deterministic");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_seeds_hold_the_properties() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
        for entry in std::fs::read_dir(root.join("expr_parser"))
            .unwrap()
            .flatten()
        {
            let data = std::fs::read(entry.path()).unwrap();
            expr_parser(&data);
            let input = ExprEvalInput {
                source: vec![
                    (0, FuzzAttrValue::Known(8)),
                    (5, FuzzAttrValue::Multi(vec!["a".into()])),
                ],
                seed: 1,
                expr: String::from_utf8_lossy(&data).into_owned(),
            };
            expr_eval(&input);
        }
    }
}
