//! Entra's value quirks in a POST or PUT body (RFC 7644 §3.3, §3.5.1): the coercions the
//! PATCH engine applies to a value ([`super::value`]) applied to a whole resource, so the
//! same string is accepted in every request that carries it.
//!
//! - `"active": "True"` and `roles[].primary: "True"`: a `"True"`/`"False"` string for a
//!   boolean attribute becomes the boolean ([`Quirk::BooleanString`];
//!   AzureAD/SCIMReferenceCode#21, the SCIM Validator's "Create a new User" body).
//! - `"manager": "<id>"` inside the enterprise extension becomes `{"value": "<id>"}`
//!   ([`Quirk::ManagerAsString`]; apache/directory-scimple#1242).
//!
//! Everything else is left for the store's checks (`store::validate`): a string that is
//! not a boolean still fails there, with the same error as before.

use serde_json::{Map, Value};

use super::dialect::{Dialect, Quirk};
use super::value::bool_string;
use crate::scim::{AttrType, Attribute, ResourceSchema};
use crate::Result;

/// Coerces Entra's string booleans and plain manager ids in `body` (a POST/PUT body)
/// by the schema types; under [`Dialect::Rfc`] the first one found is refused with the
/// error naming its quirk. Attributes no schema defines are left as sent.
pub fn coerce_body(body: &mut Value, schema: &ResourceSchema, dialect: Dialect) -> Result<()> {
    let Value::Object(obj) = body else {
        return Ok(());
    };
    for (key, v) in obj.iter_mut() {
        if let Some(def) = schema.core.attribute(key) {
            coerce_attr(def, v, dialect, &def.name)?;
            continue;
        }
        let Some(ext) = schema
            .extensions
            .iter()
            .map(|(s, _)| s)
            .find(|s| s.id.eq_ignore_ascii_case(key))
        else {
            continue;
        };
        let Value::Object(inner) = v else { continue };
        for (sub_key, sub_v) in inner.iter_mut() {
            if let Some(def) = ext.attribute(sub_key) {
                let label = format!("{}:{}", ext.id, def.name);
                coerce_attr(def, sub_v, dialect, &label)?;
            }
        }
    }
    Ok(())
}

fn coerce_attr(def: &Attribute, v: &mut Value, dialect: Dialect, label: &str) -> Result<()> {
    match v {
        Value::Array(items) if def.multi_valued => {
            for item in items {
                coerce_one(def, item, dialect, label)?;
            }
            Ok(())
        }
        _ => coerce_one(def, v, dialect, label),
    }
}

/// One value of `def`'s type (one element when multi-valued).
fn coerce_one(def: &Attribute, v: &mut Value, dialect: Dialect, label: &str) -> Result<()> {
    match (def.kind, &mut *v) {
        (AttrType::Boolean, Value::String(s)) => {
            if let Some(b) = bool_string(s) {
                dialect.allow(Quirk::BooleanString, label, s)?;
                *v = Value::Bool(b);
            }
        }
        (AttrType::Complex, Value::String(s))
            if !def.multi_valued && def.sub_attribute("value").is_some() =>
        {
            dialect.allow(Quirk::ManagerAsString, label, s)?;
            let mut out = Map::new();
            out.insert("value".to_owned(), Value::String(std::mem::take(s)));
            *v = Value::Object(out);
        }
        (AttrType::Complex, Value::Object(map)) => {
            for (k, sub_v) in map.iter_mut() {
                if let Some(sub) = def.sub_attribute(k) {
                    let sub_label = format!("{label}.{}", sub.name);
                    coerce_one(sub, sub_v, dialect, &sub_label)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::urn;
    use crate::scim::user_resource;
    use serde_json::json;

    // row B3: AzureAD/SCIMReferenceCode#21, `"active": "True"` in a POST.
    #[test]
    fn string_booleans_become_booleans_in_the_entra_dialect() {
        let mut body = json!({"userName": "a", "active": "True",
            "roles": [{"primary": "False", "value": "Admin"}]});
        coerce_body(&mut body, &user_resource(), Dialect::Entra).unwrap();
        assert_eq!(body["active"], json!(true));
        assert_eq!(body["roles"][0]["primary"], json!(false));
    }

    #[test]
    fn string_booleans_are_refused_naming_the_quirk_in_rfc_mode() {
        let mut body = json!({"userName": "a", "roles": [{"primary": "True"}]});
        let err = coerce_body(&mut body, &user_resource(), Dialect::Rfc).unwrap_err();
        assert!(
            err.to_string().contains("`roles.primary` is boolean"),
            "{err}"
        );
        assert!(err.to_string().contains("legacy dialect"), "{err}");
    }

    // row B4: apache/directory-scimple#1242, the manager as a bare string in a POST.
    #[test]
    fn a_plain_manager_id_becomes_the_complex_form() {
        let mut body = json!({"userName": "a", urn::ENTERPRISE_USER: {"manager": "m-1"}});
        coerce_body(&mut body, &user_resource(), Dialect::Entra).unwrap();
        assert_eq!(
            body[urn::ENTERPRISE_USER]["manager"],
            json!({"value": "m-1"})
        );
        let mut body = json!({"userName": "a", urn::ENTERPRISE_USER: {"manager": "m-1"}});
        let err = coerce_body(&mut body, &user_resource(), Dialect::Rfc).unwrap_err();
        assert!(err.to_string().contains("manager quirk"), "{err}");
    }

    #[test]
    fn other_strings_are_left_for_the_type_check() {
        let mut body = json!({"userName": "a", "active": "yes"});
        coerce_body(&mut body, &user_resource(), Dialect::Entra).unwrap();
        assert_eq!(body["active"], json!("yes"));
    }
}
