//! Entra scoping filters (*Scoping users or groups to be provisioned with scoping filters
//! in Microsoft Entra ID*,
//! <https://learn.microsoft.com/en-us/entra/identity/app-provisioning/define-conditional-rules-for-provisioning-user-accounts>,
//! and Graph's `filter`, `filterGroup`, `filterClause` resources): a typed model of
//! groups and clauses with all 14 operators, loaded from Graph's JSON shape and
//! evaluated against a source object.
//!
//! A group (one scoping filter) is true when *all* its clauses are; the object is in
//! scope when *any* group is true, or when there are no groups. Every value-comparing
//! operator is false on a NULL or empty attribute; `IS NULL` is true there and
//! `IS NOT NULL` false. Attributes the page says cannot be scoped on are refused when the
//! filter is loaded. The JSON format is documented field by field in
//! `docs/expressions.md`; evaluation is in `eval`.
//!
//! ```
//! let f = scimock::scope::ScopeFilter::from_json(r#"{"groups": [{"name": "Sales", "clauses": [
//!     {"sourceOperandName": "department", "operatorName": "EQUALS",
//!      "targetOperand": {"values": ["Sales"]}}]}]}"#).unwrap();
//! let d = f.evaluate(&serde_json::json!({"department": "Sales"})).unwrap();
//! assert!(d.in_scope);
//! ```

mod eval;

use regex::Regex;
use serde::{Deserialize, Serialize};

pub use eval::{ClauseResult, Decision};

/// A scoping-filter operator, by its exact portal name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `&`: the attribute, read as an integer, shares a set bit with the value
    /// (bitwise-AND reading; UNCONFIRMED, see `docs/expressions.md`).
    BitAnd,
    /// `!&`: no set bit in common.
    NotBitAnd,
    EndsWith,
    Equals,
    GreaterThan,
    GreaterThanOrEquals,
    Includes,
    IsFalse,
    IsNotNull,
    IsNull,
    IsTrue,
    NotEquals,
    NotRegexMatch,
    RegexMatch,
}

impl Operator {
    /// Every operator, in the page's order.
    pub const ALL: [Operator; 14] = [
        Operator::BitAnd,
        Operator::NotBitAnd,
        Operator::EndsWith,
        Operator::Equals,
        Operator::GreaterThan,
        Operator::GreaterThanOrEquals,
        Operator::Includes,
        Operator::IsFalse,
        Operator::IsNotNull,
        Operator::IsNull,
        Operator::IsTrue,
        Operator::NotEquals,
        Operator::NotRegexMatch,
        Operator::RegexMatch,
    ];

    /// The portal's spelling, also used when writing a filter back out.
    pub fn name(self) -> &'static str {
        match self {
            Operator::BitAnd => "&",
            Operator::NotBitAnd => "!&",
            Operator::EndsWith => "ENDS_WITH",
            Operator::Equals => "EQUALS",
            Operator::GreaterThan => "Greater_Than",
            Operator::GreaterThanOrEquals => "Greater_Than_OR_EQUALS",
            Operator::Includes => "Includes",
            Operator::IsFalse => "IS FALSE",
            Operator::IsNotNull => "IS NOT NULL",
            Operator::IsNull => "IS NULL",
            Operator::IsTrue => "IS TRUE",
            Operator::NotEquals => "NOT EQUALS",
            Operator::NotRegexMatch => "NOT REGEX MATCH",
            Operator::RegexMatch => "REGEX MATCH",
        }
    }

    /// Looks a name up ignoring ASCII case and treating `_` and space alike, so the
    /// portal's `Greater_Than` and a schema dump's `GREATER THAN` are one operator.
    pub fn from_name(name: &str) -> Option<Operator> {
        let norm = |s: &str| s.trim().replace('_', " ").to_ascii_uppercase();
        let want = norm(name);
        Operator::ALL
            .iter()
            .copied()
            .find(|op| norm(op.name()) == want)
    }

    /// Unary operators take no value.
    pub fn is_unary(self) -> bool {
        matches!(
            self,
            Operator::IsFalse | Operator::IsNotNull | Operator::IsNull | Operator::IsTrue
        )
    }
}

/// Source attributes the provisioning documentation says cannot be scoped on, with why.
pub const UNSCOPABLE: &[(&str, &str)] = &[
    (
        "appRoleAssignments",
        "app role assignments cannot be scoped on",
    ),
    ("userType", "userType is not available to scoping"),
    (
        "manager",
        "reference attributes such as manager cannot be scoped on",
    ),
    ("members", "the group members attribute is not supported"),
    ("IsMemberOf", "IsMemberOf is not supported"),
    (
        "proxyAddresses",
        "multi-valued attributes cannot be scoped on",
    ),
    ("StatusHireDate", "date attributes cannot be scoped on"),
    ("startDate", "date attributes cannot be scoped on"),
    ("endDate", "date attributes cannot be scoped on"),
    (
        "StatusTerminationDate",
        "date attributes cannot be scoped on",
    ),
    ("accountExpires", "date attributes cannot be scoped on"),
];

