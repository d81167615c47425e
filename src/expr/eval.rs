//! The evaluator: an [`Expr`] against a [`Source`] object, with an injectable clock,
//! random generator, uniqueness check and tenant default domain.
//!
//! Null semantics (reference page, "null" rules per function; summary in
//! `docs/expressions.md`): an absent attribute is NULL; functions with a documented null
//! rule follow it; every other function propagates NULL; `IgnoreFlowIfNullOrEmpty` on a
//! NULL or empty value stops the whole mapping ([`Outcome::Ignore`]), wherever it is
//! nested.

use std::fmt;

use serde_json::Map;

use super::ast::{CompareOp, Expr};
use super::error::EvalError;
use super::regex::RegexCache;
use super::value::{Number, Value};
use crate::clock::{Clock, SystemClock};

/// Where `[attribute]` values come from.
pub trait Source {
    /// The attribute's value, [`Value::Null`] when absent.
    fn get(&self, name: &str) -> Value;
}

/// A JSON object of source attributes (Graph names: `userPrincipalName`, `mail`,
/// `IsSoftDeleted`, …). Names match exactly first, then ignoring ASCII case, except
/// directory extensions (`extension_<appId>_<name>`), which are case-sensitive.
impl Source for Map<String, serde_json::Value> {
    fn get(&self, name: &str) -> Value {
        if let Some(v) = Map::get(self, name) {
            return Value::from_json(v);
        }
        if name.starts_with("extension_") {
            return Value::Null;
        }
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or(Value::Null, |(_, v)| Value::from_json(v))
    }
}

/// Any JSON value: an object's members are the attributes; anything else has none.
impl Source for serde_json::Value {
    fn get(&self, name: &str) -> Value {
        self.as_object()
            .map_or(Value::Null, |m| Source::get(m, name))
    }
}

/// A source with no attributes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSource;

impl Source for NoSource {
    fn get(&self, _: &str) -> Value {
        Value::Null
    }
}

/// SelectUniqueValue's question to the target: is this value still free?
pub trait Uniqueness {
    /// True when no object in the target already holds `value`.
    fn is_unique(&self, value: &str) -> bool;
}

impl<F: Fn(&str) -> bool> Uniqueness for F {
    fn is_unique(&self, value: &str) -> bool {
        self(value)
    }
}

/// What a comparison with a NULL operand gives. The reference page says that when an
/// attribute used in an IIF condition is NULL "the condition check fails" without saying
/// what that produces (UNCONFIRMED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NullComparison {
    /// NULL, so an enclosing IIF is NULL and the attribute is not flowed (default).
    #[default]
    Null,
    /// False, so IIF takes its false branch.
    False,
    /// An evaluation error.
    Error,
}

/// The result of evaluating a mapping expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A value to flow; [`Value::Null`] means there is none (Entra never sends nulls).
    Value(Value),
    /// `IgnoreFlowIfNullOrEmpty` fired: the target attribute is neither set nor cleared.
    Ignore,
}

impl Outcome {
    /// The value, `None` for [`Outcome::Ignore`].
    pub fn value(&self) -> Option<&Value> {
        match self {
            Outcome::Value(v) => Some(v),
            Outcome::Ignore => None,
        }
    }

    /// JSON for the CLI and snapshots: the value, or `null` for no value.
    pub fn to_json(&self) -> serde_json::Value {
        self.value().map_or(serde_json::Value::Null, Value::to_json)
    }
}

/// Early exits of evaluation: an error, or IgnoreFlowIfNullOrEmpty's "do not send".
#[derive(Debug)]
pub(crate) enum Stop {
    Error(EvalError),
    Ignore,
}

impl From<EvalError> for Stop {
    fn from(e: EvalError) -> Self {
        Stop::Error(e)
    }
}

pub(crate) type R<T = Value> = Result<T, Stop>;

pub(crate) fn fail<T>(function: &str, message: impl Into<String>) -> R<T> {
    Err(Stop::Error(EvalError::new(function, message)))
}

static SYSTEM_CLOCK: SystemClock = SystemClock;

/// The largest value (bytes of text, summed over a multi-valued value) a function may
/// produce. Entra's own limit is unknown; this bound keeps nested growth such as
/// `ConvertToUTF8Hex(ConvertToUTF8Hex(…))` or a `Replace` template from exhausting memory.
pub const MAX_VALUE_LEN: usize = 1 << 20;

