//! Sequences of what Entra sends, as [`Step`]s a [`crate::fuzz::Fuzzer`] runs against an
//! endpoint and the model: steps drawn one by one ([`step`], [`steps`], [`membership`]),
//! which proptest shrinks as it shrinks any `Vec` (steps deleted, then each step's values
//! simplified); the fuzzer's own seeded sequences ([`sequence`]); and a given sequence
//! ([`sublists`]). Any sublist of a sequence is a valid one: a step whose slot holds
//! nothing sends nothing.

use proptest::prelude::*;
use proptest::strategy::{NewTree, Union, ValueTree};
use proptest::test_runner::TestRunner;

use super::entra::{any_change, matching_text, user_values};
use crate::fuzz::{Case, Kind, MatchBy, Step, GROUP_SLOTS, USER_SLOTS};

fn user_slot() -> impl Strategy<Value = u8> {
    0..USER_SLOTS
}

fn group_slot() -> impl Strategy<Value = u8> {
    0..GROUP_SLOTS
}

fn case() -> impl Strategy<Value = Case> {
    proptest::sample::select(vec![Case::Same, Case::Upper, Case::Lower, Case::Swap])
}

fn member_slots() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(user_slot(), 1..=3)
}

/// The user steps, weighted as the fuzzer's generator weighs them.
fn user_steps() -> Vec<(u32, BoxedStrategy<Step>)> {
    let by = proptest::sample::select(vec![
        MatchBy::UserName,
        MatchBy::ExternalId,
        MatchBy::WorkEmail,
    ]);
    vec![
        (
            14,
            (user_slot(), user_values())
                .prop_map(|(slot, user)| Step::CreateUser { slot, user })
                .boxed(),
        ),
        (
            3,
            (user_slot(), case(), user_values())
                .prop_map(|(of, case, user)| Step::CreateClash { of, case, user })
                .boxed(),
        ),
        (
            14,
            (user_slot(), by, case())
                .prop_map(|(slot, by, case)| Step::Query { slot, by, case })
                .boxed(),
        ),
        (
            13,
            (user_slot(), proptest::collection::vec(any_change(), 1..=3))
                .prop_map(|(slot, changes)| Step::Update { slot, changes })
                .boxed(),
        ),
        (
            8,
            (user_slot(), any::<bool>())
                .prop_map(|(slot, active)| Step::SetActive { slot, active })
                .boxed(),
        ),
        (
            10,
            user_slot()
                .prop_map(|slot| Step::Read {
                    kind: Kind::User,
                    slot,
                })
                .boxed(),
        ),
        (
            3,
            user_slot()
                .prop_map(|slot| Step::Delete {
                    kind: Kind::User,
                    slot,
                })
                .boxed(),
        ),
    ]
}

/// The group steps that change membership, and a group's create and read.
fn member_steps() -> Vec<(u32, BoxedStrategy<Step>)> {
    vec![
        (
            6,
            (group_slot(), matching_text())
                .prop_map(|(slot, name)| Step::CreateGroup { slot, name })
                .boxed(),
        ),
        (
            12,
            (group_slot(), member_slots())
                .prop_map(|(group, users)| Step::AddMembers { group, users })
                .boxed(),
        ),
        (
            6,
            (group_slot(), member_slots())
                .prop_map(|(group, users)| Step::RemoveMembers { group, users })
                .boxed(),
        ),
        (
            5,
            group_slot()
                .prop_map(|slot| Step::Read {
                    kind: Kind::Group,
                    slot,
                })
                .boxed(),
        ),
    ]
}

/// One step Entra sends, of any kind: user creates (and creates clashing with another
/// user's `userName` in another case), matching queries, attribute updates, disables and
/// re-enables, reads and deletes; with `groups`, group creates, renames, queries, reads and
/// deletes, and member adds and removes. Slots are few (4 users, 2 groups), so steps meet
/// the same objects often.
pub fn step(groups: bool) -> BoxedStrategy<Step> {
    let mut arms = user_steps();
    if groups {
        arms.extend(member_steps());
        arms.push((
            2,
            (group_slot(), matching_text())
                .prop_map(|(slot, name)| Step::RenameGroup { slot, name })
                .boxed(),
        ));
        arms.push((
            2,
            (group_slot(), case())
                .prop_map(|(slot, case)| Step::QueryGroup { slot, case })
                .boxed(),
        ));
        arms.push((
            2,
            group_slot()
                .prop_map(|slot| Step::Delete {
                    kind: Kind::Group,
                    slot,
                })
                .boxed(),
        ));
    }
    Union::new_weighted(arms).boxed()
}

/// A sequence of `len` [`step`]s drawn one by one. Proptest shrinks it as any `Vec`:
/// steps deleted one at a time, then each remaining step's values simplified.
pub fn steps(
    groups: bool,
    len: impl Into<proptest::collection::SizeRange>,
) -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(step(groups), len)
}

