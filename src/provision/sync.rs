//! The sans-IO core of the engine: each object's sync is a [`Machine`] that takes the
//! answer to its last request and says what to send next ([`Need`]), the way the server's
//! `pipeline::Exchange` takes a request and produces a response (and rustls's connection
//! consumes and produces bytes). The decisions (scope, match, diff, create or update, read
//! before write, what a 404 or a second match means) live in the machines; the only I/O is
//! [`Cycle::drive`], which sends each request through the cycle's [`Target`] (HTTP, the
//! in-process server, or a dry run) with the 429 and timeout policy, and hands the answer
//! back. So every decision can be tested by feeding a machine answers by hand, with no
//! endpoint at all (`testkit`: a driver and the checks every machine's tests share).
//!
//! A machine's `answered` gets the cycle as plain bookkeeping (log entries, links,
//! escrows, counters): nothing in it awaits.
//!
//! [`Target`]: super::target::Target

use std::time::Duration;

use serde_json::Value;

use super::engine::{Cycle, Failure};
use super::state::LinkKind;
use super::target::{Request, Response};
use crate::entra::consequence;

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

/// What the cycle makes of one HTTP answer before a machine sees it.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The machine's answer: the 2xx response, or the failure Entra logs for the status.
    Answer(Result<Response, Failure>),
    /// A 429 the retry policy still covers: pause every worker this long, then send the
    /// same request again.
    Retry(Duration),
}

impl Cycle<'_> {
    /// The sans-IO half of [`Cycle::call`], so the machines' tests feed answers through the
    /// same rules as a real endpoint's: a 2xx is the machine's; a 429 is retried after its
    /// `Retry-After` (1 s when absent, capped) while the policy allows (`throttled` counts
    /// the 429s this request got so far); any other status is a [`Failure`] with the code
    /// of the one status table (`entra::consequence`), and a 401 or 403 marks the cycle
    /// for quarantine.
    pub(crate) fn judge(&mut self, r: Response, throttled: &mut u32) -> Verdict {
        if (200..300).contains(&r.status) {
            return Verdict::Answer(Ok(r));
        }
        if r.status == 429 {
            *throttled += 1;
            if let Some(wait) = self.knobs.retry.wait(*throttled, r.retry_after) {
                return Verdict::Retry(wait);
            }
        }
        if consequence::quarantines_at_once(r.status) {
            self.credential_failure = true;
        }
        // From the whole answer: the text's excerpt may end before it.
        let detail = r
            .json
            .get("detail")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        Verdict::Answer(Err(Failure {
            code: consequence::error_code(r.status),
            status: Some(r.status),
            body: r.text,
            detail,
        }))
    }

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

/// The number of resources in a ListResponse, and the first one.
pub(crate) fn list_hits(r: &Response) -> Result<(usize, Option<Value>), Failure> {
    let Some(list) = r.json.get("Resources").and_then(Value::as_array) else {
        let total = r.json.get("totalResults").and_then(Value::as_u64);
        return match total {
            Some(0) => Ok((0, None)),
            _ => Err(Failure::engine(
                "ServiceIncompatible",
                format!("the query answer is not a SCIM ListResponse: {}", r.text),
            )),
        };
    };
    Ok((list.len(), list.first().cloned()))
}

/// A resource's `id` as the engine may keep and address it: a non-empty string (RFC 7643
/// §3.1). Anything else — absent, a number, null, or `""`, which would address the
/// collection (`PATCH /Users/`) and be linked as if it were an object — is no id.
pub(crate) fn resource_id(resource: &Value) -> Option<&str> {
    resource
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
}

/// The failure of a matching query whose one hit has no [`resource_id`].
pub(crate) fn no_id(kind: &str, found: &Value) -> Failure {
    Failure::engine(
        "ServiceIncompatible",
        format!("the matching {kind} has no id: {found}"),
    )
}
