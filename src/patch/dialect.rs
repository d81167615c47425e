//! Entra's PATCH dialects (entra-provisioning.md §4): the legacy job (PascalCase ops,
//! boolean strings, members removed by value list, manager as a string) and the
//! `aadOptscim062020` job (RFC-style). Both are accepted by default; `strict_rfc` refuses
//! the legacy forms with a detail naming the quirk. Value-level quirks live in `value.rs`,
//! member quirks in `members.rs`; this module owns op names and filter literals.

use super::value::bool_string;
use super::Kind;
use crate::filter::{AttrOp, CompValue, Filter};
use crate::scim::schema::{AttrType, Attribute};
use crate::{Error, Result};

/// The operation an `op` string names. RFC 7644 §3.5.2 spells them `add`, `replace`,
/// `remove`; the legacy Entra job sends `Add`, `Replace`, `Remove` (§4.3).
pub(super) fn op_kind(op: &str, strict: bool) -> Result<Kind> {
    let kind = if op.eq_ignore_ascii_case("add") {
        Kind::Add
    } else if op.eq_ignore_ascii_case("replace") {
        Kind::Replace
    } else if op.eq_ignore_ascii_case("remove") {
        Kind::Remove
    } else {
        return Err(Error::invalid_syntax(format!(
            "unknown op {op:?}; expected \"add\", \"replace\" or \"remove\" (RFC 7644 §3.5.2)"
        )));
    };
    if strict && op != kind.as_str() {
        return Err(Error::invalid_syntax(format!(
            "op {op:?} is Entra's legacy PascalCase dialect (entra-provisioning.md §4.3); \
             strict RFC mode takes {:?} (RFC 7644 §3.5.2)",
            kind.as_str()
        )));
    }
    Ok(kind)
}

/// A value filter with `"True"`/`"False"` string literals turned into booleans where they
/// compare a boolean sub-attribute of `def`: Entra maps roles to
/// `roles[primary eq "True"].value` (entra-provisioning.md §7.6), which must match the
/// stored `primary: true`.
pub(super) fn coerce_filter(f: &Filter, def: &Attribute) -> Filter {
    match f {
        Filter::Attr(exp) => {
            let mut exp = exp.clone();
            let boolean = exp.path.urn.is_none()
                && exp.path.sub_attr.is_none()
                && def
                    .sub_attribute(&exp.path.name)
                    .is_some_and(|d| d.kind == AttrType::Boolean);
            if let AttrOp::Compare(op, CompValue::String(s)) = &exp.op {
                if let Some(b) = bool_string(s).filter(|_| boolean) {
                    exp.op = AttrOp::Compare(*op, CompValue::Bool(b));
                }
            }
            Filter::Attr(exp)
        }
        Filter::Not(inner) => Filter::Not(Box::new(coerce_filter(inner, def))),
        Filter::And(ops) => Filter::And(ops.iter().map(|f| coerce_filter(f, def)).collect()),
        Filter::Or(ops) => Filter::Or(ops.iter().map(|f| coerce_filter(f, def)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_names_are_case_insensitive_unless_strict() {
        assert_eq!(op_kind("Replace", false).unwrap(), Kind::Replace);
        assert_eq!(op_kind("ADD", false).unwrap(), Kind::Add);
        assert!(op_kind("Replace", true)
            .unwrap_err()
            .to_string()
            .contains("legacy PascalCase"));
        assert!(op_kind("move", false).is_err());
    }

    #[test]
    fn string_true_in_a_roles_filter_becomes_a_boolean() {
        let users = crate::scim::schema::user_resource();
        let roles = users.resolve(None, "roles", None).unwrap();
        let f = crate::filter::parse(r#"primary eq "True""#).unwrap();
        assert_eq!(coerce_filter(&f, roles).to_string(), "primary eq true");
    }
}
