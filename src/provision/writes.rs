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

#[cfg(test)]
mod tests {
    //! The write machines' decisions, fed answers by hand: no endpoint, no runtime.

    use std::collections::BTreeMap;
    use std::time::Duration;

    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;
    use serde_json::json;

    use super::super::log::Status;
    use super::super::state::{Escrow, Link, State};
    use super::super::testkit::{
        cases, check_outcome, check_request, check_run, dialect, drive, engine, engine_in,
        hostile_id, member_in_path, replies, script, with_cycle, Reply, Trace,
    };
    use super::super::Knobs;
    use super::*;
    use crate::entra::Dialect;

    const CODE: &str = "SystemForCrossDomainIdentityManagement";
    const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

    fn code(condition: &str) -> String {
        format!("{CODE}{condition}")
    }

    /// `s1` linked to `target_id`, exported active, and a member of group `g2`.
    fn user_linked(target_id: &str) -> State {
        let mut state = State::default();
        state.users.insert(
            "s1".into(),
            Link {
                target_id: target_id.into(),
                exported: [("active".to_owned(), json!(true))].into_iter().collect(),
                ..Link::default()
            },
        );
        state.groups.insert(
            "g2".into(),
            Link {
                target_id: "tg2".into(),
                members: [("s1".to_owned(), target_id.to_owned())]
                    .into_iter()
                    .collect(),
                ..Link::default()
            },
        );
        state
    }

    fn draft(kind: &'static str, source_id: &str, target_id: &str) -> Draft {
        let mut d = Draft::new(kind, source_id, "Ada");
        d.target_id = target_id.into();
        d
    }

    fn deactivate() -> Vec<Change> {
        vec![Change {
            path: "active".into(),
            old: Some(json!(true)),
            new: json!(false),
        }]
    }

    fn disable(c: &mut Cycle<'_>, target_id: &str, replies: Vec<Reply>) -> Trace {
        let d = draft("User", "s1", target_id);
        let purpose = Purpose::Disable(DisableReason::Disabled);
        let first = PatchSync::start(c, d, "s1", deactivate(), purpose);
        drive(c, first, script(replies))
    }

    fn delete(c: &mut Cycle<'_>, kind: ResourceKind, replies: Vec<Reply>) -> Trace {
        let d = match kind {
            ResourceKind::User => draft("User", "s1", "t1"),
            ResourceKind::Group => draft("Group", "g1", "tg1"),
        };
        let first = DeleteSync::start(c, d, kind);
        drive(c, first, script(replies))
    }

    /// Group `g1` linked to `target_id` with `members` (source id → target id).
    fn group_linked(target_id: &str, members: &[(String, String)]) -> State {
        let mut state = State::default();
        state.groups.insert(
            "g1".into(),
            Link {
                target_id: target_id.into(),
                members: members.iter().cloned().collect(),
                ..Link::default()
            },
        );
        state
    }

    fn members(c: &mut Cycle<'_>, chunks: &[Chunk], replies: Vec<Reply>) -> Trace {
        let target_id = c.state.groups["g1"].target_id.clone();
        let d = draft("Group", "g1", &target_id);
        let first = MembershipSync::start(c, d, "g1", chunks.iter().cloned().collect());
        drive(c, first, script(replies))
    }

    fn pair(s: &str, t: &str) -> (String, String) {
        (s.to_owned(), t.to_owned())
    }

    // ---- PatchSync ----

    #[test]
    fn a_disable_reads_then_patches_active_and_records_why() {
        let e = engine(Knobs::default());
        let mut state = user_linked("t 1");
        state.escrows.insert(
            "s1".into(),
            Escrow {
                error_code: code("InternalServerError"),
                retries: 2,
                first_failure: String::new(),
            },
        );
        let t = with_cycle(&e, &mut state, |c| {
            let t = disable(
                c,
                "t 1",
                vec![Reply::json(200, json!({})), Reply::status(204)],
            );
            assert_eq!(c.entries[0].provisioning_action, Action::Disable);
            t
        });
        assert_eq!(t.lines(), ["GET /Users/t%201", "PATCH /Users/t%201"]);
        let ops = &t.steps[1].request.body.as_ref().unwrap()["Operations"];
        assert_eq!(
            ops[0]["value"], "False",
            "legacy booleans are strings: {ops}"
        );
        let link = &state.users["s1"];
        assert_eq!(link.disabled, Some(DisableReason::Disabled));
        assert_eq!(link.exported["active"], false);
        assert!(state.escrows.is_empty(), "a success clears the escrow");
    }

