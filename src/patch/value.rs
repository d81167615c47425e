//! PATCH values against the schema: type checks (RFC 7643 §2.3) with errors that name the
//! attribute and what it expects, Entra's value quirks (boolean strings, manager as a plain
//! string, "empty means clear"), and `primary` uniqueness (RFC 7643 §2.4).

use serde_json::{Map, Value};

use super::dialect::{Dialect, Quirk};
use crate::scim::{AttrType, Attribute};
use crate::{Error, Result};

/// Checks and normalizes `value` as the whole value of `def` (an array when multi-valued).
pub(super) fn whole(def: &Attribute, value: Value, dialect: Dialect, label: &str) -> Result<Value> {
    if value.is_null() {
        return Ok(value);
    }
    if def.multi_valued {
        // RFC 7644 §3.5.2.1 adds "one or more values"; a lone value is taken as a list of one.
        let items = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        return items
            .into_iter()
            .map(|v| single(def, v, dialect, label))
            .collect::<Result<Vec<_>>>()
            .map(Value::Array);
    }
    let value = match value {
        // entra-provisioning.md §1.18 Example 5: `manager` sent as a one-element list.
        Value::Array(items)
            if def.kind == AttrType::Complex
                && items.len() == 1
                && dialect.admits(Quirk::SingleElementList) =>
        {
            match <[Value; 1]>::try_from(items) {
                Ok([only]) => only,
                Err(_) => return Err(expected(def, label, "a single value, not a list")),
            }
        }
        Value::Array(_) => return Err(expected(def, label, "a single value, not a list")),
        other => other,
    };
    single(def, value, dialect, label)
}

