//! SCIM protocol types, serde only (never hyper): resources (RFC 7643 §4), messages
//! (RFC 7644 §3.4.2 ListResponse, §3.12 Error, §3.5.2 PatchOp, §3.4.3 SearchRequest),
//! schema definitions (RFC 7643 §7) and URNs. Shared by the server and the replay client.

pub mod kind;
pub mod message;
pub mod resource;
pub mod schema;
pub mod urn;

pub use kind::ResourceKind;
pub use message::{
    ErrorResponse, ListResponse, PatchOperation, PatchRequest, ScimType, SearchRequest,
};
pub use resource::{Group, Member, Meta, MultiValue, Name, User};
pub use schema::{AttrType, Attribute, Mutability, ResourceSchema, Returned, Schema, Uniqueness};
