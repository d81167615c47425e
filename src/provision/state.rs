//! What the engine keeps between cycles (`--state FILE`, JSON): the watermark, the
//! source → target id links with the values last exported, escrows and the quarantine
//! verdict. Mirrors what Entra keeps in its connector data store (*Understand how
//! Application Provisioning in Microsoft Entra ID works*).
//!
//! # A kill between checkpoints
//!
//! The state file is rewritten whole, atomically, after each pass of a cycle (a
//! checkpoint); rewriting it after every answer would cost the whole state per request,
//! quadratic over a cycle of 100,000 users. Between two checkpoints, though, a killed
//! process (SIGKILL, SIGTERM, Ctrl-C, the OOM killer, a closed terminal) would forget every
//! link made since the last one: a user created but not linked is found again by the next
//! cycle's matching query while it is still in the directory, but never deleted if it left
//! the directory meanwhile; the same for a group. So every answer that changes an object's
//! link or escrow is also a [`LinkChange`], appended the moment it arrives, as one line, to
//! a journal beside the state file (`scimock provision --state FILE` keeps `FILE.journal`;
//! [`Engine::with_journal`](super::Engine::with_journal)). Loading folds the journal into
//! the state ([`State::fold_journal`]); a checkpoint that wrote the state empties it.
//!
//! One `write(2)` of a few hundred bytes per acknowledged write, without fsync: a line
//! written is in the kernel's page cache and survives any end of the process, which is
//! what this is for; a power cut can lose the lines since the last checkpoint (whose write
//! is fsynced). No signal handler is needed: SIGINT and SIGTERM end the process as SIGKILL
//! does and lose no more. What nobody can record is a request in flight at the kill (sent,
//! not yet answered); the next cycle finds such an object by its matching query, as Entra
//! does after an interrupted export. The cost is in BENCHMARKS.md, *Provisioning cycle*.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a linked user was disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DisableReason {
    /// Unassigned from the app or failed a scoping filter. Entra stops managing the
    /// account: a later hard delete in the directory sends no DELETE.
    OutOfScope,
    /// `accountEnabled` false.
    Disabled,
    /// `deletedDateTime` set.
    SoftDeleted,
}

/// A source object provisioned (created or matched) in the target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub target_id: String,
    /// Target path → the value last exported (or read back when matched).
    #[serde(default)]
    pub exported: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<DisableReason>,
    /// Groups: source user id → target user id of each member last exported.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub members: BTreeMap<String, String>,
    /// Users: the cycle that last processed the user (created, matched or updated it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_cycle: Option<String>,
    /// Users: the source manager's id when the user was last processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
}

/// An object whose last export failed; retried on the following cycles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Escrow {
    pub error_code: String,
    /// Retries so far (0 after the first failure).
    pub retries: u32,
    pub first_failure: String,
}

/// The job's quarantine verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quarantine {
    /// Graph `synchronizationQuarantine.reason`.
    pub reason: String,
    /// The rule that fired, in words.
    pub rule: String,
    pub current_began: String,
}

/// The whole state file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// Completed cycles; 0 means the next one is the initial cycle.
    #[serde(default)]
    pub cycles: u64,
    /// When the last cycle finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    #[serde(default)]
    pub users: BTreeMap<String, Link>,
    #[serde(default)]
    pub groups: BTreeMap<String, Link>,
    /// Source id → escrow.
    #[serde(default)]
    pub escrows: BTreeMap<String, Escrow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<Quarantine>,
}

/// Which of the state's maps a [`LinkChange`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LinkKind {
    User,
    Group,
}

/// One object's link and escrow as an answer left them: a line of the link journal
/// (docs/provision.md, *The state file*). Each holds the whole link, not a difference, so applying
/// a line twice (a kill between a checkpoint's write and the journal's emptying) changes
/// nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkChange {
    pub kind: LinkKind,
    /// The source id.
    pub id: String,
    /// The link now; `None`: the object is gone from the target (deleted, or found gone).
    #[serde(default)]
    pub link: Option<Link>,
    #[serde(default)]
    pub escrow: Option<Escrow>,
}

/// A journal line that is not a [`LinkChange`] (and not the last line, which a kill may
/// have cut).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct JournalError {
    pub line: usize,
    pub problem: String,
}

impl State {
    pub fn from_json(text: &str) -> Result<State, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn is_initial(&self) -> bool {
        self.cycles == 0
    }

