//! What counts as a divergence between the endpoint's answer and the model's, and the
//! tolerances (docs/fuzz.md):
//!
//! - **status**: the status class differs where Entra acts on it: 2xx, 404, 409, another
//!   4xx, 5xx (a 201 against a 200 is not a divergence, a 409 against a 400 is: Entra
//!   logs a 409 as EntryConflict, a conflict with an existing object, and a 400 as
//!   BadRequest; it retries both in the next cycle and never falls back to matching);
//! - **read-back**: `GET /Users/{id}` or `/Groups/{id}` holds other values than the
//!   model's, compared both ways with replay's read-back normalisations (case of
//!   strings, `"True"` for `true`; `id`, `meta`, `schemas`, `$ref` and `display` not
//!   compared), over the attributes the fuzzer writes that the endpoint's `/Schemas`
//!   declares (an undeclared attribute it does not keep is not a divergence);
//! - **members**: a group's members differ from the model's (ids translated), or one is
//!   listed twice;
//! - **filter-result**: a query's result set differs from the model's (ids translated);
//! - **missing-id**: a create answered 2xx without an `id`.
//!
//! An update of attributes the endpoint's `/Schemas` does not declare is sent on its own
//! (`split_update`); refused with a 4xx, it is tolerated as the loss of such an attribute
//! at create is (`tolerated_refusal`): a note, not a divergence.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

use super::generate::{Attr, Kind, Step};
use super::model::Reply;
use super::world::{Side, World};
use crate::entra::excerpt;
use crate::entra::wire::ENTERPRISE_USER;
use crate::scim::attr_of;

/// Which rule a divergence breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DivergenceKind {
    Status,
    ReadBack,
    Members,
    FilterResult,
    MissingId,
}

impl DivergenceKind {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DivergenceKind::Status => "status",
            DivergenceKind::ReadBack => "read-back",
            DivergenceKind::Members => "members",
            DivergenceKind::FilterResult => "filter-result",
            DivergenceKind::MissingId => "missing-id",
        }
    }
}

/// Where the endpoint and the model parted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence {
    pub kind: DivergenceKind,
    /// The step's index in the sequence that was run.
    pub step: usize,
    /// The step in words.
    pub label: String,
    /// `METHOD target` as sent to the endpoint.
    pub request: String,
    pub endpoint_status: u16,
    pub model_status: u16,
    /// What differed.
    pub detail: String,
}

/// What shrinking keeps of a divergence: its kind, the request's method and path shape
/// (`PATCH /Groups/{id}`, `GET /Users?filter`) and both status classes. A candidate that
/// diverges otherwise (a 400 against a 204 where the first was a 400 against a 404) is
/// another divergence, so the minimal sequence shows the one first seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signature {
    kind: DivergenceKind,
    shape: String,
    endpoint: Class,
    model: Class,
}

impl Divergence {
    /// Whether `other` is the same divergence for shrinking: the same kind, at a request of
    /// the same method and path shape (`PATCH /Groups/{id}`), with the same status classes
    /// on both sides. A shrinking property that only asks "any divergence?" may end on
    /// another one than it started from.
    pub fn same_as(&self, other: &Divergence) -> bool {
        self.signature() == other.signature()
    }

    pub(crate) fn signature(&self) -> Signature {
        Signature {
            kind: self.kind,
            shape: shape(&self.request),
            endpoint: class(self.endpoint_status),
            model: class(self.model_status),
        }
    }
}

