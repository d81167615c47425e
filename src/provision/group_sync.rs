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
//! members), not from what was last sent.

use std::collections::VecDeque;

use serde_json::{Map, Value};

use super::config::ObjectConfig;
use super::directory::{group_source, Group};
use super::engine::{list_hits, Cycle, Draft, Failure};
use super::log::{Action, Status, StepType};
use super::state::{Link, LinkKind};
use super::sync::{Machine, Need};
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

    /// One match: linked at once, then updated where the target differs.
    fn matched(mut self, c: &mut Cycle<'_>, found: &Value) -> Need<GroupSync> {
        let Some(cfg) = groups(c) else {
            return Need::Done;
        };
        let id = found
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.d.target_id = id.clone();
        let changes = Cycle::diff(&cfg.mappings, &self.desired, |p| wire::extract(found, p));
        c.state.groups.insert(
            self.source_id.clone(),
            Link {
                target_id: id,
                exported: self.desired.iter().cloned().collect(),
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
