//! The request pipeline without I/O. One request, in order:
//!
//! 1. tenant: the longest mounted prefix of the path ([`tenant_for`]);
//! 2. route: the pure [`router::route`], then the profile's support (a users-only app has
//!    no `/Groups` at all);
//! 3. auth: `Authorization: Bearer` (RFC 6750 §2.1) unless the route is public;
//! 4. body: the bytes the listener read, or why it could not (413, broken body);
//! 5. faults: the first rule that fires ([`super::faults`]);
//! 6. handler: a `status=` fault short-circuits, otherwise [`handlers::handle`];
//! 7. mangling: `truncate`, `invalid-json`, `content-type=`, `http10` as data;
//! 8. journal: one entry per SCIM request (admin routes are not recorded);
//! 9. encode: an `http::Response<Bytes>`.
//!
//! [`Exchange`] holds one request through those steps. The listener drives it with the
//! two pieces of I/O in between (reading the body, sleeping a `latency=` delay) and
//! applies `close` (a body that fails) on the way out; [`respond`] drives it with a body
//! already in hand, for the `http_request` fuzz target and tests.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode, Version};
use subtle::ConstantTimeEq;

use super::faults::{Fired, Probe};
use super::handlers::{self, Ctx, Reply};
use super::journal::RawEntry;
use super::router::{self, Route};
use super::{Mount, Shared};
use crate::Error;

/// The media type of every body this server sends (RFC 7644 §3.1).
pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// What an `invalid-json` fault sends: the start of a SCIM body, cut off mid-array.
const INVALID_JSON: &[u8] = b"{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:Li";

/// The tenant whose prefix is the longest segment-aligned prefix of `path`, and the rest
/// of the path.
pub(crate) fn tenant_for<'t, 'p>(
    tenants: &'t [Mount],
    path: &'p str,
) -> Option<(&'t Mount, &'p str)> {
    tenants
        .iter()
        .filter_map(|t| strip_tenant(path, &t.prefix).map(|rest| (t, rest)))
        .max_by_key(|(t, _)| t.prefix.len())
}

/// The 404 for a path under no tenant, listing where the tenants live.
pub(crate) fn no_tenant(tenants: &[Mount], path: &str) -> Response<Bytes> {
    let prefixes: Vec<&str> = tenants.iter().map(|t| t.prefix.as_str()).collect();
    let err = Error::not_found(format!(
        "no tenant at `{path}`; this server's tenants live under {}",
        prefixes.join(", ")
    ));
    let reply = Reply::error(&err);
    encode(&reply, reply.body_bytes())
}

/// The rest of `path` after the tenant prefix, at a segment boundary.
fn strip_tenant<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        return Some(path);
    }
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// One request on its way through the pipeline (see the module docs).
#[derive(Debug)]
pub(crate) struct Exchange<'a> {
    shared: &'a Shared,
    parts: Parts,
    /// The URI path without the tenant prefix.
    path: &'a str,
    route: Route,
    started: Instant,
    /// Why the request is answered with an error before the handler (auth, body).
    refused: Option<Error>,
    body: Bytes,
    fired: Option<Fired>,
    /// A `GET` list's query, parsed once by [`Exchange::may_scan`] for the handler.
    list_params: Option<super::params::Params>,
}

/// The answer, and the fault that shaped it.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) response: Response<Bytes>,
    pub(crate) fired: Option<Fired>,
    /// With durable state: the commit of this write, which the listener awaits before
    /// sending `response` (a failed commit is answered 503 instead).
    pub(crate) commit: Option<crate::store::durable::Ack>,
    /// `GET /_mock/requests`: the journal entries the listener streams as the body
    /// (`response` has the status and headers, and no body).
    pub(crate) journal_page: Option<super::handlers::JournalPage>,
}

impl Outcome {
    /// True when a `close` fault fired: the listener breaks the connection instead of
    /// sending the response.
    pub(crate) fn closes(&self) -> bool {
        self.fired.as_ref().is_some_and(|f| f.action.close)
    }
}

