//! One in-scope group's sync as a sans-IO [`Machine`] (entra-engine §4.1 step 4): the user
//! sync's shape, for groups.
//!
//! ```text
//! linked ────────────────────────────► Read (GET /Groups/{id}) ─► Patch ─► done
//! unlinked ─► Match (GET /Groups?excludedAttributes=members&filter=…)
//!               0 hits, none left ─► Create (POST /Groups, no members) ─► done
//!               1 hit ─────────────► linked, Patch (the answer was the read) ─► done
//!               2+ hits ───────────► DuplicateTargetEntries ─► done
//! ```
//!
//! As for users, the PATCH carries what differs from the group read back (without its
//! members), not from what was last sent. A matched group is linked before its PATCH, with
//! the values read back, so a failed PATCH is seen again by the next cycle's delta.

use std::collections::VecDeque;

use serde_json::{Map, Value};

use super::config::ObjectConfig;
use super::directory::{group_source, Group};
use super::engine::{Cycle, Draft, Failure};
use super::log::{Action, Status, StepType};
use super::state::{Link, LinkKind};
use super::sync::{list_hits, no_id, resource_id, Machine, Need};
use super::target::{Request, Response};
use super::wire::{self, Change};
use crate::profile::provisioning::Action as TargetAction;
use crate::scim::ResourceKind;

/// A group's sync in progress.
#[derive(Debug)]
pub(crate) struct GroupSync {
    d: Draft,
    source_id: String,
    desired: Vec<(String, Value)>,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    /// Waiting for the answer to the matching query on `what`.
    Match {
        what: String,
        rest: VecDeque<(Request, String)>,
    },
    Create,
    Read,
    Patch(Vec<Change>),
}

fn groups(c: &Cycle<'_>) -> Option<ObjectConfig> {
    c.config.groups.clone()
}

impl GroupSync {
    /// Decides the first request for `g`, or that nothing is to be sent.
    pub(crate) fn start(c: &mut Cycle<'_>, g: &Group) -> Need<GroupSync> {
        let Some(cfg) = groups(c) else {
            return Need::Done;
        };
        let source = group_source(g);
        let linked = c.state.groups.get(&g.id).cloned();
        let mut d = Draft::new("Group", &g.id, &g.display());
        let desired = match c.evaluate(&cfg.mappings, &source, linked.is_none()) {
            Ok(v) => v,
            Err(f) => {
                c.fail(d, Action::Create, "EntryExportAdd", "create", f, false);
                return Need::Done;
            }
        };
        let sync = |d, desired, stage| GroupSync {
            d,
            source_id: g.id.clone(),
            desired,
            stage,
        };
        if let Some(link) = linked {
            let changes = Cycle::diff(&cfg.mappings, &desired, |p| link.exported.get(p).cloned());
            if changes.is_empty() {
                return Need::Done;
            }
            d.target_id = link.target_id.clone();
            d.import("Update");
            return sync(d, desired, Stage::Create).patch(c, changes, true);
        }
        d.import("Add");
        let mut rest = c.match_queries(ResourceKind::Group, &desired);
        let Some((first, what)) = rest.pop_front() else {
            d.step("EntryImport", StepType::Import, Status::Skipped, format!("Group '{}' has no value for its matching attribute; it and its members are not provisioned", d.name));
            c.finish(
                d,
                Action::Other,
                Status::Skipped,
                Some(super::log::error(
                    "ImportSkipped",
                    "The group's matching attribute is empty".into(),
                )),
            );
            return Need::Done;
        };
        Need::Send(sync(d, desired, Stage::Match { what, rest }), first)
    }

    fn with(mut self, stage: Stage) -> GroupSync {
        self.stage = stage;
        self
    }

    /// No match: POST without members, if Create is a target object action.
    fn create(mut self, c: &mut Cycle<'_>) -> Need<GroupSync> {
        let desc = format!("Group '{}' will be created in {} (Group is active and assigned in Azure Active Directory, but no matching Group was found in {})", self.d.name, c.app(), c.app());
        self.d.step(
            "EntrySynchronizationAdd",
            StepType::Matching,
            Status::Success,
            desc,
        );
        if !groups(c).is_some_and(|g| g.allows(TargetAction::Create)) {
            c.finish(self.d, Action::Other, Status::Skipped, None);
            return Need::Done;
        }
        let request = Request {
            method: "POST",
            path: "/Groups".into(),
            body: Some(wire::group_body(
                &self.desired,
                &c.config.spec.group_schemas,
            )),
        };
        Need::Send(self.with(Stage::Create), request)
    }

