//! The recorded-sequence format: serde types, loading, validation and `${…}` substitution.
//! The format is specified field by field in the module docs of [`crate::replay`].

use std::collections::BTreeMap;
use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::entra::Dialect;

/// One recorded Entra sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Unique name; defaults to the file stem when loaded from a file.
    #[serde(default)]
    pub name: String,
    /// What the sequence exercises, in a sentence.
    #[serde(default)]
    pub description: String,
    /// The reference section this sequence pins, e.g. `docs/entra.md §1.0`.
    #[serde(default)]
    pub note: String,
    /// The public source of the shapes it sends: a Microsoft page by title, an RFC
    /// section, or `owner/repo#issue`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// The rows of the December 2026 shape audit it covers (`"B3"`, `"E7"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<String>,
    /// The vendor profile this sequence is recorded for; it runs only when the run names
    /// that profile (`--profile ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Dialects the scenario applies to; empty means both.
    #[serde(default)]
    pub dialects: Vec<Dialect>,
    /// Capabilities the endpoint needs for this scenario (`groups`); a runner told the
    /// endpoint lacks one skips the scenario.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Variables set once at scenario start, in file order; values may use generators
    /// (`${uuid}`) and earlier variables.
    #[serde(default)]
    pub vars: IndexMap<String, String>,
    /// The requests, in Entra's order.
    pub steps: Vec<Step>,
}

/// One request and what must come back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Short name, unique within the scenario.
    pub name: String,
    /// Reference section or remark for this step.
    #[serde(default)]
    pub note: String,
    /// Run only in this dialect; absent means every dialect.
    #[serde(default)]
    pub dialect: Option<Dialect>,
    pub request: Request,
    #[serde(default)]
    pub expect: Expect,
    /// Variables to take from the response: name → JSON pointer into the body
    /// (`"user_id": "/id"`), or `header:<name>` for a response header.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// What Entra does when this step fails; overrides the built-in consequence.
    #[serde(default)]
    pub consequence: Option<String>,
    /// Delete this resource at scenario end (a path like `/Users/${user_id}`); best effort.
    #[serde(default)]
    pub cleanup: Option<String>,
    /// How this write's read-back counts (`off`, `warn`, `fail`, `fail-missing`), over the
    /// run's (`RunnerConfig::read_back`); a run without read-back reads nothing back.
    /// A failure it raises carries this step's `consequence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_back: Option<super::readback::ReadBack>,
    /// Where Entra's behaviour is unconfirmed or tolerant: the step's failures are reported
    /// as warnings, and the scenario stops there without failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub advisory: bool,
}

/// An HTTP request relative to the tenant URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub method: String,
    /// Path relative to the tenant URL, e.g. `/Users` or `/Users/${user_id}`.
    pub path: String,
    /// Query parameters, sent form-encoded as Entra does (`+` for space, `%22` for `"`).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Extra headers; `Authorization` and `Content-Type` are added by the runner.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON body; strings inside are substituted.
    #[serde(default)]
    pub body: Option<Value>,
    /// Send `"` in the query unencoded, as Microsoft's SCIM Validator does
    /// (`filter=userName+eq+"x"`, Microsoft Q&A 2238842), instead of Entra's `%22`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub raw_quotes: bool,
}

/// What the response must look like.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// One status or a set of acceptable statuses; absent means any 2xx.
    #[serde(default)]
    pub status: Option<StatusSet>,
    /// Headers that must be present; values compare case-insensitively as prefixes, so
    /// `application/scim+json` matches `application/scim+json; charset=utf-8`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON value the body must contain (objects: at least these keys; arrays: same
    /// length, element by element; scalars: equal).
    #[serde(default)]
    pub body: Option<Value>,
    /// JSON pointers removed from both sides before comparing.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// JSON pointers that must exist in the body, whatever their value.
    #[serde(default)]
    pub exists: Vec<String>,
    /// JSON pointers that must not exist in the body.
    #[serde(default)]
    pub absent: Vec<String>,
    /// JSON pointers that must be empty: absent, `null`, `""`, `[]` or `{}` (RFC 7643 §2.5
    /// treats all of them as unassigned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empty: Vec<String>,
}

/// `200` or `[200, 204]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StatusSet {
    One(u16),
    Any(Vec<u16>),
}

impl StatusSet {
    /// Does `status` satisfy the set?
    pub fn allows(&self, status: u16) -> bool {
        match self {
            StatusSet::One(s) => *s == status,
            StatusSet::Any(set) => set.contains(&status),
        }
    }
}

impl std::fmt::Display for StatusSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusSet::One(s) => write!(f, "{s}"),
            StatusSet::Any(set) => {
                let parts: Vec<String> = set.iter().map(u16::to_string).collect();
                write!(f, "one of {}", parts.join(", "))
            }
        }
    }
}

