//! A [`Step`] as the request Entra sends, for one side: the endpoint (its ids), the model
//! (its ids) or a written scenario (`${var}` and `${tag}`). The bodies are
//! [`crate::provision::wire`]'s, the same shapes `scimock provision` sends, in the case's
//! dialect; ids go into paths through [`wire::segment`] and into filters through
//! [`wire::filter_literal`], since the endpoint chose them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::generate::{Attr, Kind, Step, UserValues};
use super::world::{Side, World};
use crate::entra::{wire, Dialect};
use crate::provision::wire as shapes;

/// One request, before it is written for a side's transport.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Req {
    pub(crate) method: &'static str,
    pub(crate) kind: Kind,
    /// The resource's id (already as the side writes it: `${user0}` for a template).
    pub(crate) id: Option<String>,
    /// The `filter` query parameter, unencoded.
    pub(crate) filter: Option<String>,
    pub(crate) body: Option<Value>,
}

impl Req {
    /// The path relative to the tenant URL, the id encoded as one segment, the query
    /// form-encoded as Entra sends it.
    pub(crate) fn target(&self) -> String {
        let mut out = match &self.id {
            Some(id) => wire::resource_path(self.kind.collection(), id),
            None => format!("/{}", self.kind.collection()),
        };
        if let Some(f) = &self.filter {
            out.push('?');
            out.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .append_pair("filter", f)
                    .finish(),
            );
        }
        out
    }

    /// The path as a scenario writes it: a `${var}` id as it is (the runner encodes the
    /// captured value), no query.
    pub(crate) fn template_path(&self) -> String {
        match &self.id {
            Some(id) => format!("/{}/{id}", self.kind.collection()),
            None => format!("/{}", self.kind.collection()),
        }
    }

    /// `METHOD target`, the line a journal or a log shows.
    pub(crate) fn line(&self) -> String {
        format!("{} {}", self.method, self.target())
    }
}

/// The run's tag as `side` writes it.
fn tag(side: Side, tag: &str) -> &str {
    if side == Side::Template {
        "${tag}"
    } else {
        tag
    }
}

/// A matching value as sent: its generated part, then the run's tag (unique per run, so
/// runs and shrinking attempts never meet each other's objects). A `userName` and a work
/// email are `<user name>@<tag>.test`: one `@`, an ASCII domain of 41 characters (a UPN
/// allows 48 after the `@` and 113 in all: "Password policies and account restrictions in
/// Microsoft Entra ID", <https://learn.microsoft.com/en-us/entra/identity/authentication/concept-sspr-policy>).
pub(crate) fn tagged(attr: Attr, value: &str, tag: &str) -> String {
    match attr {
        Attr::UserName | Attr::WorkEmail => format!("{value}@{tag}.test"),
        Attr::ExternalId => format!("{value}-{tag}"),
        _ => value.to_owned(),
    }
}

/// A group's `displayName` as sent.
pub(crate) fn group_name(name: &str, tag: &str) -> String {
    format!("{name} {tag}")
}

/// Entra's create body for `user` (the tutorial's shape: schemas, the default mapping's
/// attributes, `active: true`, `meta.resourceType`).
pub(crate) fn user_body(user: &UserValues, tag: &str) -> Value {
    let s = |a: Attr| Value::String(tagged(a, user.get(a), tag));
    let formatted = format!("{} {}", user.given_name, user.family_name);
    shapes::user_body(&[
        ("externalId".into(), s(Attr::ExternalId)),
        ("userName".into(), s(Attr::UserName)),
        ("active".into(), Value::Bool(true)),
        ("displayName".into(), s(Attr::DisplayName)),
        ("title".into(), s(Attr::Title)),
        (Attr::WorkEmail.path().into(), s(Attr::WorkEmail)),
        ("name.givenName".into(), s(Attr::GivenName)),
        ("name.familyName".into(), s(Attr::FamilyName)),
        ("name.formatted".into(), Value::String(formatted)),
        (Attr::Department.path().into(), s(Attr::Department)),
        (
            r#"phoneNumbers[type eq "work"].value"#.into(),
            Value::String(super::values::work_phone(user)),
        ),
    ])
}

/// A group's `externalId` as sent: Entra sends the group's `objectId` (the default group
/// mapping); here the slot and the run's tag, unique per run like the group itself.
pub(crate) fn group_external_id(slot: u8, tag: &str) -> String {
    format!("group{}-{tag}", Kind::Group.slot(slot))
}

