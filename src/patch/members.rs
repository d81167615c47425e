//! Group membership as PATCH sees it: every operation that targets `members` becomes a
//! [`MemberOp`] instead of an edit of the resource JSON, because the store keeps members
//! indexed (RFC 7644 §3.5.2; entra-provisioning.md §1.14, §1.15, §4.3d).
//!
//! This module owns the translation (path + value → `MemberOp`). The type and its
//! reference semantics on a plain list ([`MemberOp::apply_to`]) are the store's
//! instruction language and live in [`crate::store`]. Whether a member id exists is the
//! store's question, not this module's.

use serde_json::{Map, Value};

use super::dialect::{Dialect, Quirk};
use super::Kind;
use crate::filter::{AttrOp, CompValue, CompareOp, Filter, PatchPath};
use crate::store::{member_id, MemberOp};
use crate::{Error, Result};

/// True when `path` names the members attribute `members_attr` (unqualified or qualified
/// with the core schema URN `core`).
pub(super) fn is_members_path(path: &PatchPath, members_attr: &str, core: &str) -> bool {
    let attr = match path {
        PatchPath::Attr(a) => a,
        PatchPath::Value { value_path, .. } => &value_path.attr,
    };
    attr.name.eq_ignore_ascii_case(members_attr)
        && attr
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(core))
}

/// Translates one operation on `members` into member operations.
pub(super) fn member_ops(
    kind: Kind,
    path: &PatchPath,
    value: Option<Value>,
    dialect: Dialect,
) -> Result<Vec<MemberOp>> {
    let read_only = || {
        Error::mutability(format!(
            "`{path}`: member sub-attributes are immutable (`value`, `$ref`, `type`) or readOnly \
             (`display`); add or remove whole members instead"
        ))
    };
    match path {
        PatchPath::Attr(a) if a.sub_attr.is_some() => Err(read_only()),
        PatchPath::Value {
            sub_attr: Some(_), ..
        } => Err(read_only()),
        PatchPath::Attr(_) => match (kind, value) {
            (Kind::Add, Some(v)) => Ok(vec![MemberOp::Add(member_objects(v)?)]),
            (Kind::Replace, Some(v)) => Ok(vec![MemberOp::Replace(member_objects(v)?)]),
            (Kind::Add | Kind::Replace, None) => Err(Error::invalid_value(format!(
                "`{}` on `members` needs a value: a list of member objects (RFC 7644 §3.5.2)",
                kind.as_str()
            ))),
            (Kind::Remove, None | Some(Value::Null)) => Ok(vec![MemberOp::RemoveAll]),
            // entra-provisioning.md §1.15/§4.3d: the legacy dialect removes members with
            // `path: "members"` plus a value list. It must NOT mean "remove all".
            (Kind::Remove, Some(v)) => {
                dialect.allow(Quirk::RemoveMembersByValueList, "members", "")?;
                let ids = member_objects(v)?
                    .iter()
                    .filter_map(member_id)
                    .map(str::to_owned)
                    .collect();
                Ok(vec![MemberOp::Remove(ids)])
            }
        },
        PatchPath::Value { value_path, .. } => {
            let removal = match plain_ids(&value_path.filter) {
                Some(ids) => MemberOp::Remove(ids),
                None => MemberOp::RemoveWhere((*value_path.filter).clone()),
            };
            // A filter that matches no member: Entra's retries make it a no-op (remove) or
            // add the value anyway (add, replace); strict RFC mode answers `noTarget`, as
            // for any other multi-valued attribute (RFC 7644 §3.5.2.3, §3.12).
            let quirk = match kind {
                Kind::Remove => Quirk::RemoveOfNothing,
                Kind::Add | Kind::Replace => Quirk::CreateOnAbsent,
            };
            let guard =
                (!dialect.admits(quirk)).then(|| MemberOp::MustMatch((*value_path.filter).clone()));
            let ops = match (kind, value) {
                (Kind::Remove, _) => vec![removal],
                (Kind::Add, Some(v)) => vec![MemberOp::Add(member_objects(v)?)],
                // RFC 7644 §3.5.2.3: the matching values are replaced by the new ones.
                (Kind::Replace, Some(v)) => vec![removal, MemberOp::Add(member_objects(v)?)],
                (Kind::Add | Kind::Replace, None) => {
                    return Err(Error::invalid_value(format!(
                        "`{path}`: add and replace need a value"
                    )))
                }
            };
            Ok(guard.into_iter().chain(ops).collect())
        }
    }
}

