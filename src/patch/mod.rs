//! RFC 7644 §3.5.2 PATCH: a [`PatchRequest`] applied to a resource's JSON, atomically (all
//! operations or none: the engine works on a copy and returns it only on success).
//!
//! Owns: the envelope checks, `add`/`replace`/`remove` with and without `path`
//! (`ops`), path resolution and path-less value expansion (`path`; the path grammar is
//! [`crate::filter::parse_path`], never a second parser), value checks and Entra's value
//! quirks (`value`), op names and filter literals of the two Entra dialects
//! (`dialect`, entra-provisioning.md §4), and turning group-membership operations into
//! [`MemberOp`]s (`members`).
//!
//! Leaves to others: `meta` (never touched here; the store stamps it), whether member ids
//! exist and member indexes (the store), HTTP (the server).

mod dialect;
mod members;
mod ops;
mod path;
mod value;

use serde_json::Value;

pub use members::MemberOp;

use crate::filter::{self, PatchPath};
use crate::scim::{urn, PatchOperation, PatchRequest, ResourceSchema};
use crate::{Error, Result};

/// How to apply a PATCH.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatchOptions {
    /// Refuse Entra's non-RFC forms (PascalCase ops, boolean strings, manager as a string,
    /// members removed by value list, dotted keys, empty-means-clear, create-on-absent)
    /// with a detail naming the quirk.
    pub strict_rfc: bool,
    /// The attribute whose operations become [`MemberOp`]s: `Some("members")` for Groups,
    /// `None` for Users.
    pub members_attr: Option<&'static str>,
}

/// A successful PATCH.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    /// The patched resource (for a Group, without `members`).
    pub resource: Value,
    /// Membership changes, in request order.
    pub members: Vec<MemberOp>,
    /// Whether `resource` differs from the input (the store bumps the version only then).
    pub changed: bool,
}

/// One of RFC 7644 §3.5.2's three operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Add,
    Replace,
    Remove,
}

impl Kind {
    /// The RFC spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Add => "add",
            Kind::Replace => "replace",
            Kind::Remove => "remove",
        }
    }
}

/// Applies `request` to `resource` (a Group without its `members`) under `schema`.
///
/// All operations succeed or the call fails with the first error and `resource` is
/// untouched. Operations on `options.members_attr` come back as [`MemberOp`]s.
pub fn apply(
    resource: &Value,
    request: &PatchRequest,
    schema: &ResourceSchema,
    options: &PatchOptions,
) -> Result<PatchOutcome> {
    check_envelope(request)?;
    let Value::Object(original) = resource else {
        return Err(Error::InvalidValue(
            "the resource to patch is not a JSON object".into(),
        ));
    };
    let mut doc = original.clone();
    let mut members = Vec::new();
    for (i, op) in request.operations.iter().enumerate() {
        apply_op(&mut doc, &mut members, op, schema, options).map_err(|e| in_operation(i, e))?;
    }
    let patched = Value::Object(doc);
    let changed = &patched != resource;
    Ok(PatchOutcome {
        resource: patched,
        members,
        changed,
    })
}

/// RFC 7644 §3.5.2: the body carries the PatchOp schema URN and at least one operation.
fn check_envelope(request: &PatchRequest) -> Result<()> {
    if !request
        .schemas
        .iter()
        .any(|s| s.eq_ignore_ascii_case(urn::PATCH_OP))
    {
        let got = if request.schemas.is_empty() {
            "none".to_owned()
        } else {
            request.schemas.join(", ")
        };
        return Err(Error::InvalidSyntax(format!(
            "a PATCH body must list the schema \"{}\" (RFC 7644 §3.5.2); schemas: {got}",
            urn::PATCH_OP
        )));
    }
    if request.operations.is_empty() {
        return Err(Error::InvalidSyntax(
            "a PATCH body needs at least one entry in \"Operations\" (RFC 7644 §3.5.2)".into(),
        ));
    }
    Ok(())
}

fn apply_op(
    doc: &mut serde_json::Map<String, Value>,
    members: &mut Vec<MemberOp>,
    op: &PatchOperation,
    schema: &ResourceSchema,
    options: &PatchOptions,
) -> Result<()> {
    let kind = dialect::op_kind(&op.op, options.strict_rfc)?;
    match (&op.path, kind) {
        (Some(p), _) => {
            let path = filter::parse_path(p)
                .map_err(|e| Error::InvalidPath(format!("path {p:?}: {e}")))?;
            route(doc, members, kind, &path, op.value.clone(), schema, options)
        }
        (None, Kind::Remove) => Err(Error::NoTarget(
            "`remove` needs a `path` (RFC 7644 §3.5.2.2)".into(),
        )),
        (None, _) => {
            let Some(v) = op.value.clone() else {
                return Err(Error::InvalidValue(format!(
                    "`{}` without `path` needs an object value (RFC 7644 §3.5.2)",
                    kind.as_str()
                )));
            };
            for (path, v) in path::expand(v, schema, options.strict_rfc)? {
                route(doc, members, kind, &path, Some(v), schema, options)?;
            }
            Ok(())
        }
    }
}

/// Sends an operation on one path to the member list or to the resource.
fn route(
    doc: &mut serde_json::Map<String, Value>,
    members: &mut Vec<MemberOp>,
    kind: Kind,
    path: &PatchPath,
    value: Option<Value>,
    schema: &ResourceSchema,
    options: &PatchOptions,
) -> Result<()> {
    let strict = options.strict_rfc;
    if let Some(attr) = options.members_attr {
        if members::is_members_path(path, attr, &schema.core.id) {
            members.extend(members::member_ops(kind, path, value, strict)?);
            return Ok(());
        }
    }
    let target = path::resolve(path, schema, strict)?;
    ops::apply_edit(doc, &target, kind, value, strict, &schema.core.id)
}

/// Prefixes the detail with the failing operation's index.
fn in_operation(i: usize, e: Error) -> Error {
    let at = |m: String| format!("Operations[{i}]: {m}");
    match e {
        Error::InvalidSyntax(m) => Error::InvalidSyntax(at(m)),
        Error::InvalidValue(m) => Error::InvalidValue(at(m)),
        Error::InvalidPath(m) => Error::InvalidPath(at(m)),
        Error::NoTarget(m) => Error::NoTarget(at(m)),
        Error::Mutability(m) => Error::Mutability(at(m)),
        other => other,
    }
}

#[cfg(test)]
mod tests;