impl<'a> Exchange<'a> {
    /// Steps 2 and 3: routes the request and checks its credentials.
    pub(crate) fn new(shared: &'a Shared, parts: Parts, path: &'a str) -> Exchange<'a> {
        let settings = &shared.settings;
        let mut route = router::route(&parts.method, path, &settings.base_path, settings.admin);
        // A users-only app has no /Groups at all (profile `groups` absent).
        if route.kind().is_some_and(|k| !settings.profile.supports(k)) {
            route = Route::NotFound;
        }
        let refused = match (&settings.token, route.is_public()) {
            (Some(token), false) => authorized(&parts.headers, token).err(),
            _ => None,
        };
        Exchange {
            shared,
            parts,
            path,
            route,
            started: Instant::now(),
            refused,
            body: Bytes::new(),
            fired: None,
            list_params: None,
        }
    }

    /// The request head, for the listener's body limits.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// True when the body is worth reading: an unauthenticated request, or one to a
    /// public route (`GET /_mock/health`), is answered without it, so a stranger cannot
    /// hold a connection open by sending a body slowly.
    pub(crate) fn wants_body(&self) -> bool {
        self.refused.is_none() && !self.route.is_public()
    }

    /// Steps 4 and 5: takes the body (or why there is none) and checks the fault rules.
    pub(crate) fn body(&mut self, body: Result<Bytes, Error>) {
        match body {
            Err(e) => self.refused = Some(e),
            Ok(bytes) => {
                self.body = bytes;
                // Fast path: no rules, no probe.
                if !self.route.is_admin() && !self.shared.faults.is_empty() {
                    self.fired = check_faults(self.shared, &self.parts, self.path, &self.route);
                }
            }
        }
    }

    /// Lists and searches can take long (a scan of every resource, RFC 7644 §3.4.2): the
    /// listener runs their handler off the async workers so the point reads queued behind
    /// them keep being answered. (The journal's answer is streamed a chunk at a time.)
    ///
    /// A `GET` list whose filter an index answers (Entra's `userName eq` matching query,
    /// `externalId eq`, a `userName` range), or with no filter and no sort, reads only a
    /// page: it stays on the worker, since handing the worker's other connections to
    /// another thread costs more than the list itself. A `.search` (its filter is in the
    /// body) and a bad query are treated as scans.
    ///
    /// A list's parsed query is kept for the handler, so it is parsed once.
    pub(crate) fn may_scan(&mut self) -> bool {
        if self.refused.is_some() {
            return false;
        }
        match self.route {
            Route::Search(_) => true,
            Route::List(kind) => {
                let query = self.parts.uri.query().unwrap_or("");
                let Ok(params) = super::params::Params::from_query(query) else {
                    return true;
                };
                let scans = params.sort_by.is_some()
                    || params
                        .filter
                        .as_ref()
                        .is_some_and(|f| !self.shared.store.answers_from_index(kind, f));
                self.list_params = Some(params);
                scans
            }
            _ => false,
        }
    }

    /// The `latency=` delay of the fault that fired, to sleep before [`Exchange::finish`].
    pub(crate) fn delay(&self) -> Option<Duration> {
        self.fired.as_ref().and_then(|f| f.delay)
    }

    /// Steps 6 to 9: the handler (or the short-circuit), mangling, journal, encoding.
    pub(crate) fn finish(self) -> Outcome {
        let Exchange {
            shared,
            parts,
            route,
            started,
            refused,
            body,
            fired,
            list_params,
            ..
        } = self;
        let mut commit = None;
        let reply = match (
            &refused,
            fired.as_ref().and_then(|f| Some((f, f.action.status?))),
        ) {
            (Some(e), _) => Reply::error(e),
            (None, Some((f, status))) => injected_reply(f, status),
            (None, None) => {
                let ctx = Ctx {
                    store: &shared.store,
                    journal: &shared.journal,
                    settings: &shared.settings,
                    faults: &shared.faults,
                };
                let request = handlers::Request {
                    route: route.clone(),
                    query: parts.uri.query().unwrap_or_default(),
                    body: &body,
                    content_type: header(&parts.headers, CONTENT_TYPE),
                    if_match: header(&parts.headers, hyper::header::IF_MATCH),
                    if_none_match: header(&parts.headers, hyper::header::IF_NONE_MATCH),
                    list_params,
                };
                match &shared.durable {
                    Some(d) if super::persist::is_write(&route) => {
                        let (reply, ack) = super::persist::write(d, &shared.store, &route, || {
                            handlers::handle(&ctx, &request)
                        });
                        commit = ack;
                        reply
                    }
                    _ => handlers::handle(&ctx, &request),
                }
            }
        };
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let fault = fired.as_ref().map(|f| f.rule.as_str());
        tracing::info!(method = %parts.method, path = %parts.uri, status = reply.status, us = micros, fault, "request");
        let mut response_body = reply.body_bytes();
        let action = fired.as_ref().map(|f| &f.action);
        if reply.body.is_some() {
            if action.is_some_and(|a| a.invalid_json) {
                response_body = Bytes::from_static(INVALID_JSON);
            } else if action.is_some_and(|a| a.truncate) {
                response_body = response_body.slice(..response_body.len() / 2);
            }
        }
        let mut response = encode(&reply, response_body.clone());
        // Only requests this tenant authenticated are recorded (a stranger's token sent to
        // this URL must not reach this tenant's journal), and never their secrets.
        let unauthenticated = refused
            .as_ref()
            .is_some_and(|e| e.kind() == crate::ErrorKind::Unauthorized);
        if !route.is_admin() && !unauthenticated {
            let mut headers = parts.headers;
            super::redact::credential_headers(&mut headers, shared.settings.token.is_some());
            shared.journal.push(RawEntry {
                method: parts.method,
                uri: parts.uri,
                headers,
                body: super::redact::body(body),
                status: reply.status,
                response_body,
                duration_us: micros,
                fault: fired.as_ref().map(|f| f.rule.clone()),
            });
        }
        if let Some(action) = action {
            if let Some(ct) = action.content_type.as_deref() {
                if let Ok(v) = HeaderValue::from_str(ct) {
                    response.headers_mut().insert(CONTENT_TYPE, v);
                }
            }
            if action.http10 {
                *response.version_mut() = Version::HTTP_10;
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
        }
        Outcome {
            response,
            fired,
            commit,
            journal_page: reply.journal_page,
        }
    }
}