fn size(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len(),
        Value::Multi(items) => items.iter().map(|s| s.len() + 1).sum(),
        _ => 0,
    }
}

/// Fails when `v` is larger than [`MAX_VALUE_LEN`].
pub(crate) fn check_size(function: &str, v: &Value) -> R<()> {
    check_len(function, size(v))
}

/// Fails when a result of `len` bytes would be larger than [`MAX_VALUE_LEN`].
pub(crate) fn check_len(function: &str, len: usize) -> R<()> {
    if len > MAX_VALUE_LEN {
        fail(
            function,
            format!("the result would exceed {MAX_VALUE_LEN} bytes"),
        )
    } else {
        Ok(())
    }
}

/// Evaluates expressions. Deterministic when given a fixed clock and an RNG seed.
pub struct Evaluator<'a> {
    pub(crate) clock: &'a dyn Clock,
    pub(crate) rng: fastrand::Rng,
    pub(crate) unique: Option<&'a dyn Uniqueness>,
    pub(crate) default_domain: Option<String>,
    pub(crate) null_comparison: NullComparison,
    pub(crate) regexes: RegexCache,
}

impl fmt::Debug for Evaluator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evaluator")
            .field("clock", &self.clock)
            .field("default_domain", &self.default_domain)
            .field("null_comparison", &self.null_comparison)
            .finish_non_exhaustive()
    }
}

impl Default for Evaluator<'_> {
    fn default() -> Self {
        Evaluator::new()
    }
}

impl<'a> Evaluator<'a> {
    /// The wall clock, a randomly seeded RNG, no uniqueness check (every value is
    /// unique), no default domain.
    pub fn new() -> Self {
        Evaluator {
            clock: &SYSTEM_CLOCK,
            rng: fastrand::Rng::new(),
            unique: None,
            default_domain: None,
            null_comparison: NullComparison::default(),
            regexes: RegexCache::default(),
        }
    }

    /// Uses `clock` for `Now()`.
    pub fn with_clock(mut self, clock: &'a dyn Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Seeds the RNG behind `Guid()` and `RandomString()`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = fastrand::Rng::with_seed(seed);
        self
    }

    /// Asks `unique` whether a SelectUniqueValue candidate is free in the target.
    pub fn with_uniqueness(mut self, unique: &'a dyn Uniqueness) -> Self {
        self.unique = Some(unique);
        self
    }

    /// The tenant's default verified domain, for `DefaultDomain()`.
    pub fn with_default_domain(mut self, domain: impl Into<String>) -> Self {
        self.default_domain = Some(domain.into());
        self
    }

    /// What a comparison with a NULL operand gives (default [`NullComparison::Null`]).
    pub fn with_null_comparison(mut self, rule: NullComparison) -> Self {
        self.null_comparison = rule;
        self
    }

    /// Evaluates `expr` against `source`.
    pub fn eval(&mut self, expr: &Expr, source: &dyn Source) -> Result<Outcome, EvalError> {
        match self.expr(expr, source) {
            Ok(v) => Ok(Outcome::Value(v)),
            Err(Stop::Ignore) => Ok(Outcome::Ignore),
            Err(Stop::Error(e)) => Err(e),
        }
    }

    pub(crate) fn expr(&mut self, expr: &Expr, src: &dyn Source) -> R {
        match expr {
            Expr::Attribute(name) => Ok(src.get(name)),
            Expr::Str(s) => Ok(Value::Str(s.clone())),
            Expr::Number(text) => match Number::parse(text) {
                Some(n) => Ok(Value::Num(n)),
                None => fail("number", format!("{text} is out of range")),
            },
            Expr::Hex(n) => Ok(Value::Num(match i64::try_from(*n) {
                Ok(i) => Number::Int(i),
                Err(_) => Number::Float(*n as f64),
            })),
            Expr::Constant(c) => Ok(Value::Num(Number::Int(match c {
                super::ast::Constant::VbBinaryCompare => 0,
                super::ast::Constant::VbTextCompare => 1,
            }))),
            Expr::Call { func, args } => {
                let v = self.call(*func, args, src)?;
                check_size(func.name(), &v)?;
                Ok(v)
            }
            Expr::Compare { op, left, right } => {
                let l = self.expr(left, src)?;
                let r = self.expr(right, src)?;
                self.compare(*op, &l, &r)
            }
        }
    }

