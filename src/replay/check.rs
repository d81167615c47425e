//! Checking one response: the step's own `expect`, plus the compliance pitfalls every
//! Entra-facing endpoint is held to, each with what Entra does about it
//! (docs/entra.md §2, §3.6).

use serde::Serialize;
use serde_json::Value;

use super::scenario::{Expect, Step};
use crate::scim::urn;

/// How bad a finding is: failures fail the step; warnings are reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Failure,
}

/// One thing the endpoint got wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// A stable key: `status`, `header`, `body`, `exists`, `absent`, `json`, `content-type`,
    /// `list-response`, `duplicate-match`, `id-changed`, `group-patch-body`, `transport`,
    /// `capture`.
    pub check: &'static str,
    /// What was expected and what came back.
    pub message: String,
    /// What Entra would do about it.
    pub consequence: String,
}

/// A response as the checks see it.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    pub method: &'a str,
    /// The substituted request path, relative to the tenant URL.
    pub path: &'a str,
    /// The request's `filter` query parameter, if any.
    pub filter: Option<&'a str>,
    pub status: u16,
    pub headers: &'a hyper::HeaderMap,
    pub body: &'a [u8],
    pub json: Option<&'a Value>,
}

fn finding(severity: Severity, check: &'static str, message: String, consequence: &str) -> Finding {
    Finding {
        severity,
        check,
        message,
        consequence: consequence.to_owned(),
    }
}

/// What Entra does when a request gets `status` instead of what it expected
/// (docs/entra.md §3.6 error codes, §2 requirements).
pub fn consequence_of_status(
    method: &str,
    path: &str,
    filter: Option<&str>,
    status: u16,
) -> &'static str {
    let is_query = method == "GET" && filter.is_some();
    match status {
        401 | 403 => "Entra logs Unauthorized/InsufficientRights; when most calls fail this way the job is quarantined (EncounteredQuarantineException, §3.6)",
        404 if is_query => "Entra treats a 404 on a filter query as a failed Test Connection / SCIM compliance issue and may quarantine the job (§1.0, §3.6); a query with no match must be 200 with totalResults 0",
        404 if method == "POST" => "Entra logs the create as failed and retries it next cycle",
        404 => "Entra logs InvalidAnchor: the user or group it created or matched no longer exists (§3.6)",
        405 | 501 => "Entra logs MethodNotAllowed/NotImplemented and the operation never succeeds (§3.6)",
        409 => "Entra logs Conflict/EntryConflict and retries the create next cycle (§3.6)",
        412 => "Entra does not send If-Match; a 412 fails every update (§3.6)",
        400 if method == "PATCH" => "Entra logs the update as failed and resends it each cycle; the change never reaches the app (§3.6)",
        400 if method == "POST" && path.starts_with("/Groups") => "Entra cannot create the group; its memberships are never provisioned",
        400 => "Entra logs the request as failed and retries it next cycle (§3.6)",
        429 => "Entra logs TooManyRequests and retries later; custom apps get no rate limiting from Entra (§3.6)",
        500..=599 => "Entra logs InternalServerError and retries in about 40 minutes; above 40 % failures the job is quarantined (§3.6)",
        _ if method == "GET" && (200..300).contains(&status) => "Entra cannot rely on the answer to match users or groups",
        _ => "Entra logs the operation as failed and retries it next cycle (§3.6)",
    }
}

const NOT_JSON: &str = "Entra logs SystemForCrossDomainIdentityManagementServiceIncompatible: the response could not be parsed (§3.6)";
const BODY_MISMATCH: &str = "Entra decides what to send next from this answer; a wrong value means wrong matching or updates resent every cycle";

