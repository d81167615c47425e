//! The in-memory SCIM store: the only code that mutates resources. One
//! [`std::sync::RwLock`] guards all state (never held across an `.await`: no method here is
//! async), so every request is atomic and concurrent PATCHes to one group never lose an
//! update, while reads (a GET by id beside a 100,000-user scan) share it. Owns: server-assigned ids and `meta` (RFC 7643 §3.1), uniqueness of `userName`
//! and group `displayName` (case-insensitive), `If-Match` preconditions (RFC 7644 §3.14),
//! group membership with its reverse index, filtering/sorting/paging (RFC 7644 §3.4.2).
//! Leaves HTTP, projection of `attributes` and PATCH path semantics to `server/` and
//! `patch/`.
//!
//! Resources are stored as compact JSON text (see `indexes::Entry`), not as
//! `serde_json::Value`s: 100,000 Entra users take ~150 MB of RSS in all instead of
//! ~600 MB for the values alone. Reads parse the text; a GET of a user in the default
//! projection sends the text itself. Indexed lookups (`id`, `userName`/`displayName`,
//! `externalId`, `members`, matching attributes) parse only their hits. A filter no index
//! answers scans: each resource's text is first searched for a literal every match must
//! contain ([`crate::filter::Prefilter`]), then parsed down to the members the filter
//! reads ([`crate::filter::Projection`]), so a scan costs about what SQLite's
//! `json_extract` scan of the same documents costs (BENCHMARKS.md, *Scans, memory and
//! scaling*).

pub(crate) mod bounds;
pub mod durable;
mod indexes;
mod load;
mod match_index;
mod member_op;
mod membership;
mod query;
mod validate;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::clock::{Clock, IdGenerator};
use crate::scim::{
    shared_group_resource, shared_user_resource, Attribute, ResourceSchema, Returned,
};
use crate::{Error, Result};
use indexes::{Entry, State};

use crate::scim::ResourceKind;
pub use bounds::{read_json, MAX_DEPTH, MAX_RESOURCE_BYTES};
pub(crate) use member_op::member_id;
pub use member_op::MemberOp;
pub use query::{Page, PageItem, Query};

/// A stored resource as the bytes a default-projection GET answers with.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredText {
    /// The resource as compact JSON, `meta` included.
    pub text: Bytes,
    /// The number in `meta.version`.
    pub version: u64,
}

/// Does the default projection (RFC 7643 §7 `returned`, no `attributes` or
/// `excludedAttributes`) keep this attribute and all its sub-attributes?
fn shown_whole(def: Option<&Attribute>) -> bool {
    def.is_none_or(|a| {
        matches!(a.returned, Returned::Always | Returned::Default)
            && a.sub_attributes
                .iter()
                .all(|s| s.returned != Returned::Never)
    })
}

/// True when the default projection returns `resource` unchanged (nothing `returned:
/// never` or `request` in it), so its stored text can be sent as is.
fn is_plain(schema: &ResourceSchema, resource: &Value) -> bool {
    let Value::Object(obj) = resource else {
        return false;
    };
    obj.iter().all(|(key, value)| {
        let ext = schema
            .extensions
            .iter()
            .find(|(s, _)| s.id.eq_ignore_ascii_case(key));
        match (ext, value) {
            (Some((ext, _)), Value::Object(inner)) => {
                inner.keys().all(|k| shown_whole(ext.attribute(k)))
            }
            _ => shown_whole(schema.resolve(None, key, None)),
        }
    })
}

/// Timestamps as Entra shows them: `2018-03-27T19:59:26.000Z`.
const TIMESTAMP: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// The in-memory store. Cheap to share behind an [`Arc`].
#[derive(Debug)]
pub struct Store {
    state: RwLock<State>,
    /// What [`Store::reset`] returns to: the state the seed built.
    seed: Mutex<Option<Arc<load::Snapshot>>>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    location_base: String,
    users: Arc<ResourceSchema>,
    groups: Arc<ResourceSchema>,
    /// Extra indexes for a profile's matching attributes, empty; every new state gets them.
    matching: Vec<match_index::MatchIndex>,
    generation: AtomicU64,
}

