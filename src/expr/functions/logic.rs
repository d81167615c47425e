//! Conditions, conversions and flow control: BitAnd, CBool, Coalesce, CStr,
//! IgnoreFlowIfNullOrEmpty, IIF, IsString, Not, SelectUniqueValue, Switch.

use super::{describe, Args, Evaluator, Func, Number, Value};
use crate::expr::eval::{fail, Source, Stop, R};

impl Evaluator<'_> {
    /// `BitAnd(value1, value2)`: bitwise AND of two integers (`&HF`, `7`, `"7"`). NULL
    /// either side → NULL.
    pub(super) fn bit_and(&mut self, args: &Args, src: &dyn Source) -> R {
        let a = self.int_arg(Func::BitAnd, args, 0, src)?;
        let b = self.int_arg(Func::BitAnd, args, 1, src)?;
        Ok(match (a, b) {
            (Some(a), Some(b)) => Value::Num(Number::Int(a & b)),
            _ => Value::Null,
        })
    }

    /// `CBool(expression)`: True for a non-zero number, booleans and `"True"`/`"False"`
    /// as themselves. NULL → NULL (the comparison inside was NULL); any other text is an
    /// error.
    pub(super) fn cbool(&mut self, args: &Args, src: &dyn Source) -> R {
        let v = self.arg(args, 0, src)?;
        if v.is_null() {
            return Ok(Value::Null);
        }
        if let Some(b) = v.boolean() {
            return Ok(Value::Bool(b));
        }
        match v.number() {
            Some(n) => Ok(Value::Bool(n.as_f64() != 0.0)),
            None => fail(
                "CBool",
                format!("cannot convert {} to a boolean", describe(&v)),
            ),
        }
    }

    /// `Coalesce(source1, …, defaultValue)`: the first argument that is neither NULL nor
    /// empty. Telling the last source from the default does not matter under this rule,
    /// since the default is simply the last candidate. Empty strings are skipped, as
    /// Microsoft's SuccessFactors guide expects (`preferredName = ""` falls through); when
    /// nothing qualifies, the last argument's value (so a `""` default gives "").
    pub(super) fn coalesce(&mut self, args: &Args, src: &dyn Source) -> R {
        let mut last = Value::Null;
        for i in 0..args.len() {
            let v = self.arg(args, i, src)?;
            if !v.is_null_or_empty() {
                return Ok(v);
            }
            last = v;
        }
        Ok(last)
    }

    /// `CStr(value)`: the text form (numbers as digits, booleans `True`/`False`, dates
    /// `M/d/yyyy h:mm:ss tt`); a reference attribute is whatever the source holds for it.
    /// NULL → NULL.
    pub(super) fn cstr(&mut self, args: &Args, src: &dyn Source) -> R {
        Ok(self
            .text_arg(Func::CStr, args, 0, src)?
            .map_or(Value::Null, Value::Str))
    }

    /// `IgnoreFlowIfNullOrEmpty(expression)`: NULL or empty stops the whole mapping
    /// ("do not send"), however deeply nested (UNCONFIRMED below the top level: the page
    /// only shows it outermost).
    pub(super) fn ignore_flow(&mut self, args: &Args, src: &dyn Source) -> R {
        let v = self.arg(args, 0, src)?;
        if v.is_null_or_empty() {
            Err(Stop::Ignore)
        } else {
            Ok(v)
        }
    }

    /// `IIF(condition, valueIfTrue, valueIfFalse)`: only the chosen branch is evaluated.
    /// A NULL condition (a comparison with a NULL attribute, see
    /// [`crate::expr::NullComparison`]) gives NULL.
    pub(super) fn iif(&mut self, args: &Args, src: &dyn Source) -> R {
        let c = self.arg(args, 0, src)?;
        if c.is_null() {
            return Ok(Value::Null);
        }
        match c.boolean() {
            Some(true) => self.arg(args, 1, src),
            Some(false) => self.arg(args, 2, src),
            None => fail(
                "IIF",
                format!("the condition must be True or False, got {}", describe(&c)),
            ),
        }
    }

    /// `IsString(expression)`: True for a string value, False for NULL, multi-valued
    /// values and the typed results of other functions (numbers, booleans, dates).
    pub(super) fn is_string(&mut self, args: &Args, src: &dyn Source) -> R {
        Ok(Value::Bool(matches!(
            self.arg(args, 0, src)?,
            Value::Str(_)
        )))
    }

    /// `Not(source)`: `True` → `False`, anything else → `True`. "True" is matched in any
    /// case (like .NET `bool.Parse`; UNCONFIRMED); NULL → NULL.
    pub(super) fn not(&mut self, args: &Args, src: &dyn Source) -> R {
        let v = self.arg(args, 0, src)?;
        if v.is_null() {
            return Ok(Value::Null);
        }
        Ok(Value::Bool(v.boolean() != Some(true)))
    }

    /// `SelectUniqueValue(rule1, rule2, …)`: the first rule whose value the uniqueness
    /// check accepts; NULL and empty candidates are skipped. With no check configured
    /// every value is unique. All taken → an error (Entra escrows the entry).
    pub(super) fn select_unique_value(&mut self, args: &Args, src: &dyn Source) -> R {
        let mut tried = Vec::new();
        for i in 0..args.len() {
            let v = self.arg(args, i, src)?;
            let Some(text) = v.text().map(|t| t.into_owned()) else {
                continue;
            };
            if text.is_empty() {
                continue;
            }
            if self.unique.is_none_or(|u| u.is_unique(&text)) {
                return Ok(Value::Str(text));
            }
            tried.push(text);
        }
        fail(
            "SelectUniqueValue",
            format!("every candidate already exists in the target: {tried:?}"),
        )
    }

    /// `Switch(source, defaultValue, key1, value1, …)`: the value of the first key equal
    /// to source (ordinal, case-sensitive), else defaultValue (NULL when omitted). A NULL
    /// source matches the key `""`. Keys are evaluated in order and only the chosen value
    /// is evaluated.
    pub(super) fn switch(&mut self, args: &Args, src: &dyn Source) -> R {
        let source = self
            .text_arg(Func::Switch, args, 0, src)?
            .unwrap_or_default();
        let mut i = 2;
        while i + 1 < args.len() {
            let key = self
                .text_arg(Func::Switch, args, i, src)?
                .unwrap_or_default();
            if key == source {
                return self.arg(args, i + 1, src);
            }
            i += 2;
        }
        self.arg(args, 1, src)
    }
}
