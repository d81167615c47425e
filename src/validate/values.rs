//! Attribute values generated from the endpoint's `/Schemas`, in the manner of Microsoft's
//! SCIM Validator in its "Discover schema" mode (Microsoft Learn "Tutorial: Validate a SCIM
//! endpoint"): every writable attribute the endpoint declares gets a value, strings are
//! random capitals (`{%generateRandomString 12%}`, e.g. `WUZPWMBDDCGI` in published runs),
//! typed multi-valued attributes get their canonical types, and the Validator's own quirks
//! (`roles[].primary` as the string `"True"`, a `profileUrl` that is not a URI, a `manager`
//! id that is no user) are kept unless turned off. The exact generator is not published;
//! the rules below are our reading of captured Validator bodies.

use serde_json::{json, Map, Value};

use crate::scim::urn;

/// One attribute definition from `/Schemas` (RFC 7643 §7), reduced to what generation needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    pub name: String,
    /// `string`, `boolean`, `complex`, … (lowercase).
    pub kind: String,
    pub multi: bool,
    pub mutability: String,
    pub canonical: Vec<String>,
    pub sub: Vec<Attr>,
}

/// What `/Schemas` says about the endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Discovered {
    /// Core User attributes.
    pub user: Vec<Attr>,
    /// Enterprise extension attributes, when the endpoint declares the extension.
    pub enterprise: Option<Vec<Attr>>,
    /// The Group schema is declared.
    pub group: bool,
    /// Every attribute name declared anywhere, lowercased (the Logic App compares names
    /// case-insensitively).
    pub names: Vec<String>,
}

/// The core User attributes Entra's default mapping for a custom SCIM app writes (Microsoft
/// Learn "Tutorial: Develop and plan provisioning for a SCIM endpoint", default attribute
/// mapping table).
const ENTRA_DEFAULT_CORE: [&str; 8] = [
    "active",
    "addresses",
    "displayName",
    "emails",
    "externalId",
    "name",
    "phoneNumbers",
    "title",
];
/// The enterprise extension attributes the same table writes (manager aside: it needs a
/// provisioned user, and the manager tests set it).
const ENTRA_DEFAULT_ENTERPRISE: [&str; 2] = ["department", "employeeNumber"];

impl Discovered {
    /// Only what Entra's default mapping writes, of what the endpoint declares: the bodies
    /// of the Logic App's direct SCIM tests, whose exact generated values Microsoft does not
    /// publish (docs/validate.md says so).
    pub fn entra_defaults(&self) -> Discovered {
        let keep = |list: &[Attr], names: &[&str]| -> Vec<Attr> {
            list.iter()
                .filter(|a| names.iter().any(|n| n.eq_ignore_ascii_case(&a.name)))
                .cloned()
                .collect()
        };
        Discovered {
            user: keep(&self.user, &ENTRA_DEFAULT_CORE),
            enterprise: self
                .enterprise
                .as_ref()
                .map(|e| keep(e, &ENTRA_DEFAULT_ENTERPRISE)),
            group: self.group,
            names: self.names.clone(),
        }
    }
}

fn attrs(list: Option<&Value>) -> Vec<Attr> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let text = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let name = text("name");
            (!name.is_empty()).then(|| Attr {
                kind: text("type").to_ascii_lowercase(),
                multi: a
                    .get("multiValued")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                mutability: text("mutability").to_ascii_lowercase(),
                canonical: a
                    .get("canonicalValues")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                sub: attrs(a.get("subAttributes")),
                name,
            })
        })
        .collect()
}

/// Reads a `/Schemas` answer: a ListResponse of schemas (RFC 7644 §4), or a bare array.
pub(crate) fn discover(body: &Value) -> Discovered {
    let mut d = Discovered::default();
    for schema in crate::scim::listed_schemas(body) {
        let id = schema.get("id").and_then(Value::as_str).unwrap_or("");
        let found = attrs(schema.get("attributes"));
        fn names(a: &[Attr], out: &mut Vec<String>) {
            for x in a {
                out.push(x.name.to_ascii_lowercase());
                names(&x.sub, out);
            }
        }
        names(&found, &mut d.names);
        if id.eq_ignore_ascii_case(urn::USER) {
            d.user = found;
        } else if id.eq_ignore_ascii_case(urn::ENTERPRISE_USER) {
            d.enterprise = Some(found);
        } else if id.eq_ignore_ascii_case(urn::GROUP) {
            d.group = true;
        }
    }
    d
}

/// A value generator; seeded for reproducible runs.
#[derive(Debug)]
pub(crate) struct Gen {
    rng: fastrand::Rng,
    /// Keep the Validator's quirks (string `"True"`, non-URI `profileUrl`).
    pub quirks: bool,
}

