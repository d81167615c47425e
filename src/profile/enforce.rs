//! What a profile adds to request handling: required mapping rows on POST/PUT, value
//! rules (E.164 phones, email addresses, custom patterns) on POST/PUT/PATCH, the
//! filterable-attribute policy on queries, and the unknown-extension policy. Every check
//! reads the resource through the mapping row's own path, parsed by
//! [`crate::filter::parse_path`], so `phoneNumbers[type eq "work"].value` means exactly
//! what it means to Entra.

use regex::Regex;
use serde_json::Value;

use super::{ExtensionPolicy, FilterPolicy, Format, Mapping, Profile};
use crate::filter::{self, AttrPath, Filter, PatchPath};
use crate::scim::urn;
use crate::scim::ResourceKind;
use crate::scim::ResourceSchema;
use crate::{Error, Result};

/// A compiled value rule: the regex and a valid example for the error detail.
#[derive(Debug, Clone)]
pub struct ValueRule {
    regex: Regex,
    what: String,
    example: String,
}

impl ValueRule {
    /// The rule a mapping row asks for (`format` or `pattern`), if any.
    pub(super) fn for_mapping(row: &Mapping) -> std::result::Result<Option<ValueRule>, String> {
        let (pattern, what, example) = match (row.format, &row.pattern) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "mapping `{}` has both `format` and `pattern`; choose one",
                    row.path
                ))
            }
            (Some(Format::E164), None) => (
                r"^\+[1-9][0-9]{1,14}$".to_owned(),
                "an E.164 phone number".to_owned(),
                "+16175551212".to_owned(),
            ),
            (Some(Format::Email), None) => (
                r"^[^@\s]+@[^@\s]+\.[^@\s]+$".to_owned(),
                "an email address".to_owned(),
                "ada@contoso.example".to_owned(),
            ),
            (None, Some(p)) => (
                p.clone(),
                format!("a value matching `{p}`"),
                row.example.clone().unwrap_or_default(),
            ),
            (None, None) => return Ok(None),
        };
        let regex = Regex::new(&pattern)
            .map_err(|e| format!("mapping `{}`: bad pattern: {e}", row.path))?;
        Ok(Some(ValueRule {
            regex,
            what,
            example: row.example.clone().unwrap_or(example),
        }))
    }

    fn check(&self, app: &str, path: &str, v: &Value) -> Result<()> {
        let ok = v.as_str().is_some_and(|s| self.regex.is_match(s));
        if ok {
            return Ok(());
        }
        let example = if self.example.is_empty() {
            String::new()
        } else {
            format!(" such as `{}`", self.example)
        };
        Err(Error::invalid_value(format!(
            "`{path}` must be {}{example} ({app} rule), got {v}",
            self.what
        )))
    }
}

/// The object holding `p`'s attribute: the resource, or its URN-keyed extension object.
fn container<'a>(resource: &'a Value, p: &AttrPath, core: &str) -> Option<&'a Value> {
    match p.urn.as_deref() {
        Some(u) if !u.eq_ignore_ascii_case(core) => get(resource, u),
        _ => Some(resource),
    }
}

/// A member of an object by case-insensitive name (RFC 7643 §2.1).
fn get<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn push_leaf<'a>(out: &mut Vec<&'a Value>, v: &'a Value) {
    match v {
        Value::Null => {}
        Value::String(s) if s.trim().is_empty() => {}
        Value::Array(items) => items.iter().for_each(|i| push_leaf(out, i)),
        other => out.push(other),
    }
}

/// Every non-empty value `path` names in `resource` (a mapping row's path).
pub fn values_at<'a>(resource: &'a Value, path: &str, schema: &ResourceSchema) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let Ok(parsed) = filter::parse_path(path) else {
        return out;
    };
    match &parsed {
        PatchPath::Attr(p) => {
            let Some(v) = container(resource, p, &schema.core.id).and_then(|c| get(c, &p.name))
            else {
                return out;
            };
            match (&p.sub_attr, v) {
                (None, v) => push_leaf(&mut out, v),
                (Some(sub), Value::Array(items)) => {
                    for item in items {
                        if let Some(s) = get(item, sub) {
                            push_leaf(&mut out, s);
                        }
                    }
                }
                (Some(sub), v) => {
                    if let Some(s) = get(v, sub) {
                        push_leaf(&mut out, s);
                    }
                }
            }
        }
        PatchPath::Value {
            value_path,
            sub_attr,
        } => {
            let p = &value_path.attr;
            let def = schema.resolve(p.urn.as_deref(), &p.name, None);
            let items = container(resource, p, &schema.core.id)
                .and_then(|c| get(c, &p.name))
                .and_then(Value::as_array);
            for item in items.into_iter().flatten() {
                if !filter::matches_element(&value_path.filter, item, def).unwrap_or(false) {
                    continue;
                }
                match sub_attr {
                    Some(sub) => {
                        if let Some(s) = get(item, sub) {
                            push_leaf(&mut out, s);
                        }
                    }
                    None => push_leaf(&mut out, item),
                }
            }
        }
    }
    out
}

