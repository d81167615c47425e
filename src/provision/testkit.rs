//! The machines' test bench, shared by every machine's tests: a cycle with no endpoint
//! behind it, an endpoint that may answer anything (proptest strategies for what an
//! untrusted SCIM endpoint can send back), a driver that runs one machine to its end
//! through the cycle's own answer rules ([`Cycle::judge`], the sans-IO half of
//! `Cycle::call`), and the checks every machine's run must pass whatever it was answered.
//!
//! The checks state the engine's documented design (docs/provision.md, "One cycle" and
//! "Provisioning logs"; `entra::consequence` for status → code), so a machine that breaks
//! one of them is wrong, not merely different.

use std::collections::VecDeque;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

use super::engine::{Cycle, Failure};
use super::log::Status;
use super::state::{Link, State};
use super::sync::{Machine, Need, Verdict};
use super::target::{Request, Response, Target};
use super::workers::Throttle;
use super::{AppConfig, Engine, Knobs};
use crate::clock::{FixedClock, SequentialIds};
use crate::entra::secrets::Scrubber;
use crate::entra::{consequence, Dialect};
use crate::filter::{AttrOp, CompValue, CompareOp, Filter, PatchPath};

/// An engine for the built-in `entra-generic` profile in `dialect`, fixed clock and ids.
pub(crate) fn engine_in(dialect: Dialect, knobs: Knobs) -> Engine {
    let profile = crate::profile::Profile::builtin("entra-generic").expect("built in");
    let mut config = AppConfig::for_profile(&profile);
    config.spec.dialect = dialect;
    Engine::new(config)
        .with_knobs(knobs)
        .with_clock(FixedClock(time::macros::datetime!(2026-12-07 0:00 UTC)))
        .with_ids(SequentialIds::new())
}

/// [`engine_in`] the legacy dialect (the default job).
pub(crate) fn engine(knobs: Knobs) -> Engine {
    engine_in(Dialect::Legacy, knobs)
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

/// What the endpoint did with one request.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// An HTTP answer: any status, `Retry-After`, any body.
    Http {
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    /// No answer: a timeout, or a broken connection.
    Silence { timed_out: bool },
}

impl Reply {
    pub(crate) fn json(status: u16, body: Value) -> Reply {
        Reply::Http {
            status,
            retry_after: None,
            body: body.to_string(),
        }
    }

    /// `status` with an empty body.
    pub(crate) fn status(status: u16) -> Reply {
        Reply::Http {
            status,
            retry_after: None,
            body: String::new(),
        }
    }

    /// A 429 asking for `secs` (`None`: no `Retry-After`).
    pub(crate) fn throttled(secs: Option<u64>) -> Reply {
        Reply::Http {
            status: 429,
            retry_after: secs.map(Duration::from_secs),
            body: String::new(),
        }
    }

    /// A 200 ListResponse with one `{"id": …}` per id.
    pub(crate) fn list(ids: &[&str]) -> Reply {
        Reply::json(
            200,
            list_body(ids.iter().map(|i| json!({"id": i})).collect()),
        )
    }

    /// The status the endpoint answered, if it answered.
    pub(crate) fn http_status(&self) -> Option<u16> {
        match self {
            Reply::Http { status, .. } => Some(*status),
            Reply::Silence { .. } => None,
        }
    }

    /// The reply as the cycle's edge hands it on: a [`Response`] built as from the wire,
    /// or the transport failure Entra logs for no answer.
    fn received(&self) -> Result<Response, Failure> {
        match self {
            Reply::Http {
                status,
                retry_after,
                body,
            } => Ok(Response::from_body(
                *status,
                *retry_after,
                body.as_bytes(),
                &Scrubber::default(),
            )),
            Reply::Silence { timed_out } => Err(Failure {
                code: consequence::transport_code(*timed_out),
                status: None,
                body: "no answer".into(),
                detail: None,
            }),
        }
    }
}

/// A SCIM ListResponse of `hits`, `totalResults` true to them.
pub(crate) fn list_body(hits: Vec<Value>) -> Value {
    json!({"schemas": [crate::scim::urn::LIST_RESPONSE], "totalResults": hits.len(),
        "Resources": hits})
}

/// An endpoint that gives `replies` in turn, then never answers again.
pub(crate) fn script(replies: impl IntoIterator<Item = Reply>) -> impl FnMut(&Request) -> Reply {
    let mut replies: VecDeque<Reply> = replies.into_iter().collect();
    move |_| {
        replies
            .pop_front()
            .unwrap_or(Reply::Silence { timed_out: true })
    }
}

/// One machine step: the request it asked for, every reply the endpoint gave to it (the
/// 429s the policy retried, then the last), and the answer the machine got.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) request: Request,
    pub(crate) replies: Vec<Reply>,
    pub(crate) answer: Result<Response, Failure>,
}