/// The weak entity tag for version `n` (RFC 7644 §3.14).
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// Does an `If-Match` / `If-None-Match` header value match `current` (an ETag)? `*`
/// matches anything; otherwise a comma-separated list compared on the opaque tag, with or
/// without the weak prefix.
pub fn etag_matches(header: &str, current: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let want = opaque(current);
    header
        .split(',')
        .any(|t| t.trim() == "*" || opaque(t) == want)
}

impl Store {
    /// An empty store. `location_base` is the absolute SCIM base URL used for
    /// `meta.location` and member `$ref`s (e.g. `http://127.0.0.1:8080/scim/v2`).
    pub fn new(clock: Arc<dyn Clock>, ids: Arc<dyn IdGenerator>, location_base: &str) -> Self {
        Store {
            state: RwLock::new(State::default()),
            seed: Mutex::new(None),
            clock,
            ids,
            location_base: location_base.trim_end_matches('/').to_owned(),
            users: shared_user_resource(),
            groups: shared_group_resource(),
            matching: Vec::new(),
            generation: AtomicU64::new(0),
        }
    }

    /// Also indexes these matching attributes (a profile's `filter = true` rows, e.g.
    /// `emails[type eq "work"].value`) so `eq` filters on them need no scan. Paths the
    /// built-in indexes cover, or of shapes it cannot index, are skipped.
    pub fn with_matching<'p>(
        mut self,
        kind: ResourceKind,
        paths: impl IntoIterator<Item = &'p str>,
    ) -> Self {
        for path in paths {
            if let Some(index) = match_index::MatchIndex::for_path(kind, path) {
                self.matching.push(index);
            }
        }
        *self.state.get_mut().unwrap_or_else(|e| e.into_inner()) = self.new_state();
        self
    }

    /// An empty state with this store's matching indexes.
    pub(crate) fn new_state(&self) -> State {
        let mut state = State::default();
        for index in &self.matching {
            state.add_match_index(index.clone());
        }
        state
    }

    /// Replaces the RFC schemas with a vendor profile's (see [`crate::profile`]).
    pub fn with_schemas(mut self, users: Arc<ResourceSchema>, groups: Arc<ResourceSchema>) -> Self {
        self.users = users;
        self.groups = groups;
        self
    }

    /// The schema that governs `kind`.
    pub fn schema(&self, kind: ResourceKind) -> &ResourceSchema {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }

    /// A number that changes whenever state changes (for persistence).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Shared access: reads (point reads, lists, scans) run side by side, so a long scan
    /// never makes a GET by id wait for it. A panic while holding either guard is a scimock
    /// defect; the state is still structurally valid (every mutation is validated first),
    /// so keep serving.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Exclusive access, for writes.
    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> String {
        let now = self.clock.now().to_offset(time::UtcOffset::UTC);
        now.format(TIMESTAMP).unwrap_or_else(|_| now.to_string())
    }

    fn location(&self, kind: ResourceKind, id: &str) -> String {
        format!("{}/{}/{id}", self.location_base, kind.endpoint())
    }

    /// Writes `meta` (RFC 7643 §3.1) and `id` into `resource`, `id` right after `schemas`.
    fn stamp(
        &self,
        kind: ResourceKind,
        id: &str,
        resource: &mut Map<String, Value>,
        created: &str,
        modified: &str,
        version: u64,
    ) {
        let meta = serde_json::json!({
            "resourceType": kind.resource_type(),
            "created": created,
            "lastModified": modified,
            "location": self.location(kind, id),
            "version": etag(version),
        });
        let rest = std::mem::take(resource);
        let mut rest = rest.into_iter();
        for (k, v) in rest.by_ref() {
            let is_schemas = k == "schemas";
            resource.insert(k, v);
            if is_schemas {
                break;
            }
        }
        resource.insert("id".into(), Value::String(id.to_owned()));
        resource.extend(rest.filter(|(k, _)| k != "id" && k != "meta"));
        resource.insert("meta".into(), meta);
    }

    /// A new entry for `resource` (stamped, without members).
    fn entry(&self, kind: ResourceKind, resource: &Value, version: u64) -> Entry {
        Entry::new(resource, version, is_plain(self.schema(kind), resource))
    }

    /// Stores `resource` as the next version of `id` (whose stored form was `old`): keeps
    /// `meta.created`, stamps `lastModified` and the version, moves the indexes. Returns
    /// the stamped resource.
    fn store_new_version(
        &self,
        state: &mut State,
        kind: ResourceKind,
        id: &str,
        old: &Value,
        mut resource: Map<String, Value>,
    ) -> Value {
        let version = state.map(kind).get(id).map_or(1, |e| e.version + 1);
        let created = old["meta"]["created"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let now = self.now();
        self.stamp(kind, id, &mut resource, &created, &now, version);
        let resource = Value::Object(resource);
        state.unindex(kind, id, old);
        state.index(kind, id, &resource);
        let fresh = self.entry(kind, &resource, version);
        if let Some(e) = state.map_mut(kind).get_mut(id) {
            e.text = fresh.text;
            e.version = fresh.version;
            e.plain = fresh.plain;
            e.display = fresh.display;
        }
        resource
    }

    fn check_unique(
        &self,
        state: &State,
        kind: ResourceKind,
        resource: &Map<String, Value>,
        own_id: Option<&str>,
    ) -> Result<()> {
        let attr = kind.unique_attr();
        let Some(name) = resource.get(attr).and_then(Value::as_str) else {
            return Ok(());
        };
        match state.id_by_name(kind, name) {
            Some(other) if Some(other.as_str()) != own_id => Err(Error::uniqueness(format!(
                "{attr} `{name}` is already used by {} `{other}` (compared case-insensitively)",
                kind.resource_type()
            ))),
            _ => Ok(()),
        }
    }

    /// The stored entry for `id`, if it exists and `If-Match` (when given) matches it.
    fn current<'s>(
        state: &'s State,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<&'s Entry> {
        let entry = state
            .map(kind)
            .get(id)
            .ok_or_else(|| Self::not_found(kind, id))?;
        Self::check_precondition(entry, if_match)?;
        Ok(entry)
    }

    fn check_precondition(entry: &Entry, if_match: Option<&str>) -> Result<()> {
        match if_match {
            Some(h) if !etag_matches(h, &etag(entry.version)) => {
                Err(Error::precondition_failed(format!(
                    "If-Match `{h}` does not match the current version {} (RFC 7644 §3.14)",
                    etag(entry.version)
                )))
            }
            _ => Ok(()),
        }
    }

    fn not_found(kind: ResourceKind, id: &str) -> Error {
        Error::not_found(format!("{} `{id}` not found", kind.resource_type()))
    }

    /// Creates a resource from a POST body (RFC 7644 §3.3). A client-sent `id` is ignored
    /// (RFC 7643 §3.1: the service provider assigns it). Returns the stored resource.
    pub fn create(&self, kind: ResourceKind, body: Value) -> Result<Value> {
        self.create_with_text(kind, body).map(|(v, _)| v)
    }

    /// [`Store::create`], plus the stored text when it is also the default projection
    /// (see [`Store::get_plain`]), taken under the same lock.
    pub fn create_with_text(
        &self,
        kind: ResourceKind,
        body: Value,
    ) -> Result<(Value, Option<StoredText>)> {
        let prepared = validate::prepare(kind, body, self.schema(kind))?;
        let mut state = self.write();
        self.check_unique(&state, kind, &prepared.resource, None)?;
        let members = match prepared.members {
            Some(m) => membership::resolve(&state, None, m)?,
            None => Vec::new(),
        };
        let mut id = self.ids.next_id();
        while state.users.contains_key(&id) || state.groups.contains_key(&id) {
            id = self.ids.next_id();
        }
        let now = self.now();
        let mut resource = prepared.resource;
        self.stamp(kind, &id, &mut resource, &now, &now, 1);
        let resource = Value::Object(resource);
        state.index(kind, &id, &resource);
        let entry = self.entry(kind, &resource, 1);
        state.map_mut(kind).insert(id.clone(), entry);
        for (member_id, member) in members {
            state.add_member(&id, &member_id, member);
        }
        self.bump();
        let text = state
            .map(kind)
            .get(&id)
            .filter(|e| kind == ResourceKind::User && e.plain)
            .map(|e| StoredText {
                text: e.text.clone(),
                version: e.version,
            });
        Ok((self.render_value(&state, kind, &id, resource, true), text))
    }

    /// The resource with this id, members included.
    pub fn get(&self, kind: ResourceKind, id: &str, with_members: bool) -> Result<Value> {
        let state = self.read();
        if !state.map(kind).contains_key(id) {
            return Err(Self::not_found(kind, id));
        }
        Ok(self.render(&state, kind, id, with_members))
    }

    /// The stored text of a user whose default projection is the text itself; `None`
    /// when it must be parsed and projected (groups render members; some users hold
    /// `returned: never` attributes such as `password`).
    pub fn get_plain(&self, kind: ResourceKind, id: &str) -> Result<Option<StoredText>> {
        let state = self.read();
        let entry = state
            .map(kind)
            .get(id)
            .ok_or_else(|| Self::not_found(kind, id))?;
        Ok(
            (kind == ResourceKind::User && entry.plain).then(|| StoredText {
                text: entry.text.clone(),
                version: entry.version,
            }),
        )
    }

    /// Replaces a resource (RFC 7644 §3.5.1). `readOnly` attributes in the body are
    /// ignored, except a body `id` that differs from the URL's, which is a mutability
    /// error; `immutable` attributes must keep their value.
    pub fn replace(
        &self,
        kind: ResourceKind,
        id: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Result<Value> {
        if let Some(body_id) = body.get("id").and_then(Value::as_str) {
            if body_id != id {
                return Err(Error::mutability(format!(
                    "`id` is readOnly: the body says `{body_id}` but the URL addresses `{id}`"
                )));
            }
        }
        let prepared = validate::prepare(kind, body, self.schema(kind))?;
        let mut state = self.write();
        let entry = Self::current(&state, kind, id, if_match)?;
        let old = entry.resource();
        self.check_immutable(kind, &old, &prepared.resource)?;
        self.check_unique(&state, kind, &prepared.resource, Some(id))?;
        let members = match prepared.members {
            Some(m) => membership::resolve(&state, Some(id), m)?,
            None => Vec::new(),
        };
        let resource = self.store_new_version(&mut state, kind, id, &old, prepared.resource);
        if kind == ResourceKind::Group {
            state.clear_members(id);
            for (member_id, member) in members {
                state.add_member(id, &member_id, member);
            }
        }
        self.bump();
        Ok(self.render_value(&state, kind, id, resource, true))
    }

    fn check_immutable(
        &self,
        kind: ResourceKind,
        old: &Value,
        new: &Map<String, Value>,
    ) -> Result<()> {
        use crate::scim::Mutability;
        for attr in &self.schema(kind).core.attributes {
            if attr.mutability != Mutability::Immutable {
                continue;
            }
            let (Some(before), Some(after)) = (old.get(&attr.name), new.get(&attr.name)) else {
                continue;
            };
            if before != after {
                return Err(Error::mutability(format!(
                    "`{}` is immutable: it is {before} and cannot become {after}",
                    attr.name
                )));
            }
        }
        Ok(())
    }

    /// Deletes a resource (RFC 7644 §3.6). A deleted user or group leaves every group it
    /// was a member of.
    pub fn delete(&self, kind: ResourceKind, id: &str, if_match: Option<&str>) -> Result<()> {
        let mut state = self.write();
        Self::current(&state, kind, id, if_match)?;
        let now = self.now();
        for group_id in state.groups_of(id) {
            if state.remove_member(&group_id, id).is_some() {
                self.touch(&mut state, ResourceKind::Group, &group_id, &now);
            }
        }
        if kind == ResourceKind::Group {
            state.clear_members(id);
        }
        if let Some(entry) = state.map_mut(kind).remove(id) {
            state.unindex(kind, id, &entry.resource());
        }
        self.bump();
        Ok(())
    }

    /// Bumps `meta.version` and `meta.lastModified` of an existing resource.
    fn touch(&self, state: &mut State, kind: ResourceKind, id: &str, now: &str) {
        if let Some(e) = state.map_mut(kind).get_mut(id) {
            e.version += 1;
            let mut resource = e.resource();
            if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
                meta.insert("lastModified".into(), Value::String(now.to_owned()));
                meta.insert("version".into(), Value::String(etag(e.version)));
            }
            e.text = Bytes::from(serde_json::to_vec(&resource).unwrap_or_default());
        }
    }

    /// Every resource of `kind`, members included, in id order.
    pub fn all(&self, kind: ResourceKind) -> Vec<Value> {
        let state = self.read();
        state
            .map(kind)
            .keys()
            .map(|id| self.render(&state, kind, id, true))
            .collect()
    }

    /// Removes everything.
    pub fn clear(&self) {
        let fresh = self.new_state();
        *self.write() = fresh;
        self.bump();
    }

    /// The output form of a stored resource: for a group, `members` with `value`,
    /// `display`, `type` and `$ref` filled in from the store (RFC 7643 §4.2).
    fn render(&self, state: &State, kind: ResourceKind, id: &str, with_members: bool) -> Value {
        let Some(entry) = state.map(kind).get(id) else {
            return Value::Null;
        };
        self.render_value(state, kind, id, entry.resource(), with_members)
    }

    /// [`Store::render`] for a resource already parsed (or just built) from entry `id`.
    fn render_value(
        &self,
        state: &State,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        with_members: bool,
    ) -> Value {
        let mut out = resource;
        let Some(entry) = state.map(kind).get(id) else {
            return Value::Null;
        };
        if kind == ResourceKind::Group && with_members {
            let members = entry
                .members()
                .map(|(member_id, m)| self.render_member(state, member_id, m))
                .collect();
            if let Value::Object(map) = &mut out {
                map.insert("members".into(), Value::Array(members));
            }
        }
        out
    }

    fn render_member(&self, state: &State, member_id: &str, sent: &Map<String, Value>) -> Value {
        let (kind, target) = match state.users.get(member_id) {
            Some(u) => (ResourceKind::User, Some(u)),
            None => (ResourceKind::Group, state.groups.get(member_id)),
        };
        let mut m = Map::new();
        m.insert("value".into(), Value::String(member_id.to_owned()));
        let display = sent
            .get("display")
            .cloned()
            .or_else(|| target.and_then(Entry::display_value));
        if let Some(d) = display {
            m.insert("display".into(), d);
        }
        m.insert(
            "type".into(),
            Value::String(kind.resource_type().to_owned()),
        );
        m.insert("$ref".into(), Value::String(self.location(kind, member_id)));
        for (k, v) in sent {
            if !m.contains_key(k) && k != "type" {
                m.insert(k.clone(), v.clone());
            }
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests;

impl Store {
    /// Checks the membership invariants (no dangling member ids, no duplicates, reverse
    /// index == forward index). For tests and fuzzing; `Err` names the first violation.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        self.read().check_membership()
    }
}