/// The whole pipeline for a request whose body is already read, with no delay: what the
/// listener does, minus its I/O (with durable state, the caller awaits
/// [`Outcome::commit`]). The URI path is the path inside the tenant.
pub(crate) fn respond(shared: &Shared, request: Request<Bytes>) -> Outcome {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let mut exchange = Exchange::new(shared, parts, &path);
    if exchange.wants_body() {
        exchange.body(Ok(body));
    }
    let mut outcome = exchange.finish();
    // In-process callers get the journal page as a whole body (the listener streams it).
    if let Some(page) = outcome.journal_page.take() {
        let mut pages = JournalPages::new(page);
        let mut all = Vec::new();
        while let Some(chunk) = pages.next_chunk(&shared.journal) {
            all.extend_from_slice(&chunk);
        }
        *outcome.response.body_mut() = Bytes::from(all);
    }
    outcome
}

/// Journal entries per chunk of a streamed `GET /_mock/requests`.
const JOURNAL_CHUNK: usize = 64;

/// A `GET /_mock/requests` answer as a sequence of chunks: `[`, entries 64 at a time,
/// `]`. Memory is one chunk of decoded entries, not the whole journal twice over.
#[derive(Debug)]
pub(crate) struct JournalPages {
    page: super::handlers::JournalPage,
    wrote: usize,
    done: bool,
}

impl JournalPages {
    pub(crate) fn new(page: super::handlers::JournalPage) -> Self {
        JournalPages {
            page,
            wrote: 0,
            done: false,
        }
    }

    /// The next chunk of the JSON array, or `None` after the closing bracket.
    pub(crate) fn next_chunk(&mut self, journal: &super::journal::Journal) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut out = Vec::with_capacity(16 * 1024);
        if self.wrote == 0 {
            out.push(b'[');
        }
        let room = self
            .page
            .limit
            .saturating_sub(self.wrote)
            .min(JOURNAL_CHUNK);
        let (n, last) = if room == 0 {
            (0, self.page.after)
        } else {
            let p = &self.page;
            journal.write_page(p.after, p.upto, room, self.wrote == 0, &mut out)
        };
        if n == 0 {
            out.push(b']');
            self.done = true;
        } else {
            self.wrote += n;
            self.page.after = last;
        }
        Some(Bytes::from(out))
    }
}

fn header(headers: &HeaderMap, name: hyper::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Authorization: Bearer <token>`, scheme case-insensitive (RFC 6750 §2.1), token
/// compared in constant time. Exactly one `Authorization` field: RFC 9110 §5.3 allows a
/// repeated field only for list-valued headers, which `Authorization` is not, so two are
/// refused rather than trusting either.
fn authorized(headers: &HeaderMap, token: &str) -> Result<(), Error> {
    if headers.get_all(AUTHORIZATION).iter().nth(1).is_some() {
        return Err(Error::unauthorized(
            "the request has more than one Authorization header; send exactly one",
        ));
    }
    let Some(value) = header(headers, AUTHORIZATION).filter(|v| !v.trim().is_empty()) else {
        return Err(Error::unauthorized(
            "missing Authorization header; send `Authorization: Bearer <token>`",
        ));
    };
    let sent = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match sent {
        Some(t) if bool::from(t.as_bytes().ct_eq(token.as_bytes())) => Ok(()),
        Some(_) => Err(Error::unauthorized(
            "the bearer token is not the one this server expects",
        )),
        None => Err(Error::unauthorized(
            "the Authorization header must use the Bearer scheme",
        )),
    }
}

/// The request facts fault rules match on, or `None` outside the SCIM base path.
fn check_faults(shared: &Shared, parts: &Parts, path: &str, route: &Route) -> Option<Fired> {
    let base = shared.settings.base_path.trim_end_matches('/');
    let rest = path.strip_prefix(base)?;
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    // The router's own spelling: empty segments dropped, each segment percent-decoded, so
    // a rule on `/Users` fires for `/Users/`, `//Users` and `/%55sers` alike.
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map_or_else(|_| s.to_owned(), |d| d.into_owned())
        })
        .collect();
    let relative = format!("/{}", segments.join("/"));
    let relative = relative.as_str();
    let filter = parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "filter")
            .map(|(_, v)| v.into_owned())
    });
    shared.faults.check(&Probe {
        method: parts.method.as_str(),
        path: relative,
        resource: route.kind(),
        filter: filter.as_deref(),
        headers: &parts.headers,
    })
}

