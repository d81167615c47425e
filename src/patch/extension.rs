//! PATCH paths that start with the URN of an extension the resource schema lists, where
//! the generic path grammar would misread them:
//!
//! - the URN alone (`urn:…:enterprise:2.0:User`) names the extension object itself
//!   (RFC 7644 §3.10: an extension's attributes live in a complex attribute keyed by its
//!   URN). `add`/`replace` merge the value's attributes into it, one attribute at a time,
//!   as for any complex attribute (RFC 7644 §3.5.2.1, §3.5.2.3: attributes not in the
//!   value are left unchanged); `remove`, or a `null` value, drops the object and its URN
//!   from `schemas` (RFC 7644 §3.5.2.2, RFC 7643 §3).
//! - the pre-2018 dot notation `urn:…:enterprise:2.0:User.department` (Microsoft Learn,
//!   "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft
//!   Entra user provisioning service") is read as `urn:…:enterprise:2.0:User:department`
//!   ([`Quirk::UrnDotAttribute`]); without this, the grammar takes `…:2.0` as a URN and
//!   `User.department` as a made-up attribute.

use serde_json::{Map, Value};

use super::dialect::{Dialect, Quirk};
use super::value::{key_in, means_clear};
use super::Kind;
use crate::filter::PatchPath;
use crate::scim::{ResourceSchema, Schema};
use crate::{Error, Result};

/// What a path says about a listed extension.
#[derive(Debug)]
pub(super) enum ExtPath<'s> {
    /// The extension's own URN, and whether the resource type requires the extension.
    Object(&'s Schema, bool),
    /// `URN.attr` rewritten as `URN:attr`.
    Dotted(String),
}

/// Classifies `path` when it starts with a listed extension's URN (case-insensitively,
/// RFC 7643 §2.1) followed by nothing or by `.`; other paths are `None`.
pub(super) fn classify<'s>(path: &str, schema: &'s ResourceSchema) -> Option<ExtPath<'s>> {
    for (ext, required) in &schema.extensions {
        let n = ext.id.len();
        let Some(head) = path.get(..n) else { continue };
        if !head.eq_ignore_ascii_case(&ext.id) {
            continue;
        }
        let rest = path.get(n..).unwrap_or_default();
        if rest.is_empty() {
            return Some(ExtPath::Object(ext, *required));
        }
        if let Some(attr) = rest.strip_prefix('.') {
            return Some(ExtPath::Dotted(format!("{}:{attr}", ext.id)));
        }
    }
    None
}

/// `URN.attr` as `URN:attr`, when the dialect admits the dot notation.
pub(super) fn dotted(original: &str, rewritten: String, dialect: Dialect) -> Result<String> {
    dialect.allow(Quirk::UrnDotAttribute, original, original)?;
    Ok(rewritten)
}

/// What an operation on the extension object does.
#[derive(Debug)]
pub(super) enum ObjectEdit {
    /// Drop the object and its URN from `schemas`.
    Drop,
    /// Apply each `(path, value)` as an operation of the same kind.
    Each(Vec<(PatchPath, Value)>),
}

/// The edits `kind` with `value` makes on the extension object `ext`.
pub(super) fn object_edit(
    kind: Kind,
    ext: &Schema,
    value: Option<Value>,
    dialect: Dialect,
) -> Result<ObjectEdit> {
    let value = match (kind, value) {
        (Kind::Remove, _) => return Ok(ObjectEdit::Drop),
        (_, None) => {
            return Err(Error::invalid_value(format!(
                "`{}` on `{}` needs a value: an object of that extension's attributes \
                 (RFC 7644 §3.5.2)",
                kind.as_str(),
                ext.id
            )))
        }
        (_, Some(v)) if means_clear(&v, dialect) => return Ok(ObjectEdit::Drop),
        (_, Some(v)) => v,
    };
    let Value::Object(map) = value else {
        return Err(Error::invalid_value(format!(
            "`{}` on `{}` expects an object of that extension's attributes",
            kind.as_str(),
            ext.id
        )));
    };
    let mut out = Vec::with_capacity(map.len());
    for (key, v) in map {
        if is_schemas_key(&key) {
            continue;
        }
        let mut path = super::path::parse_key(&key)?;
        if path.urn.is_some() || path.sub_attr.is_some() {
            return Err(Error::invalid_value(format!(
                "key {key:?} inside `{}` must be a plain attribute name",
                ext.id
            )));
        }
        path.urn = Some(ext.id.clone());
        out.push((PatchPath::Attr(path), v));
    }
    Ok(ObjectEdit::Each(out))
}