    /// One match: linked at once, then updated where the target differs. A match without
    /// an id cannot be addressed or linked: the match fails.
    fn matched(mut self, c: &mut Cycle<'_>, found: &Value) -> Need<GroupSync> {
        let Some(cfg) = groups(c) else {
            return Need::Done;
        };
        let Some(id) = resource_id(found).map(str::to_owned) else {
            c.match_failed(self.d, no_id("Group", found));
            return Need::Done;
        };
        self.d.target_id = id.clone();
        let changes = Cycle::diff(&cfg.mappings, &self.desired, |p| wire::extract(found, p));
        // The link records what the target was read back holding, not what the PATCH is
        // about to send: should the PATCH fail, the next cycle's delta still sees the
        // difference and retries the group, as every failed object is retried
        // (docs/provision.md, "Escrows").
        let read_back = self
            .desired
            .iter()
            .filter_map(|(p, _)| wire::extract(found, p).map(|v| (p.clone(), v)))
            .collect();
        c.state.groups.insert(
            self.source_id.clone(),
            Link {
                target_id: id,
                exported: read_back,
                ..Link::default()
            },
        );
        if changes.is_empty() {
            return self.redundant(c);
        }
        // The matching query just read the group: no second read.
        self.patch(c, changes, false)
    }

    /// Source and target already agree: logged `Skipped`/`RedundantExport`, nothing sent.
    fn redundant(mut self, c: &mut Cycle<'_>) -> Need<GroupSync> {
        let mut details = Map::new();
        details.insert("SkipReason".into(), Value::String("RedundantExport".into()));
        let desc = format!("The state of the group in both the source and target systems already match. No change to the Group '{}' currently needs to be made.", self.d.name);
        self.d.step_with(
            "EntrySynchronizationSkip",
            StepType::Export,
            Status::Skipped,
            desc,
            details,
        );
        if let Some(l) = c.state.groups.get_mut(&self.source_id) {
            l.exported.extend(self.desired.iter().cloned());
        }
        c.succeeded(&self.source_id);
        c.finish(self.d, Action::Other, Status::Skipped, None);
        Need::Done
    }

    /// PATCH the changes, read by id first when `read` (and the knob).
    fn patch(self, c: &mut Cycle<'_>, changes: Vec<Change>, read: bool) -> Need<GroupSync> {
        if !groups(c).is_some_and(|g| g.allows(TargetAction::Update)) {
            c.finish(self.d, Action::Other, Status::Skipped, None);
            return Need::Done;
        }
        if read && c.knobs.read_before_update {
            let request = Request::read("Groups", &self.d.target_id);
            return Need::Send(self.with(Stage::Read), request);
        }
        let mut s = self;
        s.d.changes(&changes);
        let request = patch_request(c, &s.d.target_id, &changes);
        Need::Send(s.with(Stage::Patch(changes)), request)
    }
}

fn patch_request(c: &Cycle<'_>, target_id: &str, changes: &[Change]) -> Request {
    Request::patch(
        "Groups",
        target_id,
        wire::patch(c.config.dialect(), changes),
    )
}

impl Machine for GroupSync {
    fn object(&self) -> (LinkKind, &str) {
        (LinkKind::Group, &self.source_id)
    }