/// Checks and normalizes one value of `def`'s type (one element when multi-valued).
pub(super) fn single(
    def: &Attribute,
    value: Value,
    dialect: Dialect,
    label: &str,
) -> Result<Value> {
    match (def.kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (AttrType::Complex, Value::Object(map)) => {
            let mut out = Map::new();
            for (k, v) in map {
                match def.sub_attribute(&k) {
                    Some(sub) => {
                        let sub_label = format!("{label}.{}", sub.name);
                        let v = whole(sub, v, dialect, &sub_label)?;
                        out.insert(sub.name.clone(), v);
                    }
                    None => {
                        out.insert(k, v);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        // entra-provisioning.md §7.2: the SCIM job sends `manager` as the plain id string;
        // it is stored in the RFC 7643 §4.3 complex form `{"value": id}`.
        (AttrType::Complex, Value::String(s))
            if !def.multi_valued && def.sub_attribute("value").is_some() =>
        {
            dialect.allow(Quirk::ManagerAsString, label, &s)?;
            let mut out = Map::new();
            out.insert("value".to_owned(), Value::String(s));
            Ok(Value::Object(out))
        }
        (AttrType::Complex, _) => Err(expected(def, label, "a complex object")),
        (AttrType::Boolean, v @ Value::Bool(_)) => Ok(v),
        // entra-provisioning.md §4.3a, §4.5: the legacy job sends booleans as "True"/"False".
        (AttrType::Boolean, Value::String(s)) => match bool_string(&s) {
            Some(b) => {
                dialect.allow(Quirk::BooleanString, label, &s)?;
                Ok(Value::Bool(b))
            }
            None => Err(expected(def, label, "a boolean")),
        },
        (AttrType::Boolean, _) => Err(expected(def, label, "a boolean")),
        (
            AttrType::String | AttrType::Reference | AttrType::DateTime | AttrType::Binary,
            v @ Value::String(_),
        ) => Ok(v),
        (AttrType::String | AttrType::Reference | AttrType::DateTime | AttrType::Binary, _) => {
            Err(expected(def, label, "a string"))
        }
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Value::Number(n)),
        (AttrType::Integer, _) => Err(expected(def, label, "an integer")),
        (AttrType::Decimal, v @ Value::Number(_)) => Ok(v),
        (AttrType::Decimal, _) => Err(expected(def, label, "a number")),
    }
}

/// `"True"`, `"false"`, … as a boolean.
pub(super) fn bool_string(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn expected(def: &Attribute, label: &str, what: &str) -> Error {
    let shape = if def.multi_valued {
        " (multi-valued)"
    } else {
        ""
    };
    Error::invalid_value(format!("attribute `{label}`{shape} expects {what}"))
}

/// Does this value mean "clear the attribute"? `null` always does (RFC 7643 §2.5: null
/// is unassigned); outside strict mode so do `""` and an object whose members are all
/// empty, such as `{"value": ""}` for manager (entra-provisioning.md §7.2, §1.7 note).
pub(super) fn means_clear(value: &Value, dialect: Dialect) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty() && dialect.admits(Quirk::EmptyMeansClear),
        Value::Object(map) => {
            dialect.admits(Quirk::EmptyMeansClear)
                && !map.is_empty()
                && map.values().all(|v| v.is_null() || v == "")
        }
        _ => false,
    }
}

/// Case-insensitive key lookup: the key as stored.
pub(super) fn key_in(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Sets `name` in `map`, reusing an existing key that differs only in case.
pub(super) fn set_ci(map: &mut Map<String, Value>, name: &str, value: Value) {
    let key = key_in(map, name).unwrap_or_else(|| name.to_owned());
    map.insert(key, value);
}

/// Removes `name` (case-insensitively) from `map`, keeping the order of the rest.
pub(super) fn remove_ci(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = key_in(map, name)?;
    map.shift_remove(&key)
}

/// Merges `patch` into `target` key by key (RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes not
/// in the value are left unchanged); a null member clears that sub-attribute.
pub(super) fn merge(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (k, v) in patch {
        if v.is_null() {
            remove_ci(target, &k);
        } else {
            set_ci(target, &k, v);
        }
    }
}

fn is_primary(v: &Value) -> bool {
    v.as_object()
        .and_then(|o| key_in(o, "primary").and_then(|k| o.get(&k)))
        .is_some_and(|p| p == &Value::Bool(true))
}

/// RFC 7643 §2.4: `primary: true` appears at most once. The element at `keep`, if primary,
/// stays primary and every other element loses the flag (set to `false`).
pub(super) fn enforce_primary(items: &mut [Value], keep: usize) {
    if !items.get(keep).is_some_and(is_primary) {
        return;
    }
    for (i, item) in items.iter_mut().enumerate() {
        if i == keep || !is_primary(item) {
            continue;
        }
        if let Some(o) = item.as_object_mut() {
            set_ci(o, "primary", Value::Bool(false));
        }
    }
}

/// The index of the last primary element among `touched`, to keep when enforcing.
pub(super) fn last_primary(items: &[Value], touched: &[usize]) -> Option<usize> {
    touched
        .iter()
        .rev()
        .copied()
        .find(|&i| items.get(i).is_some_and(is_primary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::user_resource;
    use serde_json::json;

    #[test]
    fn boolean_strings_coerce_only_outside_strict_mode() {
        let users = user_resource();
        let active = users.resolve(None, "active", None).unwrap();
        assert_eq!(
            whole(active, json!("False"), Dialect::Entra, "active").unwrap(),
            json!(false)
        );
        assert_eq!(
            whole(active, json!("true"), Dialect::Entra, "active").unwrap(),
            json!(true)
        );
        assert!(whole(active, json!("False"), Dialect::Rfc, "active").is_err());
        assert!(whole(active, json!("nope"), Dialect::Entra, "active").is_err());
    }

    #[test]
    fn wrong_type_names_the_attribute_and_the_expectation() {
        let users = user_resource();
        let name = users.resolve(None, "userName", None).unwrap();
        let err = whole(name, json!(7), Dialect::Entra, "userName").unwrap_err();
        assert_eq!(err.to_string(), "attribute `userName` expects a string");
    }

    #[test]
    fn setting_one_primary_clears_the_others() {
        let mut items = vec![json!({"primary": true}), json!({"primary": true})];
        enforce_primary(&mut items, 1);
        assert_eq!(
            items,
            vec![json!({"primary": false}), json!({"primary": true})]
        );
    }
}