/// The request `step` sends on `side`, or `None` when it sends nothing (its slot never
/// held an object, or a create finds its slot taken).
pub(crate) fn render(
    step: &Step,
    world: &World,
    side: Side,
    run_tag: &str,
    dialect: Dialect,
) -> Option<Req> {
    let tag = tag(side, run_tag);
    let req = |method, kind, id, filter, body| Req {
        method,
        kind,
        id,
        filter,
        body,
    };
    Some(match step {
        Step::CreateUser { slot, user } => {
            if world.live(Kind::User, *slot) {
                return None;
            }
            req("POST", Kind::User, None, None, Some(user_body(user, tag)))
        }
        Step::CreateClash { of, case, user } => {
            if !world.live(Kind::User, *of) {
                return None;
            }
            let held = world.users.get(&Kind::User.slot(*of))?;
            let mut clash = user.clone();
            clash.user_name = case.apply(&held.user_name);
            req("POST", Kind::User, None, None, Some(user_body(&clash, tag)))
        }
        Step::Query { slot, by, case } => {
            let held = world.users.get(&Kind::User.slot(*slot))?;
            let attr = match by {
                super::generate::MatchBy::UserName => Attr::UserName,
                super::generate::MatchBy::ExternalId => Attr::ExternalId,
                super::generate::MatchBy::WorkEmail => Attr::WorkEmail,
            };
            let value = tagged(attr, &case.apply(held.get(attr)), tag);
            let filter = wire::eq_filter(by.path(), &value);
            req("GET", Kind::User, None, Some(filter), None)
        }
        Step::Update { slot, changes } => {
            let id = world.id(Kind::User, *slot, side)?;
            let held = world.users.get(&Kind::User.slot(*slot))?;
            // One change per attribute, the last one, as Entra diffs one source object.
            let mut last: BTreeMap<Attr, &str> = BTreeMap::new();
            for (attr, value) in changes {
                last.insert(*attr, value);
            }
            let list: Vec<shapes::Change> = last
                .into_iter()
                .map(|(attr, value)| shapes::Change {
                    path: attr.path().to_owned(),
                    old: (!held.get(attr).is_empty())
                        .then(|| Value::String(tagged(attr, held.get(attr), tag))),
                    new: Value::String(if value.is_empty() {
                        String::new()
                    } else {
                        tagged(attr, value, tag)
                    }),
                })
                .collect();
            let body = shapes::patch(dialect, &list);
            req("PATCH", Kind::User, Some(id), None, Some(body))
        }
        Step::SetActive { slot, active } => {
            let id = world.id(Kind::User, *slot, side)?;
            let was = world
                .active
                .get(&Kind::User.slot(*slot))
                .copied()
                .unwrap_or(true);
            let change = shapes::Change {
                path: "active".into(),
                old: Some(Value::Bool(was)),
                new: Value::Bool(*active),
            };
            let body = shapes::patch(dialect, &[change]);
            req("PATCH", Kind::User, Some(id), None, Some(body))
        }
        Step::CreateGroup { slot, name } => {
            if world.live(Kind::Group, *slot) {
                return None;
            }
            let attrs = [
                (
                    "displayName".to_owned(),
                    Value::String(group_name(name, tag)),
                ),
                (
                    "externalId".to_owned(),
                    Value::String(group_external_id(*slot, tag)),
                ),
            ];
            let body = shapes::group_body(&attrs, &[]);
            req("POST", Kind::Group, None, None, Some(body))
        }
        Step::QueryGroup { slot, case } => {
            let name = world.groups.get(&Kind::Group.slot(*slot))?;
            let filter = wire::eq_filter("displayName", &group_name(&case.apply(name), tag));
            req("GET", Kind::Group, None, Some(filter), None)
        }
        Step::RenameGroup { slot, name } => {
            let id = world.id(Kind::Group, *slot, side)?;
            let change = shapes::Change {
                path: "displayName".into(),
                old: Some(json!("")),
                new: Value::String(group_name(name, tag)),
            };
            let body = shapes::patch(dialect, &[change]);
            req("PATCH", Kind::Group, Some(id), None, Some(body))
        }
        Step::AddMembers { group, users } | Step::RemoveMembers { group, users } => {
            let id = world.id(Kind::Group, *group, side)?;
            let mut ids: Vec<String> = Vec::new();
            for u in users {
                if let Some(member) = world.id(Kind::User, *u, side) {
                    if !ids.contains(&member) {
                        ids.push(member);
                    }
                }
            }
            if ids.is_empty() {
                return None;
            }
            let add = matches!(step, Step::AddMembers { .. });
            let body = shapes::members(dialect, add, &ids);
            req("PATCH", Kind::Group, Some(id), None, Some(body))
        }
        Step::Delete { kind, slot } => {
            let id = world.id(*kind, *slot, side)?;
            req("DELETE", *kind, Some(id), None, None)
        }
        Step::Read { kind, slot } => {
            let id = world.id(*kind, *slot, side)?;
            req("GET", *kind, Some(id), None, None)
        }
    })
}

/// `step` in words, its member lists cut to the users it sends (a written scenario's step
/// names say what the step does).
pub(crate) fn label(step: &Step, world: &World) -> String {
    match step {
        Step::AddMembers { users, .. } | Step::RemoveMembers { users, .. } => {
            let mut sent: Vec<u8> = Vec::new();
            for u in users.iter().map(|u| Kind::User.slot(*u)) {
                if world.slot(Kind::User, u).is_some() && !sent.contains(&u) {
                    sent.push(u);
                }
            }
            let mut shown = step.clone();
            match &mut shown {
                Step::AddMembers { users, .. } | Step::RemoveMembers { users, .. } => {
                    *users = sent;
                }
                _ => {}
            }
            shown.label()
        }
        _ => step.label(),
    }
}

/// What a step the model accepted changes in Entra's view of the target.
pub(crate) fn advance(step: &Step, world: &mut World) {
    match step {
        Step::Update { slot, changes } => {
            if let Some(held) = world.users.get_mut(&Kind::User.slot(*slot)) {
                for (attr, value) in changes {
                    held.set(*attr, value);
                }
            }
        }
        Step::SetActive { slot, active } => {
            world.active.insert(Kind::User.slot(*slot), *active);
        }
        Step::RenameGroup { slot, name } => {
            world.groups.insert(Kind::Group.slot(*slot), name.clone());
        }
        Step::Delete { kind, slot } => world.deleted(*kind, *slot),
        _ => {}
    }
}
