//! The SCIM requests the engine sends, in Entra's shapes (entra-provisioning §1 and §4):
//! POST bodies built from mapping target paths, PATCH operations in the legacy and
//! `aadOptscim062020` dialects, membership PATCHes, and reading a mapped path back out of
//! a target resource (for matched objects).

use serde_json::{json, Map, Value};

use crate::entra::wire::{
    member_path, ENTERPRISE_USER as ENTERPRISE, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA,
};
use crate::entra::Dialect;
use crate::profile::provisioning::AttrType;
use crate::scim::attr as get_ci;

/// A mapping target path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Path {
    /// `userName`
    Simple(String),
    /// `name.givenName`
    Sub(String, String),
    /// `emails[type eq "work"].value`, or `roles[primary eq "True"].value`: the element whose
    /// `key` (`type`, `primary`) equals `kind`.
    Typed {
        attr: String,
        key: String,
        kind: String,
        sub: String,
    },
    /// `urn:…:2.0:User:department`
    Urn(String, String),
}

impl Path {
    /// Reads a target path. Anything unusual stays a simple attribute name.
    pub(crate) fn parse(p: &str) -> Path {
        if p.get(..4)
            .is_some_and(|head| head.eq_ignore_ascii_case("urn:"))
        {
            if let Some((urn, name)) = p.rsplit_once(':') {
                return Path::Urn(urn.to_owned(), name.to_owned());
            }
        }
        if let (Some(open), Some(close)) = (p.find('['), p.find(']')) {
            if open < close {
                let attr = &p[..open];
                let filter = &p[open + 1..close];
                let sub = p[close + 1..].strip_prefix('.').unwrap_or("value");
                let kind = filter.split('"').nth(1).unwrap_or_default().to_owned();
                let key = filter
                    .split_whitespace()
                    .next()
                    .filter(|k| !k.is_empty())
                    .unwrap_or("type")
                    .to_owned();
                return Path::Typed {
                    attr: attr.to_owned(),
                    key,
                    kind,
                    sub: lower_first(sub),
                };
            }
        }
        match p.split_once('.') {
            Some((a, s)) => Path::Sub(a.to_owned(), s.to_owned()),
            None => Path::Simple(p.to_owned()),
        }
    }

    /// True for value-path (`attr[filter].sub`) targets.
    pub(crate) fn is_typed(&self) -> bool {
        matches!(self, Path::Typed { .. })
    }
}

/// Seed tables print `.Value`, `.Formatted`; SCIM sub-attributes start lower-case.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A value as a mapping flows it: strings stay strings; Boolean targets hold booleans.
pub(crate) fn typed(kind: AttrType, v: Value) -> Value {
    match (kind, &v) {
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Value::Bool(true)
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Value::Bool(false)
        }
        _ => v,
    }
}

/// The POST body of a user from `(target path, value)` pairs, in mapping order.
pub(crate) fn user_body(attrs: &[(String, Value)]) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([USER_SCHEMA, ENTERPRISE]));
    for (path, value) in attrs {
        put(&mut out, &Path::parse(path), value.clone());
    }
    out.insert("meta".into(), json!({"resourceType": "User"}));
    Value::Object(out)
}

/// The POST body of a group: no members (they follow by PATCH, tutorial §"Group operations");
/// `schemas` is the core Group URN, then `extra_schemas` (none by default).
pub(crate) fn group_body(attrs: &[(String, Value)], extra_schemas: &[String]) -> Value {
    let mut out = Map::new();
    let mut schemas = vec![Value::String(GROUP_SCHEMA.into())];
    schemas.extend(extra_schemas.iter().cloned().map(Value::String));
    out.insert("schemas".into(), Value::Array(schemas));
    for (path, value) in attrs {
        put(&mut out, &Path::parse(path), value.clone());
    }
    out.insert("meta".into(), json!({"resourceType": "Group"}));
    Value::Object(out)
}

fn put(out: &mut Map<String, Value>, path: &Path, value: Value) {
    match path {
        Path::Simple(a) => {
            out.insert(a.clone(), value);
        }
        Path::Sub(a, s) => {
            if let Value::Object(m) = out.entry(a.clone()).or_insert_with(|| json!({})) {
                m.insert(s.clone(), value);
            }
        }
        Path::Urn(urn, name) => {
            if let Value::Object(m) = out.entry(urn.clone()).or_insert_with(|| json!({})) {
                m.insert(name.clone(), value);
            }
        }
        Path::Typed {
            attr,
            key,
            kind,
            sub,
        } => {
            let Value::Array(list) = out.entry(attr.clone()).or_insert_with(|| json!([])) else {
                return;
            };
            let pos = list
                .iter()
                .position(|e| e.get(key.as_str()).is_some_and(|v| same_key(v, kind)));
            let elem = match pos {
                Some(i) => &mut list[i],
                None => {
                    let mut e = Map::new();
                    // `primary eq "True"` seeds `"primary": true` (RFC 7643 §2.4: a
                    // boolean), any other key its string.
                    let seed = if key.eq_ignore_ascii_case("primary") {
                        Value::Bool(kind.eq_ignore_ascii_case("true"))
                    } else {
                        Value::String(kind.clone())
                    };
                    e.insert(key.clone(), seed);
                    // The tutorial's Create User marks the work email primary.
                    if attr.eq_ignore_ascii_case("emails") && kind == "work" {
                        e.insert("primary".into(), Value::Bool(true));
                    }
                    list.push(Value::Object(e));
                    let last = list.len() - 1;
                    &mut list[last]
                }
            };
            if let Value::Object(e) = elem {
                e.insert(sub.clone(), value);
            }
        }
    }
}

