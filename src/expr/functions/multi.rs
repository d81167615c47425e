//! Multi-valued attributes and app roles: AppRoleAssignmentsComplex (and its Assertive
//! variant), Count, Item, RemoveDuplicates, SingleAppRoleAssignment. A single value is
//! treated as a list of one.

use super::{Args, Evaluator, Func, Number, Value};
use crate::expr::eval::{Source, R};

fn items(v: Value) -> Vec<String> {
    match v {
        Value::Multi(items) => items,
        Value::Null => Vec::new(),
        other => other
            .text()
            .map(|t| vec![t.into_owned()])
            .unwrap_or_default(),
    }
}

impl Evaluator<'_> {
    /// `AppRoleAssignmentsComplex([appRoleAssignments])`: every assigned role, as a
    /// multi-valued value (the provisioning engine turns it into the `roles` list; the
    /// Assertive variant differs only in the PATCH it sends). NULL → NULL.
    pub(super) fn app_roles_complex(&mut self, _f: Func, args: &Args, src: &dyn Source) -> R {
        Ok(match self.arg(args, 0, src)? {
            Value::Null => Value::Null,
            v => Value::Multi(items(v)),
        })
    }

    /// `Count(attribute)`: how many values; NULL → 0 (UNCONFIRMED), a single value → 1.
    pub(super) fn count(&mut self, args: &Args, src: &dyn Source) -> R {
        let n = items(self.arg(args, 0, src)?).len();
        Ok(Value::Num(Number::Int(
            i64::try_from(n).unwrap_or(i64::MAX),
        )))
    }

    /// `Item(attribute, index)`: the 1-based index-th value, in the source's order. Index
    /// 0 or past the end → NULL (UNCONFIRMED; "index 0 shouldn't be used").
    pub(super) fn item(&mut self, args: &Args, src: &dyn Source) -> R {
        let list = items(self.arg(args, 0, src)?);
        let index = self.required_int(Func::Item, args, 1, src)?;
        let at = usize::try_from(index.saturating_sub(1))
            .ok()
            .filter(|_| index >= 1);
        Ok(at
            .and_then(|i| list.into_iter().nth(i))
            .map_or(Value::Null, Value::Str))
    }

    /// `RemoveDuplicates(attribute)`: the first occurrence of each value kept, in order,
    /// compared ordinally (case-sensitive; UNCONFIRMED). NULL → NULL.
    pub(super) fn remove_duplicates(&mut self, args: &Args, src: &dyn Source) -> R {
        let v = self.arg(args, 0, src)?;
        if v.is_null() {
            return Ok(Value::Null);
        }
        let mut seen = std::collections::HashSet::new();
        let kept = items(v)
            .into_iter()
            .filter(|s| seen.insert(s.clone()))
            .collect();
        Ok(Value::Multi(kept))
    }

    /// `SingleAppRoleAssignment([appRoleAssignments])`: one role name, the first in the
    /// source's order (the 2021 page: "may not be predictable"). None → NULL.
    pub(super) fn single_app_role(&mut self, args: &Args, src: &dyn Source) -> R {
        Ok(items(self.arg(args, 0, src)?)
            .into_iter()
            .find(|s| !s.is_empty())
            .map_or(Value::Null, Value::Str))
    }
}
