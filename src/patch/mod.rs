//! RFC 7644 §3.5.2 PATCH: a [`PatchRequest`] applied to a resource's JSON, atomically (all
//! operations or none: the engine works on a copy and returns it only on success).
//!
//! Owns: the envelope checks, `add`/`replace`/`remove` with and without `path`
//! (`ops.rs`), path resolution and path-less value expansion (`path.rs`; the path grammar is
//! [`crate::filter::parse_path`], never a second parser), value checks and Entra's value
//! quirks (`value.rs`), the one table of Entra quirks and the policy that admits or
//! refuses them ([`Quirk`], [`Dialect`], docs/entra.md §4), and turning group-membership operations into
//! [`MemberOp`]s (`members.rs`).
//!
//! Leaves to others: `meta` (never touched here; the store stamps it), whether member ids
//! exist and member indexes (the store), HTTP (the server).

mod body;
mod dialect;
mod extension;
mod members;
mod ops;
mod path;
mod value;

use serde_json::Value;

use crate::store::MemberOp;
pub use body::coerce_body;
pub use dialect::{Dialect, Quirk};

use crate::filter::{self, PatchPath};
use crate::scim::{urn, PatchOperation, PatchRequest, ResourceSchema};
use crate::{Error, Result};

/// How to apply a PATCH.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatchOptions {
    /// Speak [`Dialect::Rfc`]: refuse every Entra [`Quirk`] (PascalCase ops, boolean
    /// strings, manager as a string, members removed by value list, dotted keys, …); the
    /// table of quirks is in `dialect.rs` and the README.
    pub strict_rfc: bool,
    /// The attribute whose operations become [`MemberOp`]s: `Some("members")` for Groups,
    /// `None` for Users.
    pub members_attr: Option<&'static str>,
}

impl PatchOptions {
    /// The dialect `strict_rfc` selects.
    pub fn dialect(&self) -> Dialect {
        Dialect::from_strict(self.strict_rfc)
    }
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
        return Err(Error::invalid_value(
            "the resource to patch is not a JSON object",
        ));
    };
    let mut doc = original.clone();
    let mut members = Vec::new();
    for (i, op) in request.operations.iter().enumerate() {
        apply_op(&mut doc, &mut members, op, schema, options).map_err(|e| e.in_operation(i))?;
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
        return Err(Error::invalid_syntax(format!(
            "a PATCH body must list the schema \"{}\" (RFC 7644 §3.5.2); schemas: {got}",
            urn::PATCH_OP
        )));
    }
    if request.operations.is_empty() {
        return Err(Error::invalid_syntax(
            "a PATCH body needs at least one entry in \"Operations\" (RFC 7644 §3.5.2)",
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
    let kind = dialect::op_kind(&op.op, options.dialect())?;
    match (&op.path, kind) {
        (Some(p), _) => {
            let text = match extension::classify(p, schema) {
                // RFC 7644 §3.5.2, §3.10: the extension's URN names its object.
                Some(extension::ExtPath::Object(ext, required)) => {
                    let edit =
                        extension::object_edit(kind, ext, op.value.clone(), options.dialect())?;
                    return match edit {
                        extension::ObjectEdit::Drop => extension::drop_object(doc, ext, required),
                        extension::ObjectEdit::Each(pairs) => {
                            for (path, v) in pairs {
                                route(doc, members, kind, &path, Some(v), schema, options)?;
                            }
                            Ok(())
                        }
                    };
                }
                Some(extension::ExtPath::Dotted(colon)) => {
                    std::borrow::Cow::Owned(extension::dotted(p, colon, options.dialect())?)
                }
                None => std::borrow::Cow::Borrowed(p.as_str()),
            };
            let path = filter::parse_path(&text)
                .map_err(|e| Error::invalid_path(format!("path {p:?}: {e}")))?;
            route(doc, members, kind, &path, op.value.clone(), schema, options)
        }
        (None, Kind::Remove) => Err(Error::no_target(
            "`remove` needs a `path` (RFC 7644 §3.5.2.2)",
        )),
        (None, _) => {
            let Some(v) = op.value.clone() else {
                return Err(Error::invalid_value(format!(
                    "`{}` without `path` needs an object value (RFC 7644 §3.5.2)",
                    kind.as_str()
                )));
            };
            for (path, v) in path::expand(v, schema, options.dialect())? {
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
    let dialect = options.dialect();
    if let Some(attr) = options.members_attr {
        if members::is_members_path(path, attr, &schema.core.id) {
            members.extend(members::member_ops(kind, path, value, dialect)?);
            return Ok(());
        }
    }
    let target = path::resolve(path, schema, dialect)?;
    ops::apply_edit(doc, &target, kind, value, dialect, &schema.core.id)
}

#[cfg(test)]
mod tests;