/// Left out of generated users: read-only or write-only ones, and those outside the
/// attributes Entra can map (the captured Validator bodies carry none of them).
const SKIPPED: [&str; 9] = [
    "id",
    "meta",
    "groups",
    "password",
    "externalid",
    "ims",
    "photos",
    "entitlements",
    "x509certificates",
];

impl Gen {
    pub(crate) fn new(seed: Option<u64>, quirks: bool) -> Gen {
        Gen {
            rng: seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
            quirks,
        }
    }

    /// `{%generateRandomString 12%}`: twelve capitals.
    pub(crate) fn word(&mut self) -> String {
        (0..12).map(|_| self.rng.uppercase()).collect()
    }

    /// A fresh UUID v4 text.
    pub(crate) fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.u128(..).to_le_bytes())
            .into_uuid()
            .to_string()
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| self.rng.digit(10)).collect()
    }

    fn truthy(&self) -> Value {
        if self.quirks {
            json!("True")
        } else {
            json!(true)
        }
    }

    /// A value for one attribute; `None` skips it.
    fn value(&mut self, a: &Attr, parent: &str) -> Option<Value> {
        let name = a.name.to_ascii_lowercase();
        if a.mutability == "readonly" || a.mutability == "writeonly" || a.kind == "binary" {
            return None;
        }
        if a.multi {
            let types: Vec<String> = a
                .sub
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case("type"))
                .map(|t| t.canonical.clone())
                .unwrap_or_default();
            let wanted: Vec<String> = match name.as_str() {
                // Published Validator bodies carry work, mobile and fax numbers.
                "phonenumbers" => ["work", "mobile", "fax"]
                    .iter()
                    .filter(|t| types.is_empty() || types.iter().any(|c| c == *t))
                    .map(|t| (*t).to_owned())
                    .collect(),
                _ => types
                    .iter()
                    .find(|t| *t == "work")
                    .or(types.first())
                    .cloned()
                    .into_iter()
                    .collect(),
            };
            let wanted = if wanted.is_empty() {
                vec![String::new()]
            } else {
                wanted
            };
            let items = wanted
                .iter()
                .enumerate()
                .filter_map(|(i, t)| self.element(a, t, i == 0))
                .collect::<Vec<_>>();
            return (!items.is_empty()).then_some(Value::Array(items));
        }
        Some(match (name.as_str(), a.kind.as_str()) {
            ("manager", _) => json!({"value": self.word()}),
            (_, "complex") => {
                let mut m = Map::new();
                for s in &a.sub {
                    if let Some(v) = self.value(s, &name) {
                        m.insert(s.name.clone(), v);
                    }
                }
                if m.is_empty() {
                    return None;
                }
                Value::Object(m)
            }
            ("active", _) => json!(true),
            ("timezone", _) => json!("America/Los_Angeles"),
            ("locale" | "preferredlanguage", _) => json!("en-US"),
            ("profileurl", _) if !self.quirks => {
                json!(format!("https://example.com/{}", self.word()))
            }
            (_, "boolean") => json!(true),
            (_, "integer") => json!(self.rng.u32(1..10_000)),
            (_, "decimal") => json!(f64::from(self.rng.u32(1..10_000)) / 10.0),
            (_, "datetime") => json!("2026-01-01T00:00:00Z"),
            (_, "reference") if parent == "manager" => json!(self.word()),
            _ if !a.canonical.is_empty() => json!(a.canonical[0]),
            _ => json!(self.word()),
        })
    }

    /// One element of a multi-valued attribute of `type` `t`.
    fn element(&mut self, a: &Attr, t: &str, first: bool) -> Option<Value> {
        let parent = a.name.to_ascii_lowercase();
        if a.sub.is_empty() {
            return Some(json!(self.word()));
        }
        let mut m = Map::new();
        for s in &a.sub {
            let sub = s.name.to_ascii_lowercase();
            if s.mutability == "readonly" || sub == "$ref" || sub == "display" && parent != "roles"
            {
                continue;
            }
            let v = match sub.as_str() {
                "type" if !t.is_empty() => json!(t),
                "type" => json!(self.word()),
                "primary" if parent == "roles" => self.truthy(),
                "primary" if first => json!(true),
                "primary" => continue,
                "value" if parent == "emails" => {
                    json!(format!("{}@contoso.com", self.word().to_ascii_lowercase()))
                }
                "value" if parent == "phonenumbers" => json!(self.digits(11)),
                _ => match self.value(s, &parent) {
                    Some(v) => v,
                    None => continue,
                },
            };
            m.insert(s.name.clone(), v);
        }
        Some(Value::Object(m))
    }

    /// A User for POST with every writable attribute `d` declares.
    pub(crate) fn user(&mut self, d: &Discovered, user_name: &str, external_id: &str) -> Value {
        let mut body = Map::new();
        let mut schemas = vec![json!(urn::USER)];
        for a in &d.user {
            let lower = a.name.to_ascii_lowercase();
            if SKIPPED.contains(&lower.as_str()) || lower == "username" {
                continue;
            }
            if let Some(v) = self.value(a, "") {
                body.insert(a.name.clone(), v);
            }
        }
        body.insert("userName".into(), json!(user_name));
        body.insert("externalId".into(), json!(external_id));
        body.insert("active".into(), json!(true));
        if let Some(ext) = &d.enterprise {
            let mut m = Map::new();
            for a in ext {
                if let Some(v) = self.value(a, "") {
                    m.insert(a.name.clone(), v);
                }
            }
            schemas.push(json!(urn::ENTERPRISE_USER));
            body.insert(urn::ENTERPRISE_USER.into(), Value::Object(m));
        }
        body.insert("schemas".into(), Value::Array(schemas));
        Value::Object(body)
    }

    /// "Replace Attributes Verbose": one `replace` per attribute of `user` (as generated by
    /// [`Gen::user`]), typed multi-valued ones through value paths, the enterprise extension
    /// through URN-qualified paths. Returns the operations and the simple values to read back.
    pub(crate) fn verbose_replace(&mut self, user: &Value) -> (Vec<Value>, Map<String, Value>) {
        let mut ops = Vec::new();
        let mut expect = Map::new();
        let Some(obj) = user.as_object() else {
            return (ops, expect);
        };
        for (k, v) in obj {
            let lower = k.to_ascii_lowercase();
            if ["schemas", "username", "externalid", "active"].contains(&lower.as_str()) {
                continue;
            }
            match v {
                Value::String(_) => {
                    let new = self.fresh_like(&lower, v);
                    expect.insert(k.clone(), new.clone());
                    ops.push(json!({"op": "replace", "path": k, "value": new}));
                }
                Value::Object(m) if k == urn::ENTERPRISE_USER => {
                    for (sk, sv) in m {
                        if sk == "manager" || !sv.is_string() {
                            continue;
                        }
                        let new = json!(self.word());
                        ops.push(
                            json!({"op": "replace", "path": format!("{k}:{sk}"), "value": new}),
                        );
                    }
                }
                Value::Object(m) => {
                    for (sk, sv) in m {
                        if sv.is_string() {
                            let new = json!(self.word());
                            ops.push(
                                json!({"op": "replace", "path": format!("{k}.{sk}"), "value": new}),
                            );
                        }
                    }
                }
                Value::Array(items) => {
                    for item in items {
                        let Some(m) = item.as_object() else { continue };
                        let selector = if lower == "roles" {
                            // The Validator addresses roles by their string primary flag.
                            format!(
                                "primary eq {}",
                                if self.quirks { "\"True\"" } else { "true" }
                            )
                        } else if let Some(t) = m.get("type").and_then(Value::as_str) {
                            format!("type eq \"{t}\"")
                        } else {
                            continue;
                        };
                        for (sk, sv) in m {
                            if sk == "type" || sk == "primary" || !sv.is_string() {
                                continue;
                            }
                            let new = self.fresh_like(&format!("{lower}.{sk}"), sv);
                            ops.push(json!({"op": "replace", "path": format!("{k}[{selector}].{sk}"), "value": new}));
                        }
                    }
                }
                _ => {}
            }
        }
        (ops, expect)
    }

    fn fresh_like(&mut self, what: &str, old: &Value) -> Value {
        match what {
            "emails.value" => json!(format!("{}@contoso.com", self.word().to_ascii_lowercase())),
            "phonenumbers.value" => json!(self.digits(11)),
            "timezone" | "locale" | "preferredlanguage" => old.clone(),
            "profileurl" if !self.quirks => json!(format!("https://example.com/{}", self.word())),
            _ => json!(self.word()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schemas() -> Value {
        let core: Value = serde_json::from_str(include_str!("../scim/schemas/user.json")).unwrap();
        let ent: Value =
            serde_json::from_str(include_str!("../scim/schemas/enterprise_user.json")).unwrap();
        json!({"Resources": [core, ent]})
    }

    #[test]
    fn generates_the_validators_quirks_from_the_rfc_user_schema() {
        let d = discover(&schemas());
        assert!(d.enterprise.is_some());
        let mut g = Gen::new(Some(1), true);
        let u = g.user(&d, "a@contoso.com", "x");
        assert_eq!(u["roles"][0]["primary"], json!("True"));
        assert_eq!(u["phoneNumbers"].as_array().map(Vec::len), Some(3));
        assert!(u.get("id").is_none() && u.get("groups").is_none() && u.get("password").is_none());
        assert!(u[urn::ENTERPRISE_USER]["manager"]["value"].is_string());
        let (ops, _) = g.verbose_replace(&u);
        assert!(ops.len() >= 20, "{}", ops.len());
        assert!(ops.iter().any(|o| o["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("roles[primary eq \"True\"]"))));
    }
}
