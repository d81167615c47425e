//! Parsing only what a filter reads. A filter names a few attributes; a stored resource
//! has many. [`Projection::parse`] reads a resource's JSON text into a `Value` that holds
//! only the members the filter can look at, and skips the others without building them
//! (serde's `IgnoredAny` still checks they are well-formed JSON). A scan then runs the
//! unchanged evaluator on that smaller value, so the RFC 7644 §3.4.2.2 semantics
//! (`caseExact`, multi-valued attributes, dates, `pr`) are the same by construction:
//! every member [`super::matches`] could reach is kept.
//!
//! What the evaluator reaches from a resource, and so what is kept (names compare ASCII
//! case-insensitively, RFC 7643 §2.1; every member that matches is kept, in order):
//! - an attribute path's name: whole when the path has no sub-attribute (`pr`, a
//!   complex attribute's `value`), else only that sub-attribute of the object or of each
//!   object element (`name` → `{familyName}` for `name.familyName`);
//! - for a value path (`emails[type eq "work"].value`), the members the bracket filter
//!   and the trailing sub-attribute name, in each element;
//! - its schema URN, when it has one (an extension's object, RFC 7644 §3.10), with the
//!   attribute inside it;
//! - with a schema and no URN, that attribute inside every extension's object: an
//!   unqualified name the core schema lacks is looked up in the one extension that
//!   defines it.
//!
//! A sort path ([`Projection::of_path`]) keeps its attribute whole: the sort picks the
//! `primary` element of a multi-valued one.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::ast::{AttrPath, Filter};
use crate::scim::ResourceSchema;

/// How much of a kept member is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Keep {
    Whole,
    /// These members (each whole) of the value if it is an object, or of each object
    /// element if it is an array; any other value whole.
    Members(Vec<String>),
}

impl Keep {
    fn merge(&mut self, other: Keep) {
        match (&mut *self, other) {
            (Keep::Whole, _) => {}
            (_, Keep::Whole) => *self = Keep::Whole,
            (Keep::Members(mine), Keep::Members(theirs)) => {
                for k in theirs {
                    if !mine.iter().any(|m| m.eq_ignore_ascii_case(&k)) {
                        mine.push(k);
                    }
                }
            }
        }
    }
}

/// The members of a resource that a filter or a sort path can read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    keys: Vec<(String, Keep)>,
}

/// The element-level names a bracket filter reads (paths inside `[...]` are relative to
/// one element, RFC 7644 §3.4.2.2).
fn element_names(filter: &Filter, out: &mut Vec<String>) {
    match filter {
        Filter::Attr(exp) => out.push(exp.path.name.clone()),
        Filter::ValuePath(vp) => out.push(vp.attr.name.clone()),
        Filter::ValuePathAttr { value_path, .. } => out.push(value_path.attr.name.clone()),
        Filter::Not(inner) => element_names(inner, out),
        Filter::And(fs) | Filter::Or(fs) => fs.iter().for_each(|f| element_names(f, out)),
    }
}

impl Projection {
    /// What `filter` reads from a resource governed by `schema` (as [`super::matches`]
    /// is called with it).
    pub fn of(filter: &Filter, schema: Option<&ResourceSchema>) -> Projection {
        let mut p = Projection::default();
        p.add_filter(filter, schema);
        p
    }

    /// What sorting by `path` reads (RFC 7644 §3.4.2.3): its attribute, whole.
    pub fn of_path(path: &AttrPath, schema: Option<&ResourceSchema>) -> Projection {
        let mut p = Projection::default();
        p.add_path(path, Keep::Whole, schema);
        p
    }

    fn add_filter(&mut self, filter: &Filter, schema: Option<&ResourceSchema>) {
        match filter {
            Filter::Attr(exp) => {
                let keep = match &exp.path.sub_attr {
                    Some(sub) => Keep::Members(vec![sub.clone()]),
                    None => Keep::Whole,
                };
                self.add_path(&exp.path, keep, schema);
            }
            Filter::ValuePath(vp) => {
                let mut names = Vec::new();
                element_names(&vp.filter, &mut names);
                self.add_path(&vp.attr, Keep::Members(names), schema);
            }
            Filter::ValuePathAttr {
                value_path,
                sub_attr,
                ..
            } => {
                let mut names = vec![sub_attr.clone()];
                element_names(&value_path.filter, &mut names);
                self.add_path(&value_path.attr, Keep::Members(names), schema);
            }
            Filter::Not(inner) => self.add_filter(inner, schema),
            Filter::And(fs) | Filter::Or(fs) => {
                for f in fs {
                    self.add_filter(f, schema);
                }
            }
        }
    }

