//! Fault injection: rules that make chosen requests fail the way production endpoints and
//! networks do (entra-provisioning.md §3.6: throttling, 5xx, timeouts, malformed answers).
//!
//! The rule syntax is specified on [`FaultRule`]; this module parses rules, matches them
//! against requests and counts fires. The server applies what fired (delay, short-circuit
//! or mangled answer) in its request pipeline.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::scim::ResourceKind;

/// A rule that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault rule `{rule}`: {problem}")]
pub struct FaultError {
    pub rule: String,
    pub problem: String,
}

/// When a matching rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Trigger {
    Always,
    Nth(u64),
    Every(u64),
    Probability(f64),
}

/// What a fired rule does.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Action {
    pub(crate) status: Option<u16>,
    pub(crate) retry_after: Option<u64>,
    pub(crate) detail: Option<String>,
    /// Inclusive range of delay; equal ends mean a fixed delay.
    pub(crate) latency: Option<(Duration, Duration)>,
    pub(crate) close: bool,
    pub(crate) truncate: bool,
    pub(crate) invalid_json: bool,
    pub(crate) content_type: Option<String>,
    pub(crate) http10: bool,
}

/// One parsed fault rule.
///
/// A rule is one line: `METHOD PATH [matcher…] [action…]`, e.g.
/// `PATCH /Groups/* status=429 retry-after=2 every=3`.
///
/// | part | form | meaning |
/// |---|---|---|
/// | `METHOD` | `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, or `*` | request method |
/// | `PATH` | glob relative to the base path: `/Users`, `/Groups/*`, `/**` | `*` is one path segment, `**` any number |
/// | `resource=` | `users` \| `groups` | resource type of the request |
/// | `filter=` | text | the `filter` query parameter contains this text |
/// | `header=` | `Name:value` | the request has this header with this value (case-insensitive) |
/// | `nth=` | N ≥ 1 | fire on the N-th matching request only |
/// | `every=` | K ≥ 1 | fire on every K-th matching request (K, 2K, …) |
/// | `p=` | 0..1 | fire with this probability (seeded, so runs repeat) |
/// | `times=` | N | fire at most N times in all |
/// | `status=` | 100..599 | answer with this status and a SCIM error body; the request is not applied |
/// | `retry-after=` | seconds | add `Retry-After` (with `status`, default status 429) |
/// | `detail=` | text (no spaces; `_` for space) | the error body's `detail` |
/// | `latency=` | `250ms`, `2s`, or `100ms..2s` (uniform) | delay before answering; other connections are not blocked |
/// | `close` | flag | process the request, then close the connection before any response byte |
/// | `truncate` | flag | process the request, send only the first half of the body |
/// | `invalid-json` | flag | process the request, send a body that is not JSON |
/// | `content-type=` | media type | process the request, answer with this `Content-Type` |
/// | `http10` | flag | process the request, answer as HTTP/1.0 and close |
///
/// Triggers combine: without `nth`/`every`/`p` a matching rule fires every time. Rules are
/// checked in the order they were added; the first that fires wins. Every fire is counted
/// and recorded in the request journal.
#[derive(Debug, Clone)]
pub struct FaultRule {
    pub(crate) source: String,
    method: Option<String>,
    path: globset::GlobMatcher,
    resource: Option<ResourceKind>,
    filter: Option<String>,
    header: Option<(String, String)>,
    pub(crate) trigger: Trigger,
    pub(crate) times: Option<u64>,
    pub(crate) action: Action,
}

/// The request facts rules match on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe<'a> {
    pub(crate) method: &'a str,
    /// Path relative to the SCIM base path, e.g. `/Groups/abc`.
    pub(crate) path: &'a str,
    pub(crate) resource: Option<ResourceKind>,
    /// The decoded `filter` query parameter, if any.
    pub(crate) filter: Option<&'a str>,
    pub(crate) headers: &'a hyper::HeaderMap,
}

/// A rule that fired for one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fired {
    pub(crate) rule_id: u64,
    pub(crate) rule: String,
    pub(crate) action: Action,
    /// Delay to apply (drawn from the latency range).
    pub(crate) delay: Option<Duration>,
}

fn parse_duration(s: &str) -> Option<Duration> {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse::<u64>().ok().map(Duration::from_millis);
    }
    s.strip_suffix('s')?
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0 && *x <= 3600.0)
        .map(Duration::from_secs_f64)
}

