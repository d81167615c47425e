//! The three operations on the resource JSON (RFC 7644 §3.5.2.1 add, §3.5.2.2 remove,
//! §3.5.2.3 replace) at a resolved [`Target`], plus the checks that follow every edit:
//! mutability and required attributes (RFC 7643 §7, RFC 7644 §3.5.2.2), extension
//! objects and their URNs in `schemas`.
//!
//! Choices where the RFC is silent or Entra differs (pinned by tests):
//! - remove of an absent attribute, or with a filter that matches nothing, is a no-op
//!   (Entra retries, entra-provisioning.md §3.6); strict mode answers a filter with no
//!   match with `noTarget` (RFC 7644 §3.12).
//! - add/replace on a value path matching nothing creates the element from the filter's
//!   `eq` terms (create-on-absent, entra-provisioning.md §3.5, §7.5); a filter with no
//!   `eq` terms, or strict mode, gives `noTarget`.
//! - removing (or clearing) a required attribute is `mutability` (RFC 7644 §3.5.2.2).

use serde_json::{Map, Value};

use super::dialect::{Dialect, Quirk};
use super::path::Target;
use super::value::{self, key_in, merge, remove_ci, set_ci};
use super::Kind;
use crate::filter::{self, AttrOp, CompValue, CompareOp, Filter};
use crate::scim::{Attribute, Mutability};
use crate::{Error, Result};

/// Applies one edit to `doc`, then checks mutability and tidies extension objects.
pub(super) fn apply_edit(
    doc: &mut Map<String, Value>,
    t: &Target<'_>,
    kind: Kind,
    value: Option<Value>,
    dialect: Dialect,
    core_urn: &str,
) -> Result<()> {
    let before = current(doc, t).cloned();
    let created = match &t.ext {
        Some(ext) if key_in(doc, ext).is_none() => {
            doc.insert(ext.clone(), Value::Object(Map::new()));
            true
        }
        _ => false,
    };
    let container = match &t.ext {
        None => &mut *doc,
        Some(ext) => match key_in(doc, ext).and_then(|k| doc.get_mut(&k)) {
            Some(Value::Object(m)) => m,
            _ => {
                return Err(Error::invalid_value(format!(
                    "the resource's `{ext}` is not an object, so `{}` cannot be patched",
                    t.label
                )))
            }
        },
    };
    match &t.filter {
        None => plain(container, t, kind, value, dialect)?,
        Some(f) => filtered(container, t, f, kind, value, dialect)?,
    }
    let after = current(doc, t).cloned();
    let changed = before != after;
    if changed {
        check_mutability(t, before.as_ref(), after.as_ref())?;
    }
    if let Some(ext) = &t.ext {
        tidy_extension(doc, ext, core_urn, changed, created);
    }
    Ok(())
}

fn current<'d>(doc: &'d Map<String, Value>, t: &Target<'_>) -> Option<&'d Value> {
    let container = match &t.ext {
        None => doc,
        Some(ext) => doc.get(&key_in(doc, ext)?)?.as_object()?,
    };
    container.get(&key_in(container, &t.name)?)
}

fn check_mutability(t: &Target<'_>, before: Option<&Value>, after: Option<&Value>) -> Result<()> {
    for def in [t.def, t.sub_def].into_iter().flatten() {
        match def.mutability {
            Mutability::ReadOnly => {
                return Err(Error::mutability(format!(
                    "`{}` is readOnly and cannot be changed (RFC 7643 §7)",
                    t.label
                )))
            }
            // RFC 7643 §7: immutable "MAY be defined at resource creation … or at a record
            // of a multi-valued attribute"; here: settable while it has no value.
            Mutability::Immutable if before.is_some() => {
                return Err(Error::mutability(format!(
                    "`{}` is immutable and already has a value (RFC 7643 §7)",
                    t.label
                )))
            }
            _ => {}
        }
    }
    if t.def.is_some_and(|d| d.required) && after.is_none() {
        return Err(Error::mutability(format!(
            "`{}` is required and cannot be removed (RFC 7644 §3.5.2.2)",
            t.label
        )));
    }
    Ok(())
}

