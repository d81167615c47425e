//! Evaluating a filter against a resource (RFC 7644 §3.4.2.2).
//!
//! Rules, in the RFC's words where it has them and ours where it is silent:
//! - Attribute names match case-insensitively (RFC 7643 §2.1). A URN-qualified path looks
//!   inside that extension's object; a path qualified with the core schema's URN is the
//!   top level.
//! - String comparison honours the attribute's `caseExact` (default false, RFC 7643 §7).
//! - A multi-valued attribute matches if *any* value matches. A multi-valued complex
//!   attribute named without a sub-attribute (`emails co "x"`) compares its `value`s.
//! - `pr` is true for a value that is not null, not `""`, not `[]` and not an object with
//!   no present member. Without a sub-attribute it judges the attribute's whole value:
//!   an element of a multi-valued complex attribute is present with any present member,
//!   `value` or not (RFC 7644 §3.4.2.2: "a non-empty node for complex attributes").
//! - `eq null` is true when the attribute has no value (null, `[]`, or objects of nulls:
//!   RFC 7643 §2.5 "unassigned"), judged on the same whole value as `pr`; `ne null` when
//!   it has one.
//! - `ne` is true when the attribute has no value, or when some value of the compared type
//!   differs.
//! - Values of different types never compare equal or ordered: the comparison is false.
//! - `dateTime` values (per schema, or two RFC 3339 strings when there is no schema)
//!   compare as instants.
//! - `gt`/`ge`/`lt`/`le` on a boolean, binary or complex attribute is an error
//!   (RFC 7644 §3.4.2.2: "a failed response … invalidFilter"). Where the schema says what
//!   the attribute is, that is a property of the filter, [`check`](super::check)ed before
//!   any resource is looked at; where it does not, the values tell.

use std::cmp::Ordering;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::ast::{AttrOp, AttrPath, CompValue, CompareOp, Filter, ValuePath};
use crate::scim::attr as get_ci;
use crate::scim::{AttrType, Attribute, ResourceSchema};

/// A filter that parsed but cannot be applied (RFC 7644 §3.4.2.2 → 400 `invalidFilter`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("`{op}` cannot order the {kind} attribute `{path}`")]
    NotOrderable {
        op: CompareOp,
        kind: &'static str,
        path: String,
    },
}

