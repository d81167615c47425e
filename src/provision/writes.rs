//! The sans-IO [`Machine`]s of the writes to an object the engine already links: a
//! disable or a manager reference (read, then one PATCH), a delete (read, then DELETE; a
//! 404 on either means already gone) and a group's memberships (one read, then every
//! membership PATCH: docs/entra.md §3.5, "a group can cause hundreds of requests after one
//! GET"). Each reads the object by id first unless [`Knobs::read_before_update`] is off.
//!
//! [`Knobs::read_before_update`]: super::Knobs::read_before_update

use std::collections::VecDeque;

use serde_json::Value;

use super::engine::{Cycle, Draft, Failure};
use super::log::{Action, ModifiedProperty, Status, StepType};
use super::state::{DisableReason, LinkKind};
use super::sync::{Machine, Need};
use super::target::{Request, Response};
use super::wire::{self, Change};
use crate::scim::ResourceKind;

/// Whether the machine is waiting for its read or for its write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Read,
    Write,
}

/// Why a linked user's attributes are PATCHed outside the user pass.
#[derive(Debug, Clone)]
pub(crate) enum Purpose {
    /// Out of scope, disabled or soft-deleted: the `IsSoftDeleted` mappings.
    Disable(DisableReason),
    /// The reference pass: the manager's target id at this target path.
    Reference,
}

/// A PATCH of a linked user: a disable or a manager reference.
#[derive(Debug)]
pub(crate) struct PatchSync {
    d: Draft,
    source_id: String,
    changes: Vec<Change>,
    purpose: Purpose,
    stage: Stage,
}

impl PatchSync {
    /// Starts the PATCH of `changes` (none: a disable that changes nothing is logged at
    /// once; a reference always has one).
    pub(crate) fn start(
        c: &mut Cycle<'_>,
        d: Draft,
        source_id: &str,
        changes: Vec<Change>,
        purpose: Purpose,
    ) -> Need<PatchSync> {
        let empty = changes.is_empty();
        let mut sync = PatchSync {
            d,
            source_id: source_id.to_owned(),
            changes,
            purpose,
            stage: Stage::Write,
        };
        if empty {
            return sync.done(c);
        }
        // Logged now, so a PATCH that fails still shows what it tried to send.
        sync.d.changes(&sync.changes);
        if c.knobs.read_before_update {
            sync.stage = Stage::Read;
            let request = Request::read("Users", &sync.d.target_id);
            return Need::Send(sync, request);
        }
        let request = sync.request(c);
        Need::Send(sync, request)
    }

    fn request(&self, c: &Cycle<'_>) -> Request {
        let body = wire::patch(c.config.dialect(), &self.changes);
        Request::patch("Users", &self.d.target_id, body)
    }

    /// The PATCH went through (or there was nothing to send): log and link.
    fn done(mut self, c: &mut Cycle<'_>) -> Need<PatchSync> {
        let (step_type, what) = match &self.purpose {
            Purpose::Disable(_) => (StepType::Export, "disabled".to_owned()),
            Purpose::Reference => (
                StepType::ReferenceResolution,
                format!(
                    "updated in {} (reference attribute {})",
                    c.app(),
                    self.changes.first().map_or("", |ch| ch.path.as_str())
                ),
            ),
        };
        let text = match self.purpose {
            Purpose::Disable(_) => format!("User '{}' was {what} in {}", self.d.name, c.app()),
            Purpose::Reference => format!("User '{}' was {what}", self.d.name),
        };
        self.d
            .step("EntryExportUpdate", step_type, Status::Success, text);
        if let Some(l) = c.state.users.get_mut(&self.source_id) {
            l.exported
                .extend(self.changes.into_iter().map(|ch| (ch.path, ch.new)));
            if let Purpose::Disable(reason) = self.purpose {
                l.disabled = Some(reason);
            }
        }
        let action = match self.purpose {
            Purpose::Disable(_) => {
                c.succeeded(&self.source_id);
                Action::Disable
            }
            Purpose::Reference => Action::Update,
        };
        c.finish(self.d, action, Status::Success, None);
        Need::Done
    }
}

impl Machine for PatchSync {
    fn object(&self) -> (LinkKind, &str) {
        (LinkKind::User, &self.source_id)
    }

    fn answered(mut self, c: &mut Cycle<'_>, answer: Result<Response, Failure>) -> Need<Self> {
        match (self.stage, answer) {
            (_, Err(f)) => {
                let (verb, reference) = match self.purpose {
                    Purpose::Disable(_) => ("disable", false),
                    Purpose::Reference => ("update the manager of", true),
                };
                let action = match self.purpose {
                    Purpose::Disable(_) => Action::Disable,
                    Purpose::Reference => Action::Update,
                };
                c.fail(self.d, action, "EntryExportUpdate", verb, f, reference);
                Need::Done
            }
            (Stage::Read, Ok(_)) => {
                self.stage = Stage::Write;
                let request = self.request(c);
                Need::Send(self, request)
            }
            (Stage::Write, Ok(_)) => self.done(c),
        }
    }
}

/// A DELETE of a linked user or group (the link's decision is the caller's).
#[derive(Debug)]
pub(crate) struct DeleteSync {
    d: Draft,
    source_id: String,
    kind: ResourceKind,
    stage: Stage,
}