/// Drops an extension object left empty (and its URN from `schemas`), and lists the URN
/// in `schemas` when the edit put a value under it (RFC 7643 §3: `schemas` names every
/// extension the resource carries).
fn tidy_extension(
    doc: &mut Map<String, Value>,
    ext: &str,
    core: &str,
    changed: bool,
    created: bool,
) {
    let Some(key) = key_in(doc, ext) else { return };
    let empty = doc
        .get(&key)
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty);
    if empty && (created || changed) {
        doc.shift_remove(&key);
    }
    if !changed {
        return;
    }
    let schemas = doc
        .entry("schemas")
        .or_insert_with(|| Value::Array(vec![Value::String(core.to_owned())]));
    let Value::Array(list) = schemas else { return };
    let listed = |v: &Value| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(ext));
    if empty {
        list.retain(|v| !listed(v));
    } else if !list.iter().any(listed) {
        list.push(Value::String(ext.to_owned()));
    }
}

/// The value checked against the target's definition (sub-attribute or attribute).
fn normalize(t: &Target<'_>, v: Value, dialect: Dialect) -> Result<Value> {
    let def = if t.sub.is_some() { t.sub_def } else { t.def };
    match def {
        Some(d) => value::whole(d, v, dialect, &t.label),
        None => Ok(v),
    }
}

fn needs_value(t: &Target<'_>, kind: Kind, value: Option<Value>) -> Result<Value> {
    value.ok_or_else(|| {
        Error::invalid_value(format!(
            "`{}` on `{}` needs a value (RFC 7644 §3.5.2)",
            kind.as_str(),
            t.label
        ))
    })
}

fn is_multi(t: &Target<'_>, v: Option<&Value>, container: &Map<String, Value>) -> bool {
    match t.def {
        Some(d) => d.multi_valued,
        // Unknown attributes: a list value on a list (or nothing) behaves as multi-valued.
        None => {
            let cur = key_in(container, &t.name).and_then(|k| container.get(&k));
            v.is_none_or(Value::is_array) && cur.is_none_or(Value::is_array)
        }
    }
}

/// add/replace/remove without a value filter.
fn plain(
    c: &mut Map<String, Value>,
    t: &Target<'_>,
    kind: Kind,
    value: Option<Value>,
    dialect: Dialect,
) -> Result<()> {
    if kind == Kind::Remove {
        return remove_plain(c, t, value, dialect);
    }
    let v = normalize(t, needs_value(t, kind, value)?, dialect)?;
    if value::means_clear(&v, dialect) {
        return remove_plain(c, t, None, dialect);
    }
    match &t.sub {
        Some(sub) => set_sub(c, t, sub, v)?,
        None if is_multi(t, Some(&v), c) => {
            let new = match v {
                Value::Array(items) => items,
                other => vec![other],
            };
            let list = ensure_array(c, t)?;
            let mut touched = Vec::new();
            if kind == Kind::Replace {
                list.clear();
            }
            for item in new {
                // RFC 7644 §3.5.2.1: an add equal to an existing value changes nothing.
                match list.iter().position(|x| x == &item) {
                    Some(i) => touched.push(i),
                    None => {
                        list.push(item);
                        touched.push(list.len() - 1);
                    }
                }
            }
            if let Some(keep) = value::last_primary(list, &touched) {
                value::enforce_primary(list, keep);
            }
        }
        None => {
            let key = key_in(c, &t.name);
            let complex = match t.def {
                Some(d) => d.kind == crate::scim::AttrType::Complex,
                None => key
                    .as_ref()
                    .and_then(|k| c.get(k))
                    .is_some_and(Value::is_object),
            };
            match (complex, v, key.as_ref().and_then(|k| c.get_mut(k))) {
                // RFC 7644 §3.5.2.1/§3.5.2.3: a complex value merges; sub-attributes not
                // in the value are left unchanged.
                (true, Value::Object(patch), Some(Value::Object(existing))) => {
                    merge(existing, patch)
                }
                (_, v, _) => set_ci(c, &t.name, v),
            }
        }
    }
    drop_if_empty(c, &t.name);
    Ok(())
}

