//! SCIM protocol types, serde only (never hyper): resource types (RFC 7643 §4), messages
//! (RFC 7644 §3.4.2 ListResponse, §3.12 Error, §3.5.2 PatchOp, §3.4.3 SearchRequest),
//! schema definitions (RFC 7643 §7) and URNs. Resources themselves stay JSON (the store
//! keeps their text; PATCH edits their JSON), so there is no typed User or Group here.

mod kind;
mod message;
mod schema;
pub mod urn;

pub use kind::ResourceKind;
pub use message::{
    ErrorResponse, ListResponse, PatchOperation, PatchRequest, ScimType, SearchRequest,
};
pub use schema::{
    core_group, core_user, enterprise_user, group_resource, user_resource, AttrType, Attribute,
    Mutability, ResourceSchema, Returned, Schema, Uniqueness,
};
pub(crate) use schema::{shared_group_resource, shared_user_resource};

/// A member of a JSON object by attribute name: the exact name first, else any case
/// (RFC 7643 §2.1: "Attribute names are case insensitive").
pub(crate) fn attr<'a>(
    map: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<&'a serde_json::Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The schemas a `/Schemas` answer lists: a ListResponse's `Resources` (RFC 7644 §4), or a
/// bare array, which some servers answer instead; nothing for anything else.
#[cfg(feature = "entra")]
pub(crate) fn listed_schemas(body: &serde_json::Value) -> &[serde_json::Value] {
    body.get("Resources")
        .and_then(serde_json::Value::as_array)
        .or_else(|| body.as_array())
        .map_or(&[], Vec::as_slice)
}

/// [`attr`] of a value that may not be an object (`None` then).
pub(crate) fn attr_of<'a>(
    value: &'a serde_json::Value,
    name: &str,
) -> Option<&'a serde_json::Value> {
    attr(value.as_object()?, name)
}
