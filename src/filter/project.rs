//! Parsing only what a filter reads. A filter names a few top-level attributes; a stored
//! resource has many. [`Projection::parse`] reads a resource's JSON text into a `Value`
//! that holds only the members the filter can look at, and skips the others without
//! building them (serde's `IgnoredAny` still checks they are well-formed JSON). A scan
//! then evaluates the unchanged evaluator on that smaller value, so the RFC 7644
//! §3.4.2.2 semantics (`caseExact`, multi-valued attributes, dates, `pr`) are the same by
//! construction: every member [`super::matches`] could reach is kept whole.
//!
//! What the evaluator reaches from a resource, and so what is kept (names compare ASCII
//! case-insensitively, RFC 7643 §2.1, and every member that matches is kept in order):
//! - an attribute path's name (`name` of `name.familyName`, `emails` of
//!   `emails[type eq "work"]`);
//! - its schema URN, when it has one (an extension's object, RFC 7644 §3.10);
//! - with a schema and no URN, every extension's object: an unqualified name the core
//!   schema lacks is looked up in the one extension that defines it.
//!
//! Paths inside `[...]` are relative to an element of a kept attribute, so they add
//! nothing.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::ast::{AttrPath, Filter};
use crate::scim::schema::ResourceSchema;

/// The top-level members of a resource that a filter or a sort path can read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    keys: Vec<String>,
}

impl Projection {
    /// What `filter` reads from a resource governed by `schema` (as [`super::matches`]
    /// is called with it).
    pub fn of(filter: &Filter, schema: Option<&ResourceSchema>) -> Projection {
        let mut p = Projection::default();
        p.add_filter(filter, schema);
        p
    }

    /// What the attribute `path` reads (a `sortBy` path, RFC 7644 §3.4.2.3).
    pub fn of_path(path: &AttrPath, schema: Option<&ResourceSchema>) -> Projection {
        let mut p = Projection::default();
        p.add_path(path, schema);
        p
    }

    fn add_filter(&mut self, filter: &Filter, schema: Option<&ResourceSchema>) {
        match filter {
            Filter::Attr(exp) => self.add_path(&exp.path, schema),
            Filter::ValuePath(vp) => self.add_path(&vp.attr, schema),
            Filter::ValuePathAttr { value_path, .. } => self.add_path(&value_path.attr, schema),
            Filter::Not(inner) => self.add_filter(inner, schema),
            Filter::And(fs) | Filter::Or(fs) => {
                for f in fs {
                    self.add_filter(f, schema);
                }
            }
        }
    }

    fn add_path(&mut self, path: &AttrPath, schema: Option<&ResourceSchema>) {
        self.add_key(&path.name);
        match (&path.urn, schema) {
            (Some(urn), _) => self.add_key(urn),
            (None, Some(schema)) => {
                for (ext, _) in &schema.extensions {
                    self.add_key(&ext.id);
                }
            }
            (None, None) => {}
        }
    }

    fn add_key(&mut self, key: &str) {
        if !self.keeps(key) {
            self.keys.push(key.to_owned());
        }
    }

    /// Is the member `key` kept?
    pub fn keeps(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k.eq_ignore_ascii_case(key))
    }

    /// Parses the JSON object `json`, keeping only the members [`Projection::keeps`]
    /// (each whole, in their order). Fails as `serde_json` does on text that is not one
    /// JSON object.
    pub fn parse(&self, json: &[u8]) -> serde_json::Result<Value> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let map = Members(self).deserialize(&mut de)?;
        de.end()?;
        Ok(Value::Object(map))
    }
}

/// Deserializes an object into the members a projection keeps.
struct Members<'p>(&'p Projection);

impl<'de> DeserializeSeed<'de> for Members<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = access.next_key_seed(Key)? {
            if self.0.keeps(&key) {
                let value: Value = access.next_value()?;
                out.insert(key.into_owned(), value);
            } else {
                access.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// A member name, borrowed from the text unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{matches, parse};
    use crate::scim::schema::user_resource;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "u1",
            "userName": "bjensen",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "manager": {"value": "m1"}
            },
            "Name\u{00e9}\"x": 1
        })
    }

    #[test]
    fn keeps_the_named_members_and_every_extension_for_unqualified_names() {
        let schema = user_resource();
        let text = serde_json::to_vec(&user()).unwrap();
        let f = parse(r#"NAME.familyName eq "jensen" and manager eq "m1""#).unwrap();
        let p = Projection::of(&f, Some(&schema));
        let got = p.parse(&text).unwrap();
        assert_eq!(
            got,
            json!({
                "name": {"familyName": "Jensen", "givenName": "Barbara"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "employeeNumber": "701984",
                    "manager": {"value": "m1"}
                }
            })
        );
        assert_eq!(matches(&f, &got, Some(&schema)), Ok(true));
        // Without a schema an unqualified name reaches no extension.
        let bare = Projection::of(&f, None).parse(&text).unwrap();
        assert_eq!(bare, json!({"name": user()["name"].clone()}));
    }

    #[test]
    fn a_qualified_path_keeps_its_extension_and_a_value_path_its_attribute() {
        let text = serde_json::to_vec(&user()).unwrap();
        let f = parse(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984" or emails[type eq "work"]"#,
        )
        .unwrap();
        let got = Projection::of(&f, None).parse(&text).unwrap();
        let keys: Vec<&str> = got
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "emails",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ]
        );
    }

    #[test]
    fn escaped_member_names_compare_after_unescaping() {
        let text = br#"{"Name\u00e9\"x": 1, "a\u0062": 2, "c": 3}"#;
        let f = parse("ab pr").unwrap();
        assert_eq!(
            Projection::of(&f, None).parse(text).unwrap(),
            json!({"ab": 2})
        );
    }

    #[test]
    fn text_that_is_not_one_object_fails() {
        let p = Projection::of(&parse("a pr").unwrap(), None);
        assert!(p.parse(b"[1]").is_err());
        assert!(p.parse(br#"{"a": 1} {"#).is_err());
        assert!(p.parse(br#"{"b": [1, }"#).is_err());
    }
}