/// The value a target resource holds at a mapped path (for diffing a matched object).
pub(crate) fn extract(resource: &Value, path: &str) -> Option<Value> {
    let r = resource.as_object()?;
    let v = match Path::parse(path) {
        Path::Simple(a) => get_ci(r, &a)?.clone(),
        Path::Sub(a, s) => get_ci(get_ci(r, &a)?.as_object()?, &s)?.clone(),
        Path::Urn(urn, name) => {
            let v = get_ci(get_ci(r, &urn)?.as_object()?, &name)?;
            // manager may come back in RFC 7643's complex form.
            match v {
                Value::Object(m) => get_ci(m, "value")?.clone(),
                other => other.clone(),
            }
        }
        Path::Typed {
            attr,
            key,
            kind,
            sub,
        } => {
            let list = get_ci(r, &attr)?.as_array()?;
            let e = list.iter().find(|e| {
                e.as_object()
                    .and_then(|o| get_ci(o, &key))
                    .is_some_and(|v| same_key(v, &kind))
            })?;
            get_ci(e.as_object()?, &sub)?.clone()
        }
    };
    (!v.is_null()).then_some(v)
}

/// An element's filter key holds the filter's value: strings case-insensitively (`type` is
/// `caseExact: false`), booleans against `"True"`/`"False"`.
fn same_key(v: &Value, kind: &str) -> bool {
    match v {
        Value::String(s) => s.eq_ignore_ascii_case(kind),
        Value::Bool(b) => kind.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

/// One attribute change of an update.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub path: String,
    pub old: Option<Value>,
    pub new: Value,
}

fn wire_value(dialect: Dialect, v: &Value) -> Value {
    match (dialect, v) {
        // The default job sends booleans as the strings "True"/"False" (compliance page,
        // "Update PATCH behavior": disable user without the flag).
        (Dialect::Legacy, Value::Bool(b)) => {
            Value::String(if *b { "True" } else { "False" }.into())
        }
        _ => v.clone(),
    }
}

/// A PATCH body for attribute changes. `Add` when the target had no value, `Replace`
/// when it had one (entra-provisioning §3.5). With `aadOptscim062020`, ops are lower
/// case and two or more simple replaces fold into one path-less `replace` whose value
/// object has dotted / URN-qualified keys (compliance page example "replace multiple
/// attributes"); value-path replaces keep their own op.
pub(crate) fn patch(dialect: Dialect, changes: &[Change]) -> Value {
    let mut ops = Vec::new();
    match dialect {
        Dialect::Legacy => {
            for c in changes {
                let op = if c.old.is_some() { "Replace" } else { "Add" };
                ops.push(json!({"op": op, "path": c.path, "value": wire_value(dialect, &c.new)}));
            }
        }
        Dialect::AadOptscim062020 => {
            let mut folded = Vec::new();
            for c in changes {
                if c.old.is_none() {
                    ops.push(json!({"op": "add", "path": c.path, "value": c.new}));
                } else if Path::parse(&c.path).is_typed() {
                    ops.push(json!({"op": "replace", "path": c.path, "value": c.new}));
                } else {
                    folded.push(c);
                }
            }
            match folded.as_slice() {
                [] => {}
                [one] => ops.push(json!({"op": "replace", "path": one.path, "value": one.new})),
                many => {
                    let value: Map<String, Value> = many
                        .iter()
                        .map(|c| (c.path.clone(), c.new.clone()))
                        .collect();
                    ops.push(json!({"op": "replace", "value": value}));
                }
            }
        }
    }
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// A membership PATCH adding (or removing) these target member ids.
pub(crate) fn members(dialect: Dialect, add: bool, ids: &[String]) -> Value {
    let ops: Vec<Value> = match (dialect, add) {
        (Dialect::Legacy, true) => vec![json!({"op": "Add", "path": "members",
            "value": ids.iter().map(|i| json!({"$ref": null, "value": i})).collect::<Vec<_>>()})],
        (Dialect::Legacy, false) => vec![json!({"op": "Remove", "path": "members",
            "value": ids.iter().map(|i| json!({"$ref": null, "value": i})).collect::<Vec<_>>()})],
        (Dialect::AadOptscim062020, true) => vec![json!({"op": "add", "path": "members",
            "value": ids.iter().map(|i| json!({"value": i})).collect::<Vec<_>>()})],
        (Dialect::AadOptscim062020, false) => ids
            .iter()
            .map(|i| json!({"op": "remove", "path": member_path(i)}))
            .collect(),
    };
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

pub(crate) use crate::entra::wire::filter_query;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_paths_do_not_panic() {
        for p in ["ab€x", "€", "urn:", "a]b[c", "x[", "[]", ""] {
            let _ = Path::parse(p);
            let _ = extract(&json!({"a": 1}), p);
        }
    }

    #[test]
    fn paths_parse_into_their_four_shapes() {
        assert_eq!(Path::parse("userName"), Path::Simple("userName".into()));
        assert_eq!(
            Path::parse("name.givenName"),
            Path::Sub("name".into(), "givenName".into())
        );
        assert_eq!(
            Path::parse("addresses[type eq \"other\"].Formatted"),
            Path::Typed {
                attr: "addresses".into(),
                key: "type".into(),
                kind: "other".into(),
                sub: "formatted".into()
            }
        );
        assert_eq!(
            Path::parse(&format!("{ENTERPRISE}:manager")),
            Path::Urn(ENTERPRISE.into(), "manager".into())
        );
    }

    #[test]
    fn a_primary_role_path_seeds_primary_true_not_a_type() {
        let b = user_body(&[("roles[primary eq \"True\"].value".into(), json!("Admin"))]);
        assert_eq!(b["roles"], json!([{"primary": true, "value": "Admin"}]));
        assert_eq!(
            extract(&b, "roles[primary eq \"True\"].value"),
            Some(json!("Admin"))
        );
    }

    #[test]
    fn user_body_nests_typed_and_extension_values() {
        let b = user_body(&[
            ("userName".into(), json!("a@x")),
            ("emails[type eq \"work\"].value".into(), json!("a@x")),
            ("addresses[type eq \"work\"].locality".into(), json!("Oslo")),
            ("addresses[type eq \"work\"].country".into(), json!("NO")),
            (format!("{ENTERPRISE}:department"), json!("R&D")),
        ]);
        assert_eq!(
            b["emails"],
            json!([{"type": "work", "primary": true, "value": "a@x"}])
        );
        assert_eq!(
            b["addresses"],
            json!([{"type": "work", "locality": "Oslo", "country": "NO"}])
        );
        assert_eq!(b[ENTERPRISE]["department"], "R&D");
        assert_eq!(
            extract(&b, "addresses[type eq \"work\"].country"),
            Some(json!("NO"))
        );
        assert_eq!(
            extract(&b, &format!("{ENTERPRISE}:department")),
            Some(json!("R&D"))
        );
        assert_eq!(extract(&b, "name.givenName"), None);
    }

    #[test]
    fn legacy_patch_sends_pascal_case_and_string_booleans() {
        let p = patch(
            Dialect::Legacy,
            &[Change {
                path: "active".into(),
                old: Some(json!(true)),
                new: json!(false),
            }],
        );
        assert_eq!(
            p["Operations"],
            json!([{"op": "Replace", "path": "active", "value": "False"}])
        );
    }

    #[test]
    fn flag_patch_folds_simple_replaces() {
        let c = |p: &str, old: Option<Value>| Change {
            path: p.into(),
            old,
            new: json!("v"),
        };
        let p = patch(
            Dialect::AadOptscim062020,
            &[
                c("displayName", Some(json!("o"))),
                c("emails[type eq \"work\"].value", Some(json!("o"))),
                c("name.givenName", Some(json!("o"))),
                c("title", None),
            ],
        );
        assert_eq!(
            p["Operations"],
            json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "v"},
                {"op": "add", "path": "title", "value": "v"},
                {"op": "replace", "value": {"displayName": "v", "name.givenName": "v"}}
            ])
        );
    }

    #[test]
    fn member_removal_differs_per_dialect() {
        let ids = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            members(Dialect::Legacy, false, &ids)["Operations"][0]["value"],
            json!([{"$ref": null, "value": "a"}, {"$ref": null, "value": "b"}])
        );
        assert_eq!(
            members(Dialect::AadOptscim062020, false, &ids)["Operations"],
            json!([{"op": "remove", "path": "members[value eq \"a\"]"},
                   {"op": "remove", "path": "members[value eq \"b\"]"}])
        );
    }

    #[test]
    fn a_hostile_member_id_stays_one_literal_in_its_removal_path() {
        let ids = vec![r#"b" or value ne "zzz"#.to_owned()];
        let ops = &members(Dialect::AadOptscim062020, false, &ids)["Operations"];
        let path = ops[0]["path"].as_str().unwrap();
        assert_eq!(path, r#"members[value eq "b\" or value ne \"zzz"]"#);
        assert!(crate::filter::parse_path(path).is_ok());
    }

    #[test]
    fn a_group_create_sends_the_core_urn_unless_told_otherwise() {
        assert_eq!(group_body(&[], &[])["schemas"], json!([GROUP_SCHEMA]));
        let adscim = crate::entra::wire::ADSCIM_GROUP.to_owned();
        assert_eq!(
            group_body(&[], std::slice::from_ref(&adscim))["schemas"],
            json!([GROUP_SCHEMA, adscim])
        );
    }
}