    #[test]
    fn a_disable_of_a_vanished_user_is_invalid_anchor_and_is_not_recorded() {
        let e = engine(Knobs::default());
        let mut state = user_linked("t1");
        let t = with_cycle(&e, &mut state, |c| {
            let t = disable(c, "t1", vec![Reply::status(404)]);
            assert_eq!(
                c.entries[0].error_code(),
                Some(code("InvalidAnchor").as_str())
            );
            t
        });
        assert_eq!(t.steps.len(), 1, "no PATCH after a failed read");
        assert_eq!(state.users["s1"].disabled, None, "retried next cycle");
        assert!(state.escrows.contains_key("s1"));
    }

    #[test]
    fn a_throttled_disable_is_resent_after_the_capped_retry_after() {
        let e = engine(Knobs::default());
        let mut state = user_linked("t1");
        let t = with_cycle(&e, &mut state, |c| {
            disable(
                c,
                "t1",
                vec![
                    Reply::json(200, json!({})),
                    Reply::throttled(Some(3600)),
                    Reply::status(204),
                ],
            )
        });
        assert_eq!(t.waits, [Knobs::default().retry.max_wait]);
        assert_eq!(state.users["s1"].disabled, Some(DisableReason::Disabled));
    }

    #[test]
    fn a_failed_manager_reference_is_a_reference_failure() {
        let e = engine(Knobs::default());
        let mut state = user_linked("t1");
        with_cycle(&e, &mut state, |c| {
            let change = reference_change(MANAGER, None, "m\"1".into());
            let first = PatchSync::start(
                c,
                draft("User", "s1", "t1"),
                "s1",
                vec![change],
                Purpose::Reference,
            );
            let t = drive(
                c,
                first,
                script([Reply::json(200, json!({})), Reply::status(502)]),
            );
            assert_eq!(t.steps.len(), 2);
            assert_eq!(
                c.entries[0].error_code(),
                Some(code("WebExceptionProtocolError").as_str())
            );
            assert_eq!((c.failures, c.reference_failures), (0, 1));
        });
        assert!(!state.users["s1"].exported.contains_key(MANAGER));
        assert!(state.escrows.contains_key("s1"));
    }

    #[test]
    fn a_disable_with_nothing_to_change_sends_nothing() {
        let e = engine(Knobs::default());
        let mut state = user_linked("t1");
        with_cycle(&e, &mut state, |c| {
            let d = draft("User", "s1", "t1");
            let purpose = Purpose::Disable(DisableReason::OutOfScope);
            let first = PatchSync::start(c, d, "s1", Vec::new(), purpose);
            assert!(drive(c, first, script([])).steps.is_empty());
            assert_eq!(c.entries[0].status(), Status::Success);
        });
        assert_eq!(state.users["s1"].disabled, Some(DisableReason::OutOfScope));
    }

    // ---- DeleteSync ----

    #[test]
    fn a_delete_reads_then_deletes_and_forgets_the_user_and_its_memberships() {
        let e = engine(Knobs::default());
        let mut state = user_linked("t1");
        let t = with_cycle(&e, &mut state, |c| {
            delete(
                c,
                ResourceKind::User,
                vec![Reply::json(200, json!({})), Reply::status(204)],
            )
        });
        assert_eq!(t.lines(), ["GET /Users/t1", "DELETE /Users/t1"]);
        assert!(state.users.is_empty());
        assert!(state.groups["g2"].members.is_empty());
    }