/// (urn, name, sub) of a path, lowercased, core URN dropped: what "the same attribute" means
/// when comparing a filter's path with a mapping row's.
type Key = (Option<String>, String, Option<String>);

fn key(p: &AttrPath, sub: Option<&str>, core: &str) -> Key {
    let urn = p
        .urn
        .as_deref()
        .filter(|u| !u.eq_ignore_ascii_case(core))
        .map(str::to_ascii_lowercase);
    let sub = sub.or(p.sub_attr.as_deref()).map(str::to_ascii_lowercase);
    (urn, p.name.to_ascii_lowercase(), sub)
}

fn row_key(path: &str, core: &str) -> Option<Key> {
    match filter::parse_path(path).ok()? {
        PatchPath::Attr(p) => Some(key(&p, None, core)),
        PatchPath::Value {
            value_path,
            sub_attr,
        } => Some(key(&value_path.attr, sub_attr.as_deref(), core)),
    }
}

/// The attribute paths a filter compares, outside value-path brackets.
fn filter_keys(f: &Filter, core: &str, out: &mut Vec<(Key, String)>) {
    match f {
        Filter::Attr(e) => out.push((key(&e.path, None, core), e.path.to_string())),
        Filter::ValuePath(vp) => out.push((key(&vp.attr, None, core), vp.attr.to_string())),
        Filter::ValuePathAttr {
            value_path,
            sub_attr,
            ..
        } => out.push((
            key(&value_path.attr, Some(sub_attr), core),
            format!("{}.{sub_attr}", value_path.attr),
        )),
        Filter::Not(inner) => filter_keys(inner, core, out),
        Filter::And(fs) | Filter::Or(fs) => fs.iter().for_each(|f| filter_keys(f, core, out)),
    }
}

impl Profile {
    /// Checks a POST/PUT body (before the store's own validation): required mapping rows,
    /// value rules, unknown extensions.
    pub fn check_write(&self, kind: ResourceKind, body: &Value) -> Result<()> {
        if !body.is_object() {
            return Ok(()); // the store answers invalidSyntax for non-objects
        }
        let schema = self.schema(kind);
        for row in self.mapping(kind).iter().filter(|r| r.required) {
            if values_at(body, &row.path, schema).is_empty() {
                return Err(Error::invalid_value(format!(
                    "`{}` is required by {} (profile `{}`) and is missing or empty",
                    row.path,
                    self.name(),
                    self.id()
                )));
            }
        }
        self.check_values(kind, body, schema)
    }

    /// Checks a resource after PATCH: value rules and unknown extensions. Required rows
    /// are not re-checked here: Entra creates with them and then sends only changes.
    pub fn check_patched(&self, kind: ResourceKind, resource: &Value) -> Result<()> {
        self.check_values(kind, resource, self.schema(kind))
    }

    fn check_values(
        &self,
        kind: ResourceKind,
        resource: &Value,
        schema: &ResourceSchema,
    ) -> Result<()> {
        for (k, path, rule) in &self.rules {
            if *k != kind {
                continue;
            }
            for v in values_at(resource, path, schema) {
                rule.check(self.name(), path, v)?;
            }
        }
        if self.spec.unknown_extension_attributes == ExtensionPolicy::Reject {
            self.check_extensions(resource, schema)?;
        }
        Ok(())
    }

    fn check_extensions(&self, resource: &Value, schema: &ResourceSchema) -> Result<()> {
        let Some(obj) = resource.as_object() else {
            return Ok(());
        };
        let reject = |what: String| {
            Err(Error::invalid_syntax(format!(
                "{what} is not in this app's schemas; {} (profile `{}`) rejects unknown extension attributes",
                self.name(),
                self.id()
            )))
        };
        for (k, v) in obj {
            if !urn::is_schema_urn(k) {
                continue;
            }
            let Some(ext) = schema.schema(k) else {
                return reject(format!("extension `{k}`"));
            };
            for inner in v.as_object().into_iter().flat_map(|m| m.keys()) {
                if ext.attribute(inner).is_none() {
                    return reject(format!("attribute `{k}:{inner}`"));
                }
            }
        }
        Ok(())
    }