    /// Keeps `keep` of the attribute `path` names, at the top level and inside the
    /// extension objects it may live in.
    fn add_path(&mut self, path: &AttrPath, keep: Keep, schema: Option<&ResourceSchema>) {
        let inside = || Keep::Members(vec![path.name.clone()]);
        match (&path.urn, schema) {
            (Some(urn), _) => self.add_key(urn, inside()),
            (None, Some(schema)) => {
                for (ext, _) in &schema.extensions {
                    self.add_key(&ext.id, inside());
                }
            }
            (None, None) => {}
        }
        // A URN names the extension object, whose members are kept whole; the core URN
        // (or none) names the top level.
        self.add_key(&path.name, keep);
    }

    fn add_key(&mut self, key: &str, keep: Keep) {
        match self
            .keys
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some((_, mine)) => mine.merge(keep),
            None => self.keys.push((key.to_owned(), keep)),
        }
    }

    fn keep(&self, key: &str) -> Option<&Keep> {
        self.keys
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, keep)| keep)
    }

    /// Parses the JSON object `json`, keeping only what the projection keeps, in order.
    /// Fails as `serde_json` does on text that is not one JSON object.
    pub fn parse(&self, json: &[u8]) -> serde_json::Result<Value> {
        // One UTF-8 check of the whole text up front is cheaper than serde_json's check of
        // every string it reads from bytes (measured: 6.8 % of a scan's profile).
        let text = std::str::from_utf8(json).map_err(serde::de::Error::custom)?;
        let mut de = serde_json::Deserializer::from_str(text);
        let map = Top(self).deserialize(&mut de)?;
        de.end()?;
        Ok(Value::Object(map))
    }
}

