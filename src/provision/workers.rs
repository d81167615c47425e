//! Concurrent passes: up to [`Knobs::concurrency`](super::Knobs) objects of one pass are
//! in flight at once, each on its own worker [`Cycle`] holding only that object's slice of
//! the state; results are merged back in object order, so the request log, the log entries
//! (and their ids) and the state come out as a sequential pass would leave them. Passes are
//! barriers: users finish before references start, references before groups, groups
//! before memberships, so an object's create always precedes its reference and membership
//! updates. A 429's `Retry-After` pauses every worker ([`Throttle`]).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use super::config::AppConfig;
use super::engine::Cycle;
use super::log::Entry;
use super::progress::{Phase, Progress, Tick};
use super::state::State;
use super::target::{Request, Target};
use super::{Journal, Knobs, Stats};
use crate::clock::{Clock, IdGenerator};

/// The cycle-wide pause a 429 imposes: no worker sends before `until`.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    until: Mutex<Option<Instant>>,
    /// Requests in a row that got no answer in time, across every worker.
    timeouts_in_a_row: std::sync::atomic::AtomicUsize,
    /// Why the cycle stopped sending, once it has.
    stopped: std::sync::OnceLock<String>,
}

impl Throttle {
    /// Notes one exchange's outcome; after `max` timeouts in a row (or a refused connection
    /// before any answer) the cycle stops sending.
    pub(crate) fn observe(&self, timed_out: bool, max: usize, why: impl FnOnce() -> String) {
        use std::sync::atomic::Ordering::SeqCst;
        if !timed_out {
            self.timeouts_in_a_row.store(0, SeqCst);
            return;
        }
        let n = self.timeouts_in_a_row.fetch_add(1, SeqCst) + 1;
        if n >= max.max(1) {
            let _ = self.stopped.set(format!(
                "stopped after {n} requests in a row got no answer in time (the endpoint hangs); last: {}",
                why()
            ));
        }
    }

    /// Stops the cycle's sending for `why`.
    pub(crate) fn stop(&self, why: String) {
        let _ = self.stopped.set(why);
    }

    /// Why the cycle stopped sending, if it has.
    pub(crate) fn stopped(&self) -> Option<&str> {
        self.stopped.get().map(String::as_str)
    }

    /// Holds every worker back for `wait` from now (an earlier, longer pause stays).
    pub(crate) fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        if let Ok(mut u) = self.until.lock() {
            if u.is_none_or(|t| t < until) {
                *u = Some(until);
            }
        }
    }

    /// Waits out the current pause, if any.
    pub(crate) async fn wait(&self) {
        let until = self.until.lock().ok().and_then(|u| *u);
        if let Some(t) = until {
            if t > Instant::now() {
                tokio::time::sleep_until(t).await;
            }
        }
    }
}

/// What every worker of a cycle shares.
#[derive(Clone)]
pub(crate) struct Shared<'a> {
    pub(crate) config: &'a AppConfig,
    pub(crate) knobs: &'a Knobs,
    pub(crate) clock: &'a Arc<dyn Clock>,
    pub(crate) ids: &'a Arc<dyn IdGenerator>,
    pub(crate) target: &'a Target,
    pub(crate) throttle: &'a Throttle,
    pub(crate) journal: Option<&'a Journal>,
    pub(crate) cycle_id: String,
    pub(crate) initial: bool,
}

impl std::fmt::Debug for Shared<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("cycle_id", &self.cycle_id)
            .field("initial", &self.initial)
            .finish_non_exhaustive()
    }
}

impl<'a> Shared<'a> {
    /// A cycle context over `state`. A `worker` context leaves log-entry ids to the merge.
    pub(crate) fn cycle<'b>(&self, state: &'b mut State, worker: bool) -> Cycle<'b>
    where
        'a: 'b,
    {
        Cycle {
            config: self.config,
            knobs: self.knobs,
            clock: self.clock,
            ids: self.ids,
            target: self.target,
            throttle: self.throttle,
            journal: self.journal,
            state,
            cycle_id: self.cycle_id.clone(),
            initial: self.initial,
            worker,
            pending: Vec::new(),
            entries: Vec::new(),
            requests: Vec::new(),
            sent: 0,
            answered: 0,
            not_found: 0,
            stats: Stats::default(),
            successes: 0,
            failures: 0,
            reference_failures: 0,
            credential_failure: false,
            staged: false,
            process_all: false,
            seed: self.knobs.seed,
        }
    }
}

/// The object a work item owns in the state: its link and its escrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    User(String),
    Group(String),
}

/// One finished work item: its slice of the state and everything its worker recorded.
#[derive(Debug)]
pub(crate) struct Done {
    state: State,
    pending: Vec<(Entry, bool)>,
    requests: Vec<Request>,
    sent: u64,
    answered: u64,
    not_found: u64,
    stats: Stats,
    successes: u64,
    failures: u64,
    reference_failures: u64,
    credential_failure: bool,
}