/// Why a scoping filter was refused or could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("scoping filter JSON: {0}")]
    Json(String),
    #[error("group {group}: a scoping filter needs at least one clause")]
    EmptyGroup { group: usize },
    #[error("{field} is experimental in Graph and not simulated; leave it empty")]
    Experimental { field: &'static str },
    #[error("group {group} clause {clause}: unknown operator {name:?}")]
    UnknownOperator {
        group: usize,
        clause: usize,
        name: String,
    },
    #[error(
        "group {group} clause {clause}: {attribute} cannot be used in a scoping filter: {why}"
    )]
    Unscopable {
        group: usize,
        clause: usize,
        attribute: String,
        why: &'static str,
    },
    #[error("group {group} clause {clause}: {operator} takes {want}, found {found}")]
    ValueCount {
        group: usize,
        clause: usize,
        operator: &'static str,
        want: &'static str,
        found: usize,
    },
    #[error("group {group} clause {clause}: {operator} needs an integer value, found {value:?}")]
    NotInteger {
        group: usize,
        clause: usize,
        operator: &'static str,
        value: String,
    },
    #[error("group {group} clause {clause}: {message}")]
    BadRegex {
        group: usize,
        clause: usize,
        message: String,
    },
    #[error("{attribute} is multi-valued, and multi-valued attributes cannot be scoped on")]
    MultiValued { attribute: String },
}

// ---- the JSON shape (Graph `filter`) ----------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFilter {
    groups: Vec<RawGroup>,
    #[serde(default)]
    input_filter_groups: Vec<serde_json::Value>,
    #[serde(default)]
    category_filter_groups: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawGroup {
    #[serde(default)]
    name: Option<String>,
    clauses: Vec<RawClause>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawClause {
    source_operand_name: String,
    operator_name: String,
    #[serde(default)]
    target_operand: Option<RawOperand>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperand {
    #[serde(default)]
    values: Vec<String>,
}

// ---- the typed model ----------------------------------------------------------------

/// A clause's comparison value, checked when the filter loads.
#[derive(Debug, Clone)]
pub enum Operand {
    /// No value (unary operators).
    None,
    Text(String),
    /// `Greater_Than`, `Greater_Than_OR_EQUALS`, `&`, `!&`.
    Integer(i64),
    /// `REGEX MATCH`, `NOT REGEX MATCH`: the pattern as written and compiled.
    Regex(String, Regex),
}

impl Operand {
    /// The value as written, `None` for unary operators.
    pub fn text(&self) -> Option<String> {
        match self {
            Operand::None => None,
            Operand::Text(s) | Operand::Regex(s, _) => Some(s.clone()),
            Operand::Integer(i) => Some(i.to_string()),
        }
    }
}

/// One condition on one source attribute.
#[derive(Debug, Clone)]
pub struct Clause {
    pub attribute: String,
    pub operator: Operator,
    pub operand: Operand,
}

impl Clause {
    /// The clause as Entra's scoping log step writes it: `department EQUALS 'Sales'`.
    pub fn describe(&self) -> String {
        match self.operand.text() {
            Some(v) => format!("{} {} '{v}'", self.attribute, self.operator.name()),
            None => format!("{} {}", self.attribute, self.operator.name()),
        }
    }
}

/// One scoping filter: its clauses are AND-ed.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub clauses: Vec<Clause>,
}

/// All scoping filters of an object mapping: its groups are OR-ed.
#[derive(Debug, Clone, Default)]
pub struct ScopeFilter {
    pub groups: Vec<Group>,
}

/// How `REGEX MATCH` reads its pattern. The page's claim that `([1-9][0-9])` matches
/// "any number between 10 and 99" only holds for a whole-value match, while .NET's
/// `Regex.IsMatch` (the default here) searches; the page is AMBIGUOUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegexMode {
    #[default]
    Search,
    FullMatch,
}

impl ScopeFilter {
    /// Loads Graph's `filter` JSON (`{"groups": [{"name", "clauses": [{"sourceOperandName",
    /// "operatorName", "targetOperand": {"values": […]}}]}]}`), searching regexes.
    pub fn from_json(text: &str) -> Result<ScopeFilter, ScopeError> {
        ScopeFilter::from_json_with(text, RegexMode::default())
    }

    /// [`Self::from_json`] with a choice of regex reading.
    pub fn from_json_with(text: &str, mode: RegexMode) -> Result<ScopeFilter, ScopeError> {
        let raw: RawFilter =
            serde_json::from_str(text).map_err(|e| ScopeError::Json(e.to_string()))?;
        if !raw.input_filter_groups.is_empty() {
            return Err(ScopeError::Experimental {
                field: "inputFilterGroups",
            });
        }
        if !raw.category_filter_groups.is_empty() {
            return Err(ScopeError::Experimental {
                field: "categoryFilterGroups",
            });
        }
        let mut groups = Vec::with_capacity(raw.groups.len());
        for (g, group) in raw.groups.into_iter().enumerate() {
            let g1 = g + 1;
            if group.clauses.is_empty() {
                return Err(ScopeError::EmptyGroup { group: g1 });
            }
            let mut clauses = Vec::with_capacity(group.clauses.len());
            for (c, clause) in group.clauses.into_iter().enumerate() {
                clauses.push(load_clause(g1, c + 1, clause, mode)?);
            }
            groups.push(Group {
                name: group.name.unwrap_or_else(|| format!("Scoping filter {g1}")),
                clauses,
            });
        }
        Ok(ScopeFilter { groups })
    }
}

