//! Protocol messages: ListResponse (RFC 7644 §3.4.2), Error (§3.12), PatchOp (§3.5.2) and
//! SearchRequest (§3.4.3).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::urn;

/// A page of query results (RFC 7644 §3.4.2). Note the capital `Resources` key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T = Value> {
    pub schemas: Vec<String>,
    pub total_results: u64,
    #[serde(rename = "Resources", default = "Vec::new")]
    pub resources: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u64>,
}

impl<T> ListResponse<T> {
    /// A page starting at the 1-based `start_index`, out of `total_results` matches.
    pub fn new(resources: Vec<T>, total_results: u64, start_index: u64) -> Self {
        let items = resources.len() as u64;
        ListResponse {
            schemas: vec![urn::LIST_RESPONSE.to_owned()],
            total_results,
            resources,
            start_index: Some(start_index),
            items_per_page: Some(items),
        }
    }
}

/// The `scimType` keywords of RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    /// The keyword as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

/// An error body (RFC 7644 §3.12). `status` is a JSON string, as the RFC's examples and
/// Entra's reference responses show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    pub schemas: Vec<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<ScimType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ErrorResponse {
    /// An error with HTTP `status`, an optional `scimType`, and a human `detail`.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ErrorResponse {
            schemas: vec![urn::ERROR.to_owned()],
            status: status.to_string(),
            scim_type,
            detail: Some(detail.into()),
        }
    }

    /// The HTTP status as a number (0 if a peer sent something unparsable).
    pub fn status_code(&self) -> u16 {
        self.status.trim().parse().unwrap_or(0)
    }
}

/// A PATCH request body (RFC 7644 §3.5.2). `op` is kept as sent so the PATCH engine can
/// tell Entra's PascalCase dialect (`"Replace"`) from the RFC's lowercase one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchRequest {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<PatchOperation>,
}

/// One PATCH operation as sent on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOperation {
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `None` when the member is absent; `Some(Value::Null)` for `"value": null`, which
    /// means "clear" (RFC 7643 §2.5: null is unassigned; the Logic App "SCIM Validation"
    /// template's mandatory null-update test sends it).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A member that is present, `null` included (serde maps a present `null` to `None` for
/// an `Option` unless told otherwise).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(d).map(Some)
}

impl PatchRequest {
    /// A request with the PatchOp schema and the given operations.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        PatchRequest {
            schemas: vec![urn::PATCH_OP.to_owned()],
            operations,
        }
    }
}

impl PatchOperation {
    /// An operation `op` with an optional `path` and `value`.
    pub fn new(op: impl Into<String>, path: Option<&str>, value: Option<Value>) -> Self {
        PatchOperation {
            op: op.into(),
            path: path.map(str::to_owned),
            value,
            extra: Map::new(),
        }
    }
}

/// A query sent as `POST .search` (RFC 7644 §3.4.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_attributes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_response_serializes_status_as_string_and_scim_type_camel_case() {
        let e = ErrorResponse::new(400, Some(ScimType::InvalidFilter), "bad filter");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"schemas": [urn::ERROR], "status": "400", "scimType": "invalidFilter", "detail": "bad filter"})
        );
        assert_eq!(e.status_code(), 400);
    }

    #[test]
    fn list_response_uses_capital_resources_key() {
        let l: ListResponse = ListResponse::new(vec![], 0, 1);
        let v = serde_json::to_value(&l).unwrap();
        assert_eq!(v["Resources"], json!([]));
        assert_eq!(v["totalResults"], json!(0));
    }

    #[test]
    fn patch_request_keeps_entra_pascal_case_op() {
        let p: PatchRequest = serde_json::from_value(json!({
            "schemas": [urn::PATCH_OP],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
        }))
        .unwrap();
        assert_eq!(p.operations[0].op, "Replace");
        assert_eq!(p.operations[0].value, Some(json!("False")));
    }
}