fn set_sub(c: &mut Map<String, Value>, t: &Target<'_>, sub: &str, v: Value) -> Result<()> {
    let on_list = is_multi(t, None, c)
        && key_in(c, &t.name)
            .and_then(|k| c.get(&k))
            .map_or(t.def.is_some(), Value::is_array);
    if on_list {
        // `emails.value` with no filter: every element (RFC 7644 §3.5.2 is silent); an
        // empty list gets one element.
        let list = ensure_array(c, t)?;
        if list.is_empty() {
            list.push(Value::Object(Map::new()));
        }
        for item in list.iter_mut() {
            if let Value::Object(o) = item {
                set_ci(o, sub, v.clone());
            }
        }
        let all: Vec<usize> = (0..list.len()).collect();
        if let Some(keep) = value::last_primary(list, &all) {
            value::enforce_primary(list, keep);
        }
        return Ok(());
    }
    let key = key_in(c, &t.name).unwrap_or_else(|| t.name.clone());
    let slot = c.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(o) => {
            set_ci(o, sub, v);
            Ok(())
        }
        _ => Err(Error::invalid_value(format!(
            "`{}` holds a simple value, so `{}` cannot be set",
            t.name, t.label
        ))),
    }
}

fn ensure_array<'c>(c: &'c mut Map<String, Value>, t: &Target<'_>) -> Result<&'c mut Vec<Value>> {
    let key = key_in(c, &t.name).unwrap_or_else(|| t.name.clone());
    let slot = c.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    match slot {
        Value::Array(items) => Ok(items),
        _ => Err(Error::invalid_value(format!(
            "`{}` holds a single value, not a list, so `{}` cannot add to it",
            t.name, t.label
        ))),
    }
}

/// Removes `name` when it is left as `[]`, `{}` or null (RFC 7644 §3.5.2.2: "considered
/// unassigned").
fn drop_if_empty(c: &mut Map<String, Value>, name: &str) {
    let Some(key) = key_in(c, name) else { return };
    let empty = match c.get(&key) {
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::Null) => true,
        _ => false,
    };
    if empty {
        c.shift_remove(&key);
    }
}

fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

fn remove_plain(
    c: &mut Map<String, Value>,
    t: &Target<'_>,
    value: Option<Value>,
    dialect: Dialect,
) -> Result<()> {
    let Some(key) = key_in(c, &t.name) else {
        return Ok(());
    };
    match (&t.sub, value) {
        (Some(sub), _) => match c.get_mut(&key) {
            Some(Value::Object(o)) => {
                remove_ci(o, sub);
            }
            Some(Value::Array(items)) => {
                for item in items.iter_mut() {
                    if let Value::Object(o) = item {
                        remove_ci(o, sub);
                    }
                }
                items.retain(|i| !is_empty_object(i));
            }
            _ => {}
        },
        (None, Some(v)) if !v.is_null() && c.get(&key).is_some_and(Value::is_array) => {
            dialect.allow(Quirk::RemoveByValue, &t.label, "")?;
            let gone = match v {
                Value::Array(items) => items,
                other => vec![other],
            };
            if let Some(Value::Array(items)) = c.get_mut(&key) {
                items.retain(|e| !gone.iter().any(|g| same_element(e, g)));
            }
        }
        (None, _) => {
            c.shift_remove(&key);
        }
    }
    drop_if_empty(c, &key);
    Ok(())
}

/// Equal, or both objects with the same `value`.
fn same_element(a: &Value, b: &Value) -> bool {
    a == b || matches!((a.get("value"), b.get("value")), (Some(x), Some(y)) if x == y)
}

