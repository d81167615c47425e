//! Fuzz bodies for the PATCH engine: `patch_path` (the RFC 7644 §3.5.2 path grammar) and
//! `patch_apply` (structured resource + operations; atomicity and validity).

use serde_json::Value;

use super::{groups, users};
use crate::filter;

/// `patch_path`: parsing a PATCH path never panics; on success the printed form re-parses
/// to the same path and is a fixed point of printing.
pub fn patch_path(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match filter::parse_path(src) {
        Ok(path) => {
            let printed = path.to_string();
            let again = filter::parse_path(&printed)
                .unwrap_or_else(|e| panic!("printed path {printed:?} of {src:?} fails: {e}"));
            assert_eq!(again, path, "round trip changed the path {src:?}");
            assert_eq!(again.to_string(), printed, "printed path is not stable");
        }
        Err(e) => {
            let _ = e.render(src);
        }
    }
}

/// A scalar in a fuzzed PATCH value.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum FuzzScalar {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
}

/// A fuzzed PATCH `value`: absent, a scalar, an object of scalars, or a list of objects.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum FuzzValue {
    Absent,
    Scalar(FuzzScalar),
    Object(Vec<(String, FuzzScalar)>),
    List(Vec<Vec<(String, FuzzScalar)>>),
}

/// A fuzzed PATCH `path`: one of [`PATCH_PATHS`] (by index), raw text, or none.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum FuzzPath {
    None,
    Known(u8),
    Raw(String),
}

/// Paths Entra sends (entra-provisioning.md §4, §7) and a few RFC corner cases.
pub const PATCH_PATHS: &[&str] = &[
    "userName",
    "active",
    "nickName",
    "name.givenName",
    "name",
    "emails",
    "emails[type eq \"work\"].value",
    "emails[type eq \"work\"].primary",
    "emails[type eq \"work\"]",
    "addresses[type eq \"work\"].postalCode",
    "roles[primary eq \"True\"].value",
    "roles",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag",
    "manager",
    "members",
    "members[value eq \"m1\"]",
    "members[type eq \"User\"]",
    "displayName",
    "id",
    "meta.version",
    "groups",
];

/// One fuzzed operation.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub struct FuzzOp {
    pub op: String,
    pub path: FuzzPath,
    pub value: FuzzValue,
}

/// The structured input of `patch_apply`: a resource built from fields, and operations.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub struct PatchApplyInput {
    /// Patch a Group (members become member ops) instead of a User.
    pub group: bool,
    pub strict: bool,
    pub name: String,
    pub nick_name: Option<String>,
    pub active: Option<bool>,
    pub given_name: Option<String>,
    /// `(value, type, primary)` per email.
    pub emails: Vec<(String, String, bool)>,
    pub employee_number: Option<String>,
    pub ops: Vec<FuzzOp>,
}

fn scalar(s: &FuzzScalar) -> Value {
    match s {
        FuzzScalar::Null => Value::Null,
        FuzzScalar::Bool(b) => Value::Bool(*b),
        FuzzScalar::Int(i) => Value::from(*i),
        FuzzScalar::Str(s) => Value::String(s.clone()),
    }
}

fn object(fields: &[(String, FuzzScalar)]) -> Value {
    Value::Object(fields.iter().map(|(k, v)| (k.clone(), scalar(v))).collect())
}

impl PatchApplyInput {
    /// The resource this input describes.
    pub fn resource(&self) -> Value {
        use crate::scim::urn;
        use serde_json::json;
        let mut r = if self.group {
            json!({"schemas": [urn::GROUP], "id": "g1", "displayName": self.name})
        } else {
            json!({"schemas": [urn::USER], "id": "u1", "userName": self.name})
        };
        r["meta"] = json!({"resourceType": if self.group { "Group" } else { "User" }, "version": "W/\"1\""});
        if let Some(n) = &self.nick_name {
            r["nickName"] = json!(n);
        }
        if let Some(a) = self.active {
            r["active"] = json!(a);
        }
        if let Some(g) = &self.given_name {
            r["name"] = json!({ "givenName": g });
        }
        if !self.emails.is_empty() {
            let emails = self
                .emails
                .iter()
                .map(|(v, t, p)| json!({"value": v, "type": t, "primary": p}));
            r["emails"] = Value::Array(emails.collect());
        }
        if let Some(e) = &self.employee_number {
            r[urn::ENTERPRISE_USER] = json!({ "employeeNumber": e });
        }
        r
    }

    /// The PATCH request this input describes.
    pub fn request(&self) -> crate::scim::PatchRequest {
        let ops = self.ops.iter().map(|op| {
            let path = match &op.path {
                FuzzPath::None => None,
                FuzzPath::Known(i) => PATCH_PATHS
                    .get(usize::from(*i) % PATCH_PATHS.len())
                    .copied(),
                FuzzPath::Raw(s) => Some(s.as_str()),
            };
            let value = match &op.value {
                FuzzValue::Absent => None,
                FuzzValue::Scalar(s) => Some(scalar(s)),
                FuzzValue::Object(fields) => Some(object(fields)),
                FuzzValue::List(items) => {
                    Some(Value::Array(items.iter().map(|o| object(o)).collect()))
                }
            };
            crate::scim::PatchOperation::new(op.op.clone(), path, value)
        });
        crate::scim::PatchRequest::new(ops.collect())
    }
}

/// `patch_apply`: applying any PATCH never panics; on error the input is unchanged; on
/// success `id` and `meta` are unchanged, multi-valued attributes are still lists, a
/// Group's `members` never appear in the resource, and `changed` is truthful.
pub fn patch_apply(input: &PatchApplyInput) {
    use crate::patch::{apply, PatchOptions};
    let resource = input.resource();
    let before = resource.to_string();
    let (schema, members_attr) = if input.group {
        (groups(), Some("members"))
    } else {
        (users(), None)
    };
    let options = PatchOptions {
        strict_rfc: input.strict,
        members_attr,
    };
    let result = apply(&resource, &input.request(), schema, &options);
    assert_eq!(resource.to_string(), before, "apply modified its input");
    let Ok(outcome) = result else {
        return;
    };
    let out = &outcome.resource;
    assert_eq!(out.get("id"), resource.get("id"), "id changed");
    assert_eq!(out.get("meta"), resource.get("meta"), "meta changed");
    assert_eq!(
        outcome.changed,
        out != &resource,
        "`changed` is not truthful"
    );
    if input.group {
        assert!(
            out.get("members").is_none(),
            "members leaked into the group resource"
        );
    }
    for attr in schema.core.attributes.iter().filter(|a| a.multi_valued) {
        if let Some(v) = out.get(&attr.name) {
            assert!(v.is_array(), "multi-valued `{}` is now {v}", attr.name);
        }
    }
}
