//! Seed and state files: `{"Users": [...], "Groups": [...]}`. Loading keeps the `id`s and
//! `meta.created` / `lastModified` / `version` it is given (a seed or a saved state is
//! trusted to name its own ids) and assigns what is missing; every resource still goes
//! through the same validation as a POST. Loading is all or nothing.
//!
//! A seed is loaded one resource at a time from its text: the whole seed never exists as
//! one `serde_json::Value` (~600 MB for 100,000 Entra users) while the store is being
//! built. What [`Store::reset`] returns to is not the seed's text but a [`Snapshot`] of
//! the state the seed built: its entries' texts are shared with the live entries (a
//! `Bytes` clone), so a seeded store holds each resource's text once, not twice (at
//! 100,000 users, ~70 bytes per user instead of the seed's ~450). Reset therefore restores
//! exactly the state after the seed loaded, ids and `meta` included.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::indexes::{Entry, Members, State};
use super::{membership, validate, ResourceKind, Store};
use crate::{Error, ErrorKind, Result};

fn resources(data: &mut Value, key: &str) -> Result<Vec<Value>> {
    match data.get_mut(key).map(Value::take) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(not_an_array(key)),
    }
}

fn not_an_array(key: &str) -> Error {
    Error::invalid_value(format!("`{key}` must be an array of SCIM resources"))
}

fn parse_version(meta: &Value) -> u64 {
    meta.get("version")
        .and_then(Value::as_str)
        .map(|v| v.trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn not_an_object() -> Error {
    Error::invalid_syntax("seed/state must be a JSON object {\"Users\": [...], \"Groups\": [...]}")
}

/// A seed's text split into resources, each still JSON text until it is loaded. Another
/// top-level key falls back to the `Value` path, whose error names it.
/// The resources borrow from the text: a 100,000-user seed is not copied resource by
/// resource (~45 MB of small allocations that fragmented the heap under the new entries).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedText<'a> {
    #[serde(rename = "Users", default, borrow)]
    users: Option<Vec<&'a RawValue>>,
    #[serde(rename = "Groups", default, borrow)]
    groups: Option<Vec<&'a RawValue>>,
}

/// Resources of one kind, as values or as text parsed one by one.
enum Items<'a> {
    Values(std::vec::IntoIter<Value>),
    Texts(std::vec::IntoIter<&'a RawValue>),
}

impl Iterator for Items<'_> {
    type Item = Result<Value>;
    fn next(&mut self) -> Option<Result<Value>> {
        match self {
            Items::Values(v) => v.next().map(Ok),
            Items::Texts(t) => t.next().map(|raw| {
                serde_json::from_str(raw.get()).map_err(|e| Error::internal(e.to_string()))
            }),
        }
    }
}

/// One resource of a [`Snapshot`].
#[derive(Debug)]
struct SeedEntry {
    kind: ResourceKind,
    id: Box<str>,
    text: bytes::Bytes,
    version: u64,
    plain: bool,
    members: Option<Box<Members>>,
}

/// The state a seed built, for [`Store::reset`] (see the module comment).
#[derive(Debug, Default)]
pub(crate) struct Snapshot(Vec<SeedEntry>);

impl Snapshot {
    fn of(state: &State) -> Snapshot {
        let mut out = Vec::with_capacity(state.users.len() + state.groups.len());
        for kind in [ResourceKind::User, ResourceKind::Group] {
            for (id, e) in state.map(kind) {
                out.push(SeedEntry {
                    kind,
                    id: id.as_str().into(),
                    text: e.text.clone(),
                    version: e.version,
                    plain: e.plain,
                    members: e.members.clone(),
                });
            }
        }
        Snapshot(out)
    }
}

impl Store {
    /// Back to the state `snapshot` holds: every entry shares its text, the indexes are
    /// rebuilt from it (each text parsed once).
    fn restore(&self, snapshot: &Snapshot) {
        let mut state = self.new_state();
        for e in &snapshot.0 {
            let resource = serde_json::from_slice::<Value>(&e.text).unwrap_or_default();
            state.index(e.kind, &e.id, &resource);
            let entry = Entry::with_text(e.text.clone(), &resource, e.version, e.plain);
            state.map_mut(e.kind).insert(e.id.to_string(), entry);
        }
        // Members after every resource exists (groups may contain groups), in order.
        for e in snapshot.0.iter().filter(|e| e.members.is_some()) {
            for (member_id, m) in e.members.iter().flat_map(|m| m.iter()) {
                state.add_member(&e.id, member_id, m.clone());
            }
        }
        *self.write() = state;
        self.bump();
    }

    /// Replaces all state with `data` (`{"Users": [...], "Groups": [...]}`). Consumes
    /// `data` resource by resource, so loading 100,000 users does not hold two copies.
    pub fn load(&self, data: Value) -> Result<()> {
        let mut data = data;
        if !data.is_object() {
            return Err(not_an_object());
        }
        self.load_items(false, |kind| {
            resources(&mut data, kind.endpoint()).map(|v| Items::Values(v.into_iter()))
        })
        .map(drop)
    }

    /// [`Store::load`] from text that is known to have the seed shape.
    fn load_text(&self, text: &[u8]) -> Result<Snapshot> {
        let seed: SeedText<'_> =
            serde_json::from_slice(text).map_err(|e| Error::internal(e.to_string()))?;
        self.load_seed_text(seed)
    }

