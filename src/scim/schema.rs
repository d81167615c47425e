//! Schema definitions (RFC 7643 §7): what an attribute is, how it compares, who may write it.
//!
//! The types serialize to exactly the RFC's `/Schemas` representation, so the server can
//! answer discovery requests from the same values that drive filtering, PATCH and
//! validation. The three RFC schemas (core User, core Group, enterprise User extension)
//! are embedded from `src/scim/schemas/*.json`; vendor profiles add their own.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// Who may write an attribute (RFC 7643 §7, `mutability`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    #[default]
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7, `returned`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    #[default]
    Default,
    Request,
}

/// Uniqueness scope of an attribute's value (RFC 7643 §7, `uniqueness`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    #[default]
    None,
    Server,
    Global,
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttrType,
    #[serde(default)]
    pub multi_valued: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub case_exact: bool,
    #[serde(default)]
    pub mutability: Mutability,
    #[serde(default)]
    pub returned: Returned,
    #[serde(default)]
    pub uniqueness: Uniqueness,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// A sub-attribute by case-insensitive name (RFC 7643 §2.1: names are case-insensitive).
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A schema (RFC 7643 §7): an id URN and its attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    #[serde(default)]
    pub schemas: Vec<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub attributes: Vec<Attribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
}

impl Schema {
    /// A top-level attribute by case-insensitive name.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A resource type's schemas: one core schema plus its extensions (RFC 7643 §6), which is
/// what attribute lookup needs to resolve `name.givenName` or
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSchema {
    pub core: Schema,
    /// Extension schemas and whether each is required on the resource.
    pub extensions: Vec<(Schema, bool)>,
}

/// The common attributes every resource has (RFC 7643 §3.1), which §8.7.1 leaves out of
/// the schema listings.
fn common_attribute(name: &str) -> Option<&'static Attribute> {
    use std::sync::OnceLock;
    static COMMON: OnceLock<Vec<Attribute>> = OnceLock::new();
    let all = COMMON.get_or_init(|| {
        let simple = |name: &str, kind, case_exact, mutability, returned| Attribute {
            name: name.to_owned(),
            kind,
            multi_valued: false,
            description: None,
            required: false,
            case_exact,
            mutability,
            returned,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        };
        let ro = Mutability::ReadOnly;
        let meta_subs = vec![
            simple(
                "resourceType",
                AttrType::String,
                true,
                ro,
                Returned::Default,
            ),
            simple("created", AttrType::DateTime, false, ro, Returned::Default),
            simple(
                "lastModified",
                AttrType::DateTime,
                false,
                ro,
                Returned::Default,
            ),
            simple("location", AttrType::Reference, true, ro, Returned::Default),
            simple("version", AttrType::String, true, ro, Returned::Default),
        ];
        let mut meta = simple("meta", AttrType::Complex, false, ro, Returned::Default);
        meta.sub_attributes = meta_subs;
        vec![
            simple("id", AttrType::String, true, ro, Returned::Always),
            simple(
                "externalId",
                AttrType::String,
                true,
                Mutability::ReadWrite,
                Returned::Default,
            ),
            simple("schemas", AttrType::Reference, false, ro, Returned::Always),
            meta,
        ]
    });
    all.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

impl ResourceSchema {
    /// The schema with this URN (core or extension), compared case-insensitively.
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        std::iter::once(&self.core)
            .chain(self.extensions.iter().map(|(s, _)| s))
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Resolves an attribute: `urn` is the optional schema qualifier, `name` the attribute,
    /// `sub` an optional sub-attribute. Unqualified names resolve against the core schema
    /// and the common attributes (RFC 7644 §3.10).
    pub fn resolve(&self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Option<&Attribute> {
        let top = match urn {
            Some(u) => self.schema(u)?.attribute(name)?,
            None => self
                .core
                .attribute(name)
                .or_else(|| common_attribute(name))?,
        };
        match sub {
            None => Some(top),
            Some(s) => top.sub_attribute(s),
        }
    }

    /// The URNs of the core schema and every extension, core first.
    pub fn urns(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.core.id.as_str())
            .chain(self.extensions.iter().map(|(s, _)| s.id.as_str()))
    }
}

fn embedded(json: &str) -> Schema {
    // The embedded files are part of the crate and checked by a unit test; a parse failure
    // here is a build defect, not input-derived.
    serde_json::from_str(json).expect("embedded schema JSON is valid")
}

/// The RFC 7643 §8.7.1 core User schema.
pub fn core_user() -> Schema {
    embedded(include_str!("schemas/user.json"))
}

/// The RFC 7643 §8.7.1 core Group schema.
pub fn core_group() -> Schema {
    embedded(include_str!("schemas/group.json"))
}

/// The RFC 7643 §8.7.1 enterprise User extension schema.
pub fn enterprise_user() -> Schema {
    embedded(include_str!("schemas/enterprise_user.json"))
}

/// User resource schema: core User plus the (optional) enterprise extension.
pub fn user_resource() -> ResourceSchema {
    ResourceSchema {
        core: core_user(),
        extensions: vec![(enterprise_user(), false)],
    }
}

/// The RFC User resource schema, parsed once per process and shared.
pub(crate) fn shared_user_resource() -> Arc<ResourceSchema> {
    static SCHEMA: OnceLock<Arc<ResourceSchema>> = OnceLock::new();
    Arc::clone(SCHEMA.get_or_init(|| Arc::new(user_resource())))
}

/// The RFC Group resource schema, parsed once per process and shared: every profile
/// without a `[groups]` table, and every store, points here.
pub(crate) fn shared_group_resource() -> Arc<ResourceSchema> {
    static SCHEMA: OnceLock<Arc<ResourceSchema>> = OnceLock::new();
    Arc::clone(SCHEMA.get_or_init(|| Arc::new(group_resource())))
}

/// Group resource schema: core Group, no extensions.
pub fn group_resource() -> ResourceSchema {
    ResourceSchema {
        core: core_group(),
        extensions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::urn;

    #[test]
    fn embedded_schemas_parse_and_carry_their_urns() {
        assert_eq!(core_user().id, urn::USER);
        assert_eq!(core_group().id, urn::GROUP);
        assert_eq!(enterprise_user().id, urn::ENTERPRISE_USER);
    }

    #[test]
    fn resolves_core_sub_attribute_and_extension_paths_case_insensitively() {
        let users = user_resource();
        let given = users.resolve(None, "NAME", Some("givenname")).unwrap();
        assert_eq!(given.name, "givenName");
        let user_name = users.resolve(None, "userName", None).unwrap();
        assert!(!user_name.case_exact);
        let mgr = users
            .resolve(Some(urn::ENTERPRISE_USER), "manager", Some("value"))
            .unwrap();
        assert_eq!(mgr.kind, AttrType::String);
        assert!(users.resolve(None, "id", None).unwrap().case_exact);
        assert!(users.resolve(None, "meta", Some("lastModified")).is_some());
        assert!(users.resolve(None, "nope", None).is_none());
    }
}
