//! [`MemberOp`]: one change to a group's member list (RFC 7644 §3.5.2 operations on
//! `members`, entra-provisioning.md §1.14, §1.15, §4.3d), as the PATCH engine produces
//! it and the store applies it with its indexes; and the reference semantics on a plain
//! list that the store must reproduce.

use serde_json::Value;

use crate::filter::{self, Filter};

/// One change to a group's member list, in request order.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    /// Add these member objects; each has a string `"value"` (the member id) and keeps
    /// `"$ref"` (even `null`), `"type"` and `"display"` as sent. Ids already present are
    /// left alone.
    Add(Vec<Value>),
    /// Remove the members with these ids; absent ids are a no-op.
    Remove(Vec<String>),
    /// Remove the members matching `members[<filter>]` when the filter is not a plain
    /// `value eq "id"` (plain ones become [`MemberOp::Remove`]).
    RemoveWhere(Filter),
    /// Replace the whole list.
    Replace(Vec<Value>),
    /// `remove` with path `members` and no value: remove every member.
    RemoveAll,
    /// Changes nothing, but fails the whole PATCH with `noTarget` unless some member
    /// matches `members[<filter>]`. Strict RFC mode puts one before the changes of every
    /// operation on a filtered `members` path (RFC 7644 §3.5.2.3: "no record match was
    /// made … `noTarget`"; §3.12), so a filter that matches nothing neither adds nor
    /// removes; the Entra dialect does not (quirks `create-on-absent`,
    /// `remove-of-nothing`).
    MustMatch(Filter),
}

impl MemberOp {
    /// Applies this operation to a plain list of member objects: the reference semantics
    /// the store reproduces with indexes. Never two members with the same `value`; removing
    /// an absent member is a no-op. [`MemberOp::MustMatch`] changes nothing here (whether
    /// it fails is [`MemberOp::fails_on`]).
    pub fn apply_to(&self, members: &mut Vec<Value>) {
        match self {
            MemberOp::Add(new) => add_unique(members, new),
            MemberOp::Remove(ids) => {
                members.retain(|m| !member_id(m).is_some_and(|id| ids.iter().any(|x| x == id)))
            }
            MemberOp::RemoveWhere(f) => {
                members.retain(|m| !filter::matches_element(f, m, None).unwrap_or(false))
            }
            MemberOp::Replace(new) => {
                members.clear();
                add_unique(members, new);
            }
            MemberOp::RemoveAll => members.clear(),
            MemberOp::MustMatch(_) => {}
        }
    }

    /// Whether this operation fails on `members` (only a [`MemberOp::MustMatch`] whose
    /// filter matches none of them does).
    pub fn fails_on(&self, members: &[Value]) -> bool {
        match self {
            MemberOp::MustMatch(f) => !members
                .iter()
                .any(|m| filter::matches_element(f, m, None).unwrap_or(false)),
            _ => false,
        }
    }
}

fn add_unique(members: &mut Vec<Value>, new: &[Value]) {
    for m in new {
        let Some(id) = member_id(m) else { continue };
        if !members.iter().any(|x| member_id(x) == Some(id)) {
            members.push(m.clone());
        }
    }
}

/// The member id: the `value` sub-attribute.
pub(crate) fn member_id(member: &Value) -> Option<&str> {
    member.get("value").and_then(Value::as_str)
}