fn load_clause(
    group: usize,
    clause: usize,
    raw: RawClause,
    mode: RegexMode,
) -> Result<Clause, ScopeError> {
    let operator =
        Operator::from_name(&raw.operator_name).ok_or_else(|| ScopeError::UnknownOperator {
            group,
            clause,
            name: raw.operator_name.clone(),
        })?;
    let attribute = raw.source_operand_name;
    if let Some((_, why)) = UNSCOPABLE
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(&attribute))
    {
        return Err(ScopeError::Unscopable {
            group,
            clause,
            attribute,
            why,
        });
    }
    let values = raw.target_operand.map(|o| o.values).unwrap_or_default();
    let (want, ok) = if operator.is_unary() {
        ("no value", values.is_empty())
    } else {
        ("exactly one value", values.len() == 1)
    };
    if !ok {
        return Err(ScopeError::ValueCount {
            group,
            clause,
            operator: operator.name(),
            want,
            found: values.len(),
        });
    }
    let value = values.into_iter().next().unwrap_or_default();
    let operand = match operator {
        _ if operator.is_unary() => Operand::None,
        Operator::GreaterThan
        | Operator::GreaterThanOrEquals
        | Operator::BitAnd
        | Operator::NotBitAnd => match value.trim().parse::<i64>() {
            Ok(i) => Operand::Integer(i),
            Err(_) => {
                return Err(ScopeError::NotInteger {
                    group,
                    clause,
                    operator: operator.name(),
                    value,
                })
            }
        },
        Operator::RegexMatch | Operator::NotRegexMatch => {
            let pattern = match mode {
                RegexMode::Search => value.clone(),
                RegexMode::FullMatch => format!("^(?:{value})$"),
            };
            let re =
                crate::expr::regex::compile(&pattern).map_err(|message| ScopeError::BadRegex {
                    group,
                    clause,
                    message,
                })?;
            Operand::Regex(value, re)
        }
        _ => Operand::Text(value),
    };
    Ok(Clause {
        attribute,
        operator,
        operand,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names_match_ignoring_case_and_underscores() {
        for op in Operator::ALL {
            assert_eq!(Operator::from_name(op.name()), Some(op));
        }
        assert_eq!(
            Operator::from_name("greater than"),
            Some(Operator::GreaterThan)
        );
        assert_eq!(
            Operator::from_name("NOT_REGEX_MATCH"),
            Some(Operator::NotRegexMatch)
        );
        assert_eq!(Operator::from_name("IsMemberOf"), None);
    }

    fn one(attr: &str, op: &str, values: &str) -> Result<ScopeFilter, ScopeError> {
        ScopeFilter::from_json(&format!(
            r#"{{"groups":[{{"clauses":[{{"sourceOperandName":"{attr}","operatorName":"{op}","targetOperand":{{"values":{values}}}}}]}}]}}"#
        ))
    }

    #[test]
    fn refuses_what_cannot_be_scoped_on_or_is_malformed() {
        let e = one("manager", "IS NOT NULL", "[]").unwrap_err();
        assert!(
            e.to_string()
                .contains("manager cannot be used in a scoping filter"),
            "{e}"
        );
        assert!(matches!(
            one("StatusHireDate", "EQUALS", r#"["x"]"#),
            Err(ScopeError::Unscopable { .. })
        ));
        assert!(matches!(
            one("a", "LIKE", r#"["x"]"#),
            Err(ScopeError::UnknownOperator { .. })
        ));
        assert!(matches!(
            one("a", "EQUALS", "[]"),
            Err(ScopeError::ValueCount { .. })
        ));
        assert!(matches!(
            one("a", "IS NULL", r#"["x"]"#),
            Err(ScopeError::ValueCount { .. })
        ));
        assert!(matches!(
            one("a", "Greater_Than", r#"["1.5"]"#),
            Err(ScopeError::NotInteger { .. })
        ));
        assert!(matches!(
            one("a", "REGEX MATCH", r#"["(?<=x)"]"#),
            Err(ScopeError::BadRegex { .. })
        ));
        assert!(matches!(
            ScopeFilter::from_json(r#"{"groups":[{"clauses":[]}]}"#),
            Err(ScopeError::EmptyGroup { .. })
        ));
        assert!(matches!(
            ScopeFilter::from_json(r#"{"groups":[], "x": 1}"#),
            Err(ScopeError::Json(_))
        ));
    }
}