/// A machine's run.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    pub(crate) steps: Vec<Step>,
    /// The pauses the 429s asked for, in order.
    pub(crate) waits: Vec<Duration>,
    /// The machine said `Done` within [`STEP_LIMIT`] (and the cycle stopped retrying
    /// within as many replies).
    pub(crate) ended: bool,
}

impl Trace {
    pub(crate) fn requests(&self) -> Vec<&Request> {
        self.steps.iter().map(|s| &s.request).collect()
    }

    /// `METHOD path` of each request, for assertions that read like the wire.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| format!("{} {}", s.request.method, s.request.path))
            .collect()
    }

    /// The ids the endpoint handed out in 2xx answers: a resource's `id`, and each
    /// ListResponse hit's. Only these (and the ids the machine was given) may be addressed
    /// or linked.
    pub(crate) fn ids_answered(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for s in &self.steps {
            let Ok(r) = &s.answer else { continue };
            let hits = r.json.get("Resources").and_then(Value::as_array);
            for v in std::iter::once(&r.json).chain(hits.into_iter().flatten()) {
                if let Some(id) = v.get("id").and_then(Value::as_str) {
                    ids.push(id.to_owned());
                }
            }
        }
        ids
    }
}

/// The machines' proptest configuration: 1,000 cases each, or `PROPTEST_CASES` for a
/// longer run (README, "Property tests").
pub(crate) fn cases() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok());
    ProptestConfig::with_cases(cases.unwrap_or(1000))
}

/// More steps than any machine takes on any path: a run that reaches it loops.
pub(crate) const STEP_LIMIT: usize = 64;

/// Runs a machine from `first` to its end, asking `endpoint` for each reply and passing
/// each through [`Cycle::judge`], as [`Cycle::drive`] does with a real endpoint (without
/// the pauses).
pub(crate) fn drive<M: Machine>(
    c: &mut Cycle<'_>,
    first: Need<M>,
    mut endpoint: impl FnMut(&Request) -> Reply,
) -> Trace {
    let mut trace = Trace::default();
    let mut need = first;
    while let Need::Send(machine, request) = need {
        if trace.steps.len() == STEP_LIMIT {
            return trace;
        }
        let mut throttled = 0;
        let mut replies = Vec::new();
        let answer = loop {
            if replies.len() == STEP_LIMIT {
                return trace;
            }
            let reply = endpoint(&request);
            replies.push(reply.clone());
            let verdict = match reply.received() {
                Ok(r) => c.judge(r, &mut throttled),
                Err(f) => Verdict::Answer(Err(f)),
            };
            match verdict {
                Verdict::Answer(a) => break a,
                Verdict::Retry(wait) => trace.waits.push(wait),
            }
        };
        need = machine.answered(c, answer.clone());
        trace.steps.push(Step {
            request,
            replies,
            answer,
        });
    }
    trace.ended = true;
    trace
}

// ---- what an untrusted endpoint may send ----

/// Ids an endpoint may hand out and the engine then keeps: ordinary ones, ones holding what
/// means something in a path or a filter (`#`, `?`, `/`, `"`, `\`, `%`, space, dots,
/// control characters), unicode, dot-segments and huge ones. Never empty: the engine
/// keeps no empty id (see [`answered_id`] for what an answer may carry).
pub(crate) fn hostile_id() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[a-z0-9-]{1,12}",
        4 => r#"[a-z#?/"\\%. é日🙂\t\x01]{1,10}"#,
        1 => prop::sample::select(vec![".", "..", "%2F", "a%20b", "../Users", "x?y=1#z"])
            .prop_map(str::to_owned),
        1 => (1_000usize..20_000).prop_map(|n| "9".repeat(n)),
        1 => "\\PC{1,12}",
    ]
    .boxed()
}

/// What an answer's `id` may be: a string (hostile or empty), a number, null, or absent.
pub(crate) fn answered_id() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        6 => hostile_id().prop_map(|i| Some(Value::String(i))),
        1 => Just(Some(json!(""))),
        1 => Just(Some(json!(7))),
        1 => Just(Some(Value::Null)),
        1 => Just(None),
    ]
    .boxed()
}

