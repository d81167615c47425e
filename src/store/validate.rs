//! Turning a client's JSON body into a storable resource (RFC 7643 §2, §3, §7;
//! RFC 7644 §3.3, §3.5.1): explicit nulls dropped (treated as absent), `readOnly`
//! attributes ignored, types checked against the schema, required attributes present,
//! `schemas` normalised. Unknown attributes are kept untouched: we never drop data.

use serde_json::{Map, Value};

use super::ResourceKind;
use crate::scim::urn;
use crate::scim::{AttrType, Attribute, Mutability, ResourceSchema};
use crate::{Error, Result};

/// Removes `null` members of objects and `null` elements of arrays, recursively.
/// serde_json's recursion limit (128) bounds the depth of anything we are given.
pub(crate) fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => {
            items.retain(|v| !v.is_null());
            items.iter_mut().for_each(drop_nulls);
        }
        _ => {}
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_scalar(path: &str, attr: &Attribute, v: &Value) -> Result<()> {
    let ok = match attr.kind {
        AttrType::String | AttrType::Reference | AttrType::Binary => v.is_string(),
        AttrType::DateTime => v.as_str().is_some_and(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
        }),
        AttrType::Boolean => v.is_boolean(),
        AttrType::Integer => v.is_i64() || v.is_u64(),
        AttrType::Decimal => v.is_number(),
        AttrType::Complex => v.is_object(),
    };
    if ok {
        return Ok(());
    }
    let want = match attr.kind {
        AttrType::DateTime => "an RFC 3339 dateTime string",
        AttrType::Boolean => "a boolean (true or false)",
        AttrType::Integer => "an integer",
        AttrType::Decimal => "a number",
        AttrType::Complex => "an object",
        _ => "a string",
    };
    Err(Error::invalid_value(format!(
        "attribute `{path}` must be {want}, got {}",
        type_name(v)
    )))
}

fn check_attr(path: &str, attr: &Attribute, v: &Value) -> Result<()> {
    if attr.multi_valued {
        let Value::Array(items) = v else {
            return Err(Error::invalid_value(format!(
                "attribute `{path}` is multi-valued and must be an array, got {}",
                type_name(v)
            )));
        };
        for item in items {
            check_single(path, attr, item)?;
        }
        Ok(())
    } else {
        check_single(path, attr, v)
    }
}

fn check_single(path: &str, attr: &Attribute, v: &Value) -> Result<()> {
    check_scalar(path, attr, v)?;
    if let (AttrType::Complex, Value::Object(map)) = (attr.kind, v) {
        for (key, sub_value) in map {
            if let Some(sub) = attr.sub_attribute(key) {
                check_scalar(&format!("{path}.{}", sub.name), sub, sub_value)?;
            }
        }
    }
    Ok(())
}

/// Checks every schema-known attribute of `obj` (core and, inside their URN-keyed
/// objects, extensions), dropping `readOnly` ones: RFC 7644 §3.5.1 says such values
/// "SHALL be ignored".
fn check_schema(obj: &mut Map<String, Value>, schema: &ResourceSchema) -> Result<()> {
    let mut read_only = Vec::new();
    for (key, v) in obj.iter_mut() {
        if let Some(attr) = schema.core.attribute(key) {
            if attr.mutability == Mutability::ReadOnly {
                read_only.push(key.clone());
                continue;
            }
            check_attr(&attr.name, attr, v)?;
        } else if let Some(ext) = schema.schema(key) {
            let Value::Object(inner) = v else {
                return Err(Error::invalid_value(format!(
                    "extension `{key}` must be an object, got {}",
                    type_name(v)
                )));
            };
            let mut ext_read_only = Vec::new();
            for (sub_key, sub_v) in inner.iter() {
                if let Some(attr) = ext.attribute(sub_key) {
                    if attr.mutability == Mutability::ReadOnly {
                        ext_read_only.push(sub_key.clone());
                        continue;
                    }
                    check_attr(&format!("{key}:{}", attr.name), attr, sub_v)?;
                }
            }
            inner.retain(|k, _| !ext_read_only.contains(k));
        }
    }
    obj.retain(|k, _| !read_only.contains(k));
    Ok(())
}