impl Done {
    /// Hands the worker's state slice back with its records.
    pub(crate) fn with(mut self, state: State) -> Done {
        self.state = state;
        self
    }
}

impl<'a> Cycle<'a> {
    /// What a pass's worker needs of the cycle (borrowing the cycle's inputs, not it).
    pub(crate) fn shared(&self) -> Shared<'a> {
        Shared {
            config: self.config,
            knobs: self.knobs,
            clock: self.clock,
            ids: self.ids,
            target: self.target,
            throttle: self.throttle,
            journal: self.journal,
            cycle_id: self.cycle_id.clone(),
            initial: self.initial,
        }
    }

    /// Requests in flight at once: the knob, except 1 on a dry run (its ids are handed
    /// out in request order, and its stream must not depend on scheduling).
    fn concurrency(&self) -> usize {
        if self.target.is_dry_run() {
            1
        } else {
            self.knobs.concurrency.max(1)
        }
    }

    /// Ends a worker: what it recorded (its state slice is added with [`Done::with`]).
    pub(crate) fn done(self) -> Done {
        Done {
            state: State::default(),
            pending: self.pending,
            requests: self.requests,
            sent: self.sent,
            answered: self.answered,
            not_found: self.not_found,
            stats: self.stats,
            successes: self.successes,
            failures: self.failures,
            reference_failures: self.reference_failures,
            credential_failure: self.credential_failure,
        }
    }

    /// Takes `key`'s link and escrow out of the cycle's state into a worker's slice
    /// (`copy`: the link is cloned and stays readable by other items of the pass).
    pub(crate) fn own(&mut self, key: Key, copy: bool) -> (Key, State) {
        let mut s = State::default();
        let (id, from, to) = match &key {
            Key::User(id) => (id, &mut self.state.users, &mut s.users),
            Key::Group(id) => (id, &mut self.state.groups, &mut s.groups),
        };
        let link = if copy {
            from.get(id).cloned()
        } else {
            from.remove(id)
        };
        if let Some(l) = link {
            to.insert(id.clone(), l);
        }
        if let Some(e) = self.state.escrows.remove(id) {
            s.escrows.insert(id.clone(), e);
        }
        (key, s)
    }

    /// Folds one finished item back in: its link and escrow (present or removed), its
    /// counters, its requests and its log entries (ids handed out here, in item order).
    fn merge(&mut self, key: &Key, mut d: Done) {
        let (id, from, to) = match key {
            Key::User(id) => (id, &mut d.state.users, &mut self.state.users),
            Key::Group(id) => (id, &mut d.state.groups, &mut self.state.groups),
        };
        match from.remove(id) {
            Some(l) => to.insert(id.clone(), l),
            None => to.remove(id),
        };
        match d.state.escrows.remove(id) {
            Some(e) => self.state.escrows.insert(id.clone(), e),
            None => self.state.escrows.remove(id),
        };
        self.sent += d.sent;
        self.answered += d.answered;
        self.not_found += d.not_found;
        self.requests.append(&mut d.requests);
        self.stats.add(&d.stats);
        self.successes += d.successes;
        self.failures += d.failures;
        self.reference_failures += d.reference_failures;
        self.credential_failure |= d.credential_failure;
        for (mut e, keep) in d.pending {
            e.id = self.ids.next_id();
            e.change_id = self.ids.next_id();
            if keep {
                self.entries.push(e);
            }
        }
    }

    /// Runs one pass: `items` in order, each through `slice` (the key and state slice it
    /// owns, or `None` when there is nothing to do) and `work`, at most `concurrency` at
    /// a time; results merged in item order.
    pub(crate) async fn pass<'f, T, W, Fut>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        meter: &mut Meter<'_>,
        mut slice: impl FnMut(&mut Self, &T) -> Option<(Key, State)>,
        work: W,
    ) where
        'a: 'f,
        W: Fn(Shared<'a>, State, T) -> Fut,
        Fut: Future<Output = Done> + Send + 'f,
        T: 'f,
    {
        let limit = self.concurrency();
        // Finished items wait for the ones before them; this bounds how far ahead of the
        // slowest in-flight item the pass may run (and how many results wait in memory).
        let ahead = limit.saturating_mul(16).max(64);
        let mut window: Window<'f, Option<(Key, Done)>> = Window::default();
        let mut items = items.into_iter();
        loop {
            while window.running < limit && window.slots.len() < ahead {
                let Some(item) = items.next() else { break };
                match slice(self, &item) {
                    Some((key, st)) => {
                        let fut = work(self.shared(), st, item);
                        window.push(async move { Some((key, fut.await)) });
                    }
                    None => window.push_ready(None),
                }
            }
            match window.next().await {
                Next::Ready(Some((key, d))) => {
                    self.merge(&key, d);
                    meter.step();
                }
                Next::Ready(None) => meter.step(),
                Next::Freed => {}
                Next::Empty => break,
            }
        }
    }
}

/// Counts finished work items across a cycle's passes and tells the observer.
pub(crate) struct Meter<'p> {
    pub(crate) observer: Option<&'p dyn Progress>,
    pub(crate) phase: Phase,
    pub(crate) done: u64,
    pub(crate) total: u64,
}

