//! Fuzz body for `http_request`: any method, path, query, headers and body through the
//! pure router and the handlers in-process (no sockets), against a store with a few users
//! and a group. Every answer is a well-formed reply: a status in 100..=599, never 500 (no
//! input may cause an internal error), every 4xx/5xx a RFC 7644 §3.12 body whose `status`
//! matches; and the store's invariants hold afterwards.

use std::sync::Arc;

use serde_json::Value;

use super::{FuzzJson, FuzzOp, PatchApplyInput};
use crate::server::handlers::{self, Body, Ctx};
use crate::server::journal::Journal;
use crate::server::{router, Settings};
use crate::store::Store;

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

/// A store with two users (`u1`, `u2`) and a group `g1` holding `u1`.
fn seeded_store() -> Store {
    use crate::clock::{SequentialIds, SystemClock};
    let store = Store::new(
        Arc::new(SystemClock),
        Arc::new(SequentialIds::new()),
        "http://fuzz/scim/v2",
    );
    let seed = serde_json::json!({
        "Users": [{"id": "u1", "userName": "ann"}, {"id": "u2", "userName": "bob", "active": true}],
        "Groups": [{"id": "g1", "displayName": "g", "members": [{"value": "u1"}]}]
    });
    store
        .set_seed(seed)
        .unwrap_or_else(|e| panic!("fuzz seed: {e}"));
    store
}

/// Server settings, built once per process (parsing the profile is the slow part).
fn settings() -> &'static Settings {
    static SETTINGS: std::sync::OnceLock<Settings> = std::sync::OnceLock::new();
    SETTINGS.get_or_init(build_settings)
}

fn build_settings() -> Settings {
    let profile = crate::profile::Profile::builtin(crate::server::DEFAULT_PROFILE)
        .unwrap_or_else(|e| panic!("built-in profile: {e}"));
    Settings {
        base_path: "/scim/v2".into(),
        location_base: "http://fuzz/scim/v2".into(),
        token: None,
        max_body: 1024 * 1024,
        admin: true,
        max_results: 1000,
        strict_rfc: false,
        group_patch_returns_resource: false,
        profile: Arc::new(profile),
    }
}

/// `http_request`: see the module docs.
pub fn http_request(input: &HttpRequestInput) {
    let store = seeded_store();
    let journal = Journal::new(16);
    let faults = crate::server::faults::Faults::new(0);
    let settings = settings();
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
    let body = input.body();
    let mut route = router::route(&method, &path, &settings.base_path, settings.admin);
    if route.kind().is_some_and(|k| !settings.profile.supports(k)) {
        route = router::Route::NotFound;
    }
    let ctx = Ctx {
        store: &store,
        journal: &journal,
        settings,
        faults: &faults,
    };
    let request = handlers::Request {
        route,
        query: &query,
        body: &body,
        content_type,
        if_match: input.if_match.as_deref(),
        if_none_match: None,
    };
    let reply = handlers::handle(&ctx, &request);
    assert!(
        (100..=599).contains(&reply.status),
        "status {}",
        reply.status
    );
    assert_ne!(
        reply.status, 500,
        "{method_name} {path}?{query}: internal error from input: {:?}",
        reply.body
    );
    if reply.status >= 400 {
        let text = reply.body.as_ref().map(Body::to_bytes).unwrap_or_default();
        let v: Value = serde_json::from_slice(&text)
            .unwrap_or_else(|e| panic!("{} error body is not JSON ({e}): {text:?}", reply.status));
        assert_eq!(v["schemas"][0], crate::scim::urn::ERROR, "{v}");
        assert_eq!(v["status"], reply.status.to_string(), "{v}");
    }
    store
        .check_invariants()
        .unwrap_or_else(|e| panic!("{method_name} {path}: {e}"));
}
