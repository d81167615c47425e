//! Attribute projection (RFC 7644 §3.4.2.5 `attributes` / `excludedAttributes`, §3.9)
//! honouring each attribute's `returned` (RFC 7643 §7): `always` (id, schemas) is never
//! removed, `never` (password) is never returned even if stored, `request` only when
//! named in `attributes`, `default` unless excluded. Unknown attributes count as `default`.

use serde_json::{Map, Value};

use crate::filter::AttrPath;
use crate::scim::{Attribute, ResourceSchema, Returned, Schema};

/// Which paths name `(urn, name)`: whole-attribute requests and sub-attribute names.
fn requested<'p>(
    paths: &'p [AttrPath],
    urn: Option<&str>,
    core: &str,
    name: &str,
) -> (bool, Vec<&'p str>) {
    let mut whole = false;
    let mut subs = Vec::new();
    for p in paths {
        let urn_ok = match (&p.urn, urn) {
            (None, _) => true,
            (Some(pu), Some(u)) => pu.eq_ignore_ascii_case(u),
            (Some(pu), None) => pu.eq_ignore_ascii_case(core),
        };
        if !urn_ok || !p.name.eq_ignore_ascii_case(name) {
            continue;
        }
        match &p.sub_attr {
            None => whole = true,
            Some(s) => subs.push(s.as_str()),
        }
    }
    (whole, subs)
}

fn keep_subs(value: &Value, keep: impl Fn(&str) -> bool + Copy) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| keep(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|i| keep_subs(i, keep)).collect()),
        other => other.clone(),
    }
}

/// Drops sub-attributes whose definition says `returned: never`.
fn strip_never(attr: Option<&Attribute>, value: Value) -> Value {
    let Some(attr) = attr else { return value };
    if attr
        .sub_attributes
        .iter()
        .all(|s| s.returned != Returned::Never)
    {
        return value;
    }
    let never = |k: &str| {
        attr.sub_attribute(k)
            .is_some_and(|s| s.returned == Returned::Never)
    };
    keep_subs(&value, |k| !never(k))
}

struct Ctx<'a> {
    schema: &'a ResourceSchema,
    attributes: &'a [AttrPath],
    excluded: &'a [AttrPath],
    core: &'a str,
}

/// Projects `obj`: the resource itself (`ext` None) or one extension's object.
fn project_map(
    ctx: &Ctx<'_>,
    obj: &Map<String, Value>,
    ext: Option<&Schema>,
) -> Map<String, Value> {
    let mut out = Map::new();
    let urn = ext.map(|s| s.id.as_str());
    for (key, value) in obj {
        if ext.is_none() {
            let schema = ctx
                .schema
                .extensions
                .iter()
                .find(|(s, _)| s.id.eq_ignore_ascii_case(key));
            if let (Some((schema, _)), Value::Object(inner)) = (schema, value) {
                let projected = project_map(ctx, inner, Some(schema));
                if !projected.is_empty() || (ctx.attributes.is_empty() && !excluded_whole(ctx, key))
                {
                    out.insert(key.clone(), Value::Object(projected));
                }
                continue;
            }
        }
        let def = match ext {
            Some(s) => s.attribute(key),
            None => ctx.schema.resolve(None, key, None),
        };
        let returned = def.map(|a| a.returned).unwrap_or_default();
        let value = match returned {
            Returned::Never => continue,
            Returned::Always => Some(value.clone()),
            _ if !ctx.attributes.is_empty() => {
                let (whole, subs) = requested(ctx.attributes, urn, ctx.core, key);
                if whole {
                    Some(value.clone())
                } else if !subs.is_empty() {
                    Some(keep_subs(value, |k| {
                        subs.iter().any(|s| s.eq_ignore_ascii_case(k))
                    }))
                } else {
                    None
                }
            }
            Returned::Request => None,
            Returned::Default => {
                let (whole, subs) = requested(ctx.excluded, urn, ctx.core, key);
                if whole {
                    None
                } else if !subs.is_empty() {
                    Some(keep_subs(value, |k| {
                        !subs.iter().any(|s| s.eq_ignore_ascii_case(k))
                    }))
                } else {
                    Some(value.clone())
                }
            }
        };
        if let Some(v) = value {
            out.insert(key.clone(), strip_never(def, v));
        }
    }
    out
}

fn excluded_whole(ctx: &Ctx<'_>, urn: &str) -> bool {
    ctx.excluded.iter().any(|p| {
        let full = match &p.urn {
            Some(u) => format!("{u}:{}", p.name),
            None => p.name.clone(),
        };
        full.eq_ignore_ascii_case(urn)
    })
}

/// `resource` as the client asked to see it.
pub(crate) fn project(
    resource: &Value,
    schema: &ResourceSchema,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
) -> Value {
    let Value::Object(obj) = resource else {
        return resource.clone();
    };
    let ctx = Ctx {
        schema,
        attributes,
        excluded,
        core: &schema.core.id,
    };
    Value::Object(project_map(&ctx, obj, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{parse_path, PatchPath};
    use crate::scim::{group_resource, user_resource};
    use serde_json::json;

    fn paths(list: &[&str]) -> Vec<AttrPath> {
        list.iter()
            .map(|s| match parse_path(s).unwrap() {
                PatchPath::Attr(p) => p,
                PatchPath::Value { .. } => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn password_is_never_returned_and_id_always_is() {
        let r = json!({"schemas": ["s"], "id": "1", "userName": "a", "password": "p", "name": {"givenName": "G", "familyName": "F"}});
        let out = project(&r, &user_resource(), &paths(&["name.givenName"]), &[]);
        assert_eq!(
            out,
            json!({"schemas": ["s"], "id": "1", "name": {"givenName": "G"}})
        );
        let out = project(&r, &user_resource(), &[], &[]);
        assert!(out.get("password").is_none());
    }

    #[test]
    fn excluded_members_are_left_out() {
        let r = json!({"id": "g", "displayName": "d", "members": [{"value": "u"}]});
        let out = project(&r, &group_resource(), &[], &paths(&["members"]));
        assert_eq!(out, json!({"id": "g", "displayName": "d"}));
    }
}