/// RFC 7644 §3.12 error body for a `status=` fault; the request is not applied. The
/// status is the rule's, so it does not go through [`Error`]'s map.
fn injected_reply(fired: &Fired, status: u16) -> Reply {
    let detail = fired
        .action
        .detail
        .clone()
        .unwrap_or_else(|| format!("injected fault: {}", fired.rule));
    let body = crate::scim::ErrorResponse::new(status, None, detail);
    let mut reply = Reply::serialized(status, &body);
    if let Some(secs) = fired.action.retry_after {
        reply.headers.push(("retry-after", secs.to_string()));
    }
    reply
}

/// The response for `reply` with `body` on the wire.
pub(crate) fn encode(reply: &Reply, body: Bytes) -> Response<Bytes> {
    let mut resp = Response::new(body);
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    if reply.body.is_some() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    }
    for (name, value) in &reply.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.append(*name, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockServer;

    fn tenant(builder: crate::MockServerBuilder) -> Mount {
        builder.mounts("http://test").unwrap().remove(0)
    }

    fn get(path: &str, token: Option<&str>) -> Request<Bytes> {
        let mut r = Request::get(path);
        if let Some(t) = token {
            r = r.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        r.body(Bytes::new()).unwrap()
    }

    #[test]
    fn a_request_without_a_token_is_refused_before_the_handler_and_not_journaled() {
        let t = tenant(MockServer::builder().token("secret"));
        let out = respond(&t.shared, get("/scim/v2/Users", None));
        assert_eq!(out.response.status(), 401);
        assert_eq!(
            out.response.headers()["www-authenticate"],
            "Bearer realm=\"scimock\""
        );
        assert_eq!(out.response.headers()[CONTENT_TYPE], SCIM_JSON);
        // A tenant's journal shows only requests that tenant authenticated (issue 14).
        assert!(t.shared.journal.all().is_empty());
        let ok = respond(&t.shared, get("/scim/v2/Users", Some("secret")));
        assert_eq!(ok.response.status(), 200);
        let journal = t.shared.journal.all();
        assert_eq!((journal.len(), journal[0].status), (1, 200));
    }

    #[test]
    fn a_status_fault_short_circuits_and_a_truncate_fault_mangles_the_body() {
        let t = tenant(
            MockServer::builder()
                .no_auth()
                .fault("GET /Users status=429 retry-after=2 times=1")
                .fault("GET /Users truncate"),
        );
        let throttled = respond(&t.shared, get("/scim/v2/Users", None));
        assert_eq!(throttled.response.status(), 429);
        assert_eq!(throttled.response.headers()["retry-after"], "2");
        assert!(throttled.fired.is_some() && !throttled.closes());
        let whole = respond(&t.shared, get("/scim/v2/ServiceProviderConfig", None));
        let cut = respond(&t.shared, get("/scim/v2/Users", None));
        assert_eq!(cut.response.status(), 200);
        assert!(serde_json::from_slice::<serde_json::Value>(cut.response.body()).is_err());
        assert!(serde_json::from_slice::<serde_json::Value>(whole.response.body()).is_ok());
        let recorded = t.shared.journal.all();
        assert_eq!(recorded.len(), 3);
        assert!(recorded[2]
            .fault
            .as_deref()
            .is_some_and(|f| f.contains("truncate")));
    }

    #[test]
    fn the_longest_tenant_prefix_wins_at_a_segment_boundary() {
        let mounts = MockServer::builder()
            .tenant("a", crate::profile::Profile::default(), None)
            .tenant("ab", crate::profile::Profile::default(), None)
            .mounts("http://test")
            .unwrap();
        let (t, rest) = tenant_for(&mounts, "/ab/scim/v2/Users").unwrap();
        assert_eq!((t.id.as_str(), rest), ("ab", "/scim/v2/Users"));
        assert!(tenant_for(&mounts, "/abc/scim/v2/Users").is_none());
        assert_eq!(no_tenant(&mounts, "/abc").status(), 404);
    }
}