/// `METHOD target` without its id and query values: `PATCH /Groups/{id}`,
/// `GET /Users?filter`.
fn shape(request: &str) -> String {
    let (method, target) = request.split_once(' ').unwrap_or((request, ""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let collection = segments.next().unwrap_or_default();
    let id = if segments.next().is_some() {
        "/{id}"
    } else {
        ""
    };
    let names: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .filter(|name| !name.is_empty())
        .collect();
    let query = if names.is_empty() {
        String::new()
    } else {
        format!("?{}", names.join("&"))
    };
    format!("{method} /{collection}{id}{query}")
}

/// A status class, as Entra acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Success,
    NotFound,
    Conflict,
    ClientError,
    ServerError,
    Other,
}

pub(crate) fn class(status: u16) -> Class {
    match status {
        200..=299 => Class::Success,
        404 => Class::NotFound,
        409 => Class::Conflict,
        400..=499 => Class::ClientError,
        500..=599 => Class::ServerError,
        _ => Class::Other,
    }
}

/// The attributes `/Schemas` declares, lower-cased as `urn:name` and `urn:name.sub`;
/// `None` when the endpoint has no usable `/Schemas` (then everything counts).
#[derive(Debug, Clone, Default)]
pub(crate) struct Declared(Option<BTreeSet<String>>);

impl Declared {
    /// Reads a `/Schemas` answer (a ListResponse, or a bare array).
    pub(crate) fn from_schemas(body: &Value) -> Declared {
        let mut set = BTreeSet::new();
        for schema in crate::scim::listed_schemas(body) {
            let Some(urn) = schema.get("id").and_then(Value::as_str) else {
                continue;
            };
            let urn = urn.to_lowercase();
            let attrs = schema.get("attributes").and_then(Value::as_array);
            for attr in attrs.into_iter().flatten() {
                let Some(name) = attr.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let name = name.to_lowercase();
                set.insert(format!("{urn}:{name}"));
                if let Some(subs) = attr.get("subAttributes").and_then(Value::as_array) {
                    set.insert(format!("{urn}:{name}.*"));
                    for sub in subs.iter().filter_map(|s| s.get("name")?.as_str()) {
                        set.insert(format!("{urn}:{name}.{}", sub.to_lowercase()));
                    }
                }
            }
        }
        Declared((!set.is_empty()).then_some(set))
    }

    /// Whether the endpoint's schemas are known (else every attribute counts).
    pub(crate) fn known(&self) -> bool {
        self.0.is_some()
    }

    pub(crate) fn has(&self, urn: &str, name: &str) -> bool {
        // RFC 7643 §3.1: `externalId` is common to every resource, in no schema's list.
        if name.eq_ignore_ascii_case("externalId") {
            return true;
        }
        self.0.as_ref().is_none_or(|set| {
            set.contains(&format!("{}:{}", urn.to_lowercase(), name.to_lowercase()))
        })
    }

    pub(crate) fn has_sub(&self, urn: &str, name: &str, sub: &str) -> bool {
        let (urn, name) = (urn.to_lowercase(), name.to_lowercase());
        self.0.as_ref().is_none_or(|set| {
            !set.contains(&format!("{urn}:{name}.*"))
                || set.contains(&format!("{urn}:{name}.{}", sub.to_lowercase()))
        })
    }
}

/// Where an attribute the fuzzer updates lives: schema, attribute, sub-attribute.
fn place(attr: Attr) -> (&'static str, &'static str, Option<&'static str>) {
    let core = crate::scim::urn::USER;
    match attr {
        Attr::UserName => (core, "userName", None),
        Attr::ExternalId => (core, "externalId", None),
        Attr::WorkEmail => (core, "emails", Some("value")),
        Attr::DisplayName => (core, "displayName", None),
        Attr::Title => (core, "title", None),
        Attr::GivenName => (core, "name", Some("givenName")),
        Attr::FamilyName => (core, "name", Some("familyName")),
        Attr::Department => (ENTERPRISE_USER, "department", None),
    }
}

/// Whether the endpoint declares `attr` (every attribute, when its schemas are unknown).
pub(crate) fn declares(declared: &Declared, attr: Attr) -> bool {
    let (urn, name, sub) = place(attr);
    declared.has(urn, name) && sub.is_none_or(|s| declared.has_sub(urn, name, s))
}

/// `step` as sent: an update that changes both attributes the endpoint declares and
/// attributes it does not becomes two, the declared ones first, so a refusal of the
/// undeclared ones (tolerated) never hides what happens to the declared ones (judged).
/// Any other step is sent as it is.
pub(crate) fn split_update(step: &Step, declared: &Declared) -> Vec<Step> {
    let Step::Update { slot, changes } = step else {
        return vec![step.clone()];
    };
    let (known, unknown): (Vec<_>, Vec<_>) = changes
        .iter()
        .cloned()
        .partition(|(attr, _)| declares(declared, *attr));
    if known.is_empty() || unknown.is_empty() {
        return vec![step.clone()];
    }
    [known, unknown]
        .into_iter()
        .map(|changes| Step::Update {
            slot: *slot,
            changes,
        })
        .collect()
}

/// The note for an endpoint's refusal of `step` that is no divergence, if it is one: a
/// live user's update that changes only attributes the endpoint's `/Schemas` does not
/// declare, answered with a client error (not 404). Entra's mapping would not target an
/// attribute the app does not have (and the loss of one at create is not judged either),
/// so the refusal says nothing about what Entra sends. The runner then sends the update
/// to the model neither, and Entra's view does not change: the model does not believe
/// the endpoint stored it.
pub(crate) fn tolerated_refusal(
    step: &Step,
    endpoint: &Reply,
    live: bool,
    declared: &Declared,
) -> Option<String> {
    let Step::Update { changes, .. } = step else {
        return None;
    };
    let undeclared = !changes.is_empty()
        && declared.known()
        && changes.iter().all(|(attr, _)| !declares(declared, *attr));
    if !(undeclared && live && class(endpoint.status) == Class::ClientError) {
        return None;
    }
    let attrs: BTreeSet<&str> = changes.iter().map(|(attr, _)| attr.path()).collect();
    let attrs: Vec<&str> = attrs.into_iter().collect();
    Some(format!(
        "PATCH /Users/{{id}} of {} answered {}: not in the endpoint's /Schemas, so tolerated as at create (the model was not sent it)",
        attrs.join(", "),
        endpoint.status
    ))
}

/// The attributes the fuzzer writes, and the sub-attributes compared.
const USER_ATTRS: &[(&str, &[&str])] = &[
    ("userName", &[]),
    ("externalId", &[]),
    ("active", &[]),
    ("displayName", &[]),
    ("title", &[]),
    ("name", &["givenName", "familyName", "formatted"]),
    ("emails", &["type", "value", "primary"]),
];
const ENTERPRISE_ATTRS: &[&str] = &["department"];
const GROUP_ATTRS: &[(&str, &[&str])] = &[("displayName", &[])];

/// `resource` cut down to the fuzzed attributes the endpoint declares, under their
/// canonical names.
pub(crate) fn project(kind: Kind, resource: &Value, declared: &Declared) -> Value {
    let (urn, attrs) = match kind {
        Kind::User => (crate::scim::urn::USER, USER_ATTRS),
        Kind::Group => (crate::scim::urn::GROUP, GROUP_ATTRS),
    };
    let mut out = Map::new();
    for (name, subs) in attrs {
        let Some(value) = attr_of(resource, name).filter(|_| declared.has(urn, name)) else {
            continue;
        };
        let keep = |v: &Value| -> Value {
            match v {
                Value::Object(m) if !subs.is_empty() => Value::Object(
                    m.iter()
                        .filter(|(k, _)| {
                            subs.iter().any(|s| s.eq_ignore_ascii_case(k))
                                && declared.has_sub(urn, name, k)
                        })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                other => other.clone(),
            }
        };
        let value = match value {
            Value::Array(items) => Value::Array(items.iter().map(keep).collect()),
            other => keep(other),
        };
        out.insert((*name).to_owned(), value);
    }
    if kind == Kind::User {
        if let Some(Value::Object(ext)) = attr_of(resource, ENTERPRISE_USER) {
            let kept: Map<String, Value> = ext
                .iter()
                .filter(|(k, _)| {
                    ENTERPRISE_ATTRS.iter().any(|a| a.eq_ignore_ascii_case(k))
                        && declared.has(ENTERPRISE_USER, k)
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !kept.is_empty() {
                out.insert(ENTERPRISE_USER.to_owned(), Value::Object(kept));
            }
        }
    }
    Value::Object(out)
}

/// The read-back rule, both ways: what the model holds that the endpoint lost, and what
/// the endpoint holds that the model does not (an ignored remove or clear).
fn read_back(kind: Kind, endpoint: &Value, model: &Value, declared: &Declared) -> Option<String> {
    use crate::replay::{read_back_check as check, read_back_expectations as expect};
    let (e, m) = (
        project(kind, endpoint, declared),
        project(kind, model, declared),
    );
    let mut lines = Vec::new();
    // readback's words are about a write: here the model's resource is what was "sent".
    for f in check(&expect("POST", &m), &e) {
        lines.push(
            f.message
                .replace("was sent as", "is in the model as")
                .replace("was sent but", "is in the model but")
                .replace("the resource read back", "the endpoint")
                .replace("reads back as", "is on the endpoint as")
                .replace("was removed but", "is empty in the model but"),
        );
    }
    // The other way, only what the model lacks entirely (a differing value is said above).
    for f in check(&expect("POST", &e), &m) {
        if f.message.contains("no value there") || f.message.contains("no such element") {
            lines.push(
                f.message
                    .replace("was sent as", "is on the endpoint as")
                    .replace("was sent but", "is on the endpoint but")
                    .replace("the resource read back", "the model"),
            );
        }
    }
    (!lines.is_empty()).then(|| lines.join("; "))
}

/// Each value of `list` (`members[].value`, `Resources[].id`) as the variable of the
/// object it names, or `unknown id …`.
fn translate(world: &World, side: Side, list: Option<&Value>, key: &str) -> Vec<String> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|item| match attr_of(item, key).and_then(Value::as_str) {
            Some(id) => world
                .describe(side, id)
                .unwrap_or_else(|| format!("unknown id `{id}`")),
            None => format!("an element without `{key}`"),
        })
        .collect()
}

/// Compares two lists of translated ids: `Some` with what differs.
fn compare(what: &str, endpoint: &[String], model: &[String]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in endpoint {
        *counts.entry(e).or_default() += 1;
    }
    let twice: Vec<&str> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(e, _)| *e)
        .collect();
    let e: BTreeSet<&String> = endpoint.iter().collect();
    let m: BTreeSet<&String> = model.iter().collect();
    let extra: Vec<&str> = e.difference(&m).map(|s| s.as_str()).collect();
    let lost: Vec<&str> = m.difference(&e).map(|s| s.as_str()).collect();
    let mut out = Vec::new();
    if !twice.is_empty() {
        out.push(format!("the endpoint lists {} twice", twice.join(", ")));
    }
    if !lost.is_empty() {
        out.push(format!(
            "the model's {what} include {}, the endpoint's do not",
            lost.join(", ")
        ));
    }
    if !extra.is_empty() {
        out.push(format!(
            "the endpoint's {what} include {}, the model's do not",
            extra.join(", ")
        ));
    }
    (!out.is_empty()).then(|| out.join("; "))
}

/// The divergence one step shows, if any. `endpoint` and `model` are the two answers to
/// the same request (ids each side's own).
pub(crate) fn judge(
    step: &Step,
    endpoint: &Reply,
    model: &Reply,
    world: &World,
    declared: &Declared,
) -> Option<(DivergenceKind, String)> {
    if class(endpoint.status) != class(model.status) {
        let said = endpoint
            .json
            .as_ref()
            .and_then(|j| j.get("detail"))
            .and_then(Value::as_str)
            .map(|d| format!(" (its detail: {})", excerpt::excerpt(d, excerpt::TEXT)))
            .unwrap_or_default();
        return Some((
            DivergenceKind::Status,
            format!(
                "the endpoint answered {}{said}, the model {}",
                endpoint.status, model.status
            ),
        ));
    }
    if class(model.status) != Class::Success {
        return None;
    }
    let null = Value::Null;
    let e = endpoint.json.as_ref().unwrap_or(&null);
    let m = model.json.as_ref().unwrap_or(&null);
    match step {
        Step::CreateUser { .. } | Step::CreateClash { .. } | Step::CreateGroup { .. } => {
            match e.get("id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => None,
                _ => Some((
                    DivergenceKind::MissingId,
                    format!(
                        "the create answered {} without an `id`; Entra keeps the id of every object it creates",
                        endpoint.status
                    ),
                )),
            }
        }
        Step::Query { .. } | Step::QueryGroup { .. } => {
            let e_ids = translate(world, Side::Endpoint, attr_of(e, "Resources"), "id");
            let m_ids = translate(world, Side::Model, attr_of(m, "Resources"), "id");
            compare("results", &e_ids, &m_ids).map(|d| (DivergenceKind::FilterResult, d))
        }
        Step::Read { kind, .. } => {
            if let Some(d) = read_back(*kind, e, m, declared) {
                return Some((DivergenceKind::ReadBack, d));
            }
            if *kind == Kind::Group {
                let e_ids = translate(world, Side::Endpoint, attr_of(e, "members"), "value");
                let m_ids = translate(world, Side::Model, attr_of(m, "members"), "value");
                return compare("members", &e_ids, &m_ids).map(|d| (DivergenceKind::Members, d));
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn status_classes_are_what_entra_acts_on() {
        assert_eq!(class(200), class(204));
        assert_ne!(class(404), class(409));
        assert_ne!(class(409), class(400));
        assert_eq!(class(400), class(422));
        assert_ne!(class(400), class(500));
    }

    #[test]
    fn undeclared_attributes_and_tolerated_differences_are_not_divergences() {
        let schemas = json!({"Resources": [{"id": crate::scim::urn::USER, "attributes": [
            {"name": "userName"}, {"name": "active"},
            {"name": "emails", "subAttributes": [{"name": "value"}, {"name": "type"}]}]}]});
        let declared = Declared::from_schemas(&schemas);
        assert!(declared.known());
        let model = json!({"id": "1", "userName": "Ada", "active": false, "title": "T",
            "emails": [{"type": "work", "value": "a@x", "primary": true}]});
        let endpoint = json!({"id": "zz", "userName": "ada", "active": "False",
            "emails": [{"type": "Work", "value": "A@X"}], "meta": {}});
        assert_eq!(read_back(Kind::User, &endpoint, &model, &declared), None);
        let everything = Declared::default();
        assert!(read_back(Kind::User, &endpoint, &model, &everything).is_some());
        let stale = json!({"userName": "Ada", "active": true});
        let why = read_back(Kind::User, &stale, &model, &declared).unwrap();
        assert!(why.contains("active"), "{why}");
    }

    #[test]
    fn an_update_of_undeclared_attributes_goes_alone_and_its_refusal_is_tolerated() {
        let no_enterprise = Declared::from_schemas(&json!([{"id": crate::scim::urn::USER,
            "attributes": [{"name": "userName"}, {"name": "title"}]}]));
        let update = |changes: &[(Attr, &str)]| Step::Update {
            slot: 1,
            changes: changes.iter().map(|(a, v)| (*a, (*v).to_owned())).collect(),
        };
        let mixed = update(&[(Attr::Department, "D"), (Attr::Title, "T")]);
        let department = update(&[(Attr::Department, "D")]);
        assert_eq!(
            split_update(&mixed, &no_enterprise),
            vec![update(&[(Attr::Title, "T")]), department.clone()]
        );
        assert_eq!(
            split_update(&mixed, &Declared::default()),
            vec![mixed.clone()]
        );
        assert_eq!(
            split_update(&department, &no_enterprise),
            vec![department.clone()]
        );
        let reply = |status| Reply { status, json: None };
        let note = tolerated_refusal(&department, &reply(400), true, &no_enterprise).unwrap();
        assert!(
            note.contains("enterprise:2.0:User:department answered 400"),
            "{note}"
        );
        // Not for a 404 or a 5xx, a deleted user, an update of a declared attribute too,
        // or an endpoint whose schemas are unknown.
        for (step, status, live, declared) in [
            (&department, 404, true, &no_enterprise),
            (&department, 500, true, &no_enterprise),
            (&department, 400, false, &no_enterprise),
            (&mixed, 400, true, &no_enterprise),
            (&department, 400, true, &Declared::default()),
        ] {
            assert_eq!(
                tolerated_refusal(step, &reply(status), live, declared),
                None
            );
        }
    }

    #[test]
    fn shrinking_tells_divergences_apart_by_request_shape_and_status_classes() {
        assert_eq!(shape("PATCH /Groups/0eb2%2Ffa"), "PATCH /Groups/{id}");
        assert_eq!(
            shape("GET /Users?filter=userName+eq+%22a%22"),
            "GET /Users?filter"
        );
        assert_eq!(shape("POST /Users"), "POST /Users");
        assert_eq!(shape(""), " /");
        let d = |request: &str, endpoint_status, model_status| Divergence {
            kind: DivergenceKind::Status,
            step: 0,
            label: String::new(),
            request: request.into(),
            endpoint_status,
            model_status,
            detail: String::new(),
        };
        let deleted = d("PATCH /Groups/g1", 400, 404);
        assert_eq!(
            deleted.signature(),
            d("PATCH /Groups/g2", 422, 404).signature()
        );
        assert_ne!(
            deleted.signature(),
            d("PATCH /Groups/g1", 400, 204).signature()
        );
        assert_ne!(
            deleted.signature(),
            d("PATCH /Users/u1", 400, 404).signature()
        );
        assert_ne!(
            deleted.signature(),
            d("DELETE /Groups/g1", 400, 404).signature()
        );
    }

    #[test]
    fn duplicates_and_lost_members_are_named() {
        let e = vec!["user0".to_owned(), "user0".to_owned()];
        let m = vec!["user0".to_owned(), "user1".to_owned()];
        let d = compare("members", &e, &m).unwrap();
        assert!(d.contains("twice") && d.contains("user1"), "{d}");
        assert_eq!(compare("members", &m, &m), None);
    }
}
