//! Checking one response: the step's own `expect`, plus the compliance pitfalls every
//! Entra-facing endpoint is held to, each with what Entra does about it
//! (docs/entra.md §2, §3.6).

use serde::Serialize;
use serde_json::Value;

use super::scenario::{Expect, Step};
use crate::entra::secrets::Scrubber;
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
pub(crate) struct Observed<'a> {
    pub method: &'a str,
    /// The substituted request path, relative to the tenant URL.
    pub path: &'a str,
    /// The request's `filter` query parameter, if any.
    pub filter: Option<&'a str>,
    pub status: u16,
    pub headers: &'a hyper::HeaderMap,
    pub body: &'a [u8],
    pub json: Option<&'a Value>,
    /// The run's secrets: what the endpoint said goes into a finding as an excerpt
    /// ([`crate::entra::excerpt`]), scrubbed before it is cut.
    pub secrets: &'a Scrubber,
}

impl Observed<'_> {
    /// One string the endpoint sent, as a finding quotes it.
    fn said(&self, text: &str) -> String {
        crate::entra::excerpt::text(self.secrets, text)
    }
}

fn finding(severity: Severity, check: &'static str, message: String, consequence: &str) -> Finding {
    Finding {
        severity,
        check,
        message,
        consequence: consequence.to_owned(),
    }
}

const NOT_JSON: &str = "Entra logs SystemForCrossDomainIdentityManagementServiceIncompatible and fails the object: the response could not be parsed (Microsoft Learn \"How to analyze the Microsoft Entra provisioning logs\")";
const CT_JSON_SUCCESS: &str = "Microsoft's SCIM Validator fails the test, and gallery onboarding needs a passing Validator run; whether the live provisioning service parses it anyway is unconfirmed (MicrosoftDocs/azure-docs#116775)";
const CT_JSON_ERROR: &str = "Entra reads the HTTP status of an error, and the Validator does not check error content types; the RFC still asks for application/scim+json (RFC 7644 §8.1)";
const BODY_MISMATCH: &str = "Entra decides what to send next from this answer; a wrong value means wrong matching or updates resent every cycle (Microsoft Learn \"How Application Provisioning works in Microsoft Entra ID\": matching, and the comparison with what the service reads back)";
const DISCOVERY_LIST: &str = "Entra's provisioning does not read discovery answers; Microsoft's SCIM Validator reads only the schemas' attributes, but RFC clients that page by totalResults stop here (RFC 7644 §3.4.2)";
const GROUP_PATCH_BODY: &str = "Allowed, but the SCIM tutorial asks for 204 on group PATCH: serialising every member on every membership change is slow for large groups (Microsoft Learn \"Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID\")";
const NOT_A_LIST: &str = "Entra cannot read the query result and fails the object with SystemForCrossDomainIdentityManagementServiceIncompatible; RFC 7644 §3.4.2 defines the ListResponse (Microsoft Learn \"How to analyze the Microsoft Entra provisioning logs\")";
const ID_CHANGED: &str = "Entra caches the id it got at create time and uses it for every later request; a changed id breaks every update (Microsoft Learn \"Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID\")";

