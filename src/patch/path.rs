//! PATCH targets: an RFC 7644 §3.5.2 `path` (parsed by [`crate::filter::parse_path`], the
//! one path grammar) resolved against the resource schema, and path-less `add`/`replace`
//! values expanded into one target per attribute, including Entra's dotted and
//! URN-qualified keys (entra-provisioning.md §4.3c).

use serde_json::Value;

use super::dialect::{Dialect, Quirk};
use crate::filter::{self, AttrPath, Filter, PatchPath};
use crate::scim::urn;
use crate::scim::{AttrType, Attribute, ResourceSchema};
use crate::{Error, Result};

/// Where one edit lands.
#[derive(Debug)]
pub(super) struct Target<'s> {
    /// The extension object holding the attribute (its URN), `None` for the top level.
    pub ext: Option<String>,
    /// The attribute name, canonical when the schema knows it.
    pub name: String,
    pub def: Option<&'s Attribute>,
    /// The sub-attribute, canonical when the schema knows it.
    pub sub: Option<String>,
    pub sub_def: Option<&'s Attribute>,
    /// The value filter of a `valuePath`, with Entra's boolean strings coerced.
    pub filter: Option<Filter>,
    /// The path as text, for error details.
    pub label: String,
}

/// Resolves `path` against `schema`. Unknown attributes are kept as data unless `strict`.
pub(super) fn resolve<'s>(
    path: &PatchPath,
    schema: &'s ResourceSchema,
    dialect: Dialect,
) -> Result<Target<'s>> {
    let (attr, sub, filter) = match path {
        PatchPath::Attr(a) => (a, a.sub_attr.as_deref(), None),
        PatchPath::Value {
            value_path,
            sub_attr,
        } => (
            &value_path.attr,
            sub_attr.as_deref(),
            Some(&*value_path.filter),
        ),
    };
    let label = path.to_string();
    let (ext, def) = attribute(attr, schema, dialect);
    if def.is_none() && !dialect.admits(Quirk::UnknownAttribute) {
        return Err(Error::invalid_path(format!(
            "`{label}`: no attribute `{}` in the resource's schemas",
            attr.name
        )));
    }
    let sub_def = match (def, sub) {
        (Some(d), Some(s)) if d.kind != AttrType::Complex => {
            return Err(Error::invalid_path(format!(
                "`{label}`: `{}` is a {:?} attribute and has no sub-attribute `{s}`",
                d.name, d.kind
            )))
        }
        (Some(d), Some(s)) => {
            let found = d.sub_attribute(s);
            if found.is_none() && !dialect.admits(Quirk::UnknownAttribute) {
                return Err(Error::invalid_path(format!(
                    "`{label}`: `{}` has no sub-attribute `{s}`",
                    d.name
                )));
            }
            found
        }
        _ => None,
    };
    let filter = match (filter, def) {
        (Some(f), Some(d)) if dialect.admits(Quirk::BooleanFilterLiteral) => {
            Some(super::dialect::coerce_filter(f, d))
        }
        (f, _) => f.cloned(),
    };
    Ok(Target {
        ext,
        name: def.map_or_else(|| attr.name.clone(), |d| d.name.clone()),
        def,
        sub: sub.map(|s| sub_def.map_or_else(|| s.to_owned(), |d| d.name.clone())),
        sub_def,
        filter,
        label,
    })
}

/// The container and definition of a top-level attribute path.
fn attribute<'s>(
    attr: &AttrPath,
    schema: &'s ResourceSchema,
    dialect: Dialect,
) -> (Option<String>, Option<&'s Attribute>) {
    match &attr.urn {
        Some(u) if u.eq_ignore_ascii_case(&schema.core.id) => {
            (None, schema.resolve(None, &attr.name, None))
        }
        Some(u) => match schema.schema(u) {
            Some(s) => (Some(s.id.clone()), s.attribute(&attr.name)),
            // A custom extension the schema does not list (entra-provisioning.md §7.4).
            None => (Some(u.clone()), None),
        },
        None => match schema.resolve(None, &attr.name, None) {
            Some(d) => (None, Some(d)),
            None if !dialect.admits(Quirk::UnqualifiedExtensionAttribute) => (None, None),
            // entra-provisioning.md §1.18 Example 5 sends the enterprise `manager` unqualified;
            // take an unqualified name from the one extension that defines it.
            None => {
                let mut hits = schema
                    .extensions
                    .iter()
                    .filter_map(|(s, _)| s.attribute(&attr.name).map(|a| (s.id.clone(), a)));
                match (hits.next(), hits.next()) {
                    (Some((id, a)), None) => (Some(id), Some(a)),
                    _ => (None, None),
                }
            }
        },
    }
}

/// Expands a path-less `add`/`replace` value (RFC 7644 §3.5.2.1: "the target location is
/// assumed to be the resource itself") into `(path, value)` pairs, one per attribute.
pub(super) fn expand(
    value: Value,
    schema: &ResourceSchema,
    dialect: Dialect,
) -> Result<Vec<(PatchPath, Value)>> {
    let Value::Object(map) = value else {
        return Err(Error::invalid_value(
            "an operation without `path` needs an object value (RFC 7644 §3.5.2.1)",
        ));
    };
    let mut out = Vec::new();
    for (key, v) in map {
        if let Some(s) = schema.schema(&key) {
            let ext = (!s.id.eq_ignore_ascii_case(&schema.core.id)).then(|| s.id.clone());
            nested(&mut out, ext, &key, v, dialect)?;
            continue;
        }
        let path = parse_key(&key)?;
        let unknown = schema
            .resolve(path.urn.as_deref(), &path.name, None)
            .is_none();
        if urn::is_schema_urn(&key) && v.is_object() && unknown {
            // `"urn:…:CustomExtensionName:2.0:User": {…}`: an extension object the schema
            // does not list (entra-provisioning.md §7.4).
            nested(&mut out, Some(key.clone()), &key, v, dialect)?;
            continue;
        }
        if path.urn.is_some() || path.sub_attr.is_some() {
            dialect.allow(Quirk::DottedKey, &key, &key)?;
        }
        out.push((PatchPath::Attr(path), v));
    }
    Ok(out)
}

/// The members of an extension object (or the core schema's object) as attribute paths.
fn nested(
    out: &mut Vec<(PatchPath, Value)>,
    ext: Option<String>,
    key: &str,
    value: Value,
    dialect: Dialect,
) -> Result<()> {
    let Value::Object(map) = value else {
        return Err(Error::invalid_value(format!(
            "`{key}` in a path-less value must be an object of that schema's attributes"
        )));
    };
    for (k, v) in map {
        if ext.is_some() && super::extension::is_schemas_key(&k) {
            continue;
        }
        let mut path = parse_key(&k)?;
        if path.urn.is_some() || (path.sub_attr.is_some() && !dialect.admits(Quirk::DottedKey)) {
            return Err(Error::invalid_value(format!(
                "key {k:?} inside `{key}` must be a plain attribute name"
            )));
        }
        path.urn.clone_from(&ext);
        out.push((PatchPath::Attr(path), v));
    }
    Ok(())
}

pub(super) fn parse_key(key: &str) -> Result<AttrPath> {
    match filter::parse_path(key) {
        Ok(PatchPath::Attr(a)) => Ok(a),
        Ok(PatchPath::Value { .. }) => Err(Error::invalid_path(format!(
            "key {key:?} in a path-less value cannot carry a `[filter]`"
        ))),
        Err(e) => Err(Error::invalid_path(format!(
            "key {key:?} in a path-less value: {e}"
        ))),
    }
}
