//! Typed User and Group resources (RFC 7643 §4) that round-trip what they do not model.
//!
//! Every struct keeps unknown members in a flattened `extra` map, so an extension schema
//! (`urn:ietf:params:scim:schemas:extension:freshservice:2.0:User`) or a vendor attribute
//! survives `from_value` → `to_value` unchanged. The store works on `serde_json::Value`;
//! these types are for callers (tests, the replay client) that want names instead of keys.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Common resource metadata (RFC 7643 §3.1). Timestamps are kept as the RFC 3339 strings
/// the server sent, so a round trip never reformats them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Weak entity tag, e.g. `W/"3"` (RFC 7644 §3.14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The components of a user's name (RFC 7643 §4.1.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_suffix: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One value of a multi-valued attribute such as `emails` or `phoneNumbers`
/// (RFC 7643 §2.4: `value`, `display`, `type`, `primary`, `$ref`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A SCIM User (RFC 7643 §4.1). Attributes without a field here (addresses, extension
/// objects, vendor attributes) live in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default)]
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<MultiValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<MultiValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A member of a group (RFC 7643 §4.2): `value` is the member's `id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A SCIM Group (RFC 7643 §4.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default)]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl User {
    /// A user with the core schema and the given `userName`.
    pub fn new(user_name: impl Into<String>) -> Self {
        User {
            schemas: vec![super::urn::USER.to_owned()],
            user_name: user_name.into(),
            ..User::default()
        }
    }

    /// The object stored under an extension schema URN, if any
    /// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`).
    pub fn extension(&self, urn: &str) -> Option<&Map<String, Value>> {
        self.extra.get(urn).and_then(Value::as_object)
    }
}

impl Group {
    /// A group with the core schema and the given `displayName`.
    pub fn new(display_name: impl Into<String>) -> Self {
        Group {
            schemas: vec![super::urn::GROUP.to_owned()],
            display_name: display_name.into(),
            ..Group::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_round_trips_extension_and_unknown_attributes() {
        let input = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"],
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "nickname": "Babs"},
            "emails": [{"value": "b@example.com", "type": "work", "primary": true, "x": 1}],
            "addresses": [{"type": "work", "locality": "Hollywood"}],
            "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User": {"isAgent": true},
            "roles": []
        });
        let user: User = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(user.user_name, "bjensen");
        assert_eq!(
            user.extension("urn:ietf:params:scim:schemas:extension:freshservice:2.0:User")
                .and_then(|m| m.get("isAgent")),
            Some(&json!(true))
        );
        assert_eq!(serde_json::to_value(&user).unwrap(), input);
    }

    #[test]
    fn group_round_trips_members_with_ref_and_type() {
        let input = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "g1",
            "displayName": "Admins",
            "members": [{"value": "u1", "$ref": "https://x/Users/u1", "type": "User", "display": "U"}],
            "meta": {"resourceType": "Group", "version": "W/\"1\""}
        });
        let group: Group = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(
            group.members[0].reference.as_deref(),
            Some("https://x/Users/u1")
        );
        assert_eq!(serde_json::to_value(&group).unwrap(), input);
    }
}
