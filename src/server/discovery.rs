//! Discovery endpoints (RFC 7644 §4; RFC 7643 §5 ServiceProviderConfig, §6 ResourceType,
//! §7 Schema), generated from the same schema values the store validates with, so they
//! say exactly what the server supports.

use serde_json::{json, Value};

use super::handlers::Ctx;
use crate::profile::{AuthScheme, Profile};
use crate::scim::ResourceKind;
use crate::scim::{urn, ListResponse};
use crate::scim::{ResourceSchema, Schema};
use crate::store::Store;
use crate::{Error, Result};

/// `GET /ServiceProviderConfig` (RFC 7643 §5): page limit and auth from the profile.
pub(crate) fn service_provider_config(base: &str, max_results: u64, profile: &Profile) -> Value {
    let mut v = json!({
        "schemas": [urn::SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://docs.rs/scimock",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard (RFC 6750)",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig")
        }
    });
    if profile.spec().auth == AuthScheme::None {
        v["authenticationSchemes"] = json!([]);
    }
    v
}

fn resource_type(base: &str, kind: ResourceKind, schema: &ResourceSchema) -> Value {
    let extensions: Vec<Value> = schema
        .extensions
        .iter()
        .map(|(s, required)| json!({"schema": s.id, "required": required}))
        .collect();
    let mut v = json!({
        "schemas": [urn::RESOURCE_TYPE],
        "id": kind.resource_type(),
        "name": kind.resource_type(),
        "endpoint": format!("/{}", kind.endpoint()),
        "description": match kind {
            ResourceKind::User => "User Account",
            ResourceKind::Group => "Group",
        },
        "schema": schema.core.id,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/{}", kind.resource_type())
        }
    });
    if !extensions.is_empty() {
        v["schemaExtensions"] = Value::Array(extensions);
    }
    v
}

/// `GET /ResourceTypes` (RFC 7644 §4): the resource types the profile serves.
pub(crate) fn resource_types(base: &str, ctx: &Ctx<'_>) -> ListResponse<Value> {
    let all: Vec<Value> = ctx
        .settings
        .profile
        .kinds()
        .iter()
        .map(|k| resource_type(base, *k, ctx.store.schema(*k)))
        .collect();
    list(all)
}

/// `GET /ResourceTypes/{name}`.
pub(crate) fn one_resource_type(base: &str, ctx: &Ctx<'_>, name: &str) -> Result<Value> {
    let kinds = ctx.settings.profile.kinds();
    kinds
        .iter()
        .find(|k| k.resource_type().eq_ignore_ascii_case(name))
        .map(|k| resource_type(base, *k, ctx.store.schema(*k)))
        .ok_or_else(|| {
            let names: Vec<&str> = kinds.iter().map(|k| k.resource_type()).collect();
            Error::not_found(format!(
                "no resource type `{name}`; this server has {}",
                names.join(" and ")
            ))
        })
}

fn schemas<'a>(store: &'a Store, kinds: &[ResourceKind]) -> Vec<&'a Schema> {
    let mut out: Vec<&Schema> = Vec::new();
    for k in kinds {
        let rs = store.schema(*k);
        for s in std::iter::once(&rs.core).chain(rs.extensions.iter().map(|(s, _)| s)) {
            if !out.iter().any(|o| o.id == s.id) {
                out.push(s);
            }
        }
    }
    out
}

fn schema_value(base: &str, s: &Schema) -> Result<Value> {
    let mut v = serde_json::to_value(s)
        .map_err(|e| Error::internal(format!("cannot serialise schema `{}`: {e}", s.id)))?;
    v["schemas"] = json!([urn::SCHEMA]);
    v["meta"] = json!({
        "resourceType": "Schema",
        "location": format!("{base}/Schemas/{}", s.id)
    });
    Ok(v)
}

/// `GET /Schemas` (RFC 7644 §4; entra-provisioning.md §1.17: a ListResponse).
pub(crate) fn all_schemas(base: &str, ctx: &Ctx<'_>) -> Result<ListResponse<Value>> {
    let all = schemas(ctx.store, &ctx.settings.profile.kinds())
        .into_iter()
        .map(|s| schema_value(base, s))
        .collect::<Result<Vec<Value>>>()?;
    Ok(list(all))
}

/// `GET /Schemas/{urn}`.
pub(crate) fn one_schema(base: &str, ctx: &Ctx<'_>, id: &str) -> Result<Value> {
    schemas(ctx.store, &ctx.settings.profile.kinds())
        .into_iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| Error::not_found(format!("no schema `{id}` on this server")))
        .and_then(|s| schema_value(base, s))
}

fn list(items: Vec<Value>) -> ListResponse<Value> {
    let total = items.len() as u64;
    ListResponse::new(items, total, 1)
}
