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

/// A new state being built from seed resources, one at a time.
struct Loader<'s> {
    store: &'s Store,
    state: State,
    /// Groups and their members, added once every resource exists.
    pending: Vec<(String, Vec<Map<String, Value>>)>,
}

impl<'s> Loader<'s> {
    fn new(store: &'s Store) -> Self {
        Loader {
            store,
            state: store.new_state(),
            pending: Vec::new(),
        }
    }

    /// Validates and stores resource `n` of `kind`, as a POST would.
    fn add(&mut self, kind: ResourceKind, n: usize, raw: Value) -> Result<()> {
        let store = self.store;
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
        let prepared = validate::prepare(kind, raw, store.schema(kind)).map_err(at)?;
        store
            .check_unique(&self.state, kind, &prepared.resource, None)
            .map_err(at)?;
        let id = id.unwrap_or_else(|| store.ids.next_id());
        if self.state.users.contains_key(&id) || self.state.groups.contains_key(&id) {
            return Err(Error::uniqueness(format!("id `{id}` appears twice")));
        }
        let now = store.now();
        let stamp = |k: &str| {
            meta.get(k)
                .and_then(Value::as_str)
                .unwrap_or(&now)
                .to_owned()
        };
        let (created, modified) = (stamp("created"), stamp("lastModified"));
        let version = parse_version(&meta);
        let mut resource = prepared.resource;
        store.stamp(kind, &id, &mut resource, &created, &modified, version);
        let resource = Value::Object(resource);
        self.state.index(kind, &id, &resource);
        let entry = store.entry(kind, &resource, version);
        self.state.map_mut(kind).insert(id.clone(), entry);
        if let Some(m) = prepared.members {
            self.pending.push((id, m));
        }
        Ok(())
    }

    /// Adds the members, then swaps the new state in; with `snapshot`, also returns a
    /// [`Snapshot`] of it.
    fn finish(self, snapshot: bool) -> Result<Option<Snapshot>> {
        let (store, mut state) = (self.store, self.state);
        // Members after every resource exists, so groups may contain groups.
        for (group_id, members) in self.pending {
            for (member_id, m) in membership::resolve(&state, Some(&group_id), members)? {
                state.add_member(&group_id, &member_id, m);
            }
        }
        let kept = snapshot.then(|| Snapshot::of(&state));
        *store.write() = state;
        store.bump();
        Ok(kept)
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
        let mut loader = Loader::new(self);
        for kind in [ResourceKind::User, ResourceKind::Group] {
            for (n, raw) in items(kind)?.enumerate() {
                loader.add(kind, n, raw?)?;
            }
        }
        loader.finish(snapshot)
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

/// A seed read from a stream: each resource goes to the loader as soon as it is parsed,
/// so neither the file's text nor the whole seed as a `Value` is ever held (at 1,000,000
/// users the text alone is ~450 MB). What fails is kept in `failed`, with the words
/// [`Store::set_seed`] uses, and the parse stops.
struct StreamSeed<'l, 's> {
    loader: &'l mut Loader<'s>,
    failed: &'l mut Option<Error>,
}

impl<'de> serde::de::DeserializeSeed<'de> for StreamSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> std::result::Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StreamSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a seed object {\"Users\": [...], \"Groups\": [...]}")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<(), A::Error> {
        use serde::de::Error as _;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let kind = match key.as_ref() {
                "Users" => ResourceKind::User,
                "Groups" => ResourceKind::Group,
                other => {
                    *self.failed = Some(Error::invalid_value(format!(
                        "seed/state has unknown top-level key `{other}`: only \"Users\" and \"Groups\" are read"
                    )));
                    return Err(A::Error::custom("unknown key"));
                }
            };
            map.next_value_seed(StreamResources {
                kind,
                loader: &mut *self.loader,
                failed: &mut *self.failed,
            })?;
        }
        Ok(())
    }
}

/// The array of one kind's resources (or `null`, none).
struct StreamResources<'l, 's> {
    kind: ResourceKind,
    loader: &'l mut Loader<'s>,
    failed: &'l mut Option<Error>,
}

impl<'de> serde::de::DeserializeSeed<'de> for StreamResources<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> std::result::Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StreamResources<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of SCIM resources")
    }

    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<(), A::Error> {
        use serde::de::Error as _;
        let mut n = 0;
        while let Some(raw) = seq.next_element::<Value>()? {
            if let Err(e) = self.loader.add(self.kind, n, raw) {
                *self.failed = Some(e);
                return Err(A::Error::custom("a resource failed"));
            }
            n += 1;
        }
        Ok(())
    }

    // Anything else is not an array: the error `Store::set_seed` words.
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> std::result::Result<(), E> {
        self.not_an_array()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> std::result::Result<(), E> {
        self.not_an_array()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> std::result::Result<(), E> {
        self.not_an_array()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> std::result::Result<(), E> {
        self.not_an_array()
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> std::result::Result<(), E> {
        self.not_an_array()
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> std::result::Result<(), A::Error> {
        self.not_an_array()
    }
}

impl StreamResources<'_, '_> {
    fn not_an_array<E: serde::de::Error>(self) -> std::result::Result<(), E> {
        *self.failed = Some(not_an_array(self.kind.endpoint()));
        Err(E::custom("not an array"))
    }
}

impl Store {
    /// [`Store::set_seed`] from a stream of JSON text (a seed file), parsed resource by
    /// resource: memory holds only the store being built, never the text. Reset returns to
    /// the state the seed built, as for every seed.
    pub fn set_seed_reader(&self, reader: impl std::io::Read) -> Result<()> {
        let mut loader = Loader::new(self);
        let mut failed = None;
        let mut de = serde_json::Deserializer::from_reader(reader);
        let parsed = serde::de::DeserializeSeed::deserialize(
            StreamSeed {
                loader: &mut loader,
                failed: &mut failed,
            },
            &mut de,
        )
        .and_then(|()| de.end());
        if let Some(e) = failed {
            return Err(e);
        }
        if let Err(e) = parsed {
            return Err(match e.classify() {
                serde_json::error::Category::Data => not_an_object(),
                serde_json::error::Category::Io => {
                    Error::invalid_value(format!("cannot read the seed: {e}"))
                }
                _ => Error::invalid_syntax(format!("seed/state is not valid JSON: {e}")),
            });
        }
        let snapshot = loader.finish(true)?.unwrap_or_default();
        *self.seed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(snapshot));
        Ok(())
    }
}