impl FaultRule {
    /// The rule as it was written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Parses one rule line (see the module docs).
    pub fn parse(text: &str) -> Result<FaultRule, FaultError> {
        let fail = |problem: String| FaultError {
            rule: text.to_owned(),
            problem,
        };
        let mut words = text.split_whitespace();
        let method = words
            .next()
            .ok_or_else(|| fail("empty rule; expected `METHOD PATH …`".into()))?;
        let method = match method.to_ascii_uppercase().as_str() {
            "*" => None,
            m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE") => Some(m.to_owned()),
            other => {
                return Err(fail(format!(
                    "`{other}` is not a method (GET, POST, PUT, PATCH, DELETE or *)"
                )))
            }
        };
        let pattern = words
            .next()
            .ok_or_else(|| fail("missing PATH after the method".into()))?;
        if !pattern.starts_with('/') {
            return Err(fail(format!(
                "PATH `{pattern}` must start with `/` (relative to the base path)"
            )));
        }
        let path = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .case_insensitive(true)
            .build()
            .map_err(|e| fail(format!("PATH `{pattern}`: {e}")))?
            .compile_matcher();
        let mut rule = FaultRule {
            source: text.trim().to_owned(),
            method,
            path,
            resource: None,
            filter: None,
            header: None,
            trigger: Trigger::Always,
            times: None,
            action: Action::default(),
        };
        let number = |key: &str, v: &str| {
            v.parse::<u64>()
                .map_err(|_| fail(format!("`{key}` needs a whole number, got `{v}`")))
        };
        // `every=0` / `nth=0` would never fire (or divide by zero): refused, not clamped.
        let at_least_one = |key: &str, v: &str| match number(key, v)? {
            0 => Err(fail(format!("`{key}=0`: counts start at 1"))),
            n => Ok(n),
        };
        for word in words {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            match (key.to_ascii_lowercase().as_str(), value) {
                ("close", "") => rule.action.close = true,
                ("truncate", "") => rule.action.truncate = true,
                ("invalid-json", "") => rule.action.invalid_json = true,
                ("http10", "") => rule.action.http10 = true,
                ("resource", v) => {
                    rule.resource = Some(match v.to_ascii_lowercase().as_str() {
                        "users" | "user" => ResourceKind::User,
                        "groups" | "group" => ResourceKind::Group,
                        _ => return Err(fail(format!("resource `{v}`: use users or groups"))),
                    })
                }
                ("filter", v) if !v.is_empty() => rule.filter = Some(v.replace('_', " ")),
                ("header", v) => {
                    let (name, value) = v
                        .split_once(':')
                        .ok_or_else(|| fail(format!("header `{v}`: use Name:value")))?;
                    rule.header = Some((name.to_owned(), value.to_owned()));
                }
                ("nth", v) => rule.trigger = Trigger::Nth(at_least_one("nth", v)?),
                ("every", v) => rule.trigger = Trigger::Every(at_least_one("every", v)?),
                ("p", v) => {
                    let p: f64 = v
                        .parse()
                        .map_err(|_| fail(format!("`p` needs a probability, got `{v}`")))?;
                    if !(0.0..=1.0).contains(&p) {
                        return Err(fail(format!("`p={v}` is not between 0 and 1")));
                    }
                    rule.trigger = Trigger::Probability(p);
                }
                ("times", v) => rule.times = Some(number("times", v)?),
                ("status", v) => {
                    let s = number("status", v)?;
                    // 1xx are interim answers (RFC 9110 §15.2): a final response must follow,
                    // so an injected 100 or 101 would leave the client waiting or switched.
                    if !(200..=599).contains(&s) {
                        return Err(fail(format!(
                            "status `{v}` is not an HTTP status for a final answer (200-599)"
                        )));
                    }
                    rule.action.status = Some(s as u16);
                }
                ("retry-after", v) => rule.action.retry_after = Some(number("retry-after", v)?),
                ("detail", v) => rule.action.detail = Some(v.replace('_', " ")),
                ("latency", v) => {
                    let (lo, hi) = v.split_once("..").unwrap_or((v, v));
                    let (lo, hi) = parse_duration(lo).zip(parse_duration(hi)).ok_or_else(|| {
                        fail(format!("latency `{v}`: use 250ms, 2s or 100ms..2s"))
                    })?;
                    if lo > hi {
                        return Err(fail(format!("latency `{v}`: the range is backwards")));
                    }
                    rule.action.latency = Some((lo, hi));
                }
                ("content-type", v) if !v.is_empty() => {
                    rule.action.content_type = Some(v.to_owned())
                }
                _ => return Err(fail(format!("unknown part `{word}`"))),
            }
        }
        if rule.action.retry_after.is_some() && rule.action.status.is_none() {
            rule.action.status = Some(429);
        }
        if rule.action == Action::default() {
            return Err(fail("no action: add status=, latency=, close, truncate, invalid-json, content-type= or http10".into()));
        }
        Ok(rule)
    }