/// Checks a response against the step's expectation and the general pitfalls.
pub fn check(step: &Step, expect: &Expect, seen: &Observed<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let consequence = step.consequence.as_deref();
    let status_ok = match &expect.status {
        Some(set) => set.allows(seen.status),
        None => (200..300).contains(&seen.status),
    };
    if !status_ok {
        let wanted = expect
            .status
            .as_ref()
            .map_or_else(|| "a 2xx status".to_owned(), |s| format!("status {s}"));
        let detail = seen
            .json
            .and_then(|j| j.get("detail"))
            .and_then(Value::as_str)
            .map(|d| format!(" (detail: {d})"))
            .unwrap_or_default();
        out.push(finding(
            Severity::Failure,
            "status",
            format!("expected {wanted}, got {}{detail}", seen.status),
            consequence.unwrap_or(consequence_of_status(
                seen.method,
                seen.path,
                seen.filter,
                seen.status,
            )),
        ));
        // The rest compares a body that belongs to another outcome: stop here.
        return out;
    }
    for (name, want) in &expect.headers {
        let got = seen
            .headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok());
        let ok = got.is_some_and(|g| {
            g.to_ascii_lowercase()
                .starts_with(&want.to_ascii_lowercase())
        });
        if !ok {
            out.push(finding(
                Severity::Failure,
                "header",
                format!(
                    "expected header `{name}: {want}`, got {}",
                    got.map_or("none".to_owned(), |g| format!("`{g}`"))
                ),
                consequence.unwrap_or(BODY_MISMATCH),
            ));
        }
    }
    pitfalls(seen, &mut out);
    let needs_json = expect.body.is_some() || !expect.exists.is_empty() || !step.capture.is_empty();
    let Some(json) = seen.json else {
        if needs_json {
            out.push(finding(
                Severity::Failure,
                "json",
                format!(
                    "expected a JSON body, got {} bytes that are not JSON",
                    seen.body.len()
                ),
                consequence.unwrap_or(NOT_JSON),
            ));
        }
        return out;
    };
    if let Some(want) = &expect.body {
        let (mut got, mut want) = (json.clone(), want.clone());
        for pointer in &expect.ignore {
            remove_pointer(&mut got, pointer);
            remove_pointer(&mut want, pointer);
        }
        let mut diffs = Vec::new();
        contains(&got, &want, String::new(), &mut diffs);
        if !diffs.is_empty() {
            out.push(finding(
                Severity::Failure,
                "body",
                format!(
                    "body differs from the expected subset:\n{}",
                    diffs.join("\n")
                ),
                consequence.unwrap_or(BODY_MISMATCH),
            ));
        }
    }
    for pointer in &expect.exists {
        if json.pointer(pointer).is_none_or(Value::is_null) {
            out.push(finding(
                Severity::Failure,
                "exists",
                format!("expected `{pointer}` in the body, it is missing"),
                consequence.unwrap_or(BODY_MISMATCH),
            ));
        }
    }
    for pointer in &expect.absent {
        if let Some(v) = json.pointer(pointer) {
            out.push(finding(
                Severity::Failure,
                "absent",
                format!("expected no `{pointer}` in the body, got {}", short(v)),
                consequence.unwrap_or(BODY_MISMATCH),
            ));
        }
    }
    out
}

/// Compliance pitfalls that apply to every response of a given shape.
fn pitfalls(seen: &Observed<'_>, out: &mut Vec<Finding>) {
    let has_body = !seen.body.iter().all(u8::is_ascii_whitespace);
    if has_body {
        let ct = seen
            .headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ct.starts_with("application/json") {
            out.push(finding(
                Severity::Warning,
                "content-type",
                format!("Content-Type is `{ct}`; SCIM responses should be `application/scim+json` (RFC 7644 §3.1)"),
                "Entra accepts it today, but the guidelines ask for application/scim+json (§2.2)",
            ));
        } else if !ct.starts_with("application/scim+json") {
            out.push(finding(
                Severity::Failure,
                "content-type",
                format!("Content-Type is `{ct}`, not a JSON type"),
                NOT_JSON,
            ));
        }
        if seen.json.is_none() {
            out.push(finding(
                Severity::Failure,
                "json",
                "the body is not valid JSON".to_owned(),
                NOT_JSON,
            ));
        }
    }
    let Some(json) = seen.json else { return };
    let is_list = seen.method == "GET"
        && (seen.filter.is_some()
            || seen.path.ends_with("/Users")
            || seen.path.ends_with("/Groups"));
    if is_list && seen.status == 200 {
        list_response(json, seen.filter, out);
    }
    if let Some(id_in_path) = resource_id_in_path(seen.path) {
        if (200..300).contains(&seen.status) {
            if let Some(got) = json.get("id").and_then(Value::as_str) {
                if got != id_in_path {
                    out.push(finding(
                        Severity::Failure,
                        "id-changed",
                        format!("the resource at `{}` answered with id `{got}`", seen.path),
                        "Entra caches the id it got at create time and uses it for every later request; a changed id breaks every update (§1.1)",
                    ));
                }
            }
        }
        let group_patch = seen.method == "PATCH" && seen.path.starts_with("/Groups/");
        if group_patch && seen.status == 200 && json.get("members").is_some_and(Value::is_array) {
            out.push(finding(
                Severity::Warning,
                "group-patch-body",
                "PATCH on a group answered 200 with its full member list".to_owned(),
                "Allowed, but Entra asks for 204 (§1.9): serialising every member on every membership change is slow for large groups",
            ));
        }
    }
}