/// A problem with a scenario file itself (not with the endpoint under test).
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a valid scenario: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{name}: {problem}")]
    Invalid { name: String, problem: String },
}

impl Scenario {
    /// Parses one scenario from JSON text; `fallback_name` names it if the file does not.
    pub fn from_json(text: &str, fallback_name: &str) -> Result<Scenario, ScenarioError> {
        let mut s: Scenario = serde_json::from_str(text).map_err(|e| ScenarioError::Json {
            path: fallback_name.to_owned(),
            source: e,
        })?;
        if s.name.is_empty() {
            fallback_name.clone_into(&mut s.name);
        }
        s.validate()?;
        Ok(s)
    }

    /// Loads one scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("scenario");
        Scenario::from_json(&text, stem).map_err(|e| match e {
            ScenarioError::Json { source, .. } => ScenarioError::Json {
                path: path.display().to_string(),
                source,
            },
            other => other,
        })
    }

    /// Loads every `*.json` in `dir`, sorted by name.
    pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
        let entries = std::fs::read_dir(dir).map_err(|e| ScenarioError::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths.iter().map(|p| Scenario::load(p)).collect()
    }

    /// Does this scenario run in `dialect`?
    pub fn applies_to(&self, dialect: Dialect) -> bool {
        self.dialects.is_empty() || self.dialects.contains(&dialect)
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        let invalid = |problem: String| ScenarioError::Invalid {
            name: self.name.clone(),
            problem,
        };
        if self.steps.is_empty() {
            return Err(invalid("has no steps".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for step in &self.steps {
            if !seen.insert((step.name.as_str(), step.dialect)) {
                return Err(invalid(format!("step name `{}` is used twice", step.name)));
            }
            if hyper::Method::from_bytes(step.request.method.as_bytes()).is_err() {
                return Err(invalid(format!(
                    "step `{}`: `{}` is not an HTTP method",
                    step.name, step.request.method
                )));
            }
            if !step.request.path.starts_with('/') {
                return Err(invalid(format!(
                    "step `{}`: path `{}` must start with `/`",
                    step.name, step.request.path
                )));
            }
            for pointer in step.capture.values().chain(&step.expect.exists) {
                if !(pointer.is_empty()
                    || pointer.starts_with('/')
                    || pointer.starts_with("header:"))
                {
                    return Err(invalid(format!(
                        "step `{}`: `{pointer}` is not a JSON pointer",
                        step.name
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Values for `${name}` substitution, plus the generators `${uuid}` (a fresh v4 UUID each
/// time) and `${random_upn}` (a fresh `Test_User_<uuid>@testuser.com`, the shape of the
/// Entra tutorial's test users).
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars {
    values: BTreeMap<String, String>,
    /// Seeded generator for reproducible runs; `None` draws from the OS.
    rng: Option<fastrand::Rng>,
}

/// A `${name}` with no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("variable `${{{0}}}` is not set (capture it in an earlier step or define it in `vars`)")]
pub(crate) struct UnsetVar(pub String);

impl Vars {
    /// Variables whose generated values come from a seeded generator, so two runs with
    /// the same seed send the same requests.
    pub(crate) fn seeded(seed: u64) -> Vars {
        Vars {
            values: BTreeMap::new(),
            rng: Some(fastrand::Rng::with_seed(seed)),
        }
    }

    fn uuid(&mut self) -> uuid::Uuid {
        match &mut self.rng {
            Some(rng) => uuid::Builder::from_random_bytes(rng.u128(..).to_le_bytes()).into_uuid(),
            None => uuid::Uuid::new_v4(),
        }
    }

    /// Sets `name`.
    pub(crate) fn set(&mut self, name: &str, value: String) {
        self.values.insert(name.to_owned(), value);
    }

    /// The value of `name`, if set.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Replaces every `${…}` in `text`, values as they are. `$${` escapes a literal `${`.
    pub(crate) fn substitute(&mut self, text: &str) -> Result<String, UnsetVar> {
        self.substitute_in(text, Context::Text)
    }

    /// Replaces every `${…}` in `text`, each variable's value encoded for where it lands
    /// ([`Context`]): the endpoint chose those values, so they must not change the request's
    /// shape. Generated values (`${uuid}`) need no encoding.
    pub(crate) fn substitute_in(
        &mut self,
        text: &str,
        context: Context,
    ) -> Result<String, UnsetVar> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            if rest[..i].ends_with('$') {
                out.push_str(&rest[..i - 1]);
                out.push_str("${");
                rest = &rest[i + 2..];
                continue;
            }
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                return Ok(out);
            };
            let name = &after[..end];
            match name {
                "uuid" => {
                    let id = self.uuid();
                    out.push_str(&id.to_string());
                }
                "random_upn" => {
                    let id = self.uuid();
                    out.push_str(&format!("Test_User_{id}@testuser.com"));
                }
                _ => {
                    let value = self.get(name).ok_or_else(|| UnsetVar(name.to_owned()))?;
                    match context {
                        Context::Text => out.push_str(value),
                        Context::Segment => out.push_str(&crate::entra::wire::segment(value)),
                        Context::Filter if inside_string(&out) => {
                            let literal = crate::entra::wire::filter_literal(value);
                            out.push_str(&literal[1..literal.len() - 1]);
                        }
                        Context::Filter => out.push_str(value),
                    }
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Substitutes every string inside a JSON value (keys too), values as they are.
    pub(crate) fn substitute_json(&mut self, value: &Value) -> Result<Value, UnsetVar> {
        self.json_in(value, false)
    }

    /// [`Vars::substitute_json`] for a request body: the value of every `path` member is a
    /// PATCH path (RFC 7644 §3.5.2), so values inside its string literals are escaped.
    pub(crate) fn substitute_body(&mut self, value: &Value) -> Result<Value, UnsetVar> {
        self.json_in(value, true)
    }

    fn json_in(&mut self, value: &Value, body: bool) -> Result<Value, UnsetVar> {
        Ok(match value {
            Value::String(s) => Value::String(self.substitute(s)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.json_in(v, body))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    let v = match v {
                        Value::String(s) if body && k.eq_ignore_ascii_case("path") => {
                            Value::String(self.substitute_in(s, Context::Filter)?)
                        }
                        v => self.json_in(v, body)?,
                    };
                    out.insert(self.substitute(k)?, v);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

/// Where a substituted value lands, which decides how it is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// As it is (expectations, headers, a body member's value).
    Text,
    /// One path segment: percent-encoded ([`crate::entra::wire::segment`]).
    Segment,
    /// A filter or PATCH path: inside a string literal, `"` and `\` escaped (RFC 7644
    /// §3.4.2.2); outside one (an attribute path such as `${match_attr}`), as it is.
    Filter,
}

/// True when `text` ends inside a JSON string literal (an odd number of unescaped `"`).
fn inside_string(text: &str) -> bool {
    let mut inside = false;
    let mut escaped = false;
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if inside => escaped = true,
            '"' => inside = !inside,
            _ => {}
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_captured_and_generated_values() {
        let mut vars = Vars::default();
        vars.set("user_id", "42".into());
        assert_eq!(vars.substitute("/Users/${user_id}").unwrap(), "/Users/42");
        let upn = vars.substitute("${random_upn}").unwrap();
        assert!(upn.starts_with("Test_User_") && upn.ends_with("@testuser.com"));
        assert_ne!(
            vars.substitute("${uuid}").unwrap(),
            vars.substitute("${uuid}").unwrap()
        );
        assert_eq!(vars.substitute("$${user_id}").unwrap(), "${user_id}");
        assert_eq!(vars.substitute("${nope}"), Err(UnsetVar("nope".into())));
    }

    #[test]
    fn endpoint_values_are_encoded_for_where_they_land() {
        let mut vars = Vars::default();
        let hostile = r#"b" or value ne "zz\z#/../?"#;
        vars.set("id", hostile.into());
        vars.set("attr", r#"emails[type eq "work"].value"#.into());
        assert_eq!(
            vars.substitute_in("/Users/${id}", Context::Segment)
                .unwrap(),
            "/Users/b%22%20or%20value%20ne%20%22zz%5Cz%23%2F..%2F%3F"
        );
        let filter = vars
            .substitute_in(r#"${attr} eq "${id}""#, Context::Filter)
            .unwrap();
        assert_eq!(
            filter,
            r#"emails[type eq "work"].value eq "b\" or value ne \"zz\\z#/../?""#
        );
        assert!(crate::filter::parse(&filter).is_ok(), "{filter}");
        let body = vars
            .substitute_body(&serde_json::json!({"Operations": [
                {"op": "remove", "path": "members[value eq \"${id}\"]"},
                {"op": "add", "value": "${id}"}]}))
            .unwrap();
        let path = body["Operations"][0]["path"].as_str().unwrap();
        assert!(crate::filter::parse_path(path).is_ok(), "{path}");
        assert_eq!(body["Operations"][1]["value"], hostile);
    }

    #[test]
    fn rejects_a_scenario_with_a_bad_method_or_relative_path() {
        let bad = r#"{"steps":[{"name":"a","request":{"method":"G ET","path":"/Users"}}]}"#;
        assert!(Scenario::from_json(bad, "x").is_err());
        let bad = r#"{"steps":[{"name":"a","request":{"method":"GET","path":"Users"}}]}"#;
        assert!(Scenario::from_json(bad, "x").is_err());
        let unknown = r#"{"stepz":[]}"#;
        assert!(Scenario::from_json(unknown, "x").is_err());
    }
}