    /// docs/provision.md, "One cycle" 4: "for a DELETE a 404 means already gone".
    #[test]
    fn a_404_to_the_read_or_the_delete_is_already_gone() {
        let e = engine(Knobs::default());
        for replies in [
            vec![Reply::status(404)],
            vec![Reply::json(200, json!({})), Reply::status(404)],
        ] {
            let n = replies.len();
            let mut state = user_linked("t1");
            let t = with_cycle(&e, &mut state, |c| {
                let t = delete(c, ResourceKind::User, replies);
                assert_eq!(c.entries[0].status(), Status::Success);
                assert_eq!(c.entries[0].provisioning_action, Action::Delete);
                t
            });
            assert_eq!(t.steps.len(), n, "no DELETE after a 404 read");
            assert!(state.users.is_empty() && state.escrows.is_empty());
        }
    }

    #[test]
    fn a_refused_delete_keeps_the_link_for_the_next_cycle() {
        let e = engine(Knobs::default());
        for (status, condition) in [(409, "EntryConflict"), (503, "WebExceptionProtocolError")] {
            let mut state = State::default();
            state.groups.insert(
                "g1".into(),
                Link {
                    target_id: "tg1".into(),
                    ..Link::default()
                },
            );
            let t = with_cycle(&e, &mut state, |c| {
                let t = delete(
                    c,
                    ResourceKind::Group,
                    vec![Reply::json(200, json!({})), Reply::status(status)],
                );
                assert_eq!(c.entries[0].error_code(), Some(code(condition).as_str()));
                t
            });
            assert_eq!(
                t.lines(),
                [
                    "GET /Groups/tg1?excludedAttributes=members",
                    "DELETE /Groups/tg1"
                ]
            );
            assert_eq!(state.groups["g1"].target_id, "tg1");
            assert_eq!(state.escrows["g1"].retries, 1);
        }
    }

    #[test]
    fn a_throttled_delete_is_resent() {
        let e = engine(Knobs {
            read_before_update: false,
            ..Knobs::default()
        });
        let mut state = user_linked("t1");
        let t = with_cycle(&e, &mut state, |c| {
            delete(
                c,
                ResourceKind::User,
                vec![Reply::throttled(None), Reply::status(204)],
            )
        });
        assert_eq!(t.lines(), ["DELETE /Users/t1"]);
        assert_eq!(t.waits, [Duration::from_secs(1)]);
        assert!(state.users.is_empty());
    }

    // ---- MembershipSync ----

    #[test]
    fn memberships_are_one_read_then_a_patch_per_chunk_and_recorded() {
        let e = engine(Knobs::default());
        let mut state = group_linked("tg1", &[pair("s9", "t9")]);
        let chunks = [
            (true, vec![pair("s1", "t1"), pair("s2", "t2")]),
            (false, vec![pair("s9", "t9")]),
        ];
        let t = with_cycle(&e, &mut state, |c| {
            members(
                c,
                &chunks,
                vec![
                    Reply::json(200, json!({})),
                    Reply::status(204),
                    Reply::status(204),
                ],
            )
        });
        assert_eq!(
            t.lines(),
            [
                "GET /Groups/tg1?excludedAttributes=members",
                "PATCH /Groups/tg1",
                "PATCH /Groups/tg1"
            ]
        );
        let want: BTreeMap<String, String> =
            [pair("s1", "t1"), pair("s2", "t2")].into_iter().collect();
        assert_eq!(state.groups["g1"].members, want);
    }

    #[test]
    fn a_failed_chunk_keeps_the_chunks_before_it_and_fails_as_a_reference() {
        let e = engine(Knobs::default());
        let mut state = group_linked("tg1", &[]);
        let chunks = [
            (true, vec![pair("s1", "t1")]),
            (true, vec![pair("s2", "t2")]),
        ];
        with_cycle(&e, &mut state, |c| {
            members(
                c,
                &chunks,
                vec![
                    Reply::json(200, json!({})),
                    Reply::status(204),
                    Reply::status(500),
                ],
            );
            assert_eq!(
                c.entries[0].error_code(),
                Some(code("InternalServerError").as_str())
            );
            assert_eq!((c.failures, c.reference_failures), (0, 1));
        });
        let want: BTreeMap<String, String> = [pair("s1", "t1")].into_iter().collect();
        assert_eq!(state.groups["g1"].members, want, "s2 is retried next cycle");
        assert!(state.escrows.contains_key("g1"));
    }