fn list_response(json: &Value, filter: Option<&str>, out: &mut Vec<Finding>) {
    let total = json.get("totalResults").and_then(Value::as_u64);
    let resources = json.get("Resources").and_then(Value::as_array);
    let fail = |msg: String| {
        finding(Severity::Failure, "list-response", msg, "Entra cannot read the query result and treats the object as unmatched or the endpoint as incompatible (§1.3, §1.4)")
    };
    let is_list = json
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v == urn::LIST_RESPONSE));
    if !is_list {
        out.push(fail(format!(
            "a query answer must be a ListResponse (schemas must contain `{}`)",
            urn::LIST_RESPONSE
        )));
    }
    match total {
        None => out.push(fail("`totalResults` is missing or not a number".to_owned())),
        Some(n) if n > 0 && resources.is_none() => out.push(fail(format!(
            "`totalResults` is {n} but there is no `Resources` array (note the capital R)"
        ))),
        Some(n) if resources.is_some_and(|r| r.len() as u64 > n) => out.push(fail(format!(
            "`totalResults` is {n} but `Resources` holds {}",
            resources.map_or(0, Vec::len)
        ))),
        _ => {}
    }
    let matching_eq = filter.is_some_and(|f| {
        let f = f.trim_start().to_ascii_lowercase();
        (f.starts_with("username eq")
            || f.starts_with("externalid eq")
            || f.starts_with("displayname eq"))
            && !f.contains(" or ")
    });
    if matching_eq && total.is_some_and(|n| n > 1) {
        out.push(finding(
            Severity::Failure,
            "duplicate-match",
            format!(
                "the matching query returned {} resources",
                total.unwrap_or(0)
            ),
            "Entra logs DuplicateTargetEntries and skips the object (§3.2)",
        ));
    }
}

/// `/Users/{id}` or `/Groups/{id}` → `{id}` (not `.search` or sub-paths).
fn resource_id_in_path(path: &str) -> Option<&str> {
    let path = path.split('?').next().unwrap_or(path);
    let rest = path
        .strip_prefix("/Users/")
        .or_else(|| path.strip_prefix("/Groups/"))?;
    (!rest.is_empty() && !rest.contains('/') && !rest.starts_with('.')).then_some(rest)
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 {
        let cut = (0..=117)
            .rev()
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(0);
        format!("{}…", &s[..cut])
    } else {
        s
    }
}

/// Subset match: objects need at least the expected keys, arrays the same length with
/// each element matching, scalars equality. Collects one line per difference.
fn contains(got: &Value, want: &Value, at: String, diffs: &mut Vec<String>) {
    let here = if at.is_empty() {
        "/".to_owned()
    } else {
        at.clone()
    };
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                let path = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match g.get(k) {
                    Some(gv) => contains(gv, wv, path, diffs),
                    None => diffs.push(format!("  {path}: expected {}, missing", short(wv))),
                }
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            if g.len() != w.len() {
                diffs.push(format!(
                    "  {here}: expected {} element(s), got {}: {}",
                    w.len(),
                    g.len(),
                    short(got)
                ));
                return;
            }
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                contains(gv, wv, format!("{at}/{i}"), diffs);
            }
        }
        _ if got == want => {}
        _ => diffs.push(format!(
            "  {here}: expected {}, got {}",
            short(want),
            short(got)
        )),
    }
}

fn remove_pointer(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>() {
                if i < items.len() {
                    items.remove(i);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_match_reports_each_difference_with_its_pointer() {
        let mut diffs = Vec::new();
        contains(
            &json!({"a": 1, "b": [1, 2], "c": {"d": "x"}}),
            &json!({"a": 2, "b": [1], "c": {"d": "x", "e": true}}),
            String::new(),
            &mut diffs,
        );
        assert_eq!(
            diffs,
            vec![
                "  /a: expected 2, got 1",
                "  /b: expected 1 element(s), got 2: [1,2]",
                "  /c/e: expected true, missing"
            ]
        );
    }

    #[test]
    fn finds_the_id_in_resource_paths_only() {
        assert_eq!(resource_id_in_path("/Users/abc"), Some("abc"));
        assert_eq!(resource_id_in_path("/Users/.search"), None);
        assert_eq!(resource_id_in_path("/Users"), None);
    }
}
