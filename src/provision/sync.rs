//! The sans-IO core of the engine: each object's sync is a [`Machine`] that takes the
//! answer to its last request and says what to send next ([`Need`]), the way the server's
//! `pipeline::Exchange` takes a request and produces a response (and rustls's connection
//! consumes and produces bytes). The decisions (scope, match, diff, create or update, read
//! before write, what a 404 or a second match means) live in the machines; the only I/O is
//! [`Cycle::drive`], which sends each request through the cycle's [`Target`] (HTTP, the
//! in-process server, or a dry run) with the 429 and timeout policy, and hands the answer
//! back. So every decision can be tested by feeding a machine answers by hand, with no
//! endpoint at all (see the tests below).
//!
//! A machine's `answered` gets the cycle as plain bookkeeping (log entries, links,
//! escrows, counters): nothing in it awaits.
//!
//! [`Target`]: super::target::Target

use super::engine::{Cycle, Failure};
use super::state::LinkKind;
use super::target::{Request, Response};

/// What a machine wants next.
#[derive(Debug)]
pub(crate) enum Need<M> {
    /// Send this request and give the machine its answer.
    Send(M, Request),
    /// The object is done: its log entry and link are recorded.
    Done,
}

/// One object's sync, one request at a time.
pub(crate) trait Machine: Sized {
    /// The answer to the request of the last [`Need::Send`]: a 2xx response, or the
    /// failure Entra would log for it (an HTTP error with its status, or no answer).
    fn answered(self, c: &mut Cycle<'_>, answer: Result<Response, Failure>) -> Need<Self>;

    /// The object whose link and escrow the machine's answers may change (its source id).
    fn object(&self) -> (LinkKind, &str);
}

impl Cycle<'_> {
    /// Runs a machine to its end: the one place a machine's requests are sent, and so the
    /// one place every link change an answer makes is handed to the journal, as soon as the
    /// answer is taken in (not when the pass merges its results in order, nor at the next
    /// checkpoint).
    pub(crate) async fn drive<M: Machine>(&mut self, mut need: Need<M>) {
        while let Need::Send(machine, request) = need {
            let answer = self.call(request).await;
            let Some(journal) = self.journal else {
                need = machine.answered(self, answer);
                continue;
            };
            let (kind, id) = machine.object();
            let id = id.to_owned();
            let before = self.state.change(kind, &id);
            need = machine.answered(self, answer);
            let after = self.state.change(kind, &id);
            if after != before {
                journal(&after);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A cycle with no endpoint behind it, for feeding machines answers by hand.

    use serde_json::Value;

    use super::super::engine::Cycle;
    use super::super::state::State;
    use super::super::target::{Response, Target};
    use super::super::workers::Throttle;
    use super::super::{AppConfig, Engine, Knobs};
    use crate::clock::{FixedClock, SequentialIds};

    /// An engine for the built-in `entra-generic` profile, fixed clock and ids.
    pub(crate) fn engine(knobs: Knobs) -> Engine {
        let profile = crate::profile::Profile::builtin("entra-generic").expect("built in");
        Engine::new(AppConfig::for_profile(&profile))
            .with_knobs(knobs)
            .with_clock(FixedClock(time::macros::datetime!(2026-12-07 0:00 UTC)))
            .with_ids(SequentialIds::new())
    }

    /// Runs `f` with a coordinator cycle over `state` (its target is a dry run that no
    /// machine test sends to).
    pub(crate) fn with_cycle<R>(
        engine: &Engine,
        state: &mut State,
        f: impl FnOnce(&mut Cycle<'_>) -> R,
    ) -> R {
        let target = Target::dry_run();
        let throttle = Throttle::default();
        let shared = engine.shared(&target, &throttle, false);
        let mut c = shared.cycle(state, false);
        f(&mut c)
    }

    /// A 2xx answer with a JSON body.
    pub(crate) fn ok(status: u16, json: Value) -> Response {
        Response {
            status,
            retry_after: None,
            text: json.to_string(),
            json,
        }
    }
}