    fn matches(&self, p: &Probe<'_>) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(p.method))
            && self.path.is_match(p.path)
            && self.resource.is_none_or(|r| Some(r) == p.resource)
            && self
                .filter
                .as_deref()
                .is_none_or(|f| p.filter.is_some_and(|pf| pf.contains(f)))
            && self.header.as_ref().is_none_or(|(name, value)| {
                p.headers
                    .get(name.as_str())
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.eq_ignore_ascii_case(value))
            })
    }
}

#[derive(Debug)]
struct Slot {
    id: u64,
    rule: FaultRule,
    matched: u64,
    fired: u64,
}

/// What the lock guards: the rules in order, and the seeded generator that `p=` triggers
/// and latency ranges draw from (one generator, so a seed replays the same fires).
#[derive(Debug)]
struct Rules {
    slots: Vec<Slot>,
    rng: fastrand::Rng,
}

/// The rules in force, their counters, and the seeded generator behind `p=` and latency
/// ranges.
#[derive(Debug)]
pub(crate) struct Faults {
    rules: Mutex<Rules>,
    next_id: AtomicU64,
    /// Mirrors `rules.slots.is_empty()` (written under the lock) so the per-request fast
    /// path takes no lock when there are no rules.
    empty: AtomicBool,
}

/// A rule with its counters, as [`crate::MockServer::faults`] and `GET /_mock/faults`
/// list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultStats {
    pub id: u64,
    pub rule: String,
    pub matched: u64,
    pub fired: u64,
}

impl Faults {
    /// No rules; `seed` makes probabilities and latency draws repeatable.
    pub(crate) fn new(seed: u64) -> Faults {
        Faults {
            rules: Mutex::new(Rules {
                slots: Vec::new(),
                rng: fastrand::Rng::with_seed(seed),
            }),
            next_id: AtomicU64::new(1),
            empty: AtomicBool::new(true),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rules> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a rule; returns its id.
    pub(crate) fn add(&self, rule: FaultRule) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut g = self.lock();
        g.slots.push(Slot {
            id,
            rule,
            matched: 0,
            fired: 0,
        });
        self.empty.store(false, Ordering::Release);
        id
    }

    /// Removes one rule; false when there is none with that id.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut g = self.lock();
        let before = g.slots.len();
        g.slots.retain(|s| s.id != id);
        self.empty.store(g.slots.is_empty(), Ordering::Release);
        g.slots.len() != before
    }

    /// Removes every rule.
    pub(crate) fn clear(&self) {
        let mut g = self.lock();
        g.slots.clear();
        self.empty.store(true, Ordering::Release);
    }

    /// The rules with their counters.
    pub(crate) fn list(&self) -> Vec<FaultStats> {
        self.lock()
            .slots
            .iter()
            .map(|s| FaultStats {
                id: s.id,
                rule: s.rule.source.clone(),
                matched: s.matched,
                fired: s.fired,
            })
            .collect()
    }

    /// True when no rule is set (the fast path skips everything else).
    pub(crate) fn is_empty(&self) -> bool {
        self.empty.load(Ordering::Acquire)
    }