/// Source values that go into a matching filter: plain ones, and ones with what a filter
/// literal must escape (`"`, `\`, control characters) or a query must encode.
pub(crate) fn filter_value() -> BoxedStrategy<String> {
    prop_oneof![
        1 => "[a-z]{1,8}@contoso\\.com",
        2 => r#"[a-z"\\ #?/%&+=é日\n\x01]{1,12}"#,
    ]
    .boxed()
}

pub(crate) fn dialect() -> impl Strategy<Value = Dialect> {
    prop_oneof![Just(Dialect::Legacy), Just(Dialect::AadOptscim062020)]
}

/// A resource as an endpoint may return it: an `id` of any shape, and (half the time) the
/// attributes of `subject` (what the engine would send), so reads sometimes agree with the
/// source and the machine takes its redundant-export path.
fn resource(subject: Value) -> BoxedStrategy<Value> {
    (answered_id(), any::<bool>())
        .prop_map(move |(id, agrees)| {
            let mut r = if agrees { subject.clone() } else { json!({}) };
            if let (Value::Object(m), Some(id)) = (&mut r, id) {
                m.insert("id".into(), id);
            }
            r
        })
        .boxed()
}

/// A body: a resource, a ListResponse (with a true or a lying `totalResults`), JSON that
/// is no SCIM answer, text that is no JSON, or nothing.
fn body(subject: Value) -> BoxedStrategy<String> {
    let hits = prop::collection::vec(resource(subject.clone()), 0..3);
    prop_oneof![
        3 => resource(subject).prop_map(|r| r.to_string()),
        4 => hits.clone().prop_map(|h| list_body(h).to_string()),
        1 => (hits, 0u64..5).prop_map(|(h, total)| {
            let mut l = list_body(h);
            l["totalResults"] = json!(total);
            l.to_string()
        }),
        1 => Just(json!({"totalResults": 0}).to_string()),
        1 => prop::sample::select(vec!["[]", "null", "42", "\"x\"", "true", "{}",
            r#"{"Resources":"x"}"#, r#"{"Resources":{}}"#, r#"{"id":{"a":1}}"#,
            r#"{"id":"#, "<html>Bad Gateway</html>"])
            .prop_map(str::to_owned),
        1 => "\\PC{0,40}",
        1 => Just(String::new()),
    ]
    .boxed()
}

/// Any reply: mostly 2xx (so machines get past their first request), Entra's named
/// statuses, any status from 100 to 599, with or without a `Retry-After` (small, or far
/// beyond any cap), and now and then no answer at all.
pub(crate) fn reply(subject: Value) -> BoxedStrategy<Reply> {
    let status = prop_oneof![
        8 => prop::sample::select(vec![200u16, 201, 204]),
        3 => prop::sample::select(vec![
            400u16, 401, 403, 404, 405, 409, 412, 422, 429, 500, 501, 502, 503
        ]),
        2 => 100u16..600,
    ];
    prop_oneof![
        12 => (status, retry_after(), body(subject)).prop_map(|(status, retry_after, body)| {
            Reply::Http { status, retry_after, body }
        }),
        1 => any::<bool>().prop_map(|timed_out| Reply::Silence { timed_out }),
    ]
    .boxed()
}

/// A `Retry-After`: none, a few seconds, or far beyond any cap.
fn retry_after() -> BoxedStrategy<Option<Duration>> {
    prop_oneof![
        2 => Just(None),
        2 => (0u64..120).prop_map(|s| Some(Duration::from_secs(s))),
        1 => (120u64..=u64::from(u32::MAX)).prop_map(|s| Some(Duration::from_secs(s))),
    ]
    .boxed()
}

/// The replies of one run, given in turn (then silence). Now and then a burst of 429s
/// goes in somewhere, long enough at times to outlast the retry policy (single 429s
/// among random statuses almost never come four in a row).
pub(crate) fn replies(subject: Value) -> BoxedStrategy<Vec<Reply>> {
    let burst = (0usize..10, 1usize..6, retry_after());
    (
        prop::collection::vec(reply(subject), 1..10),
        prop::option::weighted(0.15, burst),
    )
        .prop_map(|(mut replies, burst)| {
            if let Some((at, n, retry_after)) = burst {
                let throttled = Reply::Http {
                    status: 429,
                    retry_after,
                    body: String::new(),
                };
                let at = at.min(replies.len());
                replies.splice(at..at, std::iter::repeat_n(throttled, n));
            }
            replies
        })
        .boxed()
}

// ---- what every run must show ----

/// What holds of every machine's run, whatever the endpoint answered:
///
/// - it ends, within `max_steps` requests;
/// - each request was resent only after a 429 the retry policy covers, after the pause
///   `Retry-After` asked for (1 s when absent, capped), at most `retries` times;
/// - each answer is what the one status table says: a 2xx goes to the machine, any other
///   status is a failure with `entra::consequence::error_code`, no answer is
///   `Timeout`/`WebExceptionProtocolError`;
/// - a failure ends the machine: every step but the last was answered 2xx;
/// - the cycle is marked for quarantine exactly when a 401 or 403 was the answer.
pub(crate) fn check_run(c: &Cycle<'_>, t: &Trace, max_steps: usize) -> Result<(), TestCaseError> {
    prop_assert!(t.ended, "no end after {:?}", t.lines());
    prop_assert!(t.steps.len() <= max_steps, "{:?}", t.lines());
    let policy = c.knobs.retry;
    let mut waits = Vec::new();
    for s in &t.steps {
        let (last, retried) = s.replies.split_last().expect("a reply per step");
        prop_assert!(retried.len() <= policy.retries as usize);
        for r in retried {
            let Reply::Http {
                status: 429,
                retry_after,
                ..
            } = r
            else {
                return Err(TestCaseError::fail(format!("resent after {r:?}")));
            };
            waits.push(
                retry_after
                    .unwrap_or(Duration::from_secs(1))
                    .min(policy.max_wait),
            );
        }
        match (last, &s.answer) {
            (Reply::Http { status, .. }, Ok(r)) => {
                prop_assert!((200..300).contains(status), "{status} handed on");
                prop_assert_eq!(r.status, *status);
            }
            (Reply::Http { status, .. }, Err(f)) => {
                prop_assert!(!(200..300).contains(status), "{status} failed");
                prop_assert_eq!(&f.code, &consequence::error_code(*status));
                prop_assert_eq!(f.status, Some(*status));
                if *status == 429 {
                    prop_assert_eq!(retried.len(), policy.retries as usize);
                }
            }
            (Reply::Silence { timed_out }, Err(f)) => {
                prop_assert_eq!(&f.code, &consequence::transport_code(*timed_out));
            }
            (Reply::Silence { .. }, Ok(_)) => {
                return Err(TestCaseError::fail("silence handed on as an answer"));
            }
        }
    }
    prop_assert_eq!(waits, t.waits.clone());
    if let Some((_, before)) = t.steps.split_last() {
        prop_assert!(
            before.iter().all(|s| s.answer.is_ok()),
            "a request after a failure: {:?}",
            t.lines()
        );
    }
    let refused = t.steps.iter().any(|s| {
        s.replies
            .last()
            .and_then(Reply::http_status)
            .is_some_and(consequence::quarantines_at_once)
    });
    prop_assert_eq!(c.credential_failure, refused);
    Ok(())
}

/// Where a request may go: `/{Users|Groups}/{id}` with the id one percent-encoded segment
/// (nothing in it that ends a segment or starts a query or fragment, no dot-segment)
/// that decodes to one of `ids` (a group read adds `?excludedAttributes=members`); the
/// collection for a POST; or a matching query on the collection whose filter parses as the
/// one comparison `attr eq "value"` with exactly the source's value (`filter`), whatever
/// quotes or backslashes the value holds (RFC 7644 §3.4.2.2).
pub(crate) fn check_request(
    req: &Request,
    ids: &[String],
    filter: Option<(&str, &str)>,
) -> Result<(), TestCaseError> {
    let (path, query) = match req.path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (req.path.as_str(), None),
    };
    let mut parts = path.strip_prefix('/').unwrap_or_default().split('/');
    let endpoint = parts.next().unwrap_or_default();
    prop_assert!(endpoint == "Users" || endpoint == "Groups", "{}", req.path);
    let Some(segment) = parts.next() else {
        return match (req.method, query) {
            ("POST", None) => Ok(()),
            ("GET", Some(q)) => check_query(endpoint, q, filter),
            _ => Err(TestCaseError::fail(format!("{} {}", req.method, req.path))),
        };
    };
    prop_assert!(
        parts.next().is_none(),
        "more than one segment: {}",
        req.path
    );
    prop_assert!(!segment.is_empty(), "no id: {}", req.path);
    prop_assert!(segment != "." && segment != "..", "{}", req.path);
    prop_assert!(
        !segment.contains(['#', ' ', '"', '\\']),
        "unencoded: {}",
        req.path
    );
    let id = percent_decode_str(segment)
        .decode_utf8()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        ids.iter().any(|i| *i == id),
        "{} addresses {id:?}, not one of {ids:?}",
        req.path
    );
    match query {
        None => Ok(()),
        Some("excludedAttributes=members") if endpoint == "Groups" && req.method == "GET" => Ok(()),
        Some(q) => Err(TestCaseError::fail(format!("{} ?{q}", req.method))),
    }
}

