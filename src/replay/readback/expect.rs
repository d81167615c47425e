//! What a write should have left in the resource: the expectations read from a `POST`,
//! `PUT` or `PATCH` body (both of Entra's PATCH dialects), each a path of steps and the
//! value sent, or that the path must hold nothing.

use serde_json::{Map, Value};

/// Attributes never compared: server-assigned or never returned, and `formatted`, which a
/// server may compose from the other parts (RFC 7643 §4.1.1 `name.formatted`, §2.4
/// `addresses.formatted`; the SCIM tutorial's Get User answer shows one).
const SKIPPED: [&str; 7] = [
    "id",
    "meta",
    "schemas",
    "password",
    "$ref",
    "display",
    "formatted",
];

/// One thing a write should have left in the resource.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expect {
    /// The value at `path` (a list of attribute steps; a step may select an element).
    Value { path: Vec<Step>, value: Value },
    /// Nothing at `path` (a `remove`).
    Absent { path: Vec<Step> },
    /// A member with this id (`present`) or without it.
    Member { id: String, present: bool },
}

/// One step into a resource.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// A member, case-insensitively (RFC 7643 §2.1).
    Key(String),
    /// The element of a multi-valued attribute matching this filter.
    Element(crate::filter::Filter),
    /// The element whose `type` (or, without a type, `value`) equals this one's.
    Like(Map<String, Value>),
}

/// What a write's body should leave in the resource.
pub(crate) fn expectations(method: &str, body: &Value) -> Vec<Expect> {
    let mut out = Vec::new();
    match method {
        "POST" | "PUT" => {
            if let Value::Object(map) = body {
                for (k, v) in map {
                    if k.eq_ignore_ascii_case("members") {
                        members(v, true, &mut out);
                    } else {
                        value_at(vec![Step::Key(k.clone())], v, &mut out);
                    }
                }
            }
        }
        "PATCH" => {
            let ops = body
                .get("Operations")
                .or_else(|| body.get("operations"))
                .and_then(Value::as_array);
            for op in ops.into_iter().flatten() {
                patch_op(op, &mut out);
            }
            // The last operation on a path or a member is what must hold.
            let mut seen = std::collections::BTreeSet::new();
            out.reverse();
            out.retain(|e| seen.insert(key(e)));
            out.reverse();
        }
        _ => {}
    }
    out
}

/// What two expectations about the same place share.
fn key(e: &Expect) -> String {
    match e {
        Expect::Value { path, .. } | Expect::Absent { path } => shown(path).to_lowercase(),
        Expect::Member { id, .. } => format!("member {id}"),
    }
}

fn skipped(key: &str) -> bool {
    SKIPPED.iter().any(|s| s.eq_ignore_ascii_case(key))
}

/// Expectations for `value` placed at `path`.
fn value_at(path: Vec<Step>, value: &Value, out: &mut Vec<Expect>) {
    if let Some(Step::Key(k)) = path.last() {
        if skipped(k) {
            return;
        }
    }
    match value {
        Value::Null => {}
        Value::String(s) if s.is_empty() => out.push(Expect::Absent { path }),
        Value::Object(map) => {
            for (k, v) in map {
                let mut p = path.clone();
                p.push(Step::Key(k.clone()));
                value_at(p, v, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(element) => {
                        let mut p = path.clone();
                        p.push(Step::Like(element.clone()));
                        for (k, v) in element {
                            let mut q = p.clone();
                            q.push(Step::Key(k.clone()));
                            value_at(q, v, out);
                        }
                    }
                    // A multi-valued simple attribute: kept as a whole.
                    _ => out.push(Expect::Value {
                        path: path.clone(),
                        value: value.clone(),
                    }),
                }
            }
        }
        scalar => out.push(Expect::Value {
            path,
            value: scalar.clone(),
        }),
    }
}

fn members(value: &Value, present: bool, out: &mut Vec<Expect>) {
    for m in value.as_array().into_iter().flatten() {
        if let Some(id) = m.get("value").and_then(Value::as_str) {
            out.push(Expect::Member {
                id: id.to_owned(),
                present,
            });
        }
    }
}