    fn answered(self, c: &mut Cycle<'_>, answer: Result<Response, Failure>) -> Need<Self> {
        let answer = match answer {
            Ok(r) => r,
            Err(f) => {
                let (action, step, verb) = match self.stage {
                    Stage::Match { .. } => (Action::Create, "EntrySynchronizationAdd", "match"),
                    Stage::Create => (Action::Create, "EntryExportAdd", "create"),
                    Stage::Read | Stage::Patch(_) => {
                        (Action::Update, "EntryExportUpdate", "update")
                    }
                };
                c.fail(self.d, action, step, verb, f, false);
                return Need::Done;
            }
        };
        let GroupSync {
            mut d,
            source_id,
            desired,
            stage,
        } = self;
        match stage {
            Stage::Match { what, mut rest } => match list_hits(&answer) {
                Err(f) => {
                    c.match_failed(d, f);
                    Need::Done
                }
                Ok((0, _)) => {
                    let s = GroupSync {
                        d,
                        source_id,
                        desired,
                        stage: Stage::Create,
                    };
                    match rest.pop_front() {
                        Some((next, what)) => Need::Send(s.with(Stage::Match { what, rest }), next),
                        None => s.create(c),
                    }
                }
                Ok((1, Some(found))) => GroupSync {
                    d,
                    source_id,
                    desired,
                    stage: Stage::Create,
                }
                .matched(c, &found),
                Ok((n, _)) => {
                    let f = Failure::engine(
                        "DuplicateTargetEntries",
                        format!("{n} Groups in the target match {what}"),
                    );
                    c.match_failed(d, f);
                    Need::Done
                }
            },
            Stage::Create => {
                let Some(mut d) = c.created(d, &answer, &desired) else {
                    return Need::Done;
                };
                let id = d.target_id.clone();
                d.step(
                    "EntryExportAdd",
                    StepType::Export,
                    Status::Success,
                    format!("Group '{}' was created in {}", d.name, c.app()),
                );
                c.state.groups.insert(
                    source_id.clone(),
                    Link {
                        target_id: id,
                        exported: desired.into_iter().collect(),
                        ..Link::default()
                    },
                );
                c.succeeded(&source_id);
                c.finish(d, Action::Create, Status::Success, None);
                Need::Done
            }
            Stage::Read => {
                let Some(cfg) = groups(c) else {
                    return Need::Done;
                };
                if !answer.json.is_object() {
                    let f = Failure::engine(
                        "ServiceIncompatible",
                        format!(
                            "the group read back is not a SCIM resource: {}",
                            answer.text
                        ),
                    );
                    c.fail(d, Action::Update, "EntryExportUpdate", "update", f, false);
                    return Need::Done;
                }
                // What the target holds now decides the PATCH.
                let changes =
                    Cycle::diff(&cfg.mappings, &desired, |p| wire::extract(&answer.json, p));
                let s = GroupSync {
                    d,
                    source_id,
                    desired,
                    stage: Stage::Create,
                };
                if changes.is_empty() {
                    return s.redundant(c);
                }
                let mut s = s;
                s.d.changes(&changes);
                let request = patch_request(c, &s.d.target_id, &changes);
                Need::Send(s.with(Stage::Patch(changes)), request)
            }
            Stage::Patch(changes) => {
                d.step(
                    "EntryExportUpdate",
                    StepType::Export,
                    Status::Success,
                    format!("Group '{}' was updated in {}", d.name, c.app()),
                );
                if let Some(l) = c.state.groups.get_mut(&source_id) {
                    l.exported
                        .extend(changes.into_iter().map(|ch| (ch.path, ch.new)));
                }
                c.succeeded(&source_id);
                c.finish(d, Action::Update, Status::Success, None);
                Need::Done
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The group sync's decisions, fed answers by hand: no endpoint, no runtime.

    use std::time::Duration;

    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;
    use serde_json::json;

    use super::super::directory::Directory;
    use super::super::state::State;
    use super::super::testkit::{
        cases, check_outcome, check_request, check_run, dialect, drive, engine, engine_in,
        exported_link, filter_value, hostile_id, list_body, replies, script, with_cycle, Reply,
        Trace,
    };
    use super::super::Knobs;
    use super::*;

    fn group(name: &str) -> Group {
        let dir = Directory::from_value(&json!({"groups": [{"id": "g1",
            "displayName": name, "members": []}],
            "assignments": [{"principalId": "g1", "principalType": "Group"}]}))
        .unwrap();
        dir.groups.into_iter().next().unwrap()
    }

    /// Runs the Staff group's sync against `replies`.
    fn run(c: &mut Cycle<'_>, replies: Vec<Reply>) -> Trace {
        let first = GroupSync::start(c, &group("Staff"));
        drive(c, first, script(replies))
    }

    /// Linked to `target_id`, last exported as `Old` (so the group is processed).
    fn linked(target_id: &str) -> State {
        let mut state = State::default();
        state
            .groups
            .insert("g1".into(), exported_link(target_id, "displayName", "Old"));
        state
    }

    const CODE: &str = "SystemForCrossDomainIdentityManagement";

    #[test]
    fn an_unmatched_group_is_queried_then_created_without_members_and_linked() {
        let e = engine(Knobs::default());
        let mut state = State::default();
        let t = with_cycle(&e, &mut state, |c| {
            run(
                c,
                vec![Reply::list(&[]), Reply::json(201, json!({"id": "g#1"}))],
            )
        });
        assert_eq!(
            t.lines(),
            [
                "GET /Groups?excludedAttributes=members&filter=displayName+eq+%22Staff%22",
                "POST /Groups"
            ]
        );
        let body = t.steps[1].request.body.as_ref().unwrap();
        assert!(body.get("members").is_none(), "{body}");
        assert_eq!(state.groups["g1"].target_id, "g#1");
        assert!(state.escrows.is_empty());
    }

    #[test]
    fn a_linked_group_is_read_without_members_by_its_encoded_id_then_patched() {
        let e = engine(Knobs::default());
        let mut state = linked("a/b c");
        let t = with_cycle(&e, &mut state, |c| {
            run(
                c,
                vec![
                    Reply::json(200, json!({"displayName": "Old"})),
                    Reply::status(204),
                ],
            )
        });
        assert_eq!(
            t.lines(),
            [
                "GET /Groups/a%2Fb%20c?excludedAttributes=members",
                "PATCH /Groups/a%2Fb%20c"
            ]
        );
        assert_eq!(state.groups["g1"].exported["displayName"], "Staff");
    }

    #[test]
    fn a_vanished_linked_group_is_invalid_anchor_and_keeps_its_link() {
        let e = engine(Knobs::default());
        let mut state = linked("t1");
        let t = with_cycle(&e, &mut state, |c| {
            let t = run(c, vec![Reply::status(404)]);
            assert_eq!(
                c.entries[0].error_code(),
                Some(format!("{CODE}InvalidAnchor").as_str())
            );
            t
        });
        assert_eq!(t.steps.len(), 1, "no PATCH after a failed read");
        assert_eq!(state.groups["g1"].target_id, "t1");
        assert!(state.escrows.contains_key("g1"));
    }

    #[test]
    fn a_conflicting_create_is_entry_conflict_escrowed_and_unlinked() {
        let e = engine(Knobs::default());
        let mut state = State::default();
        with_cycle(&e, &mut state, |c| {
            run(c, vec![Reply::list(&[]), Reply::status(409)]);
            assert_eq!(
                c.entries[0].error_code(),
                Some(format!("{CODE}EntryConflict").as_str())
            );
        });
        assert!(state.groups.is_empty());
        assert_eq!(state.escrows["g1"].retries, 1);
    }

    #[test]
    fn a_throttled_patch_is_resent_after_retry_after() {
        let e = engine(Knobs::default());
        let mut state = linked("t1");
        let t = with_cycle(&e, &mut state, |c| {
            run(
                c,
                vec![
                    Reply::json(200, json!({})),
                    Reply::throttled(Some(2)),
                    Reply::status(204),
                ],
            )
        });
        assert_eq!(t.waits, [Duration::from_secs(2)]);
        assert_eq!(t.lines().len(), 2);
        assert_eq!(state.groups["g1"].exported["displayName"], "Staff");
    }

    #[test]
    fn a_group_match_without_an_id_fails_and_links_nothing() {
        let e = engine(Knobs::default());
        let mut state = State::default();
        let t = with_cycle(&e, &mut state, |c| {
            let list = list_body(vec![json!({"displayName": "Staff"})]);
            let t = run(c, vec![Reply::json(200, list)]);
            assert_eq!(
                c.entries[0].error_code(),
                Some(format!("{CODE}ServiceIncompatible").as_str())
            );
            t
        });
        assert_eq!(t.steps.len(), 1);
        assert!(state.groups.is_empty());
    }

    /// A matched group is linked at once; when its PATCH then fails (a 5xx here) the
    /// link must not claim the PATCH's values were exported, or the next cycle's delta sees
    /// nothing to do and the escrowed group is never retried.
    #[test]
    fn a_matched_group_whose_patch_fails_is_retried_next_cycle() {
        let e = engine(Knobs::default());
        let mut state = State::default();
        with_cycle(&e, &mut state, |c| {
            let list = list_body(vec![json!({"id": "t1", "displayName": "staff-old"})]);
            run(c, vec![Reply::json(200, list), Reply::status(500)]);
            assert_eq!(
                c.entries[0].error_code(),
                Some(format!("{CODE}InternalServerError").as_str())
            );
        });
        assert_eq!(state.groups["g1"].target_id, "t1");
        assert!(state.escrows.contains_key("g1"));
        let t = with_cycle(&e, &mut state, |c| {
            run(c, vec![Reply::json(200, json!({})), Reply::status(204)])
        });
        assert_eq!(
            t.lines(),
            [
                "GET /Groups/t1?excludedAttributes=members",
                "PATCH /Groups/t1"
            ]
        );
        assert!(state.escrows.is_empty());
    }

    proptest! {
        #![proptest_config(cases())]

        /// Whatever the endpoint answers, the group sync ends within two requests (a
        /// matching query and a create or PATCH; or a read and a PATCH), addresses only
        /// the linked id or the one the endpoint matched, queries exactly the group's
        /// displayName, logs one entry that agrees with the status table, links only to an
        /// id a 2xx answer carried (and always after a success), and — as docs/provision.md
        /// promises of every failed object — processes the group again next cycle after a
        /// failure.
        #[test]
        fn group_sync_holds_its_invariants_whatever_the_endpoint_answers(
            (name, replies) in filter_value().prop_flat_map(|name| {
                let subject = json!({"displayName": name, "externalId": "g1"});
                (Just(name), replies(subject))
            }),
            link in prop::option::of((hostile_id(), any::<bool>())),
            read in any::<bool>(),
            dialect in dialect(),
        ) {
            let knobs = Knobs { read_before_update: read, ..Knobs::default() };
            let e = engine_in(dialect, knobs);
            let g = group(&name);
            let mut state = State::default();
            if let Some((id, current)) = &link {
                let exported = if *current {
                    [("displayName".to_owned(), json!(name)), ("externalId".to_owned(), json!("g1"))]
                        .into_iter().collect()
                } else {
                    Default::default()
                };
                state.groups.insert("g1".into(), Link { target_id: id.clone(), exported, ..Link::default() });
            }
            let (t, status) = with_cycle(&e, &mut state, |c| {
                let first = GroupSync::start(c, &g);
                let t = drive(c, first, script(replies));
                check_run(c, &t, 2)?;
                let mut ids = t.ids_answered();
                ids.extend(link.iter().map(|(id, _)| id.clone()));
                for r in t.requests() {
                    check_request(r, &ids, Some(("displayName", &name)))?;
                }
                let status = check_outcome(c, &t, "g1", false)?;
                Ok::<_, TestCaseError>((t, status))
            })?;
            // The delta: a linked group whose source is as last exported is not processed.
            prop_assert_eq!(t.steps.is_empty(), link.as_ref().is_some_and(|(_, current)| *current));
            match (&link, state.groups.get("g1")) {
                (Some((id, _)), l) => prop_assert_eq!(l.map(|l| &l.target_id), Some(id)),
                (None, Some(l)) => prop_assert!(t.ids_answered().contains(&l.target_id)),
                (None, None) => prop_assert_eq!(status, Some(Status::Failure)),
            }
            if status == Some(Status::Failure) {
                let again = with_cycle(&e, &mut state, |c| {
                    let first = GroupSync::start(c, &g);
                    drive(c, first, script([])).steps.len()
                });
                prop_assert!(again > 0, "a failed group is not retried: {:?}", t.lines());
            }
        }
    }
}
