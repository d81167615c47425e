//! Seed and state files: `{"Users": [...], "Groups": [...]}`. Loading keeps the `id`s and
//! `meta.created` / `lastModified` / `version` it is given (a seed or a saved state is
//! trusted to name its own ids) and assigns what is missing; every resource still goes
//! through the same validation as a POST. Loading is all or nothing.
//!
//! A seed is kept as compact JSON text for [`Store::reset`], and both [`Store::set_seed`]
//! and `reset` load from that text one resource at a time: the whole seed never exists as
//! one `serde_json::Value` (~600 MB for 100,000 Entra users) while the store is being
//! built, so the allocator can hand that memory back instead of keeping it fragmented
//! under the new entries.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedText {
    #[serde(rename = "Users", default)]
    users: Option<Vec<Box<RawValue>>>,
    #[serde(rename = "Groups", default)]
    groups: Option<Vec<Box<RawValue>>>,
}

/// Resources of one kind, as values or as text parsed one by one.
enum Items {
    Values(std::vec::IntoIter<Value>),
    Texts(std::vec::IntoIter<Box<RawValue>>),
}

impl Iterator for Items {
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

impl Store {
    /// Replaces all state with `data` (`{"Users": [...], "Groups": [...]}`). Consumes
    /// `data` resource by resource, so loading 100,000 users does not hold two copies.
    pub fn load(&self, data: Value) -> Result<()> {
        let mut data = data;
        if !data.is_object() {
            return Err(not_an_object());
        }
        self.load_items(|kind| {
            resources(&mut data, kind.endpoint()).map(|v| Items::Values(v.into_iter()))
        })
    }

    /// [`Store::load`] from text that is known to have the seed shape.
    fn load_text(&self, text: &[u8]) -> Result<()> {
        let seed: SeedText =
            serde_json::from_slice(text).map_err(|e| Error::internal(e.to_string()))?;
        self.load_seed_text(seed)
    }

    fn load_seed_text(&self, seed: SeedText) -> Result<()> {
        let (mut users, mut groups) = (seed.users, seed.groups);
        self.load_items(|kind| {
            let texts = match kind {
                ResourceKind::User => users.take(),
                ResourceKind::Group => groups.take(),
            };
            Ok(Items::Texts(texts.unwrap_or_default().into_iter()))
        })
    }

    /// Builds a new state from the resources `items` yields for each kind (users first),
    /// then swaps it in.
    fn load_items(&self, mut items: impl FnMut(ResourceKind) -> Result<Items>) -> Result<()> {
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
                let prepared =
                    validate::prepare(kind, raw.clone(), self.schema(kind)).map_err(at)?;
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
        *self.write() = state;
        self.bump();
        Ok(())
    }

    /// Everything, in the format [`Store::load`] reads.
    pub fn export(&self) -> Value {
        let mut out = Map::new();
        for kind in [ResourceKind::User, ResourceKind::Group] {
            out.insert(kind.endpoint().into(), Value::Array(self.all(kind)));
        }
        Value::Object(out)
    }

    /// Loads `seed` and remembers it (as compact JSON text, the smallest form) for
    /// [`Store::reset`]. The value is dropped before loading, which then reads the text.
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
        self.load_text(&text)?;
        *self.seed.lock().unwrap_or_else(|e| e.into_inner()) = Some(text.into_boxed_slice());
        Ok(())
    }

    /// [`Store::set_seed`] from JSON text (a seed file's bytes), without ever holding the
    /// whole seed as one `Value`. The text is kept as given for [`Store::reset`].
    pub fn set_seed_text(&self, text: Vec<u8>) -> Result<()> {
        // A derived struct would also accept an array; only an object is a seed.
        let is_object = text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        match serde_json::from_slice::<SeedText>(&text)
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
        }
        *self.seed.lock().unwrap_or_else(|e| e.into_inner()) = Some(text.into_boxed_slice());
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
            Some(text) => self.load_text(&text),
        }
    }
}
