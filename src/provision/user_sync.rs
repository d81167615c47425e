//! One in-scope user's sync as a sans-IO [`Machine`] (entra-engine §4.1 step 2, §4.3):
//!
//! ```text
//! linked ──────────────────────────────► Read (GET /Users/{id}) ─► Patch ─► done
//! unlinked ─► Match (GET ?filter=, one per matching attribute, in precedence order)
//!               0 hits, none left ─► Create (POST /Users) ─► done
//!               1 hit ─────────────► Patch (the answer was the read) ─► done
//!               2+ hits ───────────► DuplicateTargetEntries ─► done
//! ```
//!
//! Read-back is the basis of the update (docs/provision.md, "One cycle": Entra compares the
//! evaluated source with the target state it reads back and skips with `RedundantExport` when
//! they match — Graph *synchronizationJob: provisionOnDemand*): the PATCH carries each attribute
//! whose value differs from what the target returned — `Add` where the target has none,
//! `Replace` where it differs (case-insensitively unless the mapping is case-exact) — so an
//! attribute the endpoint lost is sent again whenever the user is processed. Whether a linked
//! user is processed at all is the incremental cycle's question ("did the source change?"),
//! answered from the values last processed (the link's `exported`, standing in for Graph's
//! delta); nothing to process ends at once and is not logged. With nothing to change after
//! the read, the user is logged `Skipped`/`RedundantExport`.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Map, Value};

use super::directory::{user_source, User};
use super::engine::{Cycle, Draft, Failure};
use super::log::{Action, Status, StepType};
use super::state::{Link, LinkKind};
use super::sync::{list_hits, no_id, resource_id, Machine, Need};
use super::target::{Request, Response};
use super::users::UserScope;
use super::wire::{self, Change};
use crate::profile::provisioning::Action as TargetAction;
use crate::scim::ResourceKind;

/// A user's sync in progress.
#[derive(Debug)]
pub(crate) struct UserSync {
    d: Draft,
    source_id: String,
    /// The user's source attributes (for the update view after a match).
    source: Map<String, Value>,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    /// Waiting for the answer to the matching query on `what` (`attr = value`); `rest`
    /// are the queries still to try.
    Match {
        create: Vec<(String, Value)>,
        what: String,
        rest: VecDeque<(Request, String)>,
    },
    /// Waiting for the create's answer.
    Create { create: Vec<(String, Value)> },
    /// Waiting for the read before the PATCH.
    Read(Update),
    /// Waiting for the PATCH's answer.
    Patch(Update),
}

/// An update decided: what to PATCH, and what the link records once it is done.
#[derive(Debug)]
struct Update {
    target_id: String,
    changes: Vec<Change>,
    desired: Vec<(String, Value)>,
}

impl UserSync {
    /// Decides the first request for `u`, or that nothing is to be sent.
    pub(crate) fn start(c: &mut Cycle<'_>, u: &User, scope: &UserScope) -> Need<UserSync> {
        let source = user_source(u, false);
        let mappings = &c.config.users.mappings;
        let mut d = Draft::new("User", &u.id, &u.display());
        if let Some(link) = c.state.users.get(&u.id).cloned() {
            let desired = match c.evaluate(mappings, &source, false) {
                Ok(v) => v,
                Err(f) => {
                    c.fail(d, Action::Update, "EntryExportUpdate", "update", f, false);
                    return Need::Done;
                }
            };
            // The delta: is the user to be processed this cycle?
            let changes = Cycle::diff(mappings, &desired, |p| link.exported.get(p).cloned());
            if changes.is_empty()
                && link.disabled.is_none()
                && !c.state.escrows.contains_key(&u.id)
                && !c.process_all
            {
                return Need::Done;
            }
            d.target_id = link.target_id.clone();
            d.import("Update");
            c.scoping_step(&mut d, scope);
            let sync = UserSync {
                d,
                source_id: u.id.clone(),
                source,
                stage: Stage::Create { create: Vec::new() },
            };
            let update = Update {
                target_id: link.target_id,
                changes,
                desired,
            };
            return sync.update(c, update, true);
        }
        d.import("Add");
        c.scoping_step(&mut d, scope);
        let create = match c.evaluate(mappings, &source, true) {
            Ok(v) => v,
            Err(f) => {
                c.fail(d, Action::Create, "EntryExportAdd", "create", f, false);
                return Need::Done;
            }
        };
        let mut rest = c.match_queries(ResourceKind::User, &create);
        let Some((first, what)) = rest.pop_front() else {
            d.step(
                "EntryImport",
                StepType::Import,
                Status::Skipped,
                format!("User '{}' has no value for any matching attribute", d.name),
            );
            let reason = "The user has no value for the matching attribute, so scoping, matching and export cannot be evaluated".to_owned();
            c.finish(
                d,
                Action::Other,
                Status::Skipped,
                Some(super::log::error("ImportSkipped", reason)),
            );
            return Need::Done;
        };
        let sync = UserSync {
            d,
            source_id: u.id.clone(),
            source,
            stage: Stage::Match { create, what, rest },
        };
        Need::Send(sync, first)
    }