/// The steps of a PATCH path, or `None` for one this reading does not judge.
fn steps(path: &str) -> Option<(Vec<Step>, bool)> {
    use crate::filter::PatchPath;
    let parsed = crate::filter::parse_path(path).ok()?;
    let (attr, element, sub) = match parsed {
        PatchPath::Attr(a) => (a.clone(), None, a.sub_attr),
        PatchPath::Value {
            value_path,
            sub_attr,
        } => (value_path.attr.clone(), Some(*value_path.filter), sub_attr),
    };
    let mut out = Vec::new();
    if let Some(urn) = attr.urn {
        out.push(Step::Key(urn));
    }
    let members = attr.name.eq_ignore_ascii_case("members");
    out.push(Step::Key(attr.name));
    if let Some(f) = element {
        out.push(Step::Element(f));
    }
    if let Some(s) = sub {
        out.push(Step::Key(s));
    }
    Some((out, members))
}

fn patch_op(op: &Value, out: &mut Vec<Expect>) {
    let kind = op
        .get("op")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let value = op.get("value").unwrap_or(&Value::Null);
    let path = op.get("path").and_then(Value::as_str);
    match (kind.as_str(), path) {
        ("add" | "replace", None) => {
            // Path-less: each key is a path of its own (Entra's dotted and URN-qualified keys).
            for (k, v) in value.as_object().into_iter().flatten() {
                if let Some((p, members_path)) = steps(k) {
                    if members_path {
                        members(v, true, out);
                    } else {
                        value_at(p, v, out);
                    }
                }
            }
        }
        ("add" | "replace", Some(p)) => {
            let Some((p, members_path)) = steps(p) else {
                return;
            };
            if members_path {
                if p.len() == 1 {
                    members(value, true, out);
                }
            } else {
                value_at(p, value, out);
            }
        }
        ("remove", Some(p)) => {
            let Some((mut steps, members_path)) = steps(p) else {
                return;
            };
            if members_path {
                match steps.pop() {
                    // `members[value eq "x"]`: that member goes.
                    Some(Step::Element(f)) => {
                        if let Some(id) = eq_value(&f) {
                            out.push(Expect::Member { id, present: false });
                        }
                    }
                    // Entra's legacy removal: `path: members` and a value list.
                    Some(Step::Key(_)) if steps.is_empty() => members(value, false, out),
                    _ => {}
                }
            } else if value.is_null() {
                out.push(Expect::Absent { path: steps });
            }
        }
        _ => {}
    }
}

/// `type eq "x"` → `x`, lowercased.
pub(super) fn type_eq(f: &crate::filter::Filter) -> Option<String> {
    use crate::filter::{AttrOp, CompValue, CompareOp, Filter};
    match f {
        Filter::Attr(e) if e.path.is("type", None) => match &e.op {
            AttrOp::Compare(CompareOp::Eq, CompValue::String(s)) => Some(s.to_ascii_lowercase()),
            _ => None,
        },
        _ => None,
    }
}

/// `value eq "x"` → `x`.
fn eq_value(f: &crate::filter::Filter) -> Option<String> {
    use crate::filter::{AttrOp, CompValue, CompareOp, Filter};
    match f {
        Filter::Attr(e) if e.path.is("value", None) => match &e.op {
            AttrOp::Compare(CompareOp::Eq, CompValue::String(s)) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn shown(path: &[Step]) -> String {
    let mut out = String::new();
    for (i, s) in path.iter().enumerate() {
        match s {
            Step::Key(k) if i == 0 => out.push_str(k),
            // An extension attribute is written `urn:…:User:department` (RFC 7644 §3.10),
            // not with the dot of the pre-2018 notation; the schema URN is the first step.
            Step::Key(k) if i == 1 && out.to_ascii_lowercase().starts_with("urn:") => {
                out.push(':');
                out.push_str(k);
            }
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Element(f) => out.push_str(&format!("[{f}]")),
            // As a value path (RFC 7644 §3.5.2): `emails[type eq "work"]`, `roles[value eq "x"]`.
            Step::Like(e) => match ["type", "value"]
                .into_iter()
                .find_map(|k| e.get(k).map(|v| (k, v)))
            {
                Some((k, v)) => out.push_str(&format!("[{k} eq {v}]")),
                None => out.push_str("[]"),
            },
        }
    }
    out
}