    /// `=`, `<>`, `<`, `<=`, `>`, `>=`: numerically when both sides read as numbers
    /// (`BitAnd(…)="0"`, `[StatusRehire]=1`, `DateDiff(…) > 5`), as instants when both
    /// are dates, otherwise ordinal (case-sensitive) string comparison.
    fn compare(&self, op: CompareOp, l: &Value, r: &Value) -> R {
        use std::cmp::Ordering;
        if l.is_null() || r.is_null() {
            return match self.null_comparison {
                NullComparison::Null => Ok(Value::Null),
                NullComparison::False => Ok(Value::Bool(false)),
                NullComparison::Error => fail(op.as_str(), "an operand is NULL"),
            };
        }
        let ord = match (l, r) {
            (Value::Date(a), Value::Date(b)) => a.cmp(b),
            _ => match (l.number(), r.number()) {
                (Some(Number::Int(a)), Some(Number::Int(b))) => a.cmp(&b),
                (Some(a), Some(b)) => a
                    .as_f64()
                    .partial_cmp(&b.as_f64())
                    .unwrap_or(Ordering::Equal),
                _ => match (l.text(), r.text()) {
                    (Some(a), Some(b)) => a.cmp(&b),
                    _ => return fail(op.as_str(), "cannot compare a multi-valued value"),
                },
            },
        };
        Ok(Value::Bool(match op {
            CompareOp::Eq => ord == Ordering::Equal,
            CompareOp::Ne => ord != Ordering::Equal,
            CompareOp::Lt => ord == Ordering::Less,
            CompareOp::Le => ord != Ordering::Greater,
            CompareOp::Gt => ord == Ordering::Greater,
            CompareOp::Ge => ord != Ordering::Less,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;
    use serde_json::json;

    fn eval(src: &str, source: serde_json::Value) -> Result<Outcome, EvalError> {
        Evaluator::new()
            .with_seed(1)
            .eval(&parse(src).unwrap(), &source)
    }

    #[test]
    fn attributes_match_exactly_then_ignoring_case_except_extensions() {
        let s = json!({"givenName": "Ann", "extension_abc_Dept": "X"});
        assert_eq!(s.get_attr("givenname"), Value::str("Ann"));
        assert_eq!(Source::get(&s, "extension_abc_dept"), Value::Null);
        assert_eq!(Source::get(&s, "extension_abc_Dept"), Value::str("X"));
    }

    trait GetAttr {
        fn get_attr(&self, name: &str) -> Value;
    }
    impl GetAttr for serde_json::Value {
        fn get_attr(&self, name: &str) -> Value {
            Source::get(self, name)
        }
    }

    #[test]
    fn comparisons_are_numeric_when_both_sides_are_numbers() {
        let v = |s: &str| eval(s, json!({"n": "10", "s": "abc"})).unwrap().to_json();
        assert_eq!(v("[n] > 9"), json!(true));
        assert_eq!(v("[n] = \"10.0\""), json!(true));
        assert_eq!(v("[s] < \"abd\""), json!(true));
        assert_eq!(v("[s] = \"ABC\""), json!(false));
        assert_eq!(v("[missing] = \"x\""), json!(null));
    }

    #[test]
    fn values_cannot_grow_past_the_size_bound() {
        let hex = format!("{}\"ab\"{}", "ConvertToUTF8Hex(".repeat(30), ")".repeat(30));
        let err = eval(&hex, json!({})).unwrap_err();
        assert!(err.to_string().contains("exceed"), "{err}");
        let a = "a".repeat(3000);
        let blowup =
            format!("Replace(Replace(\"{a}\", \"a\", , , , , \"{a}\"), \"a\", , , , , \"{a}\")");
        assert!(eval(&blowup, json!({})).is_err());
        let text = eval("InStr(\"xxÄbc\", \"äB\", 2, vbTextCompare)", json!({})).unwrap();
        assert_eq!(text.to_json(), json!(3));
    }

    #[test]
    fn null_comparison_rule_is_configurable() {
        let e = parse("IIF([x] = \"a\", \"yes\", \"no\")").unwrap();
        let src = json!({});
        let mut ev = Evaluator::new().with_null_comparison(NullComparison::False);
        assert_eq!(ev.eval(&e, &src).unwrap().to_json(), json!("no"));
        let mut ev = Evaluator::new().with_null_comparison(NullComparison::Error);
        assert!(ev.eval(&e, &src).is_err());
        assert_eq!(
            eval("IIF([x] = \"a\", \"yes\", \"no\")", src)
                .unwrap()
                .to_json(),
            json!(null)
        );
    }
}