/// A group-membership sequence: 1–4 user creates and two group creates, then `len` steps of
/// member adds and removes (batches and one by one), user deletes (which must take the
/// user out of its groups) and group reads (which compare the members).
pub fn membership(
    len: impl Into<proptest::collection::SizeRange>,
) -> impl Strategy<Value = Vec<Step>> {
    let users =
        proptest::collection::vec((user_slot(), user_values()), 1..=usize::from(USER_SLOTS))
            .prop_map(|list| {
                list.into_iter()
                    .map(|(slot, user)| Step::CreateUser { slot, user })
                    .collect::<Vec<_>>()
            });
    let groups = (matching_text(), matching_text()).prop_map(|(a, b)| {
        vec![
            Step::CreateGroup { slot: 0, name: a },
            Step::CreateGroup { slot: 1, name: b },
        ]
    });
    let mut arms = member_steps();
    arms.push((
        2,
        user_slot()
            .prop_map(|slot| Step::Delete {
                kind: Kind::User,
                slot,
            })
            .boxed(),
    ));
    let rest = proptest::collection::vec(Union::new_weighted(arms), len);
    (users, groups, rest).prop_map(|(mut users, groups, rest)| {
        users.extend(groups);
        users.extend(rest);
        users
    })
}

/// The fuzzer's own sequences (`scimock fuzz`'s cases): [`crate::fuzz::sequence`] of a
/// random seed, at most `max_steps` long, creates first and read-backs last. Shrinks as
/// [`sublists`] does.
pub fn sequence(max_steps: usize, groups: bool) -> impl Strategy<Value = Vec<Step>> {
    Seeded { max_steps, groups }
}

/// Always `steps`, and on a failure its sublists: steps deleted one at a time, front to
/// back, each deletion kept when the property still fails, as proptest shrinks a `Vec`
/// (`proptest::collection::vec`'s deletion pass). For shrinking a sequence found
/// elsewhere (a fuzz run's, a saved one) with proptest. [`crate::fuzz::shrink::minimize`]
/// repeats such passes until one deletes nothing (docs/fuzz.md, "Shrinking, compared").
pub fn sublists(steps: Vec<Step>) -> impl Strategy<Value = Vec<Step>> {
    Given(steps)
}

#[derive(Debug, Clone)]
struct Seeded {
    max_steps: usize,
    groups: bool,
}

impl Strategy for Seeded {
    type Tree = Deletions;
    type Value = Vec<Step>;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let seed = any::<u64>().new_tree(runner)?.current();
        Ok(Deletions::new(crate::fuzz::sequence(
            seed,
            self.max_steps,
            self.groups,
        )))
    }
}

#[derive(Debug, Clone)]
struct Given(Vec<Step>);

impl Strategy for Given {
    type Tree = Deletions;
    type Value = Vec<Step>;

    fn new_tree(&self, _: &mut TestRunner) -> NewTree<Self> {
        Ok(Deletions::new(self.0.clone()))
    }
}

/// A sequence that shrinks by deleting steps, as `proptest::collection::vec`'s tree does
/// before it shrinks elements: index 0, 1, 2, … each tried once; a deletion the property
/// passes without is undone (`complicate`). Never below one step.
#[derive(Debug, Clone)]
struct Deletions {
    steps: Vec<Step>,
    kept: Vec<bool>,
    next: usize,
    last: Option<usize>,
}

impl Deletions {
    fn new(steps: Vec<Step>) -> Deletions {
        Deletions {
            kept: vec![true; steps.len()],
            steps,
            next: 0,
            last: None,
        }
    }
}

impl ValueTree for Deletions {
    type Value = Vec<Step>;

    fn current(&self) -> Vec<Step> {
        self.steps
            .iter()
            .zip(&self.kept)
            .filter(|(_, k)| **k)
            .map(|(s, _)| s.clone())
            .collect()
    }

    fn simplify(&mut self) -> bool {
        if self.kept.iter().filter(|k| **k).count() <= 1 {
            return false;
        }
        while self.next < self.steps.len() {
            let i = self.next;
            self.next += 1;
            if self.kept[i] {
                self.kept[i] = false;
                self.last = Some(i);
                return true;
            }
        }
        false
    }

    fn complicate(&mut self) -> bool {
        match self.last.take() {
            Some(i) => {
                self.kept[i] = true;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletions_try_each_step_once_and_keep_what_the_property_needs() {
        let steps: Vec<Step> = (0..6)
            .map(|slot| Step::Read {
                kind: Kind::User,
                slot,
            })
            .collect();
        let mut tree = Deletions::new(steps);
        // The "property" fails while slots 1 and 4 are both read.
        let fails = |v: &[Step]| {
            let slots: Vec<u8> = v
                .iter()
                .filter_map(|s| match s {
                    Step::Read { slot, .. } => Some(*slot),
                    _ => None,
                })
                .collect();
            slots.contains(&1) && slots.contains(&4)
        };
        let mut runs = 0;
        while {
            runs += 1;
            if fails(&tree.current()) {
                tree.simplify()
            } else {
                tree.complicate()
            }
        } {}
        let left: Vec<Step> = tree.current();
        assert_eq!(
            left,
            vec![
                Step::Read {
                    kind: Kind::User,
                    slot: 1
                },
                Step::Read {
                    kind: Kind::User,
                    slot: 4
                }
            ]
        );
        // Six deletions tried; two undone and re-run.
        assert_eq!(runs, 9, "{runs}");
    }
}