impl DeleteSync {
    pub(crate) fn start(c: &mut Cycle<'_>, d: Draft, kind: ResourceKind) -> Need<DeleteSync> {
        let stage = if c.knobs.read_before_update {
            Stage::Read
        } else {
            Stage::Write
        };
        let request = match stage {
            Stage::Read => Request::read(kind.endpoint(), &d.target_id),
            Stage::Write => Request::delete(kind.endpoint(), &d.target_id),
        };
        let source_id = d.source_id.clone();
        let sync = DeleteSync {
            d,
            source_id,
            kind,
            stage,
        };
        Need::Send(sync, request)
    }

    /// Gone from the target (deleted now, or already): log it and forget the link.
    fn gone(mut self, c: &mut Cycle<'_>) -> Need<DeleteSync> {
        let desc = format!(
            "{} '{}' was deleted in {}",
            self.d.kind,
            self.d.name,
            c.app()
        );
        self.d
            .step("EntryExportDelete", StepType::Export, Status::Success, desc);
        match self.kind {
            ResourceKind::User => {
                c.state.users.remove(&self.source_id);
                for g in c.state.groups.values_mut() {
                    g.members.remove(&self.source_id);
                }
            }
            ResourceKind::Group => {
                c.state.groups.remove(&self.source_id);
            }
        }
        c.succeeded(&self.source_id);
        c.finish(self.d, Action::Delete, Status::Success, None);
        Need::Done
    }
}

impl Machine for DeleteSync {
    fn object(&self) -> (LinkKind, &str) {
        let kind = match self.kind {
            ResourceKind::User => LinkKind::User,
            ResourceKind::Group => LinkKind::Group,
        };
        (kind, &self.source_id)
    }

    fn answered(mut self, c: &mut Cycle<'_>, answer: Result<Response, Failure>) -> Need<Self> {
        match (self.stage, answer) {
            // A delete wants the object gone: a 404 to the read or the DELETE is that.
            (_, Err(f)) if f.status == Some(404) => self.gone(c),
            (_, Err(f)) => {
                c.fail(
                    self.d,
                    Action::Delete,
                    "EntryExportDelete",
                    "delete",
                    f,
                    false,
                );
                Need::Done
            }
            (Stage::Read, Ok(_)) => {
                self.stage = Stage::Write;
                let request = Request::delete(self.kind.endpoint(), &self.d.target_id);
                Need::Send(self, request)
            }
            (Stage::Write, Ok(_)) => self.gone(c),
        }
    }
}

/// One chunk of a membership update: add or remove these (source id, target id) members.
pub(crate) type Chunk = (bool, Vec<(String, String)>);

/// A linked group's membership PATCHes, after one read of the group.
#[derive(Debug)]
pub(crate) struct MembershipSync {
    d: Draft,
    group_id: String,
    chunks: VecDeque<Chunk>,
    /// The chunk whose PATCH is in flight.
    current: Option<Chunk>,
}

impl MembershipSync {
    pub(crate) fn start(
        c: &mut Cycle<'_>,
        d: Draft,
        group_id: &str,
        chunks: VecDeque<Chunk>,
    ) -> Need<MembershipSync> {
        let sync = MembershipSync {
            d,
            group_id: group_id.to_owned(),
            chunks,
            current: None,
        };
        if c.knobs.read_before_update {
            let request = Request::read("Groups", &sync.d.target_id);
            return Need::Send(sync, request);
        }
        sync.next(c)
    }

    /// The next chunk's PATCH, or the entry when every chunk went through.
    fn next(mut self, c: &mut Cycle<'_>) -> Need<MembershipSync> {
        let Some(chunk) = self.chunks.pop_front() else {
            let desc = format!(
                "Group '{}' was updated in {} (members)",
                self.d.name,
                c.app()
            );
            self.d.step(
                "EntryExportUpdate",
                StepType::ReferenceResolution,
                Status::Success,
                desc,
            );
            c.finish(self.d, Action::Update, Status::Success, None);
            return Need::Done;
        };
        let ids: Vec<String> = chunk.1.iter().map(|(_, t)| t.clone()).collect();
        let body = wire::members(c.config.dialect(), chunk.0, &ids);
        let request = Request::patch("Groups", &self.d.target_id, body);
        self.current = Some(chunk);
        Need::Send(self, request)
    }
}

impl Machine for MembershipSync {
    fn object(&self) -> (LinkKind, &str) {
        (LinkKind::Group, &self.group_id)
    }

    fn answered(mut self, c: &mut Cycle<'_>, answer: Result<Response, Failure>) -> Need<Self> {
        if let Err(f) = answer {
            // The members of the chunks that went through stay recorded; the entry is the
            // failure, retried (with the rest) next cycle.
            c.fail(
                self.d,
                Action::Update,
                "EntryExportUpdate",
                "update the members of",
                f,
                true,
            );
            return Need::Done;
        }
        if let Some((add, members)) = self.current.take() {
            for (s, t) in members {
                self.d.props.push(ModifiedProperty {
                    display_name: "members".into(),
                    old_value: (!add).then(|| t.clone()),
                    new_value: add.then(|| t.clone()),
                });
                if let Some(l) = c.state.groups.get_mut(&self.group_id) {
                    if add {
                        l.members.insert(s, t);
                    } else {
                        l.members.remove(&s);
                    }
                }
            }
        }
        self.next(c)
    }
}

/// The manager reference of `path` set to `manager` (a target id).
pub(crate) fn reference_change(path: &str, old: Option<Value>, manager: String) -> Change {
    Change {
        path: path.to_owned(),
        old,
        new: Value::String(manager),
    }
}