/// A `schemas` member inside an extension object's value (clients built on a model of the
/// extension send one). RFC 7643 §3 makes `schemas` a resource-level attribute; inside
/// the extension it names nothing, so it is skipped rather than stored as data.
pub(super) fn is_schemas_key(key: &str) -> bool {
    key.eq_ignore_ascii_case("schemas")
}

/// Removes the extension object `ext` from `doc` and its URN from `schemas`: refused
/// when the resource type requires the extension or one of its attributes is required
/// and set (RFC 7644 §3.5.2.2: "mutability").
pub(super) fn drop_object(
    doc: &mut Map<String, Value>,
    ext: &Schema,
    required: bool,
) -> Result<()> {
    let Some(key) = key_in(doc, &ext.id) else {
        return Ok(());
    };
    if required {
        return Err(Error::mutability(format!(
            "the extension `{}` is required on this resource type (RFC 7643 §6) and cannot be \
             removed",
            ext.id
        )));
    }
    if let Some(Value::Object(inner)) = doc.get(&key) {
        if let Some(a) = ext
            .attributes
            .iter()
            .find(|a| a.required && key_in(inner, &a.name).is_some())
        {
            return Err(Error::mutability(format!(
                "`{}:{}` is required and cannot be removed (RFC 7644 §3.5.2.2)",
                ext.id, a.name
            )));
        }
    }
    doc.shift_remove(&key);
    if let Some(Value::Array(list)) = doc.get_mut("schemas") {
        list.retain(|v| !v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&ext.id)));
    }
    Ok(())
}

/// An attribute path inside an extension, for tests and callers that build one.
#[cfg(test)]
fn qualified(ext: &str, name: &str) -> PatchPath {
    let mut a = crate::filter::AttrPath::new(name, None);
    a.urn = Some(ext.to_owned());
    PatchPath::Attr(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::urn;
    use crate::scim::user_resource;
    use serde_json::json;

    #[test]
    fn the_bare_urn_names_the_extension_object() {
        let users = user_resource();
        assert!(matches!(
            classify(urn::ENTERPRISE_USER, &users),
            Some(ExtPath::Object(s, false)) if s.id == urn::ENTERPRISE_USER
        ));
        let upper = urn::ENTERPRISE_USER.to_ascii_uppercase();
        assert!(matches!(
            classify(&upper, &users),
            Some(ExtPath::Object(..))
        ));
        let colon = format!("{}:department", urn::ENTERPRISE_USER);
        assert!(classify(&colon, &users).is_none());
        assert!(classify("urn:ietf", &users).is_none());
    }

    // row C22: the pre-2018 dot notation.
    #[test]
    fn the_dot_notation_is_rewritten_with_a_colon() {
        let users = user_resource();
        let dot = format!("{}.department", urn::ENTERPRISE_USER);
        let Some(ExtPath::Dotted(p)) = classify(&dot, &users) else {
            panic!("not dotted")
        };
        assert_eq!(p, format!("{}:department", urn::ENTERPRISE_USER));
        assert!(dotted(&dot, p.clone(), Dialect::Rfc)
            .unwrap_err()
            .to_string()
            .contains("urn-dot-attribute"));
    }

    #[test]
    fn add_on_the_object_becomes_one_edit_per_attribute() {
        let users = user_resource();
        let ext = users.schema(urn::ENTERPRISE_USER).unwrap();
        let edit = object_edit(
            Kind::Add,
            ext,
            Some(json!({"department": "d", "employeeNumber": "7"})),
            Dialect::Entra,
        )
        .unwrap();
        let ObjectEdit::Each(pairs) = edit else {
            panic!("not a merge")
        };
        assert_eq!(pairs[0].0, qualified(urn::ENTERPRISE_USER, "department"));
        assert_eq!(pairs.len(), 2);
        assert!(matches!(
            object_edit(Kind::Replace, ext, Some(Value::Null), Dialect::Rfc).unwrap(),
            ObjectEdit::Drop
        ));
        assert!(object_edit(Kind::Add, ext, Some(json!("x")), Dialect::Entra).is_err());
    }
}
