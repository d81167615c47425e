//! Injectable time and identity: the [`Clock`] that stamps `meta.created` /
//! `meta.lastModified` (RFC 7643 §3.1) and the [`IdGenerator`] that assigns server-side
//! `id`s. Tests and snapshots plug in [`FixedClock`] / [`StepClock`] and [`SequentialIds`]
//! so output is deterministic by construction, not by redaction.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;

/// A source of "now".
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Always the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// Starts at `start` and advances by `step` on every call, so created and lastModified
/// differ after an update while staying predictable.
#[derive(Debug)]
pub struct StepClock {
    start: OffsetDateTime,
    step: time::Duration,
    calls: AtomicU64,
}

impl StepClock {
    /// A clock that returns `start`, `start + step`, `start + 2·step`, …
    pub fn new(start: OffsetDateTime, step: time::Duration) -> Self {
        StepClock {
            start,
            step,
            calls: AtomicU64::new(0),
        }
    }
}

impl Clock for StepClock {
    fn now(&self) -> OffsetDateTime {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        self.start + self.step * n
    }
}

/// A source of resource `id`s (RFC 7643 §3.1: assigned by the service provider).
pub trait IdGenerator: Send + Sync + fmt::Debug {
    /// A fresh id, never handed out before by this generator.
    fn next_id(&self) -> String;
}

/// 20 random lowercase hex characters, the shape of Entra's examples (`48af03ac28ad4fb88478`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn next_id(&self) -> String {
        let n: u128 = fastrand::u128(..);
        format!("{:020x}", n & ((1u128 << 80) - 1))
    }
}

/// `00000000000000000001`, `00000000000000000002`, …: 20 digits, so ids sort in creation
/// order.
#[derive(Debug, Default)]
pub struct SequentialIds(AtomicU64);

impl SequentialIds {
    /// Ids starting at 1.
    pub fn new() -> Self {
        SequentialIds(AtomicU64::new(0))
    }
}

impl IdGenerator for SequentialIds {
    fn next_id(&self) -> String {
        format!("{:020}", self.0.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_twenty_hex_characters() {
        let id = RandomIds.next_id();
        assert_eq!(id.len(), 20);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn step_clock_advances_by_its_step() {
        let start = time::macros::datetime!(2024-01-01 0:00 UTC);
        let c = StepClock::new(start, time::Duration::seconds(1));
        assert_eq!(c.now(), start);
        assert_eq!(c.now(), start + time::Duration::seconds(1));
    }
}