    /// The first rule that fires for this request, counting matches and fires.
    pub(crate) fn check(&self, probe: &Probe<'_>) -> Option<Fired> {
        let mut guard = self.lock();
        let Rules { slots, rng } = &mut *guard;
        for slot in slots.iter_mut() {
            if !slot.rule.matches(probe) {
                continue;
            }
            slot.matched += 1;
            if slot.rule.times.is_some_and(|t| slot.fired >= t) {
                continue;
            }
            let fire = match slot.rule.trigger {
                Trigger::Always => true,
                Trigger::Nth(n) => slot.matched == n,
                Trigger::Every(k) => slot.matched % k == 0,
                Trigger::Probability(p) => rng.f64() < p,
            };
            if !fire {
                continue;
            }
            slot.fired += 1;
            let delay = slot.rule.action.latency.map(|(lo, hi)| {
                if lo == hi {
                    lo
                } else {
                    let span = (hi - lo).as_micros() as u64;
                    lo + Duration::from_micros(rng.u64(0..=span))
                }
            });
            return Some(Fired {
                rule_id: slot.id,
                rule: slot.rule.source.clone(),
                action: slot.rule.action.clone(),
                delay,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe<'a>(method: &'a str, path: &'a str, headers: &'a hyper::HeaderMap) -> Probe<'a> {
        let resource = if path.starts_with("/Groups") {
            Some(ResourceKind::Group)
        } else {
            Some(ResourceKind::User)
        };
        Probe {
            method,
            path,
            resource,
            filter: None,
            headers,
        }
    }

    #[test]
    fn every_third_group_patch_is_throttled_and_others_pass() {
        let faults = Faults::new(0);
        faults.add(FaultRule::parse("PATCH /Groups/* status=429 retry-after=2 every=3").unwrap());
        let h = hyper::HeaderMap::new();
        let fired: Vec<bool> = (0..9)
            .map(|_| faults.check(&probe("PATCH", "/Groups/g1", &h)).is_some())
            .collect();
        assert_eq!(
            fired,
            [false, false, true, false, false, true, false, false, true]
        );
        assert!(faults.check(&probe("PATCH", "/Users/u1", &h)).is_none());
        assert!(faults.check(&probe("GET", "/Groups/g1", &h)).is_none());
        let listed = &faults.list()[0];
        assert_eq!((listed.matched, listed.fired), (9, 3));
    }

    #[test]
    fn probability_is_deterministic_given_the_seed() {
        let run = |seed| {
            let f = Faults::new(seed);
            f.add(FaultRule::parse("* /** status=503 p=0.3").unwrap());
            let h = hyper::HeaderMap::new();
            (0..200)
                .map(|_| f.check(&probe("GET", "/Users", &h)).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        let fires = run(7).iter().filter(|x| **x).count();
        assert!((30..=90).contains(&fires), "{fires}");
    }

    #[test]
    fn nth_times_filter_header_and_latency_parse_and_apply() {
        let f = Faults::new(1);
        f.add(FaultRule::parse("GET /Users filter=userName latency=10ms..20ms times=1").unwrap());
        let mut h = hyper::HeaderMap::new();
        let mut p = probe("GET", "/Users", &h);
        assert!(f.check(&p).is_none(), "no filter, no match");
        p.filter = Some("userName eq \"x\"");
        let fired = f.check(&p).unwrap();
        let d = fired.delay.unwrap();
        assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(20));
        assert!(f.check(&p).is_none(), "times=1");
        h.insert("x-test", "yes".parse().unwrap());
        f.add(FaultRule::parse("* /Users/* header=X-Test:YES nth=2 close").unwrap());
        let p = probe("DELETE", "/Users/u1", &h);
        assert!(f.check(&p).is_none());
        assert!(f.check(&p).unwrap().action.close);
    }

    #[test]
    fn is_empty_follows_add_remove_and_clear() {
        let f = Faults::new(0);
        assert!(f.is_empty());
        let id = f.add(FaultRule::parse("GET /Users status=500").unwrap());
        assert!(!f.is_empty());
        assert!(f.remove(id));
        assert!(f.is_empty());
        f.add(FaultRule::parse("GET /Users status=500").unwrap());
        f.clear();
        assert!(f.is_empty());
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        for (rule, says) in [
            ("", "empty rule"),
            ("FETCH /Users status=500", "not a method"),
            ("GET Users status=500", "must start with `/`"),
            ("GET /Users", "no action"),
            ("GET /Users status=700", "not an HTTP status"),
            ("GET /Users status=100", "not an HTTP status"),
            ("GET /Users status=101", "not an HTTP status"),
            ("GET /Users p=2 status=500", "not between 0 and 1"),
            ("GET /Users latency=fast", "use 250ms"),
            ("GET /Users wobble", "unknown part `wobble`"),
        ] {
            let e = FaultRule::parse(rule).unwrap_err().to_string();
            assert!(e.contains(says), "{rule}: {e}");
        }
    }
}