    fn with(mut self, stage: Stage) -> UserSync {
        self.stage = stage;
        self
    }

    /// No match: POST the create view, if Create is a target object action.
    fn create(mut self, c: &mut Cycle<'_>, create: Vec<(String, Value)>) -> Need<UserSync> {
        let desc = format!("User '{}' will be created in {} (User is active and assigned in Azure Active Directory, but no matching User was found in {})", self.d.name, c.app(), c.app());
        self.d.step(
            "EntrySynchronizationAdd",
            StepType::Matching,
            Status::Success,
            desc,
        );
        if !c.config.users.allows(TargetAction::Create) {
            self.d.step(
                "EntrySynchronizationSkip",
                StepType::Export,
                Status::Skipped,
                "Create is not a target object action of this app".into(),
            );
            c.finish(self.d, Action::Other, Status::Skipped, None);
            return Need::Done;
        }
        let request = Request {
            method: "POST",
            path: "/Users".into(),
            body: Some(wire::user_body(&create)),
        };
        Need::Send(self.with(Stage::Create { create }), request)
    }

    /// One match: the update view diffed against what the target returned. A match
    /// without an id cannot be addressed or linked: the match fails.
    fn matched(mut self, c: &mut Cycle<'_>, found: Value) -> Need<UserSync> {
        let Some(id) = resource_id(&found).map(str::to_owned) else {
            c.match_failed(self.d, no_id("User", &found));
            return Need::Done;
        };
        self.d.target_id = id.clone();
        let desc = format!("User '{}' will be updated in {} (User is active and assigned in Azure Active Directory, and a matching User was found in {})", self.d.name, c.app(), c.app());
        self.d.step(
            "EntrySynchronizationUpdate",
            StepType::Matching,
            Status::Success,
            desc,
        );
        let mappings = &c.config.users.mappings;
        let desired = match c.evaluate(mappings, &self.source, false) {
            Ok(v) => v,
            Err(f) => {
                c.fail(
                    self.d,
                    Action::Update,
                    "EntryExportUpdate",
                    "update",
                    f,
                    false,
                );
                return Need::Done;
            }
        };
        let changes = Cycle::diff(mappings, &desired, |p| wire::extract(&found, p));
        let update = Update {
            target_id: id,
            changes,
            desired,
        };
        // The matching query just read the object: no second read.
        self.update(c, update, false)
    }

    /// An update decided: read the object first (`read`, and the knob) and diff against
    /// what it holds; skip it when nothing differs, else PATCH.
    fn update(mut self, c: &mut Cycle<'_>, update: Update, read: bool) -> Need<UserSync> {
        let allowed = c.config.users.allows(TargetAction::Update);
        if read && allowed && c.knobs.read_before_update {
            let request = Request::read("Users", &update.target_id);
            return Need::Send(self.with(Stage::Read(update)), request);
        }
        if update.changes.is_empty() {
            let desc = format!("The state of the user in both the source and target systems already match. No change to the User '{}' currently needs to be made.", self.d.name);
            let mut details = Map::new();
            details.insert("SkipReason".into(), Value::String("RedundantExport".into()));
            self.d.step_with(
                "EntrySynchronizationSkip",
                StepType::Export,
                Status::Skipped,
                desc,
                details,
            );
            self.link(c, update.target_id, Vec::new(), update.desired);
            c.finish(self.d, Action::Other, Status::Skipped, None);
            return Need::Done;
        }
        if !allowed {
            self.d.step(
                "EntrySynchronizationSkip",
                StepType::Export,
                Status::Skipped,
                "Update is not a target object action of this app".into(),
            );
            c.finish(self.d, Action::Other, Status::Skipped, None);
            return Need::Done;
        }
        // Logged now, so a PATCH that fails still shows what it tried to send.
        self.d.changes(&update.changes);
        let request = patch(c, &update);
        Need::Send(self.with(Stage::Patch(update)), request)
    }