/// The top-level object, projected.
struct Top<'p>(&'p Projection);

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = access.next_key_seed(Key)? {
            match self.0.keep(&key) {
                Some(Keep::Whole) => {
                    let value: Value = access.next_value()?;
                    out.insert(key.into_owned(), value);
                }
                Some(Keep::Members(names)) => {
                    let value = access.next_value_seed(Part(names))?;
                    out.insert(key.into_owned(), value);
                }
                None => {
                    access.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A value of which only the members `names` are kept: of the object, or of each
/// object element of the array. Any other value is kept whole.
struct Part<'p>(&'p [String]);

impl Part<'_> {
    fn keeps(&self, key: &str) -> bool {
        self.0.iter().any(|k| k.eq_ignore_ascii_case(key))
    }
}

impl<'de> DeserializeSeed<'de> for Part<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Part<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = access.next_key_seed(Key)? {
            if self.keeps(&key) {
                let value: Value = access.next_value()?;
                out.insert(key.into_owned(), value);
            } else {
                access.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = access.next_element_seed(Part(self.0))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    // Scalars are kept as serde_json's own `Value` visitor would build them.
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
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

/// A necessary condition for a match, checked on a resource's stored JSON text before
/// anything is parsed: `attr eq "lit"` (and `co`, `sw`, `ew`), alone or as an operand of
/// a top-level `and`, can only match a resource whose text contains `lit`, ignoring ASCII
/// case. That holds when
/// - the text is all ASCII (checked per resource): a non-ASCII character can fold to an
///   ASCII one (`K`, U+212A KELVIN SIGN, lower-cases to `k`), so such texts are parsed;
/// - `lit` is printable ASCII without `"` or `\`: serde_json writes such a string
///   verbatim, so any value equal to it up to ASCII case appears verbatim in the text;
/// - `lit` is not an RFC 3339 instant: `dateTime` values compare as instants, and
///   `…:26Z` equals `…:26.000Z` (RFC 7644 §3.4.2.2);
/// - everything the filter reads is in the text (not a group's rendered `members`: the
///   caller skips the check then).
///
/// Selective filters (Entra's matching queries are `eq`) then cost a substring search per
/// resource instead of a parse; a filter whose literal is everywhere costs the search on
/// top of the parse.
#[derive(Debug, Clone)]
pub struct Prefilter {
    needle: Option<aho_corasick::AhoCorasick>,
}

impl Prefilter {
    /// The check for `filter` (none when no literal is required).
    pub fn of(filter: &Filter) -> Prefilter {
        let needle = required_literal(filter).and_then(|lit| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build([lit])
                .ok()
        });
        Prefilter { needle }
    }

    /// False only when the resource whose compact JSON text is `text` cannot match.
    pub fn may_match(&self, text: &[u8]) -> bool {
        match &self.needle {
            None => true,
            Some(needle) => !text.is_ascii() || needle.is_match(text),
        }
    }
}

/// A string every match's text contains (see [`Prefilter`]).
fn required_literal(filter: &Filter) -> Option<&str> {
    use super::ast::{AttrOp, CompValue, CompareOp};
    match filter {
        Filter::Attr(exp) => {
            let AttrOp::Compare(op, CompValue::String(lit)) = &exp.op else {
                return None;
            };
            let contained = matches!(
                op,
                CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew
            );
            let verbatim = !lit.is_empty()
                && lit
                    .bytes()
                    .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
            let instant =
                time::OffsetDateTime::parse(lit, &time::format_description::well_known::Rfc3339)
                    .is_ok();
            (contained && verbatim && !instant).then_some(lit.as_str())
        }
        Filter::And(operands) => operands.iter().find_map(required_literal),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{matches, parse};
    use crate::scim::user_resource;
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
                "name": {"familyName": "Jensen"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "manager": {"value": "m1"}
                }
            })
        );
        assert_eq!(matches(&f, &got, Some(&schema)), Ok(true));
        // Without a schema an unqualified name reaches no extension.
        let bare = Projection::of(&f, None).parse(&text).unwrap();
        assert_eq!(bare, json!({"name": {"familyName": "Jensen"}}));
        // `pr` on the complex attribute, and a sort, need it whole.
        let whole = Projection::of(&parse("name pr and name.givenName pr").unwrap(), None);
        assert_eq!(
            whole.parse(&text).unwrap(),
            json!({"name": user()["name"].clone()})
        );
        let sort = Projection::of_path(&AttrPath::new("emails", None), None);
        assert_eq!(
            sort.parse(&text).unwrap(),
            json!({"emails": user()["emails"].clone()})
        );
    }

    #[test]
    fn a_value_path_keeps_what_its_brackets_and_sub_attribute_read_in_each_element() {
        let text = br#"{"emails": [{"value": "a", "type": "work", "display": "x"}, 7,
            {"primary": true}], "x": 1}"#;
        let f = parse(r#"emails[type eq "work"].value eq "a""#).unwrap();
        assert_eq!(
            Projection::of(&f, None).parse(text).unwrap(),
            json!({"emails": [{"value": "a", "type": "work"}, 7, {}]})
        );
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

    #[test]
    fn the_text_check_rejects_only_texts_that_cannot_match() {
        let text = |v: &Value| serde_json::to_vec(v).unwrap();
        let check = |f: &str| Prefilter::of(&parse(f).unwrap());
        let jensen = text(&json!({"name": {"familyName": "JENSEN"}}));
        assert!(check(r#"name.familyName eq "jensen""#).may_match(&jensen));
        assert!(check(r#"name.familyName co "ENS""#).may_match(&jensen));
        assert!(!check(r#"name.familyName eq "nobody""#).may_match(&jensen));
        assert!(!check(r#"active eq true and name.familyName sw "x""#).may_match(&jensen));
        // No literal is required: `or`, `ne`, `pr`, numbers, dates, quotes, empty strings.
        for f in [
            r#"name.familyName eq "x" or active eq true"#,
            r#"name.familyName ne "x""#,
            "name pr",
            "age eq 3",
            r#"meta.created eq "2018-03-27T19:59:26Z""#,
            r#"title eq "say \"hi\"""#,
            r#"title co """#,
        ] {
            assert!(check(f).may_match(&jensen), "{f}");
        }
        // A non-ASCII text is never rejected: U+212A KELVIN SIGN folds to ASCII `k`.
        let kelvin = text(&json!({"name": {"familyName": "\u{212A}elvin"}}));
        let f = parse(r#"name.familyName eq "kelvin""#).unwrap();
        assert_eq!(
            matches(&f, &serde_json::from_slice(&kelvin).unwrap(), None),
            Ok(true)
        );
        assert!(Prefilter::of(&f).may_match(&kelvin));
    }
}