/// What the paths inside a filter are relative to.
#[derive(Clone, Copy)]
pub(super) enum Scope<'s> {
    /// A whole resource, with its schema if known.
    Resource(Option<&'s ResourceSchema>),
    /// One element of a complex attribute (inside `[...]`), with that attribute's
    /// definition if known.
    Element(Option<&'s Attribute>),
}

/// Does `filter` match `resource`? `schema` supplies `caseExact` and types; without it,
/// strings compare case-insensitively and types come from the JSON values.
///
/// The filter is [`check`](super::check)ed against `schema` first, so a filter that can
/// never be applied (ordering a boolean) fails whatever `resource` holds.
pub fn matches(
    filter: &Filter,
    resource: &Value,
    schema: Option<&ResourceSchema>,
) -> Result<bool, EvalError> {
    super::check(filter, schema)?;
    eval(filter, resource, Scope::Resource(schema))
}

/// [`matches`] for a filter already [`check`](super::check)ed against `schema`: a scan
/// checks once, then evaluates each resource.
pub(crate) fn matches_checked(
    filter: &Filter,
    resource: &Value,
    schema: Option<&ResourceSchema>,
) -> Result<bool, EvalError> {
    eval(filter, resource, Scope::Resource(schema))
}

/// Does `filter` match one element of a multi-valued complex attribute (the inside of a
/// `valuePath`'s brackets, RFC 7644 §3.5.2)? `attribute` is that attribute's definition,
/// which supplies sub-attribute `caseExact` and types; paths inside the filter are relative
/// to the element.
pub(crate) fn matches_element(
    filter: &Filter,
    element: &Value,
    attribute: Option<&Attribute>,
) -> Result<bool, EvalError> {
    super::check::check_element(filter, attribute)?;
    eval(filter, element, Scope::Element(attribute))
}

fn eval(filter: &Filter, node: &Value, scope: Scope<'_>) -> Result<bool, EvalError> {
    match filter {
        Filter::Attr(exp) => attr_exp(&exp.path, &exp.op, node, scope),
        Filter::ValuePath(vp) => {
            value_path_elements(vp, node, scope, |_, _| Ok(true)).map(|n| n > 0)
        }
        Filter::ValuePathAttr {
            value_path,
            sub_attr,
            op,
        } => {
            let sub_path = AttrPath::new(sub_attr, None);
            value_path_elements(value_path, node, scope, |element, def| {
                attr_exp(&sub_path, op, element, Scope::Element(def))
            })
            .map(|n| n > 0)
        }
        Filter::Not(inner) => Ok(!eval(inner, node, scope)?),
        Filter::And(operands) => {
            for f in operands {
                if !eval(f, node, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Filter::Or(operands) => {
            for f in operands {
                if eval(f, node, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

/// Counts the elements of `vp.attr` that match the bracket filter and `then`.
fn value_path_elements(
    vp: &ValuePath,
    node: &Value,
    scope: Scope<'_>,
    then: impl Fn(&Value, Option<&Attribute>) -> Result<bool, EvalError>,
) -> Result<usize, EvalError> {
    let (value, def) = lookup(&vp.attr, node, scope);
    let elements: &[Value] = match value {
        Some(Value::Array(items)) => items,
        Some(v @ Value::Object(_)) => std::slice::from_ref(v),
        _ => return Ok(0),
    };
    let mut count = 0;
    for element in elements {
        if element.is_object()
            && eval(&vp.filter, element, Scope::Element(def))?
            && then(element, def)?
        {
            count += 1;
        }
    }
    Ok(count)
}

/// Finds the attribute's value (before any sub-attribute) and its definition.
fn lookup<'v, 's>(
    path: &AttrPath,
    node: &'v Value,
    scope: Scope<'s>,
) -> (Option<&'v Value>, Option<&'s Attribute>) {
    let Some(obj) = node.as_object() else {
        return (None, None);
    };
    match scope {
        Scope::Resource(schema) => {
            let is_core = |urn: &str| schema.is_some_and(|s| s.core.id.eq_ignore_ascii_case(urn));
            let container = match &path.urn {
                Some(urn) if !is_core(urn) => get_ci(obj, urn).and_then(Value::as_object),
                _ => Some(obj),
            };
            let def = schema.and_then(|s| {
                let urn = path.urn.as_deref().filter(|u| !is_core(u));
                s.resolve(urn, &path.name, None)
            });
            let value = container.and_then(|c| get_ci(c, &path.name));
            match (value, def, path.urn.as_ref(), schema) {
                (None, None, None, Some(s)) => match unique_extension(s, &path.name) {
                    Some((ext, def)) => (
                        get_ci(obj, &ext.id)
                            .and_then(Value::as_object)
                            .and_then(|o| get_ci(o, &path.name)),
                        Some(def),
                    ),
                    None => (None, None),
                },
                _ => (value, def),
            }
        }
        Scope::Element(parent) => (
            get_ci(obj, &path.name),
            parent.and_then(|p| p.sub_attribute(&path.name)),
        ),
    }
}

/// The definition of the attribute `path` names (before any sub-attribute), as [`lookup`]
/// finds it, without data: the check before evaluation uses it.
pub(super) fn definition<'s>(path: &AttrPath, scope: Scope<'s>) -> Option<&'s Attribute> {
    match scope {
        Scope::Resource(schema) => {
            let s = schema?;
            let urn = path
                .urn
                .as_deref()
                .filter(|u| !s.core.id.eq_ignore_ascii_case(u));
            s.resolve(urn, &path.name, None).or_else(|| {
                path.urn
                    .is_none()
                    .then(|| unique_extension(s, &path.name).map(|(_, def)| def))
                    .flatten()
            })
        }
        Scope::Element(parent) => parent?.sub_attribute(&path.name),
    }
}

/// An unqualified name the core schema lacks, taken from the one extension that defines
/// it (RFC 7644 §3.10: clients "SHOULD" qualify extension attributes, so they may omit
/// the URN; Entra's reference check sends `manager eq "…"`, entra row E9).
fn unique_extension<'s>(
    schema: &'s ResourceSchema,
    name: &str,
) -> Option<(&'s crate::scim::Schema, &'s Attribute)> {
    let mut hits = schema
        .extensions
        .iter()
        .filter_map(|(s, _)| s.attribute(name).map(|a| (s, a)));
    match (hits.next(), hits.next()) {
        (Some(hit), None) => Some(hit),
        _ => None,
    }
}

/// The scalar values a path denotes, with the definition that governs them.
fn candidates<'v, 's>(
    path: &AttrPath,
    node: &'v Value,
    scope: Scope<'s>,
) -> (Vec<&'v Value>, Option<&'s Attribute>) {
    let (value, def) = lookup(path, node, scope);
    let mut out = Vec::new();
    let Some(value) = value else {
        let sub_def = path.sub_attr.as_deref().and_then(|s| def?.sub_attribute(s));
        return (out, sub_def.or(def));
    };
    let items: &[Value] = match value {
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    };
    match &path.sub_attr {
        Some(sub) => {
            for item in items {
                if let Some(v) = item.as_object().and_then(|o| get_ci(o, sub)) {
                    out.push(v);
                }
            }
            (out, def.and_then(|d| d.sub_attribute(sub)))
        }
        None => {
            let multi_complex = value.is_array() && items.iter().any(Value::is_object);
            let single_complex =
                def.is_some_and(|d| d.kind == AttrType::Complex && !d.multi_valued);
            if let (true, Some(Value::Object(o))) = (single_complex, items.first()) {
                // A single-valued complex attribute compared without a sub-attribute
                // (`manager eq "id"`) compares its `value`, as a multi-valued one does
                // (RFC 7643 §2.4 makes `value` the primary value); one without a `value`
                // stays itself, so `pr` still sees it.
                return match get_ci(o, "value") {
                    Some(v) => (vec![v], def.and_then(|d| d.sub_attribute("value"))),
                    None => (vec![value], def),
                };
            }
            if multi_complex {
                // RFC 7644 §3.4.2.2: a multi-valued complex attribute without a
                // sub-attribute is compared on its `value`s.
                for item in items {
                    match item.as_object().and_then(|o| get_ci(o, "value")) {
                        Some(v) => out.push(v),
                        None if !item.is_object() => out.push(item),
                        None => {}
                    }
                }
                let value_def = def.and_then(|d| d.sub_attribute("value"));
                (out, value_def.or(def))
            } else {
                out.extend(items);
                (out, def)
            }
        }
    }
}

/// The values whose presence `pr`, `eq null` and `ne null` judge. RFC 7644 §3.4.2.2 `pr`:
/// "If the attribute has a non-empty value, or if it contains a non-empty node for complex
/// attributes, there is a match." Without a sub-attribute that is the attribute's whole
/// value, so an element of a multi-valued complex attribute counts with any member
/// (`addresses` holding `{"type": "work", "locality": "x"}` is present), not only with a
/// `value`; with one, it is that sub-attribute of each element.
fn presence_values<'v>(path: &AttrPath, node: &'v Value, scope: Scope<'_>) -> Vec<&'v Value> {
    match path.sub_attr {
        None => lookup(path, node, scope).0.into_iter().collect(),
        Some(_) => candidates(path, node, scope).0,
    }
}

/// Non-empty: not null, not `""`, not `[]`, not an object with no present member.
fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(map) => map.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// Assigned: not null, not `[]`, not an object whose members are all unassigned
/// (RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array … SHALL be
/// considered to be equivalent in \"state\""). `""` is assigned but not present.
fn is_assigned(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(items) => items.iter().any(is_assigned),
        Value::Object(map) => map.values().any(is_assigned),
        Value::String(_) | Value::Bool(_) | Value::Number(_) => true,
    }
}

fn attr_exp(
    path: &AttrPath,
    op: &AttrOp,
    node: &Value,
    scope: Scope<'_>,
) -> Result<bool, EvalError> {
    let (cmp, target) = match op {
        AttrOp::Present => {
            return Ok(presence_values(path, node, scope)
                .into_iter()
                .any(is_present))
        }
        AttrOp::Compare(cmp, target) => (*cmp, target),
    };
    let (values, def) = candidates(path, node, scope);
    let present: Vec<&Value> = values.into_iter().filter(|v| !v.is_null()).collect();
    // Where the schema defines the path, `check` has judged the ordering already; where
    // it does not, the values are all there is to go by.
    if def.is_none()
        && matches!(
            cmp,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    {
        check_orderable(path, cmp, &present)?;
    }
    if let CompValue::Null = target {
        let assigned = || {
            presence_values(path, node, scope)
                .into_iter()
                .any(is_assigned)
        };
        return Ok(match cmp {
            CompareOp::Eq => !assigned(),
            CompareOp::Ne => assigned(),
            _ => false,
        });
    }
    if cmp == CompareOp::Ne && present.is_empty() {
        return Ok(true);
    }
    let case_exact = def.is_some_and(|d| d.case_exact);
    let date_time = def.map(|d| d.kind == AttrType::DateTime);
    Ok(present
        .iter()
        .any(|v| compare(v, cmp, target, case_exact, date_time)))
}

/// Ordering a path no schema defines: refused when its values are booleans or objects (a
/// `true`/`false` literal was refused by `check` already).
fn check_orderable(path: &AttrPath, op: CompareOp, values: &[&Value]) -> Result<(), EvalError> {
    let kind = if values.iter().any(|v| v.is_boolean()) {
        Some("boolean")
    } else if values.iter().any(|v| v.is_object()) {
        Some("complex")
    } else {
        None
    };
    match kind {
        Some(kind) => Err(EvalError::NotOrderable {
            op,
            kind,
            path: path.to_string(),
        }),
        None => Ok(()),
    }
}

fn parse_instant(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn fold(s: &str, case_exact: bool) -> std::borrow::Cow<'_, str> {
    if case_exact {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.to_lowercase())
    }
}

fn compare(
    value: &Value,
    op: CompareOp,
    target: &CompValue,
    case_exact: bool,
    date_time: Option<bool>,
) -> bool {
    let ordering = match (value, target) {
        (Value::String(a), CompValue::String(b)) => {
            let as_instants = match date_time {
                Some(true) | None => parse_instant(a).zip(parse_instant(b)),
                Some(false) => None,
            };
            if let Some((x, y)) = as_instants {
                Some(x.cmp(&y))
            } else if !case_exact && a.is_ascii() && b.is_ascii() {
                // ASCII text lower-cases byte by byte: the same answers as `fold`, with no
                // allocation (a scan compares every resource).
                let (x, y) = (a.as_bytes(), b.as_bytes());
                match op {
                    // `windows(0)` panics, so the empty needle is answered first.
                    CompareOp::Co => {
                        return y.is_empty()
                            || x.windows(y.len()).any(|w| w.eq_ignore_ascii_case(y))
                    }
                    CompareOp::Sw => {
                        return x.len() >= y.len() && x[..y.len()].eq_ignore_ascii_case(y)
                    }
                    CompareOp::Ew => {
                        return x.len() >= y.len() && x[x.len() - y.len()..].eq_ignore_ascii_case(y)
                    }
                    _ => Some(
                        x.iter()
                            .map(u8::to_ascii_lowercase)
                            .cmp(y.iter().map(u8::to_ascii_lowercase)),
                    ),
                }
            } else {
                let (a, b) = (fold(a, case_exact), fold(b, case_exact));
                match op {
                    CompareOp::Co => return a.contains(b.as_ref()),
                    CompareOp::Sw => return a.starts_with(b.as_ref()),
                    CompareOp::Ew => return a.ends_with(b.as_ref()),
                    _ => Some(a.as_ref().cmp(b.as_ref())),
                }
            }
        }
        (Value::Number(a), CompValue::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => a
                .as_f64()
                .zip(b.as_f64())
                .and_then(|(x, y)| x.partial_cmp(&y)),
        },
        (Value::Bool(a), CompValue::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    };
    let Some(ord) = ordering else {
        return false;
    };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        // co/sw/ew on instants, numbers or booleans: substring tests need strings.
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod ascii_fast_path {
    //! The allocation-free comparison of ASCII strings gives `fold`'s answers.
    use super::*;
    use proptest::prelude::*;

    fn by_fold(a: &str, op: CompareOp, b: &str) -> bool {
        let (a, b) = (a.to_lowercase(), b.to_lowercase());
        let ord = a.cmp(&b);
        match op {
            CompareOp::Co => a.contains(&b),
            CompareOp::Sw => a.starts_with(&b),
            CompareOp::Ew => a.ends_with(&b),
            CompareOp::Eq => ord == Ordering::Equal,
            CompareOp::Ne => ord != Ordering::Equal,
            CompareOp::Gt => ord == Ordering::Greater,
            CompareOp::Ge => ord != Ordering::Less,
            CompareOp::Lt => ord == Ordering::Less,
            CompareOp::Le => ord != Ordering::Greater,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        #[test]
        fn ascii_comparisons_agree_with_folding(
            a in "[aAbB_Z~ ]{0,5}",
            b in "[aAbB_Z~ ]{0,3}",
            op in proptest::sample::select(CompareOp::ALL.to_vec()),
        ) {
            let got = compare(&Value::String(a.clone()), op, &CompValue::String(b.clone()), false, Some(false));
            prop_assert_eq!(got, by_fold(&a, op, &b), "{:?} {} {:?}", a, op, b);
        }
    }
}