    #[test]
    fn a_vanished_group_gets_no_membership_patch() {
        let e = engine(Knobs::default());
        let mut state = group_linked("tg1", &[]);
        let t = with_cycle(&e, &mut state, |c| {
            let t = members(
                c,
                &[(true, vec![pair("s1", "t1")])],
                vec![Reply::status(404)],
            );
            assert_eq!(
                c.entries[0].error_code(),
                Some(code("InvalidAnchor").as_str())
            );
            t
        });
        assert_eq!(t.steps.len(), 1);
        assert!(state.groups["g1"].members.is_empty());
    }

    #[test]
    fn a_throttled_membership_patch_is_resent() {
        let e = engine(Knobs::default());
        let mut state = group_linked("tg1", &[]);
        let t = with_cycle(&e, &mut state, |c| {
            members(
                c,
                &[(true, vec![pair("s1", "t1")])],
                vec![
                    Reply::json(200, json!({})),
                    Reply::throttled(Some(5)),
                    Reply::status(200),
                ],
            )
        });
        assert_eq!(t.waits, [Duration::from_secs(5)]);
        assert_eq!(state.groups["g1"].members["s1"], "t1");
    }

    #[test]
    fn a_hostile_member_id_is_one_literal_in_a_flag_dialect_removal() {
        let e = engine_in(Dialect::AadOptscim062020, Knobs::default());
        let hostile = r#"b"] or value ne "zzz"#;
        let mut state = group_linked("tg1", &[pair("s1", hostile)]);
        let t = with_cycle(&e, &mut state, |c| {
            members(
                c,
                &[(false, vec![pair("s1", hostile)])],
                vec![Reply::json(200, json!({})), Reply::status(204)],
            )
        });
        let ops = &t.steps[1].request.body.as_ref().unwrap()["Operations"];
        assert_eq!(
            member_in_path(ops[0]["path"].as_str().unwrap()).unwrap(),
            hostile
        );
        assert!(state.groups["g1"].members.is_empty());
    }

    // ---- properties ----