impl std::fmt::Debug for Meter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter")
            .field("phase", &self.phase)
            .field("done", &self.done)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl Meter<'_> {
    pub(crate) fn phase(&mut self, phase: Phase) {
        self.phase = phase;
        self.tell();
    }

    pub(crate) fn step(&mut self) {
        self.done = (self.done + 1).min(self.total);
        self.tell();
    }

    fn tell(&self) {
        if let Some(o) = self.observer {
            o.update(Tick {
                phase: self.phase,
                done: self.done,
                total: self.total,
            });
        }
    }
}

type Running<'f, T> = Pin<Box<dyn Future<Output = T> + Send + 'f>>;

enum Slot<'f, T> {
    Running(Running<'f, T>),
    Ready(Option<T>),
}

/// What [`Window::next`] found.
enum Next<T> {
    /// The oldest item's result.
    Ready(T),
    /// A later item finished: room for another.
    Freed,
    /// Nothing left.
    Empty,
}

/// Futures run together, their results yielded in the order they were pushed (an ordered
/// join, polled in the caller's task).
struct Window<'f, T> {
    slots: VecDeque<Slot<'f, T>>,
    /// Slots still running.
    running: usize,
}

impl<T> Default for Window<'_, T> {
    fn default() -> Self {
        Window {
            slots: VecDeque::new(),
            running: 0,
        }
    }
}

impl<'f, T> Window<'f, T> {
    fn push(&mut self, f: impl Future<Output = T> + Send + 'f) {
        self.slots.push_back(Slot::Running(Box::pin(f)));
        self.running += 1;
    }

    /// A result that needs no work, kept in line so it comes out in order.
    fn push_ready(&mut self, v: T) {
        self.slots.push_back(Slot::Ready(Some(v)));
    }

    /// Waits until the oldest result is ready or another slot frees up.
    async fn next(&mut self) -> Next<T> {
        std::future::poll_fn(|cx| {
            let mut freed = false;
            for slot in self.slots.iter_mut() {
                if let Slot::Running(f) = slot {
                    if let Poll::Ready(v) = f.as_mut().poll(cx) {
                        *slot = Slot::Ready(Some(v));
                        self.running -= 1;
                        freed = true;
                    }
                }
            }
            match self.slots.front_mut() {
                None => Poll::Ready(Next::Empty),
                Some(Slot::Ready(v)) => {
                    let v = v.take();
                    self.slots.pop_front();
                    Poll::Ready(v.map_or(Next::Freed, Next::Ready))
                }
                Some(Slot::Running(_)) if freed => Poll::Ready(Next::Freed),
                Some(Slot::Running(_)) => Poll::Pending,
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready<T>(n: Next<T>) -> Option<T> {
        match n {
            Next::Ready(v) => Some(v),
            _ => None,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn results_come_out_in_push_order_whatever_finishes_first() {
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..3)
            .map(|_| tokio::sync::oneshot::channel::<u32>())
            .unzip();
        let mut w: Window<'_, u32> = Window::default();
        for rx in receivers {
            w.push(async move { rx.await.unwrap_or(u32::MAX) });
        }
        w.push_ready(99);
        assert_eq!(w.running, 3);
        let mut s = senders.into_iter();
        let (first, second, third) = (s.next().unwrap(), s.next().unwrap(), s.next().unwrap());
        // The last one finishes first: a slot frees up, nothing comes out yet.
        third.send(2).unwrap();
        assert!(matches!(w.next().await, Next::Freed));
        assert_eq!(w.running, 2);
        first.send(0).unwrap();
        assert_eq!(ready(w.next().await), Some(0));
        second.send(1).unwrap();
        assert_eq!(ready(w.next().await), Some(1));
        assert_eq!(ready(w.next().await), Some(2));
        assert_eq!(ready(w.next().await), Some(99));
        assert!(matches!(w.next().await, Next::Empty));
        assert_eq!(w.running, 0);
    }

    #[derive(Debug, Default)]
    struct Ticks(Mutex<Vec<Tick>>);

    impl Progress for Ticks {
        fn update(&self, tick: Tick) {
            if let Ok(mut t) = self.0.lock() {
                t.push(tick);
            }
        }
    }

    #[test]
    fn the_meter_never_passes_its_total() {
        let ticks = Ticks::default();
        let mut m = Meter {
            observer: Some(&ticks),
            phase: Phase::Users,
            done: 0,
            total: 2,
        };
        m.phase(Phase::Users);
        for _ in 0..3 {
            m.step();
        }
        m.phase(Phase::Groups);
        let seen: Vec<(Phase, u64)> = ticks
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|t| (t.phase, t.done))
            .collect();
        assert_eq!(
            seen,
            [
                (Phase::Users, 0),
                (Phase::Users, 1),
                (Phase::Users, 2),
                (Phase::Users, 2),
                (Phase::Groups, 2)
            ]
        );
    }
}