/// `schemas` (RFC 7643 §3): when sent, an array of strings that includes the core URN.
/// Extra URNs are tolerated (Entra adds
/// `http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group`, §1.10).
/// The stored value is the core URN plus every URN-keyed object the resource carries.
fn normalise_schemas(kind: ResourceKind, obj: &mut Map<String, Value>) -> Result<()> {
    let core = kind.schema_urn();
    if let Some(sent) = obj.shift_remove("schemas") {
        let Value::Array(items) = &sent else {
            return Err(Error::invalid_value(format!(
                "`schemas` must be an array of schema URNs, got {}",
                type_name(&sent)
            )));
        };
        let mut has_core = false;
        for item in items {
            let Some(s) = item.as_str() else {
                return Err(Error::invalid_value("`schemas` must contain only strings"));
            };
            has_core |= s.eq_ignore_ascii_case(core);
        }
        if !has_core {
            return Err(Error::invalid_value(format!(
                "`schemas` must include `{core}` for a {} (got {sent})",
                kind.resource_type()
            )));
        }
    }
    let mut schemas = vec![Value::String(core.to_owned())];
    for (key, v) in obj.iter() {
        if urn::is_schema_urn(key) && v.is_object() {
            schemas.push(Value::String(key.clone()));
        }
    }
    // `schemas` first, as in every RFC example.
    let rest = std::mem::take(obj);
    obj.insert("schemas".into(), Value::Array(schemas));
    obj.extend(rest);
    Ok(())
}

/// A body ready to store, and (for groups) the `members` it carried, if any.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) resource: Map<String, Value>,
    pub(crate) members: Option<Vec<Map<String, Value>>>,
}

/// Validates and normalises a POST/PUT body for `kind`.
pub(crate) fn prepare(
    kind: ResourceKind,
    body: Value,
    schema: &ResourceSchema,
) -> Result<Prepared> {
    let mut body = body;
    drop_nulls(&mut body);
    let Value::Object(mut obj) = body else {
        return Err(Error::invalid_syntax(format!(
            "the body must be a JSON object (a SCIM {}), got {}",
            kind.resource_type(),
            type_name(&body)
        )));
    };
    let members = match obj.shift_remove("members") {
        Some(v) if kind == ResourceKind::Group => Some(parse_members(v)?),
        Some(v) => {
            obj.insert("members".into(), v);
            None
        }
        None => None,
    };
    normalise_schemas(kind, &mut obj)?;
    check_schema(&mut obj, schema)?;
    let unique = kind.unique_attr();
    match obj.get(unique) {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        _ => {
            return Err(Error::invalid_value(format!(
                "`{unique}` is required and must be a non-empty string (RFC 7643 §4)"
            )))
        }
    }
    // Stored text must stay readable by the store's own reader (store/bounds.rs).
    super::bounds::check_object(kind.resource_type(), &obj)?;
    Ok(Prepared {
        resource: obj,
        members,
    })
}

/// Member objects (RFC 7643 §4.2): each an object with a string `value`.
pub(crate) fn parse_members(v: Value) -> Result<Vec<Map<String, Value>>> {
    let Value::Array(items) = v else {
        return Err(Error::invalid_value(format!(
            "`members` must be an array of {{\"value\": \"<id>\"}} objects, got {}",
            type_name(&v)
        )));
    };
    items.into_iter().map(member_object).collect()
}

/// One member object, nulls removed, `value` checked.
pub(crate) fn member_object(v: Value) -> Result<Map<String, Value>> {
    let mut v = v;
    drop_nulls(&mut v);
    let Value::Object(map) = v else {
        return Err(Error::invalid_value(format!(
            "each member must be an object like {{\"value\": \"<id>\"}}, got {}",
            type_name(&v)
        )));
    };
    match map.get("value") {
        Some(Value::String(s)) if !s.is_empty() => Ok(map),
        _ => Err(Error::invalid_value(
            "each member needs a non-empty string `value` (the member's id)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::{group_resource, user_resource};
    use serde_json::json;

    #[test]
    fn nulls_are_treated_as_absent() {
        let p = prepare(
            ResourceKind::User,
            json!({"userName": "a", "title": null, "addresses": null, "emails": [null]}),
            &user_resource(),
        )
        .unwrap();
        assert_eq!(
            Value::Object(p.resource),
            json!({"schemas": [urn::USER], "userName": "a", "emails": []})
        );
    }

    #[test]
    fn wrong_types_are_invalid_values() {
        let e = prepare(
            ResourceKind::User,
            json!({"userName": "a", "active": "yes"}),
            &user_resource(),
        )
        .unwrap_err();
        assert!(
            e.kind() == crate::error::ErrorKind::InvalidValue && e.to_string().contains("active")
        );
    }

    #[test]
    fn microsoft_group_schema_uri_is_tolerated_and_dropped() {
        let p = prepare(
            ResourceKind::Group,
            json!({"schemas": [urn::GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                   "displayName": "g", "members": []}),
            &group_resource(),
        )
        .unwrap();
        assert_eq!(p.resource["schemas"], json!([urn::GROUP]));
        assert_eq!(p.members.unwrap().len(), 0);
    }
}
