//! Evaluating a [`ScopeFilter`] against a source object.

use super::{Clause, Operand, Operator, ScopeError, ScopeFilter};
use crate::expr::{Source, Value};

/// One clause's outcome, with the attribute value it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClauseResult {
    /// 1-based group and clause numbers.
    pub group: usize,
    pub clause: usize,
    /// Entra's log form: `"<filter title>.<attribute> <OPERATOR> '<value>'"`.
    pub text: String,
    /// The attribute's text, `None` when NULL.
    pub value: Option<String>,
    pub result: bool,
}

/// Whether an object is in scope, and which clause decided: for an object in scope the
/// last clause of the first group whose clauses all hold; out of scope, the first false
/// clause of every group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub in_scope: bool,
    /// Empty when there are no groups (no scoping filter: everything is in scope).
    pub deciding: Vec<ClauseResult>,
}

impl ScopeFilter {
    /// Evaluates every group against `source`. A multi-valued attribute in a clause is an
    /// error: filtering on multi-valued attributes is not supported.
    pub fn evaluate(&self, source: &dyn Source) -> Result<Decision, ScopeError> {
        let mut failures = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            let mut last = None;
            let mut failed = None;
            for (c, clause) in group.clauses.iter().enumerate() {
                let value = source.get(&clause.attribute);
                if let Value::Multi(_) = value {
                    return Err(ScopeError::MultiValued {
                        attribute: clause.attribute.clone(),
                    });
                }
                let text = value.text().map(|t| t.into_owned());
                let result = holds(clause, &value, text.as_deref());
                let r = ClauseResult {
                    group: g + 1,
                    clause: c + 1,
                    text: format!("{}.{}", group.name, clause.describe()),
                    value: text,
                    result,
                };
                if !result {
                    failed = Some(r);
                    break;
                }
                last = Some(r);
            }
            match (failed, last) {
                (None, Some(r)) => {
                    return Ok(Decision {
                        in_scope: true,
                        deciding: vec![r],
                    })
                }
                (Some(r), _) => failures.push(r),
                (None, None) => {}
            }
        }
        Ok(Decision {
            in_scope: self.groups.is_empty(),
            deciding: failures,
        })
    }
}

