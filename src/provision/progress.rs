//! Progress of a running cycle, for a progress bar or a log line: the engine calls a
//! [`Progress`] observer after every object it finishes (the CLI draws an `indicatif`
//! bar; the library draws nothing).

use std::fmt;

/// The pass a cycle is in, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Users: scope, match, create or update.
    Users,
    /// User disables and deletes (or staging them).
    Deprovisioning,
    /// Manager references.
    References,
    /// Groups: match, create or update; then group deletes.
    Groups,
    /// Group memberships.
    Memberships,
}

impl Phase {
    /// The phase's name as the progress line shows it.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Users => "users",
            Phase::Deprovisioning => "disables and deletes",
            Phase::References => "references",
            Phase::Groups => "groups",
            Phase::Memberships => "memberships",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a cycle is: `done` of `total` work items over the whole cycle (each user in the
/// user pass, each deprovisioning action, each in-scope user's references, each group,
/// each group delete, each group's memberships), and the current phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    pub phase: Phase,
    pub done: u64,
    pub total: u64,
}

/// Told about a cycle's progress: once when each phase starts and after every work item.
/// `done` never decreases and reaches `total` by the end of the cycle. Called from the
/// engine's task, so it should be quick.
pub trait Progress: Send + Sync + fmt::Debug {
    fn update(&self, tick: Tick);
}
