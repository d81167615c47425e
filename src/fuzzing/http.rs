//! Fuzz body for `http_request`: any method, path, query, headers and body through the
//! server's request pipeline in-process (no sockets; the same `server::pipeline` the
//! listener drives: route, profile support, auth, faults, handler, journal, encoding),
//! against a tenant built by `MockServerBuilder` with a few users and a group. Every answer is a well-formed reply: a status in 100..=599, never 500 (no
//! input may cause an internal error), every 4xx/5xx a RFC 7644 §3.12 body whose `status`
//! matches; and the store's invariants hold afterwards.

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::Value;

use super::{FuzzJson, FuzzOp, PatchApplyInput};
use crate::clock::SequentialIds;
use crate::server::{pipeline, Mount};

/// Bytes a request target cannot carry raw (RFC 3986 §2, RFC 9112 §3.2).
const WIRE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^');

/// In the path, `?` would start the query.
const WIRE_PATH: &AsciiSet = &WIRE.add(b'?');

/// Methods the fuzzer picks from (by index); the last is not one SCIM uses.
const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "BREW",
];

/// Path pieces the fuzzer mostly builds paths from.
const SEGMENTS: &[&str] = &[
    "scim",
    "v2",
    "Users",
    "Groups",
    ".search",
    "Schemas",
    "ResourceTypes",
    "ServiceProviderConfig",
    "_mock",
    "requests",
    "reset",
    "health",
    "u1",
    "g1",
    "",
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "%2e%2e",
    "User",
];

/// Query strings the fuzzer mostly picks (or appends raw text to).
const QUERIES: &[&str] = &[
    "",
    "filter=userName+eq+%22ann%22",
    "filter=userName eq \"ann\"",
    "excludedAttributes=members&filter=displayName+eq+%22g%22",
    "attributes=id,userName&sortBy=userName&sortOrder=descending",
    "startIndex=0&count=-5",
    "count=0",
    "filter=%ZZ",
    "filter=emails[type+eq+%22work%22].value+eq+%22a@b.c%22",
];

/// A request body.
#[derive(Debug, Clone)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub enum FuzzBody {
    Empty,
    Raw(Vec<u8>),
    Json(FuzzJson),
    Patch(Vec<FuzzOp>),
}

/// The structured input of `http_request`.
#[derive(Debug, Clone)]
#[cfg_attr(any(feature = "fuzzing", test), derive(arbitrary::Arbitrary))]
pub struct HttpRequestInput {
    pub method: u8,
    /// Path segments: an index into the known pieces, or raw text.
    pub segments: Vec<Result<u8, String>>,
    pub query: u8,
    pub raw_query: Option<String>,
    /// 0 SCIM JSON, 1 plain JSON, 2 none, 3 text/plain, else raw.
    pub content_type: u8,
    pub raw_content_type: String,
    pub if_match: Option<String>,
    pub body: FuzzBody,
}

impl HttpRequestInput {
    fn path(&self) -> String {
        let mut path = String::new();
        for s in self.segments.iter().take(8) {
            path.push('/');
            match s {
                Ok(i) => path.push_str(SEGMENTS[usize::from(*i) % SEGMENTS.len()]),
                Err(raw) => path.push_str(raw),
            }
        }
        if path.is_empty() {
            path.push('/');
        }
        path
    }

    fn body(&self) -> Vec<u8> {
        match &self.body {
            FuzzBody::Empty => Vec::new(),
            FuzzBody::Raw(b) => b.clone(),
            FuzzBody::Json(j) => j.to_value().to_string().into_bytes(),
            FuzzBody::Patch(ops) => {
                let input = PatchApplyInput {
                    group: false,
                    strict: false,
                    name: String::new(),
                    nick_name: None,
                    active: None,
                    given_name: None,
                    emails: Vec::new(),
                    employee_number: None,
                    ops: ops.clone(),
                };
                serde_json::to_vec(&input.request()).unwrap_or_default()
            }
        }
    }
}

/// The profile every input is served under, parsed once per process (parsing is the slow
/// part; a clone shares its schemas).
fn profile() -> crate::profile::Profile {
    static PROFILE: std::sync::OnceLock<crate::profile::Profile> = std::sync::OnceLock::new();
    PROFILE
        .get_or_init(crate::profile::Profile::default)
        .clone()
}

/// A fresh tenant as `MockServer` builds it (no auth, admin routes on, sequential ids),
/// with two users (`u1`, `u2`) and a group `g1` holding `u1`; no listener.
pub(super) fn tenant() -> Mount {
    let seed = serde_json::json!({
        "Users": [{"id": "u1", "userName": "ann"}, {"id": "u2", "userName": "bob", "active": true}],
        "Groups": [{"id": "g1", "displayName": "g", "members": [{"value": "u1"}]}]
    });
    let builder = crate::MockServer::builder()
        .profile(profile())
        .no_auth()
        .ids(SequentialIds::new())
        .journal_size(16)
        .seed(seed);
    builder
        .mounts("http://fuzz")
        .unwrap_or_else(|e| panic!("fuzz tenant: {e}"))
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("the builder made no tenant"))
}

/// `http_request`: see the module docs.
pub fn http_request(input: &HttpRequestInput) {
    let tenant = tenant();
    let shared = &tenant.shared;
    let method_name = METHODS[usize::from(input.method) % METHODS.len()];
    let Ok(method) = hyper::Method::from_bytes(method_name.as_bytes()) else {
        return;
    };
    let path = input.path();
    let mut query = QUERIES[usize::from(input.query) % QUERIES.len()].to_owned();
    if let Some(raw) = &input.raw_query {
        query.push_str(raw);
    }
    let content_type = match input.content_type {
        0 => Some("application/scim+json"),
        1 => Some("application/json; charset=utf-8"),
        2 => None,
        3 => Some("text/plain"),
        _ => Some(input.raw_content_type.as_str()),
    };
    // As a client sends them: bytes not allowed in a request target percent-encoded
    // (RFC 3986 §2.1), `%` left alone so malformed escapes still arrive.
    let path = utf8_percent_encode(&path, WIRE_PATH).to_string();
    let query = utf8_percent_encode(&query, WIRE).to_string();
    let uri = if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    };
    let mut request = hyper::Request::builder().method(method).uri(uri.as_str());
    if let Some(ct) = content_type {
        request = request.header(hyper::header::CONTENT_TYPE, ct);
    }
    if let Some(tag) = &input.if_match {
        request = request.header(hyper::header::IF_MATCH, tag.as_str());
    }
    let Ok(request) = request.body(Bytes::from(input.body())) else {
        return;
    };
    let outcome = pipeline::respond(shared, request);
    let status = outcome.response.status().as_u16();
    let text = outcome.response.body();
    assert!((100..=599).contains(&status), "status {status}");
    assert_ne!(
        status, 500,
        "{method_name} {uri}: internal error from input: {text:?}"
    );
    if status >= 400 {
        let v: Value = serde_json::from_slice(text)
            .unwrap_or_else(|e| panic!("{status} error body is not JSON ({e}): {text:?}"));
        assert_eq!(v["schemas"][0], crate::scim::urn::ERROR, "{v}");
        assert_eq!(v["status"], status.to_string(), "{v}");
    }
    shared
        .store
        .check_invariants()
        .unwrap_or_else(|e| panic!("{method_name} {path}: {e}"));
}