/// add/replace/remove on `attr[filter]` or `attr[filter].sub`.
fn filtered(
    c: &mut Map<String, Value>,
    t: &Target<'_>,
    f: &Filter,
    kind: Kind,
    value: Option<Value>,
    dialect: Dialect,
) -> Result<()> {
    // RFC 7644 §3.4.2.2: an ordering the attribute cannot take fails, matches or not.
    filter::check_element(f, t.def)?;
    if let Some(d) = t.def.filter(|d| !d.multi_valued) {
        if d.kind != crate::scim::AttrType::Complex {
            return Err(Error::invalid_path(format!(
                "`{}`: a `[filter]` needs a multi-valued attribute and `{}` is single-valued",
                t.label, d.name
            )));
        }
        dialect.allow(Quirk::FilterOnSingleValued, &t.label, "")?;
        return filtered_single(c, t, d, f, kind, value, dialect);
    }
    let mut matched = Vec::new();
    if let Some(Value::Array(items)) = key_in(c, &t.name).and_then(|k| c.get(&k)) {
        for (i, item) in items.iter().enumerate() {
            if item.is_object() && filter::matches_element(f, item, t.def)? {
                matched.push(i);
            }
        }
    }
    let v = match kind {
        Kind::Remove => None,
        Kind::Add | Kind::Replace => {
            let v = needs_value(t, kind, value)?;
            let v = match (&t.sub, t.def) {
                (Some(_), _) => normalize(t, v, dialect)?,
                (None, Some(d)) => value::single(d, v, dialect, &t.label)?,
                (None, None) => v,
            };
            Some(v).filter(|v| !value::means_clear(v, dialect))
        }
    };
    let Some(v) = v else {
        return remove_matched(c, t, &matched, dialect);
    };
    if matched.is_empty() {
        return create_on_absent(c, t, f, v, dialect);
    }
    let list = ensure_array(c, t)?;
    for &i in &matched {
        let Some(Value::Object(el)) = list.get_mut(i) else {
            continue;
        };
        match (&t.sub, &v, kind) {
            (Some(sub), v, _) => set_ci(el, sub, v.clone()),
            (None, Value::Object(o), Kind::Add) => merge(el, o.clone()),
            // RFC 7644 §3.5.2.3: "all matching record values SHALL be replaced".
            (None, Value::Object(o), _) => *el = o.clone(),
            (None, _, _) => return Err(not_an_element(t)),
        }
    }
    if let Some(keep) = value::last_primary(list, &matched) {
        value::enforce_primary(list, keep);
    }
    Ok(())
}

/// `manager[value eq "id"]` (thomaspoignant/scim-patch#453): the filter selects the one
/// value of a single-valued complex attribute when it matches, and nothing otherwise.
fn filtered_single(
    c: &mut Map<String, Value>,
    t: &Target<'_>,
    def: &Attribute,
    f: &Filter,
    kind: Kind,
    value: Option<Value>,
    dialect: Dialect,
) -> Result<()> {
    let key = key_in(c, &t.name);
    let matched = match key.as_ref().and_then(|k| c.get(k)) {
        Some(v @ Value::Object(_)) => filter::matches_element(f, v, Some(def))?,
        _ => false,
    };
    let v = match kind {
        Kind::Remove => None,
        Kind::Add | Kind::Replace => {
            let v = normalize(t, needs_value(t, kind, value)?, dialect)?;
            Some(v).filter(|v| !value::means_clear(v, dialect))
        }
    };
    let (Some(key), true) = (key, matched) else {
        if v.is_none() && dialect.admits(Quirk::RemoveOfNothing) {
            return Ok(());
        }
        return Err(Error::no_target(format!(
            "`{}` matched no value (RFC 7644 §3.5.2)",
            t.label
        )));
    };
    let Some(Value::Object(el)) = c.get_mut(&key) else {
        return Ok(());
    };
    match (&t.sub, v, kind) {
        (Some(sub), None, _) => {
            remove_ci(el, sub);
        }
        (None, None, _) => {
            c.shift_remove(&key);
        }
        (Some(sub), Some(v), _) => set_ci(el, sub, v),
        (None, Some(Value::Object(o)), Kind::Add) => merge(el, o),
        (None, Some(Value::Object(o)), _) => *el = o,
        (None, Some(_), _) => return Err(not_an_element(t)),
    }
    drop_if_empty(c, &t.name);
    Ok(())
}

