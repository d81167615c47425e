//! Example resources built from a profile's mapping rows: a body carrying exactly the
//! attributes the app maps, each with a plausible valid value, shaped as Entra sends it
//! (value paths become typed elements: `emails[type eq "work"].value` →
//! `"emails": [{"type": "work", "value": …}]`, extensions become URN-keyed objects).
//! Reference rows (`members`, `manager`) are left out: they name other resources, and
//! Entra sends them in a later PATCH once those exist.

use serde_json::{json, Map, Value};

use super::Profile;
use crate::filter::{self, AttrOp, AttrPath, CompValue, CompareOp, Filter, PatchPath};
use crate::scim::urn;
use crate::scim::ResourceKind;

/// A plausible value for a mapped attribute, chosen by its name (and the element's type).
fn sample(kind: ResourceKind, leaf: &str, element_type: Option<&str>, seed_type: &str) -> Value {
    if seed_type.eq_ignore_ascii_case("boolean") {
        return Value::Bool(true);
    }
    let s = match (kind, leaf.to_ascii_lowercase().as_str(), element_type) {
        (ResourceKind::Group, "displayname", _) => "Engineering",
        (ResourceKind::Group, "externalid", _) => "5f3c9a0e-eng",
        (_, "username", _) => "ada.lovelace@contoso.example",
        (_, "externalid", _) => "ada.lovelace",
        (_, "displayname", _) => "Ada Lovelace",
        (_, "givenname", _) => "Ada",
        (_, "familyname", _) => "Lovelace",
        (_, "formatted", Some(_)) => "1 Main St, Boston, MA 02110, US",
        (_, "formatted", None) => "Ada Lovelace",
        (_, "streetaddress", _) => "1 Main St",
        (_, "locality", _) => "Boston",
        (_, "region", _) => "MA",
        (_, "postalcode", _) => "02110",
        (_, "country", _) => "US",
        (_, "emails", _) => "ada.lovelace@contoso.example",
        (_, "phonenumbers", Some("mobile")) => "+16175550100",
        (_, "phonenumbers", Some("fax")) => "+16175550199",
        (_, "phonenumbers", _) => "+16175551212",
        (_, "title", _) => "Analyst",
        (_, "preferredlanguage" | "locale", _) => "en-GB",
        (_, "timezone", _) => "Europe/London",
        (_, "employeenumber", _) => "1042",
        (_, "department", _) => "Research",
        (_, "organization", _) => "Contoso",
        (_, "division", _) => "Engines",
        (_, "costcenter", _) => "CC-7",
        (_, "isagent", _) => "true",
        _ => "sample",
    };
    Value::String(s.to_owned())
}

/// The `attr eq "literal"` pairs of a value-path filter (`type eq "work"`).
fn eq_pairs(f: &Filter, out: &mut Map<String, Value>) {
    match f {
        Filter::Attr(e) => {
            if let AttrOp::Compare(CompareOp::Eq, v) = &e.op {
                let v = match v {
                    CompValue::String(s) => Value::String(s.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    _ => return,
                };
                out.insert(e.path.name.clone(), v);
            }
        }
        Filter::And(fs) => fs.iter().for_each(|f| eq_pairs(f, out)),
        _ => {}
    }
}

fn object_at<'a>(obj: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    obj.entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

fn container<'a>(
    body: &'a mut Map<String, Value>,
    p: &AttrPath,
    core: &str,
) -> Option<&'a mut Map<String, Value>> {
    match p.urn.as_deref() {
        Some(u) if !u.eq_ignore_ascii_case(core) => object_at(body, u),
        _ => Some(body),
    }
}

/// Sets the value a mapping row names, creating objects and typed elements on the way.
fn set(body: &mut Map<String, Value>, kind: ResourceKind, path: &str, seed_type: &str) {
    let core = kind.schema_urn();
    match filter::parse_path(path) {
        Ok(PatchPath::Attr(p)) => {
            let Some(c) = container(body, &p, core) else {
                return;
            };
            match &p.sub_attr {
                None => {
                    c.insert(p.name.clone(), sample(kind, &p.name, None, seed_type));
                }
                Some(sub) => {
                    if let Some(o) = object_at(c, &p.name) {
                        o.insert(sub.clone(), sample(kind, sub, None, seed_type));
                    }
                }
            }
        }
        Ok(PatchPath::Value {
            value_path,
            sub_attr: Some(sub),
        }) => {
            let mut wanted = Map::new();
            eq_pairs(&value_path.filter, &mut wanted);
            let element_type = wanted
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let Some(c) = container(body, &value_path.attr, core) else {
                return;
            };
            let items = c
                .entry(value_path.attr.name.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            let Some(items) = items.as_array_mut() else {
                return;
            };
            let pos = items
                .iter()
                .position(|i| wanted.iter().all(|(k, v)| i.get(k).is_some_and(|x| x == v)));
            let element = match pos {
                Some(n) => &mut items[n],
                None => {
                    items.push(Value::Object(wanted.clone()));
                    let last = items.len() - 1;
                    &mut items[last]
                }
            };
            if let Some(e) = element.as_object_mut() {
                // `value` is named by its attribute: an email, a phone number, …
                let leaf = if sub.eq_ignore_ascii_case("value") {
                    value_path.attr.name.as_str()
                } else {
                    sub.as_str()
                };
                let v = sample(kind, leaf, element_type.as_deref(), seed_type);
                e.insert(sub.clone(), v);
            }
        }
        _ => {}
    }
}

impl Profile {
    /// A POST body for `kind` carrying every non-reference mapped attribute of the profile.
    pub fn example(&self, kind: ResourceKind) -> Value {
        let mut body = Map::new();
        body.insert("schemas".into(), json!([kind.schema_urn()]));
        for row in self.mapping(kind) {
            if row.kind.eq_ignore_ascii_case("reference")
                || row.path.eq_ignore_ascii_case("members")
                || row.path.to_ascii_lowercase().ends_with(":manager")
            {
                continue;
            }
            set(&mut body, kind, &row.path, &row.kind);
        }
        // List the extension URNs Entra lists (enterprise only; §7.4: custom ones are not).
        if body.contains_key(urn::ENTERPRISE_USER) {
            if let Some(Value::Array(s)) = body.get_mut("schemas") {
                s.push(Value::String(urn::ENTERPRISE_USER.to_owned()));
            }
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alexishr_example_has_a_typed_e164_work_phone_and_no_manager() {
        let p = Profile::builtin("alexishr").unwrap();
        let u = p.example(ResourceKind::User);
        assert_eq!(
            u["phoneNumbers"],
            json!([{"type": "work", "value": "+16175551212"}])
        );
        assert!(u[urn::ENTERPRISE_USER].get("manager").is_none());
        assert!(p.check_write(ResourceKind::User, &u).is_ok());
    }
}