/// `value eq "a"` or `value eq "a" or value eq "b"`: the ids, else `None`.
fn plain_ids(f: &Filter) -> Option<Vec<String>> {
    match f {
        Filter::Attr(exp) => match (&exp.path, &exp.op) {
            (p, AttrOp::Compare(CompareOp::Eq, CompValue::String(id)))
                if p.urn.is_none() && p.is("value", None) =>
            {
                Some(vec![id.clone()])
            }
            _ => None,
        },
        Filter::Or(operands) => {
            let mut ids = Vec::new();
            for f in operands {
                ids.extend(plain_ids(f)?);
            }
            Some(ids)
        }
        _ => None,
    }
}

/// A value as member objects: a list (or one object), each with a string `value`.
fn member_objects(value: Value) -> Result<Vec<Value>> {
    let items = match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    items.into_iter().map(member_object).collect()
}

fn member_object(item: Value) -> Result<Value> {
    let Value::Object(map) = item else {
        return Err(Error::invalid_value(format!(
            "a member must be an object like {{\"value\": \"<id>\"}}, got {item}"
        )));
    };
    // The id key is matched case-insensitively and stored as `value`, so the store can
    // index it; every key keeps its place and value as sent.
    let mut out = Map::new();
    let mut has_id = false;
    for (k, v) in map {
        if k.eq_ignore_ascii_case("value") {
            if v.as_str().is_none_or(|s| s.is_empty()) {
                break;
            }
            has_id = true;
            out.insert("value".to_owned(), v);
        } else {
            out.insert(k, v);
        }
    }
    if !has_id {
        return Err(Error::invalid_value(
            "a member needs a non-empty string `value` (the member's id)",
        ));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter;
    use serde_json::json;

    #[test]
    fn add_skips_ids_already_present_and_remove_of_absent_is_a_no_op() {
        let mut list = vec![json!({"value": "a"})];
        MemberOp::Add(vec![
            json!({"value": "a", "display": "x"}),
            json!({"value": "b"}),
        ])
        .apply_to(&mut list);
        assert_eq!(list, vec![json!({"value": "a"}), json!({"value": "b"})]);
        MemberOp::Remove(vec!["zzz".into()]).apply_to(&mut list);
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn remove_where_drops_matching_members() {
        let mut list = vec![
            json!({"value": "a", "type": "User"}),
            json!({"value": "b", "type": "Group"}),
        ];
        let f = filter::parse(r#"type eq "group""#).unwrap();
        MemberOp::RemoveWhere(f).apply_to(&mut list);
        assert_eq!(list, vec![json!({"value": "a", "type": "User"})]);
    }

    #[test]
    fn strict_mode_guards_filtered_member_paths_and_entra_does_not() {
        let path = filter::parse_path(r#"members[value eq "nobody"]"#).unwrap();
        let f = filter::parse(r#"value eq "nobody""#).unwrap();
        let v = || Some(json!([{"value": "u1"}]));
        let strict = member_ops(Kind::Replace, &path, v(), Dialect::Rfc).unwrap();
        assert_eq!(strict[0], MemberOp::MustMatch(f.clone()));
        assert_eq!(strict.len(), 3);
        let strict = member_ops(Kind::Remove, &path, None, Dialect::Rfc).unwrap();
        assert_eq!(strict[0], MemberOp::MustMatch(f.clone()));
        let guard = MemberOp::MustMatch(f);
        assert!(guard.fails_on(&[json!({"value": "u1"})]));
        assert!(!guard.fails_on(&[json!({"value": "u1"}), json!({"value": "NOBODY"})]));
        for kind in [Kind::Add, Kind::Replace, Kind::Remove] {
            let value = (kind != Kind::Remove).then(v).flatten();
            let entra = member_ops(kind, &path, value, Dialect::Entra).unwrap();
            assert!(!entra.iter().any(|op| matches!(op, MemberOp::MustMatch(_))));
        }
    }

    #[test]
    fn or_of_plain_value_comparisons_becomes_remove() {
        let path = filter::parse_path(r#"members[value eq "a" or value eq "b"]"#).unwrap();
        let ops = member_ops(Kind::Remove, &path, None, Dialect::Entra).unwrap();
        assert_eq!(ops, vec![MemberOp::Remove(vec!["a".into(), "b".into()])]);
    }
}
