//! Reading the state database back. Every row is checked on its own before anything is
//! loaded: its body must be exactly one JSON object (RFC 7643 §3: a resource), whose `id`
//! is the row's key, whose `schemas` hold the core schema of the row's kind, and whose
//! `meta.resourceType`, when present, is that kind. Only then are the rows' texts joined
//! into seed text for the store. A row that fails is named and the database refused:
//! joining unchecked texts would let a row such as `{…}],"Users":[{…}` end the array it
//! sits in and load something else than the rows hold.

use std::borrow::Cow;
use std::path::Path;

use rusqlite::Connection;
use serde::Deserialize;

use super::sqlite::unusable;
use super::DurableError;
use crate::scim::ResourceKind;

/// The members of a stored resource that say what it is; every other member is skipped
/// unread (the store validates them when it loads the row, as it would a POST).
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default, borrow)]
    schemas: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    meta: Option<Meta<'a>>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(rename = "resourceType", default, borrow)]
    resource_type: Option<Cow<'a, str>>,
}

/// Why the body of row `(kind, id)` is not a stored resource of that kind, if it is not.
pub(super) fn check_row(kind: ResourceKind, id: &str, body: &str) -> Result<(), String> {
    // A struct also deserialises from an array: only an object is a resource.
    if !body.trim_start().starts_with('{') {
        return Err("the body is not a JSON object".to_owned());
    }
    // One value and nothing after it (serde_json refuses trailing characters).
    let probe: Probe<'_> =
        serde_json::from_str(body).map_err(|e| format!("the body is not one resource: {e}"))?;
    if probe.id != id {
        return Err(format!("its `id` is {:?}, not the row's key", probe.id));
    }
    if !probe.schemas.iter().any(|s| s == kind.schema_urn()) {
        return Err(format!("its `schemas` do not hold {}", kind.schema_urn()));
    }
    if let Some(t) = probe.meta.and_then(|m| m.resource_type) {
        if t != kind.resource_type() {
            return Err(format!("its `meta.resourceType` is {t:?}"));
        }
    }
    Ok(())
}

fn bad_row(path: &Path, kind: &str, id: &str, reason: String) -> DurableError {
    DurableError::BadRow {
        path: path.to_owned(),
        kind: kind.to_owned(),
        id: id.to_owned(),
        reason,
    }
}

/// Everything in the database as seed text `{"Users": [...], "Groups": [...]}` and the
/// number of resources: each row checked ([`check_row`]), then its text joined as it is
/// (the store parses each resource once, when it loads it).
pub(super) fn read_all(conn: &Connection, path: &Path) -> Result<(Vec<u8>, usize), DurableError> {
    let kinds = [ResourceKind::User, ResourceKind::Group];
    let stray: Option<(String, String)> = conn
        .query_row(
            "SELECT kind, id FROM resources WHERE kind NOT IN (?1, ?2) LIMIT 1",
            [kinds[0].resource_type(), kinds[1].resource_type()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(unusable(path, e)),
        })?;
    if let Some((kind, id)) = stray {
        return Err(bad_row(
            path,
            &kind,
            &id,
            "no such resource type".to_owned(),
        ));
    }
    let mut out = Vec::from(&b"{"[..]);
    let mut count = 0;
    for (n, kind) in kinds.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"{}\":[", kind.endpoint()).as_bytes());
        let mut stmt = conn
            .prepare("SELECT id, body FROM resources WHERE kind = ?1 ORDER BY id")
            .map_err(|e| unusable(path, e))?;
        let rows = stmt
            .query_map([kind.resource_type()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| unusable(path, e))?;
        for (i, row) in rows.enumerate() {
            let (id, body) = row.map_err(|e| unusable(path, e))?;
            check_row(*kind, &id, &body)
                .map_err(|why| bad_row(path, kind.resource_type(), &id, why))?;
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(body.as_bytes());
            count += 1;
        }
        out.push(b']');
    }
    out.push(b'}');
    Ok((out, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"a","meta":{"resourceType":"User"}}"#;

    #[test]
    fn a_stored_user_passes_and_every_kind_of_tampering_is_named() {
        assert_eq!(check_row(ResourceKind::User, "u1", USER), Ok(()));
        let smuggled = format!(r#"{USER}],"Users":[{{"id":"u9","userName":"m"}}"#);
        let cases: [(ResourceKind, &str, &str, &str); 6] = [
            (ResourceKind::User, "u1", &smuggled, "not one resource"),
            (ResourceKind::User, "u2", USER, "not the row's key"),
            (ResourceKind::Group, "u1", USER, "do not hold"),
            (ResourceKind::User, "u1", "[1]", "not a JSON object"),
            (
                ResourceKind::User,
                "u1",
                "{\"id\":\"u1\"",
                "not one resource",
            ),
            (
                ResourceKind::User,
                "u1",
                r#"{"id":"u1","id":"u2","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}"#,
                "duplicate field",
            ),
        ];
        for (kind, id, body, why) in cases {
            let err = check_row(kind, id, body).unwrap_err();
            assert!(err.contains(why), "{body}: {err}");
        }
        let group_meta = USER.replace(r#""resourceType":"User""#, r#""resourceType":"Group""#);
        assert!(check_row(ResourceKind::User, "u1", &group_meta)
            .unwrap_err()
            .contains("resourceType"));
    }
}