    /// Is `path` (a filter or mapping path) one of the matching attributes of `kind`?
    pub fn is_filterable(&self, kind: ResourceKind, path: &str) -> bool {
        let core = kind.schema_urn();
        let Some(want) = row_key(path, core) else {
            return false;
        };
        self.mapping(kind)
            .iter()
            .filter(|r| r.filter)
            .any(|r| row_key(&r.path, core).as_ref() == Some(&want))
    }

    /// Applies `filter_policy` to a query's filter: under `strict`, every attribute the
    /// filter compares must be a matching attribute (`id` always is).
    pub fn check_filter(&self, kind: ResourceKind, f: &Filter) -> Result<()> {
        self.check_filter_keys(kind, f, false)
    }

    /// [`Profile::check_filter`] for one resource type of a root `POST /.search`
    /// (RFC 7644 §3.4.3): an attribute `kind`'s schema does not have is not refused; it
    /// has no value there, so it matches nothing for that type (RFC 7644 §3.4.2.1:
    /// a search across types filters each with its own attributes).
    pub fn check_search_filter(&self, kind: ResourceKind, f: &Filter) -> Result<()> {
        self.check_filter_keys(kind, f, true)
    }

    fn check_filter_keys(&self, kind: ResourceKind, f: &Filter, skip_foreign: bool) -> Result<()> {
        if self.spec.filter_policy == FilterPolicy::Allow {
            return Ok(());
        }
        let core = kind.schema_urn();
        let mut used = Vec::new();
        filter_keys(f, core, &mut used);
        if skip_foreign {
            let schema = self.schema(kind);
            used.retain(|(k, _)| schema.resolve(k.0.as_deref(), &k.1, None).is_some());
        }
        let allowed: Vec<Key> = self
            .mapping(kind)
            .iter()
            .filter(|r| r.filter)
            .filter_map(|r| row_key(&r.path, core))
            .collect();
        for (k, shown) in used {
            if k.0.is_none() && k.1 == "id" {
                continue;
            }
            if !allowed.contains(&k) {
                let names: Vec<&str> = self
                    .mapping(kind)
                    .iter()
                    .filter(|r| r.filter)
                    .map(|r| r.path.as_str())
                    .collect();
                return Err(Error::unfilterable_attribute(format!(
                    "attribute not filterable in this app: `{shown}`; {} filters {} on {}",
                    self.name(),
                    kind.endpoint(),
                    if names.is_empty() {
                        "nothing but id".to_owned()
                    } else {
                        names.join(", ")
                    }
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::user_resource;
    use serde_json::json;

    #[test]
    fn values_at_follows_value_paths_sub_attributes_and_extensions() {
        let u = json!({
            "userName": "a",
            "name": {"givenName": "Ada"},
            "phoneNumbers": [{"type": "mobile", "value": "1"}, {"type": "work", "value": "2"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R"}
        });
        let s = user_resource();
        assert_eq!(
            values_at(&u, r#"phoneNumbers[type eq "work"].value"#, &s),
            [&json!("2")]
        );
        assert_eq!(values_at(&u, "name.givenName", &s), [&json!("Ada")]);
        assert_eq!(values_at(&u, "NAME.GIVENNAME", &s), [&json!("Ada")]);
        let dept = format!("{}:department", urn::ENTERPRISE_USER);
        assert_eq!(values_at(&u, &dept, &s), [&json!("R")]);
        assert!(values_at(&u, r#"phoneNumbers[type eq "fax"].value"#, &s).is_empty());
    }

    #[test]
    fn e164_rule_accepts_plus_and_digits_only() {
        let row: Mapping = toml::from_str("path='x'\ntype='String'\nformat='e164'").unwrap();
        let rule = ValueRule::for_mapping(&row).unwrap().unwrap();
        assert!(rule.check("A", "x", &json!("+16175551212")).is_ok());
        for bad in ["617-555-1212", "+0123", "16175551212", "+1 617 555 1212"] {
            assert!(rule.check("A", "x", &json!(bad)).is_err(), "{bad}");
        }
    }
}