/// Checks a response against the step's expectation and the general pitfalls.
pub(crate) fn check(step: &Step, expect: &Expect, seen: &Observed<'_>) -> Vec<Finding> {
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
            .map(|d| format!(" (detail: {})", seen.said(d)))
            .unwrap_or_default();
        out.push(finding(
            Severity::Failure,
            "status",
            format!("expected {wanted}, got {}{detail}", seen.status),
            // A 429 means the same whatever the step: Entra waits and retries.
            consequence.filter(|_| seen.status != 429).unwrap_or(
                &crate::entra::consequence::of_status(
                    seen.method,
                    seen.path,
                    seen.filter,
                    seen.status,
                ),
            ),
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
                    got.map_or("none".to_owned(), |g| format!("`{}`", seen.said(g)))
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
        contains(seen.secrets, &got, &want, String::new(), &mut diffs);
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
    for pointer in &expect.empty {
        let v = json.pointer(pointer);
        let empty = match v {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            Some(_) => false,
        };
        if !empty {
            out.push(finding(
                Severity::Failure,
                "empty",
                format!(
                    "expected `{pointer}` to be empty or gone, got {}",
                    v.map_or_else(String::new, |v| short(seen.secrets, v))
                ),
                consequence.unwrap_or(BODY_MISMATCH),
            ));
        }
    }
    for pointer in &expect.absent {
        if let Some(v) = json.pointer(pointer) {
            out.push(finding(
                Severity::Failure,
                "absent",
                format!(
                    "expected no `{pointer}` in the body, got {}",
                    short(seen.secrets, v)
                ),
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
        let ct = seen.said(
            &seen
                .headers
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase(),
        );
        if ct.starts_with("application/json") {
            // The SCIM Validator fails success answers that are not application/scim+json
            // (MicrosoftDocs/azure-docs#116775); it does not look at error answers (third-party
            // capture of Validator output, entra-provisioning.md §5.2), so those only warn.
            let success = (200..300).contains(&seen.status);
            out.push(finding(
                if success { Severity::Failure } else { Severity::Warning },
                "content-type",
                format!("Content-Type is `{ct}`; SCIM responses must be `application/scim+json` (RFC 7644 §3.1, §8.1)"),
                if success {
                    CT_JSON_SUCCESS
                } else {
                    CT_JSON_ERROR
                },
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
    if seen.status >= 400 {
        error_body(seen.secrets, json, seen.status, out);
    }
    let is_list = seen.method == "GET"
        && (seen.filter.is_some()
            || seen.path.ends_with("/Users")
            || seen.path.ends_with("/Groups"));
    if is_list && seen.status == 200 {
        list_response(json, seen.filter, out);
    }
    // Discovery lists are ListResponses too (RFC 7644 §4: "a ListResponse", §3.4.2:
    // `totalResults` REQUIRED); Entra's provisioning never reads them, so this only warns.
    let discovery = seen.method == "GET"
        && (seen.path.ends_with("/Schemas") || seen.path.ends_with("/ResourceTypes"));
    if discovery
        && seen.status == 200
        && json.get("Resources").is_some()
        && json.get("totalResults").and_then(Value::as_u64).is_none()
    {
        out.push(finding(
            Severity::Warning,
            "list-response",
            format!(
                "`{}` answered a list without `totalResults` (RFC 7644 §3.4.2: REQUIRED)",
                seen.path
            ),
            DISCOVERY_LIST,
        ));
    }
    if let Some(id_in_path) = resource_id_in_path(seen.path) {
        if (200..300).contains(&seen.status) {
            if let Some(got) = json.get("id").and_then(Value::as_str) {
                if got != id_in_path {
                    out.push(finding(
                        Severity::Failure,
                        "id-changed",
                        format!(
                            "the resource at `{}` answered with id `{}`",
                            seen.path,
                            seen.said(got)
                        ),
                        ID_CHANGED,
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
                GROUP_PATCH_BODY,
            ));
        }
    }
}

fn list_response(json: &Value, filter: Option<&str>, out: &mut Vec<Finding>) {
    let total = json.get("totalResults").and_then(Value::as_u64);
    let resources = json.get("Resources").and_then(Value::as_array);
    let fail = |msg: String| finding(Severity::Failure, "list-response", msg, NOT_A_LIST);
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
    if let (Some(n), Some(r)) = (total, resources) {
        if n > 0 && r.is_empty() && filter.is_some_and(is_matching_query) {
            out.push(fail(format!(
                "`totalResults` is {n} but `Resources` is empty"
            )));
        }
    }
    let returned = resources.map_or(0, Vec::len) as u64;
    let count = total.unwrap_or(0).max(returned);
    if count > 1 && filter.is_some_and(is_matching_query) {
        let ids: std::collections::BTreeSet<&str> = resources
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("id").and_then(Value::as_str))
            .collect();
        out.push(finding(
            Severity::Failure,
            "duplicate-match",
            format!(
                "the matching query `{}` returned {count} resources ({} distinct ids)",
                filter.unwrap_or(""),
                ids.len()
            ),
            DUPLICATE_MATCH,
        ));
    }
}

/// A matching query that answers more than one resource: the one place the reports name
/// *MultipleEntriesInResponse* (a query that finds nothing is not that: Entra creates).
const DUPLICATE_MATCH: &str = "A matching query must answer at most one resource: with more, Entra logs SystemForCrossDomainIdentityManagementMultipleEntriesInResponse or DuplicateTargetEntries and skips the object, which is neither created nor updated until one resource matches (Microsoft Learn \"How to analyze the Microsoft Entra provisioning logs\", error codes; \"Customize user provisioning attribute-mappings\", matching attributes)";

/// A filter Entra sends to match one object: a single `eq` on one attribute, including a
/// value path (`emails[type eq "work"].value eq "…"`) or a custom extension attribute
/// (Microsoft Learn "Customize application attributes": any attribute can be the matching
/// attribute). Reference checks (`id eq … and manager eq …`) are not matching queries.
pub(crate) fn is_matching_query(filter: &str) -> bool {
    use crate::filter::{AttrExp, AttrOp, CompareOp, Filter};
    matches!(
        crate::filter::parse(filter),
        Ok(Filter::Attr(AttrExp {
            op: AttrOp::Compare(CompareOp::Eq, _),
            ..
        }) | Filter::ValuePathAttr {
            op: AttrOp::Compare(CompareOp::Eq, _),
            ..
        })
    )
}

/// RFC 7644 §3.12 error bodies. Entra acts on the HTTP status alone, so a body that
/// differs from the RFC's shape is worth a warning, never a failure.
fn error_body(secrets: &Scrubber, json: &Value, status: u16, out: &mut Vec<Finding>) {
    match json.get("status") {
        Some(Value::String(s)) if s == &status.to_string() => {}
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(status)) => out.push(finding(
            Severity::Warning,
            "error-body",
            format!("the error body's `status` is the number {n}; RFC 7644 §3.12 shows it as the string \"{status}\""),
            ERROR_BODY,
        )),
        Some(other) => out.push(finding(
            Severity::Warning,
            "error-body",
            format!("the error body's `status` is {} but the HTTP status is {status}", short(secrets, other)),
            ERROR_BODY,
        )),
        None => out.push(finding(
            Severity::Warning,
            "error-body",
            "the error body has no `status` (RFC 7644 §3.12 makes it REQUIRED)".to_owned(),
            ERROR_BODY,
        )),
    }
}

const ERROR_BODY: &str = "Harmless to Entra, which reads the HTTP status; strict SCIM clients may reject the body (RFC 7644 §3.12)";

/// `/Users/{id}` or `/Groups/{id}` → `{id}` (not `.search` or sub-paths).
fn resource_id_in_path(path: &str) -> Option<&str> {
    let path = path.split('?').next().unwrap_or(path);
    let rest = path
        .strip_prefix("/Users/")
        .or_else(|| path.strip_prefix("/Groups/"))?;
    (!rest.is_empty() && !rest.contains('/') && !rest.starts_with('.')).then_some(rest)
}

/// A value in a message, at most 120 bytes of it: scrubbed of `secrets` before the cut, so
/// the cut cannot leave the start of an echoed token showing.
fn short(secrets: &Scrubber, v: &Value) -> String {
    let s = secrets.scrub_owned(v.to_string());
    if s.len() > 120 {
        let cut = crate::caret::floor_char_boundary(&s, 117);
        format!("{}…", &s[..cut])
    } else {
        s
    }
}

/// Subset match: objects need at least the expected keys, arrays the same length with
/// each element matching, scalars equality. Collects one line per difference.
fn contains(secrets: &Scrubber, got: &Value, want: &Value, at: String, diffs: &mut Vec<String>) {
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
                    Some(gv) => contains(secrets, gv, wv, path, diffs),
                    None => diffs.push(format!(
                        "  {path}: expected {}, missing",
                        short(secrets, wv)
                    )),
                }
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            if g.len() != w.len() {
                diffs.push(format!(
                    "  {here}: expected {} element(s), got {}: {}",
                    w.len(),
                    g.len(),
                    short(secrets, got)
                ));
                return;
            }
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                contains(secrets, gv, wv, format!("{at}/{i}"), diffs);
            }
        }
        _ if got == want => {}
        _ => diffs.push(format!(
            "  {here}: expected {}, got {}",
            short(secrets, want),
            short(secrets, got)
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

    /// Every consequence a check gives, like every scenario's, ends with its public source.
    #[test]
    fn every_check_consequence_names_its_source() {
        for text in [
            NOT_JSON,
            CT_JSON_SUCCESS,
            CT_JSON_ERROR,
            BODY_MISMATCH,
            DISCOVERY_LIST,
            GROUP_PATCH_BODY,
            NOT_A_LIST,
            ID_CHANGED,
            DUPLICATE_MATCH,
            ERROR_BODY,
        ] {
            assert!(
                crate::entra::consequence::split_source(text).1.is_some(),
                "{text}"
            );
        }
    }

    #[test]
    fn subset_match_reports_each_difference_with_its_pointer() {
        let mut diffs = Vec::new();
        contains(
            &Scrubber::default(),
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

    #[test]
    fn a_discovery_list_without_total_results_is_a_warning() {
        let mut headers = hyper::HeaderMap::new();
        headers.insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/scim+json"),
        );
        let findings = |body: Value| {
            let text = body.to_string();
            let seen = Observed {
                method: "GET",
                path: "/Schemas",
                filter: None,
                status: 200,
                headers: &headers,
                body: text.as_bytes(),
                json: Some(&body),
                secrets: &Scrubber::default(),
            };
            let mut out = Vec::new();
            pitfalls(&seen, &mut out);
            out
        };
        let without = findings(json!({"schemas": [urn::LIST_RESPONSE], "Resources": []}));
        assert_eq!(without.len(), 1, "{without:#?}");
        assert_eq!(without[0].severity, Severity::Warning);
        assert!(without[0].message.contains("totalResults"));
        let with =
            findings(json!({"schemas": [urn::LIST_RESPONSE], "totalResults": 0, "Resources": []}));
        assert!(with.is_empty(), "{with:#?}");
    }
}