    /// Loads a seed; the state it built, for [`Store::reset`].
    fn load_seed_text(&self, seed: SeedText<'_>) -> Result<Snapshot> {
        let (mut users, mut groups) = (seed.users, seed.groups);
        let snapshot = self.load_items(true, |kind| {
            let texts = match kind {
                ResourceKind::User => users.take(),
                ResourceKind::Group => groups.take(),
            };
            Ok(Items::Texts(texts.unwrap_or_default().into_iter()))
        })?;
        Ok(snapshot.unwrap_or_default())
    }

    /// Builds a new state from the resources `items` yields for each kind (users first),
    /// then swaps it in; with `snapshot`, also returns a [`Snapshot`] of it.
    fn load_items<'a>(
        &self,
        snapshot: bool,
        mut items: impl FnMut(ResourceKind) -> Result<Items<'a>>,
    ) -> Result<Option<Snapshot>> {
        let mut state = self.new_state();
        let mut pending_members = Vec::new();
        for kind in [ResourceKind::User, ResourceKind::Group] {
            for (n, raw) in items(kind)?.enumerate() {
                let raw = raw?;
                // A bad value names the seed entry it is in.
                let at = |e: Error| {
                    if e.kind() == ErrorKind::InvalidValue {
                        e.prefixed(&format!("{}[{n}]: ", kind.endpoint()))
                    } else {
                        e
                    }
                };
                let id = raw.get("id").and_then(Value::as_str).map(str::to_owned);
                // A seed entry without `meta` gets fresh timestamps and version 1.
                let meta = raw.get("meta").cloned().unwrap_or_default();
                let prepared = validate::prepare(kind, raw, self.schema(kind)).map_err(at)?;
                self.check_unique(&state, kind, &prepared.resource, None)
                    .map_err(at)?;
                let id = id.unwrap_or_else(|| self.ids.next_id());
                if state.users.contains_key(&id) || state.groups.contains_key(&id) {
                    return Err(Error::uniqueness(format!("id `{id}` appears twice")));
                }
                let now = self.now();
                let stamp = |k: &str| {
                    meta.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or(&now)
                        .to_owned()
                };
                let (created, modified) = (stamp("created"), stamp("lastModified"));
                let version = parse_version(&meta);
                let mut resource = prepared.resource;
                self.stamp(kind, &id, &mut resource, &created, &modified, version);
                let resource = Value::Object(resource);
                state.index(kind, &id, &resource);
                let entry = self.entry(kind, &resource, version);
                state.map_mut(kind).insert(id.clone(), entry);
                if let Some(m) = prepared.members {
                    pending_members.push((id, m));
                }
            }
        }
        // Members after every resource exists, so groups may contain groups.
        for (group_id, members) in pending_members {
            for (member_id, m) in membership::resolve(&state, Some(&group_id), members)? {
                state.add_member(&group_id, &member_id, m);
            }
        }
        let kept = snapshot.then(|| Snapshot::of(&state));
        *self.write() = state;
        self.bump();
        Ok(kept)
    }

    /// Everything, in the format [`Store::load`] reads.
    pub fn export(&self) -> Value {
        let mut out = Map::new();
        for kind in [ResourceKind::User, ResourceKind::Group] {
            out.insert(kind.endpoint().into(), Value::Array(self.all(kind)));
        }
        Value::Object(out)
    }

    /// Loads `seed` and remembers the state it built for [`Store::reset`]. The value is
    /// dropped before loading, which then reads its text one resource at a time.
    pub fn set_seed(&self, seed: Value) -> Result<()> {
        let Value::Object(map) = seed else {
            return Err(not_an_object());
        };
        for kind in [ResourceKind::User, ResourceKind::Group] {
            match map.get(kind.endpoint()) {
                None | Some(Value::Null | Value::Array(_)) => {}
                Some(_) => return Err(not_an_array(kind.endpoint())),
            }
        }
        let unknown: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "Users" && *k != "Groups")
            .collect();
        if !unknown.is_empty() {
            return Err(Error::invalid_value(format!(
                "seed/state has unknown top-level key{} `{}`: only \"Users\" and \"Groups\" are read",
                if unknown.len() > 1 { "s" } else { "" },
                unknown.join("`, `")
            )));
        }
        let text = serde_json::to_vec(&map).map_err(|e| Error::internal(e.to_string()))?;
        drop(map);
        let snapshot = self.load_text(&text)?;
        *self.seed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(snapshot));
        Ok(())
    }

    /// [`Store::set_seed`] from JSON text (a seed file's bytes), without ever holding the
    /// whole seed as one `Value`. The text is not kept (see the module comment).
    pub fn set_seed_text(&self, text: impl Into<bytes::Bytes>) -> Result<()> {
        let text: bytes::Bytes = text.into();
        // A derived struct would also accept an array; only an object is a seed.
        let is_object = text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let snapshot = match serde_json::from_slice::<SeedText<'_>>(&text)
            .ok()
            .filter(|_| is_object)
        {
            Some(seed) => self.load_seed_text(seed)?,
            // Not the seed shape (or not JSON): the Value path words the error.
            None => {
                let value: Value = serde_json::from_slice(&text).map_err(|e| {
                    Error::invalid_syntax(format!("seed/state is not valid JSON: {e}"))
                })?;
                return self.set_seed(value);
            }
        };
        *self.seed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(snapshot));
        Ok(())
    }

    /// Back to the seed (empty if none was set).
    pub fn reset(&self) -> Result<()> {
        let seed = self.seed.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match seed {
            None => {
                self.clear();
                Ok(())
            }
            Some(snapshot) => {
                self.restore(&snapshot);
                Ok(())
            }
        }
    }
}