    /// Records the link after an export (or a redundant one): the target id, what was
    /// exported, enabled again, escrow cleared.
    fn link(
        &self,
        c: &mut Cycle<'_>,
        target_id: String,
        changes: Vec<Change>,
        desired: Vec<(String, Value)>,
    ) {
        let prior = c
            .state
            .users
            .get(&self.source_id)
            .cloned()
            .unwrap_or_default();
        let mut exported: BTreeMap<String, Value> = prior.exported.clone();
        exported.extend(changes.into_iter().map(|ch| (ch.path, ch.new)));
        exported.extend(desired);
        c.state.users.insert(
            self.source_id.clone(),
            Link {
                target_id,
                exported,
                disabled: None,
                last_cycle: Some(c.cycle_id.clone()),
                manager: manager_of(&self.source),
                ..prior
            },
        );
        c.succeeded(&self.source_id);
    }
}

/// The source manager's id (`user_source` puts it at `manager`).
fn manager_of(source: &Map<String, Value>) -> Option<String> {
    source
        .get("manager")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn patch(c: &Cycle<'_>, update: &Update) -> Request {
    let body = wire::patch(c.config.dialect(), &update.changes);
    Request::patch("Users", &update.target_id, body)
}

impl Machine for UserSync {
    fn object(&self) -> (LinkKind, &str) {
        (LinkKind::User, &self.source_id)
    }

    fn answered(self, c: &mut Cycle<'_>, answer: Result<Response, Failure>) -> Need<Self> {
        let UserSync {
            mut d,
            source_id,
            source,
            stage,
        } = self;
        match (stage, answer) {
            (
                Stage::Match {
                    create,
                    what,
                    mut rest,
                },
                Ok(r),
            ) => {
                let back = |stage| UserSync {
                    d,
                    source_id,
                    source,
                    stage,
                };
                match list_hits(&r) {
                    Err(f) => {
                        let s = back(Stage::Create { create });
                        c.match_failed(s.d, f);
                        Need::Done
                    }
                    Ok((0, _)) => match rest.pop_front() {
                        Some((next, what)) => {
                            Need::Send(back(Stage::Match { create, what, rest }), next)
                        }
                        None => back(Stage::Create { create: Vec::new() }).create(c, create),
                    },
                    Ok((1, Some(found))) => back(Stage::Create { create }).matched(c, found),
                    Ok((n, _)) => {
                        let f = Failure::engine(
                            "DuplicateTargetEntries",
                            format!("{n} Users in the target match {what}"),
                        );
                        let s = back(Stage::Create { create });
                        c.match_failed(s.d, f);
                        Need::Done
                    }
                }
            }
            (Stage::Match { .. }, Err(f)) => {
                c.match_failed(d, f);
                Need::Done
            }
            (Stage::Create { create }, Ok(r)) => {
                let Some(mut d) = c.created(d, &r, &create) else {
                    return Need::Done;
                };
                let id = d.target_id.clone();
                let mut details = Map::new();
                details.insert("ReportableIdentifier".into(), Value::String(d.name.clone()));
                d.step_with(
                    "EntryExportAdd",
                    StepType::Export,
                    Status::Success,
                    format!("User '{}' was created in {}", d.name, c.app()),
                    details,
                );
                c.state.users.insert(
                    source_id.clone(),
                    Link {
                        target_id: id,
                        exported: create.into_iter().collect(),
                        last_cycle: Some(c.cycle_id.clone()),
                        manager: manager_of(&source),
                        ..Link::default()
                    },
                );
                c.succeeded(&source_id);
                c.finish(d, Action::Create, Status::Success, None);
                Need::Done
            }
            (Stage::Create { .. }, Err(f)) => {
                c.fail(d, Action::Create, "EntryExportAdd", "create", f, false);
                Need::Done
            }
            (Stage::Read(update), Ok(r)) => {
                if !r.json.is_object() {
                    let f = Failure::engine(
                        "ServiceIncompatible",
                        format!("the user read back is not a SCIM resource: {}", r.text),
                    );
                    c.fail(d, Action::Update, "EntryExportUpdate", "update", f, false);
                    return Need::Done;
                }
                // What the target holds now, not what was last sent, decides the PATCH.
                let changes = Cycle::diff(&c.config.users.mappings, &update.desired, |p| {
                    wire::extract(&r.json, p)
                });
                let update = Update { changes, ..update };
                let s = UserSync {
                    d,
                    source_id,
                    source,
                    stage: Stage::Create { create: Vec::new() },
                };
                s.update(c, update, false)
            }
            (Stage::Read(_) | Stage::Patch(_), Err(f)) => {
                c.fail(d, Action::Update, "EntryExportUpdate", "update", f, false);
                Need::Done
            }
            (Stage::Patch(update), Ok(_)) => {
                let mut details = Map::new();
                details.insert("ReportableIdentifier".into(), Value::String(d.name.clone()));
                d.step_with(
                    "EntryExportUpdate",
                    StepType::Export,
                    Status::Success,
                    format!("User '{}' was updated in {}", d.name, c.app()),
                    details,
                );
                let s = UserSync {
                    d,
                    source_id,
                    source,
                    stage: Stage::Create { create: Vec::new() },
                };
                s.link(c, update.target_id, update.changes, update.desired);
                c.finish(s.d, Action::Update, Status::Success, None);
                Need::Done
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The user sync's decisions, fed answers by hand: no endpoint, no runtime.

    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;
    use serde_json::json;

    use super::super::directory::Directory;
    use super::super::log::Status;
    use super::super::state::State;
    use super::super::testkit::{
        cases, check_outcome, check_request, check_run, dialect, drive, engine, engine_in,
        exported_link, filter_value, hostile_id, replies, script, with_cycle, Reply, Trace,
    };
    use super::super::{Knobs, UserScope};
    use super::*;

    fn user(upn: &str) -> User {
        let dir = Directory::from_value(&json!({"users": [{"id": "s1",
            "userPrincipalName": upn, "displayName": "Ada", "jobTitle": "Engineer",
            "accountEnabled": true}], "assignments": [{"principalId": "s1"}]}))
        .unwrap();
        dir.users.into_iter().next().unwrap()
    }

    fn ada() -> User {
        user("ada@contoso.com")
    }

    fn scope() -> UserScope {
        UserScope {
            assigned: true,
            active: true,
            soft_deleted: false,
            filter: true,
            filter_detail: String::new(),
        }
    }

    /// Runs Ada's sync against `replies`.
    fn run(c: &mut Cycle<'_>, replies: Vec<Reply>) -> Trace {
        let first = UserSync::start(c, &ada(), &scope());
        drive(c, first, script(replies))
    }

    fn linked(target_id: &str) -> State {
        let mut state = State::default();
        state
            .users
            .insert("s1".into(), exported_link(target_id, "title", "Intern"));
        state
    }

    #[test]
    fn an_unmatched_user_is_queried_then_created_and_linked() {
        let e = engine(Knobs::default());
        let mut state = State::default();
        let t = with_cycle(&e, &mut state, |c| {
            let t = run(
                c,
                vec![Reply::list(&[]), Reply::json(201, json!({"id": "t#1"}))],
            );
            assert_eq!(c.entries.len(), 1);
            assert_eq!(c.entries[0].status(), Status::Success);
            t
        });
        let sent = t.requests();
        assert!(
            sent[0].path.starts_with("/Users?filter=userName+eq+"),
            "{sent:?}"
        );
        assert_eq!((sent[1].method, sent[1].path.as_str()), ("POST", "/Users"));
        assert_eq!(state.users["s1"].target_id, "t#1");
    }

    #[test]
    fn two_matches_are_duplicate_target_entries_and_nothing_is_written() {
        let e = engine(Knobs::default());
        let mut state = State::default();
        let t = with_cycle(&e, &mut state, |c| {
            let t = run(c, vec![Reply::list(&["a", "b"])]);
            assert_eq!(
                c.entries[0].error_code(),
                Some("SystemForCrossDomainIdentityManagementDuplicateTargetEntries")
            );
            t
        });
        assert_eq!(t.steps.len(), 1);
        assert!(state.users.is_empty());
        assert!(state.escrows.contains_key("s1"));
    }

    #[test]
    fn one_match_is_patched_where_the_target_differs_without_a_second_read() {
        let e = engine(Knobs::default());
        let mut state = State::default();
        let found = json!({"id": "t1", "userName": "ada@contoso.com", "displayName": "Ada",
            "title": "Intern", "active": true});
        let t = with_cycle(&e, &mut state, |c| {
            let list = super::super::testkit::list_body(vec![found]);
            run(c, vec![Reply::json(200, list), Reply::status(204)])
        });
        let sent = t.requests();
        assert_eq!(
            (sent[1].method, sent[1].path.as_str()),
            ("PATCH", "/Users/t1")
        );
        let ops = sent[1].body.as_ref().unwrap()["Operations"].to_string();
        assert!(
            ops.contains("\"title\"") && ops.contains("Engineer"),
            "{ops}"
        );
        assert_eq!(state.users["s1"].exported["title"], "Engineer");
    }

    /// A hit or a create answer without a usable id (absent, a number, `""`) used to be
    /// taken as the id `""`: the PATCH went to `/Users/`, the collection, and the user
    /// was linked to nothing, so every later cycle read and PATCHed `/Users/` again.
    #[test]
    fn a_match_or_a_create_without_an_id_fails_and_addresses_nothing() {
        let e = engine(Knobs::default());
        for hit in [json!({}), json!({"id": 7}), json!({"id": ""})] {
            let mut state = State::default();
            let t = with_cycle(&e, &mut state, |c| {
                let list = super::super::testkit::list_body(vec![hit.clone()]);
                let t = run(c, vec![Reply::json(200, list), Reply::status(204)]);
                assert_eq!(
                    c.entries[0].error_code(),
                    Some("SystemForCrossDomainIdentityManagementServiceIncompatible"),
                    "{hit}"
                );
                t
            });
            assert_eq!(t.steps.len(), 1, "{hit}: {:?}", t.lines());
            assert!(state.users.is_empty(), "{hit}");
        }
        let mut state = State::default();
        with_cycle(&e, &mut state, |c| {
            run(
                c,
                vec![Reply::list(&[]), Reply::json(201, json!({"id": ""}))],
            );
            assert_eq!(c.entries[0].status(), Status::Failure);
        });
        assert!(state.users.is_empty());
    }

    #[test]
    fn a_refused_create_is_logged_with_entras_code_and_escrowed() {
        let e = engine(Knobs::default());
        let mut state = State::default();
        with_cycle(&e, &mut state, |c| {
            run(c, vec![Reply::list(&[]), Reply::status(409)]);
            assert_eq!(
                c.entries[0].error_code(),
                Some("SystemForCrossDomainIdentityManagementEntryConflict")
            );
        });
        assert!(state.users.is_empty());
        assert_eq!(state.escrows["s1"].retries, 1);
    }

    #[test]
    fn a_linked_user_is_read_by_its_encoded_id_before_the_patch() {
        let e = engine(Knobs::default());
        let mut state = linked("../x#y");
        let t = with_cycle(&e, &mut state, |c| {
            run(c, vec![Reply::json(200, json!({})), Reply::status(204)])
        });
        assert_eq!(
            t.lines(),
            ["GET /Users/..%2Fx%23y", "PATCH /Users/..%2Fx%23y"]
        );
    }

    #[test]
    fn a_vanished_linked_user_is_invalid_anchor_and_keeps_its_link() {
        let e = engine(Knobs::default());
        let mut state = linked("t1");
        let t = with_cycle(&e, &mut state, |c| {
            let t = run(c, vec![Reply::status(404)]);
            assert_eq!(
                c.entries[0].error_code(),
                Some("SystemForCrossDomainIdentityManagementInvalidAnchor")
            );
            t
        });
        assert_eq!(t.steps.len(), 1, "no PATCH after a failed read");
        assert_eq!(state.users["s1"].target_id, "t1");
    }

    #[test]
    fn a_throttled_create_is_resent_after_retry_after_and_links() {
        let e = engine(Knobs::default());
        let mut state = State::default();
        let t = with_cycle(&e, &mut state, |c| {
            run(
                c,
                vec![
                    Reply::list(&[]),
                    Reply::throttled(Some(7)),
                    Reply::throttled(None),
                    Reply::json(201, json!({"id": "t1"})),
                ],
            )
        });
        assert_eq!(
            t.lines(),
            [
                "GET /Users?filter=userName+eq+%22ada%40contoso.com%22",
                "POST /Users"
            ]
        );
        assert_eq!(
            t.waits,
            [
                std::time::Duration::from_secs(7),
                std::time::Duration::from_secs(1)
            ]
        );
        assert_eq!(state.users["s1"].target_id, "t1");
    }

    #[test]
    fn a_server_error_on_the_patch_is_escrowed_and_retried_next_cycle() {
        let e = engine(Knobs::default());
        let mut state = linked("t1");
        with_cycle(&e, &mut state, |c| {
            run(c, vec![Reply::json(200, json!({})), Reply::status(503)]);
            assert_eq!(
                c.entries[0].error_code(),
                Some("SystemForCrossDomainIdentityManagementWebExceptionProtocolError")
            );
        });
        assert_eq!(state.escrows["s1"].retries, 1);
        // Unchanged in the source, but escrowed: processed again, read and PATCHed.
        let t = with_cycle(&e, &mut state, |c| {
            run(c, vec![Reply::json(200, json!({})), Reply::status(500)])
        });
        assert_eq!(t.lines(), ["GET /Users/t1", "PATCH /Users/t1"]);
        assert_eq!(state.escrows["s1"].retries, 2);
    }

    proptest! {
        #![proptest_config(cases())]

        /// Whatever the endpoint answers, the user sync ends within two requests (one
        /// matching query and a create or PATCH; or a read and a PATCH), addresses only the
        /// linked id or the one the endpoint matched, queries exactly the user's
        /// userName, logs one entry that agrees with the status table, links the user
        /// exactly when that entry is not a failure — to an id a 2xx answer carried — and
        /// processes a failed user again next cycle.
        #[test]
        fn user_sync_holds_its_invariants_whatever_the_endpoint_answers(
            (upn, replies) in filter_value().prop_flat_map(|upn| {
                let subject = json!({"userName": upn, "displayName": "Ada",
                    "title": "Engineer", "active": true});
                (Just(upn), replies(subject))
            }),
            link in prop::option::of(hostile_id()),
            read in any::<bool>(),
            dialect in dialect(),
        ) {
            let e = engine_in(dialect, Knobs { read_before_update: read, ..Knobs::default() });
            let mut state = State::default();
            if let Some(id) = &link {
                state.users.insert("s1".into(), Link { target_id: id.clone(), ..Link::default() });
            }
            let u = user(&upn);
            let (t, status) = with_cycle(&e, &mut state, |c| {
                let first = UserSync::start(c, &u, &scope());
                let t = drive(c, first, script(replies));
                check_run(c, &t, 2)?;
                let mut ids = t.ids_answered();
                ids.extend(link.clone());
                for r in t.requests() {
                    check_request(r, &ids, Some(("userName", &upn)))?;
                }
                let status = check_outcome(c, &t, "s1", false)?;
                Ok::<_, TestCaseError>((t, status))
            })?;
            prop_assert!(!t.steps.is_empty());
            let ok = status.is_some_and(|s| s != Status::Failure);
            match &link {
                Some(id) => prop_assert_eq!(&state.users["s1"].target_id, id),
                None => {
                    prop_assert_eq!(state.users.contains_key("s1"), ok);
                    if let Some(l) = state.users.get("s1") {
                        prop_assert!(t.ids_answered().contains(&l.target_id));
                    }
                }
            }
            if !ok {
                let again = with_cycle(&e, &mut state, |c| {
                    let first = UserSync::start(c, &u, &scope());
                    drive(c, first, script([])).steps.len()
                });
                prop_assert!(again > 0, "a failed user is not retried: {:?}", t.lines());
            }
        }
    }
}