/// A matching query: `filter=attr eq "value"` (and a group's `excludedAttributes=members`).
fn check_query(
    endpoint: &str,
    query: &str,
    filter: Option<(&str, &str)>,
) -> Result<(), TestCaseError> {
    let Some((attr, value)) = filter else {
        return Err(TestCaseError::fail(format!("an unexpected query: {query}")));
    };
    let mut text = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match (&*k, &*v) {
            ("filter", f) => text = Some(f.to_owned()),
            ("excludedAttributes", "members") if endpoint == "Groups" => {}
            _ => return Err(TestCaseError::fail(format!("?{k}={v}"))),
        }
    }
    let text = text.ok_or_else(|| TestCaseError::fail("no filter"))?;
    let parsed = crate::filter::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let Filter::Attr(exp) = parsed else {
        return Err(TestCaseError::fail(format!("not one comparison: {text}")));
    };
    prop_assert!(exp.path.is(attr, None) && exp.path.urn.is_none(), "{text}");
    prop_assert_eq!(
        exp.op,
        AttrOp::Compare(CompareOp::Eq, CompValue::String(value.to_owned()))
    );
    Ok(())
}

/// The member id a removal path `members[value eq "…"]` names, read back with the
/// server's own parser (so an id's quotes cannot end the literal early).
pub(crate) fn member_in_path(path: &str) -> Result<String, TestCaseError> {
    let parsed = crate::filter::parse_path(path).map_err(|e| TestCaseError::fail(e.to_string()))?;
    if let PatchPath::Value {
        value_path,
        sub_attr: None,
    } = parsed
    {
        if let Filter::Attr(exp) = *value_path.filter {
            if value_path.attr.is("members", None) && exp.path.is("value", None) {
                if let AttrOp::Compare(CompareOp::Eq, CompValue::String(id)) = exp.op {
                    return Ok(id);
                }
            }
        }
    }
    Err(TestCaseError::fail(format!("not one member: {path}")))
}