    /// Every string anywhere in `v`.
    fn strings(v: &Value) -> Vec<&str> {
        match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().flat_map(strings).collect(),
            Value::Object(m) => m.values().flat_map(strings).collect(),
            _ => Vec::new(),
        }
    }

    /// The methods a write machine sends, in order: the read (when the knob is on), then
    /// its writes; a run is a prefix of them (a failure ends it early).
    fn check_methods(t: &Trace, read: bool, writes: &[&str]) -> Result<(), TestCaseError> {
        let want: Vec<&str> = read
            .then_some("GET")
            .into_iter()
            .chain(writes.iter().copied())
            .collect();
        let got: Vec<&str> = t.steps.iter().map(|s| s.request.method).collect();
        prop_assert!(
            want.starts_with(&got),
            "{:?} is not a prefix of {:?}",
            got,
            want
        );
        Ok(())
    }

    /// A chunk's target ids, in order, as a membership PATCH names them: in the `value`
    /// list, or (a flag-dialect removal) in each operation's `members[value eq "…"]` path.
    fn named_members(body: &Value) -> Result<Vec<String>, TestCaseError> {
        let mut ids = Vec::new();
        for op in body["Operations"].as_array().into_iter().flatten() {
            match op.get("value").and_then(Value::as_array) {
                Some(values) => ids.extend(
                    values
                        .iter()
                        .map(|v| v["value"].as_str().unwrap_or_default().to_owned()),
                ),
                None => ids.push(member_in_path(op["path"].as_str().unwrap_or_default())?),
            }
        }
        Ok(ids)
    }

    proptest! {
        #![proptest_config(cases())]

        /// Whatever the endpoint answers, a disable or a manager reference ends within a
        /// read and a PATCH, addressed only to the linked user's id, logs one entry that
        /// agrees with the status table, and records the disable (or the exported manager)
        /// only after a 2xx PATCH; a failure leaves the link as it was, so the next cycle
        /// tries again, and a reference failure counts as one.
        #[test]
        fn patch_sync_holds_its_invariants_whatever_the_endpoint_answers(
            target_id in hostile_id(),
            reference in prop::option::of(hostile_id()),
            nothing in prop::bool::weighted(0.05),
            read in any::<bool>(),
            dialect in dialect(),
            replies in replies(json!({"active": true})),
        ) {
            let e = engine_in(dialect, Knobs { read_before_update: read, ..Knobs::default() });
            let mut state = user_linked(&target_id);
            let before = state.users["s1"].clone();
            let (purpose, changes) = match &reference {
                Some(m) => (Purpose::Reference, vec![reference_change(MANAGER, None, m.clone())]),
                None if nothing => (Purpose::Disable(DisableReason::SoftDeleted), Vec::new()),
                None => (Purpose::Disable(DisableReason::SoftDeleted), deactivate()),
            };
            let status = with_cycle(&e, &mut state, |c| {
                let d = draft("User", "s1", &target_id);
                let first = PatchSync::start(c, d, "s1", changes.clone(), purpose);
                let t = drive(c, first, script(replies));
                check_run(c, &t, 2)?;
                check_methods(&t, read && !changes.is_empty(), &["PATCH"])?;
                for s in &t.steps {
                    check_request(&s.request, std::slice::from_ref(&target_id), None)?;
                }
                if let (Some(m), Some(body)) = (&reference, t.steps.last().and_then(|s| s.request.body.as_ref())) {
                    prop_assert!(strings(body).contains(&m.as_str()), "{body}");
                }
                let status = check_outcome(c, &t, "s1", false)?;
                prop_assert_eq!(status.is_some(), true);
                let failed = status == Some(Status::Failure);
                let (f, r) = if reference.is_some() { (0, u64::from(failed)) } else { (u64::from(failed), 0) };
                prop_assert_eq!((c.failures, c.reference_failures), (f, r));
                let action = if reference.is_some() { Action::Update } else { Action::Disable };
                prop_assert_eq!(c.entries[0].provisioning_action, action);
                Ok::<_, TestCaseError>(status)
            })?;
            let link = &state.users["s1"];
            prop_assert_eq!(&link.target_id, &target_id);
            if status == Some(Status::Failure) {
                prop_assert_eq!(link, &before);
            } else if let Some(m) = &reference {
                prop_assert_eq!(&link.exported[MANAGER], &json!(m));
            } else {
                prop_assert_eq!(link.disabled, Some(DisableReason::SoftDeleted));
            }
        }

        /// Whatever the endpoint answers, a delete ends within a read and a DELETE,
        /// addressed only to the linked id; a 404 to either means already gone (docs/
        /// provision.md, "One cycle" 4) and ends it as a success; any other failure is
        /// logged with the status table's code and keeps the link (retried next cycle);
        /// the link (and a user's memberships) go exactly when the entry is a success.
        #[test]
        fn delete_sync_holds_its_invariants_whatever_the_endpoint_answers(
            target_id in hostile_id(),
            group in any::<bool>(),
            read in any::<bool>(),
            replies in replies(json!({})),
        ) {
            let e = engine(Knobs { read_before_update: read, ..Knobs::default() });
            let (kind, source_id) = if group { (ResourceKind::Group, "g1") } else { (ResourceKind::User, "s1") };
            let mut state = user_linked(&target_id);
            state.groups.insert("g1".into(), Link { target_id: target_id.clone(), ..Link::default() });
            let status = with_cycle(&e, &mut state, |c| {
                let d = draft(if group { "Group" } else { "User" }, source_id, &target_id);
                let first = DeleteSync::start(c, d, kind);
                let t = drive(c, first, script(replies));
                check_run(c, &t, 2)?;
                check_methods(&t, read, &["DELETE"])?;
                for s in &t.steps {
                    check_request(&s.request, std::slice::from_ref(&target_id), None)?;
                }
                let status = check_outcome(c, &t, source_id, true)?;
                let last = &t.steps.last().expect("a delete always sends").answer;
                let gone = match last {
                    Ok(_) => t.steps.last().is_some_and(|s| s.request.method == "DELETE"),
                    Err(f) => f.status == Some(404),
                };
                prop_assert_eq!(status == Some(Status::Success), gone);
                prop_assert_eq!(c.entries[0].provisioning_action, Action::Delete);
                Ok::<_, TestCaseError>(status)
            })?;
            let links = if group { &state.groups } else { &state.users };
            prop_assert_eq!(links.contains_key(source_id), status != Some(Status::Success));
            if !group {
                prop_assert_eq!(state.groups["g2"].members.is_empty(), status == Some(Status::Success));
            }
        }

        /// Whatever the endpoint answers, a group's memberships end within one read and a
        /// PATCH per chunk, each addressed only to the group's id and naming exactly its
        /// chunk's member ids (a flag-dialect removal's `members[value eq "…"]` reads back
        /// as the id, quotes and all); the members of a chunk are recorded (and logged as
        /// modified) exactly when its PATCH got a 2xx, so a failure leaves the rest to the
        /// next cycle; a failure is a reference failure with the status table's code.
        #[test]
        fn membership_sync_holds_its_invariants_whatever_the_endpoint_answers(
            target_id in hostile_id(),
            chunks in prop::collection::vec(
                (any::<bool>(), prop::collection::vec(hostile_id(), 1..4)), 1..4),
            read in any::<bool>(),
            dialect in dialect(),
            replies in replies(json!({"displayName": "Staff"})),
        ) {
            let e = engine_in(dialect, Knobs { read_before_update: read, ..Knobs::default() });
            // Source ids u0, u1, …; removals start out as members.
            let mut n = 0;
            let chunks: Vec<Chunk> = chunks.into_iter().map(|(add, ids)| {
                let pairs = ids.into_iter().map(|t| { n += 1; (format!("u{n}"), t) }).collect();
                (add, pairs)
            }).collect();
            let initial: Vec<(String, String)> = chunks.iter().filter(|(add, _)| !add).flat_map(|(_, p)| p.clone()).collect();
            let mut state = group_linked(&target_id, &initial);
            let applied = with_cycle(&e, &mut state, |c| {
                let t = members(c, &chunks, replies);
                check_run(c, &t, chunks.len() + usize::from(read))?;
                let patches: Vec<&str> = chunks.iter().map(|_| "PATCH").collect();
                check_methods(&t, read, &patches)?;
                let mut applied = Vec::new();
                for (s, chunk) in t.steps.iter().filter(|s| s.request.method == "PATCH").zip(&chunks) {
                    check_request(&s.request, std::slice::from_ref(&target_id), None)?;
                    let want: Vec<String> = chunk.1.iter().map(|(_, t)| t.clone()).collect();
                    prop_assert_eq!(named_members(s.request.body.as_ref().expect("a body"))?, want);
                    if s.answer.is_ok() {
                        applied.push(chunk.clone());
                    }
                }
                for s in &t.steps {
                    check_request(&s.request, std::slice::from_ref(&target_id), None)?;
                }
                let status = check_outcome(c, &t, "g1", false)?;
                let failed = status == Some(Status::Failure);
                prop_assert_eq!((c.failures, c.reference_failures), (0, u64::from(failed)));
                prop_assert_eq!(failed, t.steps.iter().any(|s| s.answer.is_err()));
                prop_assert_eq!(!failed, applied.len() == chunks.len());
                let logged = c.entries[0].modified_properties.len();
                prop_assert_eq!(logged, applied.iter().map(|(_, p)| p.len()).sum::<usize>());
                Ok::<_, TestCaseError>(applied)
            })?;
            let mut want: BTreeMap<String, String> = initial.into_iter().collect();
            for (add, pairs) in applied {
                for (s, t) in pairs {
                    if add { want.insert(s, t); } else { want.remove(&s); }
                }
            }
            prop_assert_eq!(&state.groups["g1"].members, &want);
        }
    }
}
