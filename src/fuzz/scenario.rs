//! A minimal diverging sequence as a replay scenario ([`crate::replay::Scenario`]), so
//! `scimock replay URL --scenarios-dir DIR` sends it again: ids become captures
//! (`${user0}`), the run's tag becomes `${tag}` (a fresh `${uuid}` per replay, so a
//! scenario can be replayed as often as one likes), every step expects the model's
//! status class, and the last step, where the endpoint diverged, expects what the model
//! answered there.

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::generate::Kind;
use super::judge::{class, project, Class, Declared, Divergence, DivergenceKind};
use super::model::Reply;
use super::render::Req;
use super::world::{Side, World};
use crate::entra::Dialect;
use crate::replay::scenario::{Expect, Request, Scenario, StatusSet, Step};

/// One step as it was sent during the confirming run.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) label: String,
    /// The request as a scenario writes it (`${var}`, `${tag}`).
    pub(crate) request: Req,
    /// The model's answer (its own ids).
    pub(crate) model: Reply,
    /// The variable a create's id is captured in.
    pub(crate) capture: Option<String>,
}

/// Where the scenario came from, for its name and description.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    pub(crate) seed: u64,
    pub(crate) case: usize,
    pub(crate) dialect: Dialect,
    pub(crate) divergence: &'a Divergence,
}

/// The statuses a step accepts: the model's class.
fn statuses(model: u16) -> Option<StatusSet> {
    match class(model) {
        Class::Success => None,
        Class::NotFound => Some(StatusSet::One(404)),
        Class::Conflict => Some(StatusSet::One(409)),
        // Any client error Entra treats alike (not 404, 409 or 429, which it acts on).
        Class::ClientError => Some(StatusSet::Any(vec![
            400, 401, 403, 405, 406, 412, 413, 415, 422,
        ])),
        Class::ServerError => Some(StatusSet::Any(vec![500, 501, 502, 503, 504])),
        Class::Other => Some(StatusSet::One(model)),
    }
}

/// `value` with the run's tag written `${tag}`.
fn template(value: &Value, tag: &str) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace(tag, "${tag}")),
        Value::Array(items) => Value::Array(items.iter().map(|v| template(v, tag)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), template(v, tag)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A model id as the `${var}` its object was captured in (as it is when no step made it).
fn id_var(id: &Value, world: &World) -> Value {
    match id.as_str().and_then(|s| world.var_of(Side::Model, s)) {
        Some(var) => Value::String(format!("${{{var}}}")),
        None => id.clone(),
    }
}

/// What the last step expects beyond its status: the model's answer where it diverged.
fn expect_last(
    kind: DivergenceKind,
    r: &Recorded,
    tag: &str,
    world: &World,
    declared: &Declared,
) -> Expect {
    let mut expect = Expect {
        status: statuses(r.model.status),
        ..Expect::default()
    };
    let null = Value::Null;
    let body = r.model.json.as_ref().unwrap_or(&null);
    if class(r.model.status) != Class::Success {
        return expect;
    }
    match kind {
        DivergenceKind::Status => {}
        DivergenceKind::MissingId => expect.exists.push("/id".into()),
        DivergenceKind::FilterResult => {
            let resources = body.get("Resources").and_then(Value::as_array);
            let ids: Vec<Value> = resources
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("id"))
                .map(|id| id_var(id, world))
                .collect();
            let n = ids.len();
            let mut want = json!({"totalResults": n});
            match n {
                0 => expect.empty.push("/Resources".into()),
                1 => want["Resources"] = json!([{"id": ids[0]}]),
                _ => {
                    expect.exists.push(format!("/Resources/{}", n - 1));
                    expect.absent.push(format!("/Resources/{n}"));
                }
            }
            expect.body = Some(want);
        }
        DivergenceKind::ReadBack | DivergenceKind::Members => {
            let kind = r.request.kind;
            let projected = template(&project(kind, body, declared), tag);
            if kind == Kind::User {
                // A value the model does not hold (a clear) must not be on the endpoint.
                for pointer in cleared(&projected, declared) {
                    expect.empty.push(pointer);
                }
            }
            let mut want: Map<String, Value> = projected.as_object().cloned().unwrap_or_default();
            if kind == Kind::Group {
                let members: Vec<Value> = body
                    .get("members")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.get("value"))
                    .map(|v| json!({"value": id_var(v, world)}))
                    .collect();
                // Exact when order cannot matter; else the count (an endpoint may list
                // members in any order).
                match members.len() {
                    0 => expect.empty.push("/members".into()),
                    1 => {
                        want.insert("members".into(), Value::Array(members));
                    }
                    n => {
                        expect.exists.push(format!("/members/{}", n - 1));
                        expect.absent.push(format!("/members/{n}"));
                    }
                }
            }
            expect.body = Some(Value::Object(want));
        }
    }
    expect
}

