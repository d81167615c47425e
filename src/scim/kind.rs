//! The resource types (RFC 7643 §4) and the facts about each the protocol fixes: endpoint,
//! `meta.resourceType`, core schema URN, and the attribute that must be unique.

use super::urn;

/// The two resource types scimock serves (RFC 7643 §4: User, §4.2: Group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// The endpoint name, `Users` or `Groups` (RFC 7644 §3.2).
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }

    /// `meta.resourceType`: `User` or `Group`.
    pub fn resource_type(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The core schema URN.
    pub fn schema_urn(self) -> &'static str {
        match self {
            ResourceKind::User => urn::USER,
            ResourceKind::Group => urn::GROUP,
        }
    }

    /// The attribute that must be unique (case-insensitively): `userName` (RFC 7643
    /// §4.1.1) or `displayName` (an Entra requirement, entra-provisioning.md §2.2).
    pub fn unique_attr(self) -> &'static str {
        match self {
            ResourceKind::User => "userName",
            ResourceKind::Group => "displayName",
        }
    }

    /// The kind for an endpoint name, ignoring ASCII case.
    pub fn from_endpoint(name: &str) -> Option<ResourceKind> {
        [ResourceKind::User, ResourceKind::Group]
            .into_iter()
            .find(|k| k.endpoint().eq_ignore_ascii_case(name))
    }
}