/// The one log entry of a machine that sent anything, and its agreement with the last
/// answer: a failure answer is a `Failure` entry with that answer's code (except a 404 to
/// a delete, when `gone_on_404`: the object is gone, which is what a delete wants; a
/// success); a 2xx answer ends in success or skip, or in a failure the engine names
/// itself (an answer that is no SCIM resource or list, or several matches). An escrow
/// is held exactly when the entry is a failure (the cases start with none, or the
/// machine clears it on success). Returns the entry's status (`None`: nothing was sent
/// and nothing logged).
pub(crate) fn check_outcome(
    c: &Cycle<'_>,
    t: &Trace,
    source_id: &str,
    gone_on_404: bool,
) -> Result<Option<Status>, TestCaseError> {
    prop_assert!(c.entries.len() <= 1, "{:?}", c.entries);
    let Some(entry) = c.entries.first() else {
        prop_assert!(
            t.steps.is_empty(),
            "sent, but logged nothing: {:?}",
            t.lines()
        );
        return Ok(None);
    };
    prop_assert_eq!(entry.source_identity.id.as_str(), source_id);
    let status = entry.status();
    match t.steps.last().map(|s| &s.answer) {
        None => {}
        Some(Err(f)) if gone_on_404 && f.status == Some(404) => {
            prop_assert_eq!(status, Status::Success, "{:?}", entry);
        }
        Some(Err(f)) => {
            prop_assert_eq!(status, Status::Failure);
            prop_assert_eq!(entry.error_code(), Some(f.code.as_str()));
        }
        Some(Ok(_)) if status == Status::Failure => {
            let code = entry.error_code().unwrap_or_default();
            let named = ["ServiceIncompatible", "DuplicateTargetEntries"]
                .iter()
                .any(|n| code == format!("{}{n}", consequence::SCIM_CONNECTOR));
            prop_assert!(named, "failed on a 2xx with {code}");
        }
        Some(Ok(_)) => {}
    }
    prop_assert_eq!(
        c.state.escrows.contains_key(source_id),
        status == Status::Failure
    );
    Ok(Some(status))
}

/// A link to `target_id` whose last export set `attribute` to `value` (so an object whose
/// source differs is processed).
pub(crate) fn exported_link(target_id: &str, attribute: &str, value: &str) -> Link {
    Link {
        target_id: target_id.into(),
        exported: [(attribute.to_owned(), json!(value))].into_iter().collect(),
        ..Link::default()
    }
}