/// JSON pointers of the clearable user attributes the endpoint declares and the model's
/// projected resource does not hold.
fn cleared(projected: &Value, declared: &Declared) -> Vec<String> {
    use crate::entra::wire::ENTERPRISE_USER;
    let core = crate::scim::urn::USER;
    let candidates: [(&str, &str, Option<&str>); 5] = [
        (core, "displayName", None),
        (core, "title", None),
        (core, "name", Some("givenName")),
        (core, "name", Some("familyName")),
        (ENTERPRISE_USER, "department", None),
    ];
    let mut out = Vec::new();
    for (urn, name, sub) in candidates {
        let declared =
            declared.has(urn, name) && sub.is_none_or(|s| declared.has_sub(urn, name, s));
        let (parent, pointer) = if urn == core {
            (projected.clone(), format!("/{name}"))
        } else {
            (
                projected.get(urn).cloned().unwrap_or(Value::Null),
                format!("/{urn}/{name}"),
            )
        };
        let (value, pointer) = match sub {
            Some(s) => (
                parent.get(name).and_then(|v| v.get(s)).cloned(),
                format!("{pointer}/{s}"),
            ),
            None => (parent.get(name).cloned(), pointer),
        };
        let empty = match value {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            _ => false,
        };
        if declared && empty {
            out.push(pointer);
        }
    }
    out
}

/// The scenario for a confirmed (or last seen) divergence: `recorded` ends with the step
/// that diverged.
pub(crate) fn build(
    origin: Origin<'_>,
    recorded: &[Recorded],
    tag: &str,
    world: &World,
    declared: &Declared,
) -> Scenario {
    let d = origin.divergence;
    let mut steps = Vec::with_capacity(recorded.len());
    for (i, r) in recorded.iter().enumerate() {
        let last = i + 1 == recorded.len();
        let expect = if last {
            expect_last(d.kind, r, tag, world, declared)
        } else {
            Expect {
                status: statuses(r.model.status),
                ..Expect::default()
            }
        };
        let query = r
            .request
            .filter
            .iter()
            .map(|f| ("filter".to_owned(), f.clone()))
            .collect();
        let collection = r.request.kind.collection();
        steps.push(Step {
            name: format!("{:02} {}", i + 1, r.label),
            note: String::new(),
            dialect: None,
            request: Request {
                method: r.request.method.to_owned(),
                path: r.request.template_path(),
                query,
                headers: Default::default(),
                body: r.request.body.clone(),
                raw_quotes: false,
            },
            expect,
            capture: r
                .capture
                .iter()
                .map(|var| (var.clone(), "/id".to_owned()))
                .collect(),
            consequence: None,
            cleanup: r
                .capture
                .as_ref()
                .map(|var| format!("/{collection}/${{{var}}}")),
            read_back: None,
            advisory: false,
        });
    }
    let groups = recorded.iter().any(|r| r.request.kind == Kind::Group);
    let mut vars = IndexMap::new();
    vars.insert("tag".to_owned(), "${uuid}".to_owned());
    Scenario {
        name: format!("fuzz_seed{}_case{}", origin.seed, origin.case),
        description: format!(
            "Found by `scimock fuzz --seed {} --dialect {}` (case {}), shrunk to {} step(s): {} at `{}`: {}",
            origin.seed,
            origin.dialect,
            origin.case,
            recorded.len(),
            d.kind.as_str(),
            d.label,
            d.detail
        ),
        note: "docs/fuzz.md".into(),
        source: "scimock fuzz: the endpoint against scimock's model".into(),
        rows: Vec::new(),
        profile: None,
        dialects: Vec::new(),
        requires: if groups {
            vec!["groups".into()]
        } else {
            Vec::new()
        },
        vars,
        steps,
    }
}
