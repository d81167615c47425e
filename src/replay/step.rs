//! One step's request and what it leaves behind: substituting variables into the request
//! (path, query in Entra's form encoding, headers, body) and capturing response values into
//! variables for later steps. The runner (`super::runner`) sends and checks.

use serde_json::Value;

use super::check::{Finding, Severity};
use super::scenario::{Context, Step, Vars};

pub(super) struct Prepared {
    /// Sent by hand: the target holds a raw `"` that hyper's `Uri` refuses.
    pub(super) raw: bool,
    pub(super) path: String,
    pub(super) target: String,
    pub(super) filter: Option<String>,
    pub(super) headers: std::collections::BTreeMap<String, String>,
    pub(super) body: Option<Value>,
    pub(super) expect: super::scenario::Expect,
}

pub(super) fn prepare(step: &Step, vars: &mut Vars) -> Result<Prepared, String> {
    let r = &step.request;
    // Captured ids are the endpoint's: encoded as one segment each, escaped in filters.
    let path = vars
        .substitute_in(&r.path, Context::Segment)
        .map_err(|e| e.to_string())?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut filter = None;
    for (k, v) in &r.query {
        let context = if k.eq_ignore_ascii_case("filter") {
            Context::Filter
        } else {
            Context::Text
        };
        let v = vars.substitute_in(v, context).map_err(|e| e.to_string())?;
        if context == Context::Filter {
            filter = Some(v.clone());
        }
        query.append_pair(k, &v);
    }
    let mut query = query.finish();
    if r.raw_quotes {
        query = query.replace("%22", "\"");
    }
    let target = if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    };
    let mut headers = std::collections::BTreeMap::new();
    if r.body.is_some()
        && !r
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
    {
        // The live service's header (MicrosoftDocs/azure-docs#12728), charset included.
        headers.insert(
            "Content-Type".to_owned(),
            crate::entra::wire::CONTENT_TYPE.to_owned(),
        );
    }
    for (k, v) in &r.headers {
        headers.insert(k.clone(), vars.substitute(v).map_err(|e| e.to_string())?);
    }
    let body = r
        .body
        .as_ref()
        .map(|b| vars.substitute_body(b))
        .transpose()
        .map_err(|e| e.to_string())?;
    let e = &step.expect;
    let expect = super::scenario::Expect {
        body: e
            .body
            .as_ref()
            .map(|b| vars.substitute_json(b))
            .transpose()
            .map_err(|e| e.to_string())?,
        headers: e
            .headers
            .iter()
            .map(|(k, v)| Ok((k.clone(), vars.substitute(v)?)))
            .collect::<Result<_, super::scenario::UnsetVar>>()
            .map_err(|e| e.to_string())?,
        ..e.clone()
    };
    Ok(Prepared {
        raw: r.raw_quotes && target.contains('"'),
        path,
        target,
        filter,
        headers,
        body,
        expect,
    })
}

pub(super) fn capture(
    step: &Step,
    json: Option<&Value>,
    headers: &hyper::HeaderMap,
    vars: &mut Vars,
    findings: &mut Vec<Finding>,
) {
    for (name, pointer) in &step.capture {
        let value = if let Some(header) = pointer.strip_prefix("header:") {
            headers
                .get(header)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        } else {
            json.and_then(|j| j.pointer(pointer)).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
        };
        match value {
            Some(v) => vars.set(name, v),
            None => findings.push(Finding {
                severity: Severity::Failure,
                check: "capture",
                message: format!(
                    "expected `{pointer}` in the response to capture as `{name}`, it is missing"
                ),
                consequence: consequence_of_capture(pointer).into(),
            }),
        }
    }
}

fn consequence_of_capture(pointer: &str) -> &'static str {
    if pointer == "/id" {
        "Entra caches the returned id for every later request; without it the object cannot be updated or deleted (Microsoft Learn \"How Application Provisioning works in Microsoft Entra ID\")"
    } else {
        "Entra needs this value for its next request"
    }
}