/// One clause on one value. Case-sensitive throughout (EQUALS, NOT EQUALS, Includes and
/// REGEX MATCH are documented so; ENDS_WITH is taken to match them).
fn holds(clause: &Clause, value: &Value, text: Option<&str>) -> bool {
    let empty = value.is_null_or_empty();
    match clause.operator {
        Operator::IsNull => return empty,
        Operator::IsNotNull => return !empty,
        Operator::IsTrue => return value.boolean() == Some(true),
        Operator::IsFalse => return value.boolean() == Some(false),
        _ => {}
    }
    // "Scoping filters return false if the value is null/empty", negations included.
    let Some(text) = text.filter(|_| !empty) else {
        return false;
    };
    let int = || text.trim().parse::<i64>().ok();
    match (&clause.operator, &clause.operand) {
        (Operator::Equals, Operand::Text(v)) => text == v,
        (Operator::NotEquals, Operand::Text(v)) => text != v,
        (Operator::EndsWith, Operand::Text(v)) => text.ends_with(v.as_str()),
        (Operator::Includes, Operand::Text(v)) => text.contains(v.as_str()),
        (Operator::GreaterThan, Operand::Integer(v)) => int().is_some_and(|i| i > *v),
        (Operator::GreaterThanOrEquals, Operand::Integer(v)) => int().is_some_and(|i| i >= *v),
        (Operator::BitAnd, Operand::Integer(v)) => int().is_some_and(|i| i & v != 0),
        (Operator::NotBitAnd, Operand::Integer(v)) => int().is_some_and(|i| i & v == 0),
        (Operator::RegexMatch, Operand::Regex(_, re)) => re.is_match(text),
        (Operator::NotRegexMatch, Operand::Regex(_, re)) => !re.is_match(text),
        // The loader pairs every operator with its operand kind.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RegexMode, ScopeFilter};
    use serde_json::json;

    fn filter(clauses: &[(&str, &str, Option<&str>)]) -> ScopeFilter {
        let clauses: Vec<_> = clauses
            .iter()
            .map(|(a, op, v)| {
                json!({"sourceOperandName": a, "operatorName": op,
                       "targetOperand": {"values": v.map(|v| vec![v]).unwrap_or_default()}})
            })
            .collect();
        ScopeFilter::from_json(&json!({"groups": [{"name": "F", "clauses": clauses}]}).to_string())
            .unwrap()
    }

    fn check(op: &str, value: Option<&str>, attr: serde_json::Value) -> bool {
        let f = filter(&[("a", op, value)]);
        f.evaluate(&json!({ "a": attr })).unwrap().in_scope
    }

    #[test]
    fn every_operator_on_a_value_and_on_null() {
        let cases: &[(&str, Option<&str>, serde_json::Value, bool)] = &[
            ("EQUALS", Some("Sales"), json!("Sales"), true),
            ("EQUALS", Some("Sales"), json!("sales"), false),
            ("NOT EQUALS", Some("Sales"), json!("sales"), true),
            ("NOT EQUALS", Some("Sales"), json!(null), false),
            ("ENDS_WITH", Some(".com"), json!("a@b.com"), true),
            ("ENDS_WITH", Some(".COM"), json!("a@b.com"), false),
            ("Includes", Some("@b"), json!("a@b.com"), true),
            ("Includes", Some("@B"), json!("a@b.com"), false),
            ("Greater_Than", Some("10"), json!("11"), true),
            ("Greater_Than", Some("10"), json!("10"), false),
            ("Greater_Than", Some("10"), json!("x"), false),
            ("Greater_Than_OR_EQUALS", Some("10"), json!(10), true),
            ("&", Some("2"), json!("514"), true),
            ("&", Some("2"), json!("512"), false),
            ("!&", Some("2"), json!("512"), true),
            ("!&", Some("2"), json!(""), false),
            ("IS TRUE", None, json!("True"), true),
            ("IS TRUE", None, json!(true), true),
            ("IS TRUE", None, json!("False"), false),
            ("IS FALSE", None, json!(false), true),
            ("IS FALSE", None, json!(null), false),
            ("IS NULL", None, json!(""), true),
            ("IS NULL", None, json!(null), true),
            ("IS NULL", None, json!("x"), false),
            ("IS NOT NULL", None, json!("x"), true),
            ("IS NOT NULL", None, json!(""), false),
            (
                "REGEX MATCH",
                Some(r".*\@domain.com"),
                json!("a@domain.com"),
                true,
            ),
            ("REGEX MATCH", Some("([1-9][0-9])"), json!("123"), true),
            ("REGEX MATCH", Some("abc"), json!("ABC"), false),
            (
                "NOT REGEX MATCH",
                Some(r".*\@domain.com"),
                json!("a@other.org"),
                true,
            ),
            (
                "NOT REGEX MATCH",
                Some(r".*\@domain.com"),
                json!(null),
                false,
            ),
        ];
        for (op, v, attr, want) in cases {
            assert_eq!(check(op, *v, attr.clone()), *want, "{op} {v:?} on {attr}");
        }
    }

    #[test]
    fn full_match_mode_anchors_regexes() {
        let text = json!({"groups": [{"clauses": [{"sourceOperandName": "n", "operatorName": "REGEX MATCH",
            "targetOperand": {"values": ["([1-9][0-9])"]}}]}]})
        .to_string();
        let f = ScopeFilter::from_json_with(&text, RegexMode::FullMatch).unwrap();
        assert!(f.evaluate(&json!({"n": "42"})).unwrap().in_scope);
        assert!(!f.evaluate(&json!({"n": "123"})).unwrap().in_scope);
    }

    #[test]
    fn clauses_and_groups_combine_and_report_the_deciding_clause() {
        let text = json!({"groups": [
            {"name": "Sales", "clauses": [
                {"sourceOperandName": "department", "operatorName": "EQUALS", "targetOperand": {"values": ["Sales"]}},
                {"sourceOperandName": "jobTitle", "operatorName": "IS NOT NULL"}]},
            {"name": "Contractors", "clauses": [
                {"sourceOperandName": "employeeType", "operatorName": "EQUALS", "targetOperand": {"values": ["Contractor"]}}]}
        ]})
        .to_string();
        let f = ScopeFilter::from_json(&text).unwrap();
        let d = f
            .evaluate(&json!({"department": "Sales", "jobTitle": "Rep"}))
            .unwrap();
        assert!(d.in_scope);
        assert_eq!(d.deciding[0].text, "Sales.jobTitle IS NOT NULL");
        let d = f
            .evaluate(&json!({"department": "Sales", "employeeType": "Contractor"}))
            .unwrap();
        assert!(d.in_scope);
        assert_eq!(
            d.deciding[0].text,
            "Contractors.employeeType EQUALS 'Contractor'"
        );
        let d = f.evaluate(&json!({"department": "Sales"})).unwrap();
        assert!(!d.in_scope);
        assert_eq!(d.deciding.len(), 2);
        assert_eq!(d.deciding[0].text, "Sales.jobTitle IS NOT NULL");
        assert!(f.evaluate(&json!({"department": ["Sales"]})).is_err());
        assert!(
            ScopeFilter::default()
                .evaluate(&json!({}))
                .unwrap()
                .in_scope
        );
    }
}