    /// `id`'s link and escrow as they are now.
    pub(crate) fn change(&self, kind: LinkKind, id: &str) -> LinkChange {
        let links = match kind {
            LinkKind::User => &self.users,
            LinkKind::Group => &self.groups,
        };
        LinkChange {
            kind,
            id: id.to_owned(),
            link: links.get(id).cloned(),
            escrow: self.escrows.get(id).cloned(),
        }
    }

    /// Applies one change as the cycle applied it. A user's link goes away on an answer
    /// only when the user was deleted in the target (or found gone), which also takes the
    /// user out of every group's exported members; so does this.
    pub fn apply(&mut self, change: LinkChange) {
        let LinkChange {
            kind,
            id,
            link,
            escrow,
        } = change;
        match escrow {
            Some(e) => self.escrows.insert(id.clone(), e),
            None => self.escrows.remove(&id),
        };
        let links = match kind {
            LinkKind::User => &mut self.users,
            LinkKind::Group => &mut self.groups,
        };
        if let Some(l) = link {
            links.insert(id, l);
            return;
        }
        if links.remove(&id).is_some() && kind == LinkKind::User {
            for g in self.groups.values_mut() {
                g.members.remove(&id);
            }
        }
    }

    /// Folds a link journal (JSON lines of [`LinkChange`], oldest first) into the state;
    /// returns how many lines were applied. A last line without its newline is the one a
    /// kill cut short: its answer came a moment before the kill, and it is skipped.
    pub fn fold_journal(&mut self, text: &str) -> Result<usize, JournalError> {
        let complete = match text.rfind('\n') {
            Some(end) => &text[..end],
            None => "",
        };
        let mut applied = 0;
        for (n, line) in complete.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let change: LinkChange = serde_json::from_str(line).map_err(|e| JournalError {
                line: n + 1,
                problem: e.to_string(),
            })?;
            self.apply(change);
            applied += 1;
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(target: &str) -> Link {
        Link {
            target_id: target.into(),
            ..Link::default()
        }
    }

    fn line(change: &LinkChange) -> String {
        format!("{}\n", serde_json::to_string(change).unwrap())
    }

    #[test]
    fn a_folded_journal_leaves_the_state_the_cycle_had() {
        let mut cycle = State::default();
        let mut group = link("g1");
        group.members.insert("s1".into(), "t1".into());
        cycle.groups.insert("grp".into(), group);
        let mut journal = String::new();
        // A create, a failure's escrow, then a delete of the first user.
        cycle.users.insert("s1".into(), link("t1"));
        journal += &line(&cycle.change(LinkKind::User, "s1"));
        cycle.escrows.insert(
            "s2".into(),
            Escrow {
                error_code: "x".into(),
                retries: 1,
                first_failure: "2026-12-07T00:00:00Z".into(),
            },
        );
        journal += &line(&cycle.change(LinkKind::User, "s2"));
        let checkpointed = cycle.groups.clone();
        cycle.users.remove("s1");
        cycle.groups.get_mut("grp").unwrap().members.clear();
        journal += &line(&cycle.change(LinkKind::User, "s1"));

        let mut loaded = State {
            groups: checkpointed,
            ..State::default()
        };
        assert_eq!(loaded.fold_journal(&journal), Ok(3));
        assert_eq!(loaded, cycle);
        // Applied again over a state that already holds it: nothing changes.
        assert_eq!(loaded.fold_journal(&journal), Ok(3));
        assert_eq!(loaded, cycle);
    }

    #[test]
    fn a_cut_last_line_is_skipped_and_a_broken_one_before_it_is_an_error() {
        let mut s = State::default();
        let created = LinkChange {
            kind: LinkKind::Group,
            id: "g".into(),
            link: Some(link("t")),
            escrow: None,
        };
        let whole = line(&created);
        let cut = &whole[..whole.len() / 2];
        assert_eq!(s.fold_journal(&format!("{whole}{cut}")), Ok(1));
        assert_eq!(s.groups["g"].target_id, "t");
        assert_eq!(s.fold_journal(cut), Ok(0));
        assert_eq!(s.fold_journal(""), Ok(0));
        let err = s
            .fold_journal(&format!("{cut}\n{whole}"))
            .expect_err("a broken line");
        assert_eq!(err.line, 1);
    }
}