fn not_an_element(t: &Target<'_>) -> Error {
    Error::invalid_value(format!(
        "`{}` expects an object for the matching values",
        t.label
    ))
}

fn remove_matched(
    c: &mut Map<String, Value>,
    t: &Target<'_>,
    matched: &[usize],
    dialect: Dialect,
) -> Result<()> {
    if matched.is_empty() {
        return if !dialect.admits(Quirk::RemoveOfNothing) {
            Err(Error::no_target(format!(
                "`{}` matched no value (RFC 7644 §3.5.2.2)",
                t.label
            )))
        } else {
            Ok(())
        };
    }
    let Some(Value::Array(items)) = key_in(c, &t.name).and_then(|k| c.get_mut(&k)) else {
        return Ok(());
    };
    match &t.sub {
        Some(sub) => {
            for &i in matched {
                if let Some(Value::Object(o)) = items.get_mut(i) {
                    remove_ci(o, sub);
                }
            }
            items.retain(|i| !is_empty_object(i));
        }
        None => {
            let mut i = 0;
            items.retain(|_| {
                i += 1;
                !matched.contains(&(i - 1))
            });
        }
    }
    drop_if_empty(c, &t.name);
    Ok(())
}

/// entra-provisioning.md §3.5, §7.5 [I18]: `Add` on `emails[type eq "work"].value` when no
/// work email exists creates `{"type": "work", "value": …}`.
fn create_on_absent(
    c: &mut Map<String, Value>,
    t: &Target<'_>,
    f: &Filter,
    v: Value,
    dialect: Dialect,
) -> Result<()> {
    let no_target = || {
        Error::no_target(format!(
            "`{}` matched no value (RFC 7644 §3.5.2.3){}",
            t.label,
            if !dialect.admits(Quirk::CreateOnAbsent) {
                ""
            } else {
                " and its filter has no `eq` terms to create one from"
            }
        ))
    };
    if !dialect.admits(Quirk::CreateOnAbsent) {
        return Err(no_target());
    }
    let Some(mut element) = eq_seed(f, t.def, dialect)? else {
        return Err(no_target());
    };
    match (&t.sub, v) {
        (Some(sub), v) => set_ci(&mut element, sub, v),
        (None, Value::Object(o)) => merge(&mut element, o),
        (None, _) => return Err(not_an_element(t)),
    }
    let list = ensure_array(c, t)?;
    list.push(Value::Object(element));
    let last = list.len() - 1;
    value::enforce_primary(list, last);
    Ok(())
}

/// The element a filter of `eq` terms (`type eq "work"`, `a eq 1 and b eq "x"`) describes.
fn eq_seed(
    f: &Filter,
    def: Option<&Attribute>,
    dialect: Dialect,
) -> Result<Option<Map<String, Value>>> {
    match f {
        Filter::Attr(exp) if exp.path.urn.is_none() && exp.path.sub_attr.is_none() => {
            let AttrOp::Compare(CompareOp::Eq, literal) = &exp.op else {
                return Ok(None);
            };
            let v = match literal {
                CompValue::Null => return Ok(None),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::String(s) => Value::String(s.clone()),
            };
            let (name, v) = match def.and_then(|d| d.sub_attribute(&exp.path.name)) {
                Some(sd) => (
                    sd.name.clone(),
                    value::single(sd, v, dialect, &exp.path.to_string())?,
                ),
                None => (exp.path.name.clone(), v),
            };
            let mut seed = Map::new();
            seed.insert(name, v);
            Ok(Some(seed))
        }
        Filter::And(terms) => {
            let mut seed = Map::new();
            for term in terms {
                match eq_seed(term, def, dialect)? {
                    Some(part) => seed.extend(part),
                    None => return Ok(None),
                }
            }
            Ok(Some(seed))
        }
        _ => Ok(None),
    }
}
