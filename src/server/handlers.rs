//! Request handlers: parsed input and the store in, a SCIM reply or a crate [`Error`] out.
//! No hyper types, no sockets. RFC 7644 §3.3 (create), §3.4 (read, query, search),
//! §3.5 (replace, PATCH), §3.6 (delete), §3.14 (ETags), §4 (discovery).

use bytes::Bytes;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::discovery;
use super::faults::{FaultRule, Faults};
use super::journal::Journal;
use super::params::Params;
use super::projection::project;
use super::router::Route;
use super::Settings;
use crate::patch::{self, PatchOptions};
use crate::scim::ResourceKind;
use crate::scim::{ListResponse, PatchRequest, SearchRequest};
use crate::store::{etag, etag_matches, PageItem, Query, Store};
use crate::{Error, Result};

/// Everything a handler may look at.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) route: Route,
    /// The raw query string (without `?`), still encoded.
    pub(crate) query: &'a str,
    pub(crate) body: &'a [u8],
    pub(crate) content_type: Option<&'a str>,
    pub(crate) if_match: Option<&'a str>,
    pub(crate) if_none_match: Option<&'a str>,
    /// A list's query, when the listener already parsed it (else parsed from `query`).
    pub(crate) list_params: Option<Params>,
}

/// A reply: status, extra headers, optional JSON body (sent as `application/scim+json`),
/// already serialised: a stored resource or a list page goes out as the text it is, and
/// anything else is serialised once, where the reply is made.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Option<Bytes>,
    /// `GET /_mock/requests`: the page the listener streams as the body (`body` is None).
    pub(crate) journal_page: Option<JournalPage>,
}

/// Which journal entries a `GET /_mock/requests` answer holds: those with
/// `after < seq <= upto`, at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JournalPage {
    pub(crate) after: u64,
    pub(crate) upto: u64,
    pub(crate) limit: usize,
}

impl Reply {
    /// `body` serialised; a value that does not serialise is a defect, answered as one.
    fn json(status: u16, body: &impl serde::Serialize) -> Result<Reply> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::internal(format!("cannot serialise a reply: {e}")))?;
        Ok(Reply::text(status, Bytes::from(bytes)))
    }

    fn text(status: u16, body: Bytes) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(body),
            journal_page: None,
        }
    }

    fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
            journal_page: None,
        }
    }

    /// A reply whose body must go out even if it cannot be serialised (an error body): a
    /// serialisation failure becomes a fixed RFC 7644 §3.12 500 body instead.
    pub(crate) fn serialized(status: u16, body: &impl serde::Serialize) -> Reply {
        Reply::json(status, body).unwrap_or_else(|_| Reply {
            status: 500,
            headers: Vec::new(),
            body: Some(Bytes::from_static(UNSERIALISABLE)),
            journal_page: None,
        })
    }

    /// The RFC 7644 §3.12 error reply for `err`, with the headers its kind carries.
    pub(crate) fn error(err: &Error) -> Reply {
        let mut reply = Reply::serialized(err.status_and_type().0, &err.to_response());
        reply.headers.extend(err.headers());
        reply
    }

    /// The body bytes on the wire (empty for no body).
    pub(crate) fn body_bytes(&self) -> Bytes {
        self.body.clone().unwrap_or_default()
    }

    fn with_etag(mut self, resource: &Value) -> Reply {
        if let Some(v) = etag_of(resource) {
            self.headers.push(("etag", v.to_owned()));
        }
        self
    }
}

/// What is sent when even an error body cannot be serialised (never expected).
const UNSERIALISABLE: &[u8] = b"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":\"500\",\"detail\":\"internal error: a reply could not be serialised\"}";

/// `meta.version`, the resource's ETag (RFC 7644 §3.14).
fn etag_of(resource: &Value) -> Option<&str> {
    resource["meta"]["version"].as_str()
}

/// The shared parts a handler works with.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) store: &'a Store,
    pub(crate) journal: &'a Journal,
    pub(crate) settings: &'a Settings,
    pub(crate) faults: &'a Faults,
}

/// Handles one routed request. Errors become §3.12 replies here.
pub(crate) fn handle(ctx: &Ctx<'_>, req: &Request<'_>) -> Reply {
    dispatch(ctx, req).unwrap_or_else(|e| Reply::error(&e))
}

fn needs_body(route: &Route) -> bool {
    matches!(
        route,
        Route::Create(_) | Route::Replace(..) | Route::Patch(..) | Route::Search(_)
    )
}

/// `application/scim+json` (RFC 7644 §3.1) or `application/json`; parameters ignored.
fn check_content_type(content_type: Option<&str>) -> Result<()> {
    let Some(ct) = content_type else {
        return Ok(());
    };
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/scim+json")
        || essence.eq_ignore_ascii_case("application/json")
    {
        Ok(())
    } else {
        Err(Error::unsupported_media_type(format!(
            "Content-Type `{ct}` is not supported; send application/scim+json or application/json"
        )))
    }
}

/// Parses the body as JSON. serde_json's recursion limit (128) turns 10,000-deep input
/// into an ordinary error, which is a 400 like any other syntax error.
fn json_body(body: &[u8]) -> Result<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid_syntax(
            "the request body is empty; a JSON object was expected",
        ));
    }
    let value = serde_json::from_slice(body)
        .map_err(|e| Error::invalid_syntax(format!("the request body is not valid JSON: {e}")))?;
    crate::store::bounds::check_integers("request body", body)?;
    Ok(value)
}

fn typed<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T> {
    serde_json::from_value(value)
        .map_err(|e| Error::invalid_syntax(format!("the body is not a valid {what}: {e}")))
}

fn dispatch(ctx: &Ctx<'_>, req: &Request<'_>) -> Result<Reply> {
    if needs_body(&req.route) {
        check_content_type(req.content_type)?;
    }
    let store = ctx.store;
    let base = ctx.settings.location_base.as_str();
    match &req.route {
        Route::List(kind) => match &req.list_params {
            Some(params) => list(ctx, *kind, params),
            None => list(ctx, *kind, &Params::from_query(req.query)?),
        },
        Route::Search(kind) => {
            let search: SearchRequest =
                typed(json_body(req.body)?, "SearchRequest (RFC 7644 §3.4.3)")?;
            let params = Params::from_search(&search)?;
            match kind {
                Some(kind) => list(ctx, *kind, &params),
                None => search_all(ctx, &params),
            }
        }
        Route::Get(kind, id) => {
            let params = Params::from_query(req.query)?;
            if params.attributes.is_empty() && params.excluded.is_empty() {
                if let Some(stored) = store.get_plain(*kind, id)? {
                    debug_assert_plain(store, *kind, &stored.text);
                    let tag = etag(stored.version);
                    let mut r = if req.if_none_match.is_some_and(|h| etag_matches(h, &tag)) {
                        Reply::empty(304)
                    } else {
                        Reply::text(200, stored.text)
                    };
                    r.headers.push(("etag", tag));
                    return Ok(r);
                }
            }
            let resource = store.get(*kind, id, params.wants_members())?;
            let tag = etag_of(&resource).unwrap_or_default().to_owned();
            if req.if_none_match.is_some_and(|h| etag_matches(h, &tag)) {
                // RFC 7644 §3.14 / RFC 7232 §4.1.
                let mut r = Reply::empty(304);
                r.headers.push(("etag", tag));
                return Ok(r);
            }
            Ok(Reply::json(200, &show(store, *kind, &resource, &params))?.with_etag(&resource))
        }
        Route::Create(kind) => {
            let params = Params::from_query(req.query)?;
            let body = entra_body(ctx, *kind, json_body(req.body)?)?;
            ctx.settings.profile.check_write(*kind, &body)?;
            let (resource, text) = store.create_with_text(*kind, body)?;
            let location = resource["meta"]["location"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let default_view = params.attributes.is_empty() && params.excluded.is_empty();
            let mut reply = match text {
                Some(stored) if default_view => {
                    debug_assert_plain(store, *kind, &stored.text);
                    Reply::text(201, stored.text)
                }
                _ => Reply::json(201, &show(store, *kind, &resource, &params))?,
            }
            .with_etag(&resource);
            reply.headers.push(("location", location));
            Ok(reply)
        }
        Route::Replace(kind, id) => {
            let params = Params::from_query(req.query)?;
            let body = entra_body(ctx, *kind, json_body(req.body)?)?;
            ctx.settings.profile.check_write(*kind, &body)?;
            let resource = store.replace(*kind, id, body, req.if_match)?;
            Ok(Reply::json(200, &show(store, *kind, &resource, &params))?.with_etag(&resource))
        }
        Route::Patch(kind, id) => patch_resource(ctx, req, *kind, id),
        Route::Delete(kind, id) => {
            store.delete(*kind, id, req.if_match)?;
            Ok(Reply::empty(204))
        }
        Route::ServiceProviderConfig => Reply::json(
            200,
            &discovery::service_provider_config(
                base,
                ctx.settings.max_results,
                &ctx.settings.profile,
            ),
        ),
        Route::ResourceTypes => Reply::json(200, &discovery::resource_types(base, ctx)),
        Route::ResourceType(name) => {
            Reply::json(200, &discovery::one_resource_type(base, ctx, name)?)
        }
        Route::Schemas => Reply::json(200, &discovery::all_schemas(base, ctx)?),
        Route::Schema(id) => Reply::json(200, &discovery::one_schema(base, ctx, id)?),
        Route::AdminRequests => admin_requests(ctx, req.query),
        Route::AdminReset => {
            store.reset()?;
            ctx.journal.clear();
            Ok(Reply::empty(204))
        }
        Route::AdminHealth => Reply::json(200, &json!({"status": "ok"})),
        Route::AdminFaultsList => Reply::json(200, &ctx.faults.list()),
        Route::AdminFaultsAdd => add_fault(ctx, req),
        Route::AdminFaultsClear => {
            ctx.faults.clear();
            Ok(Reply::empty(204))
        }
        Route::AdminFaultRemove(id) => {
            let removed = id.parse::<u64>().is_ok_and(|n| ctx.faults.remove(n));
            if removed {
                Ok(Reply::empty(204))
            } else {
                Err(Error::not_found(format!("no fault rule with id `{id}`")))
            }
        }
        Route::MethodNotAllowed(allow) => Err(Error::method_not_allowed(allow)),
        Route::BadPath(msg) => Err(Error::invalid_syntax(msg.clone())),
        Route::NotFound => Err(Error::not_found(not_found_detail(ctx.settings))),
    }
}

/// A POST/PUT body with Entra's value quirks (string booleans, a plain manager id) coerced
/// by the schema types, or refused naming the quirk under `--strict-rfc` (`patch::body`).
fn entra_body(ctx: &Ctx<'_>, kind: ResourceKind, mut body: Value) -> Result<Value> {
    let dialect = ctx.settings.dialect;
    patch::coerce_body(&mut body, ctx.store.schema(kind), dialect)?;
    Ok(body)
}

/// `POST /_mock/faults` with `{"rule": "..."}`: 201 `{"id", "rule"}`, or 400
/// `invalidValue` naming what is wrong with the rule.
/// `GET /_mock/requests?limit=N&after=SEQ`: a page of the journal, oldest first; the
/// next page starts after the last entry's `seq`.
fn admin_requests(ctx: &Ctx<'_>, query: &str) -> Result<Reply> {
    let (mut after, mut limit) = (0u64, usize::MAX);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let number = || {
            v.trim().parse::<u64>().map_err(|_| {
                Error::invalid_value(format!("`{k}` must be a non-negative integer, got `{v}`"))
            })
        };
        match k.as_ref() {
            "after" => after = number()?,
            "limit" => limit = usize::try_from(number()?).unwrap_or(usize::MAX),
            _ => {}
        }
    }
    // The newest entry now bounds the page, so a stream under traffic still ends.
    let upto = ctx.journal.last_seq();
    let mut reply = Reply::empty(200);
    reply
        .headers
        .push(("content-type", super::pipeline::SCIM_JSON.to_owned()));
    reply.journal_page = Some(JournalPage { after, upto, limit });
    Ok(reply)
}

fn add_fault(ctx: &Ctx<'_>, req: &Request<'_>) -> Result<Reply> {
    #[derive(serde::Deserialize)]
    struct NewRule {
        rule: String,
    }
    let body: NewRule = typed(json_body(req.body)?, "fault rule (`{\"rule\": \"...\"}`)")?;
    let rule = FaultRule::parse(&body.rule).map_err(|e| Error::invalid_value(e.to_string()))?;
    let source = rule.source.clone();
    let id = ctx.faults.add(rule);
    Reply::json(201, &json!({"id": id, "rule": source}))
}

/// Where resources live, for a 404: only the resource types the profile serves.
fn not_found_detail(settings: &Settings) -> String {
    let kinds: Vec<String> = settings
        .profile
        .kinds()
        .iter()
        .map(|k| format!("{}/{}", settings.base_path, k.endpoint()))
        .collect();
    format!(
        "no SCIM endpoint here; resources live under {}",
        kinds.join(" and ")
    )
}

/// A stored text sent as is must equal its default projection (`Store::get_plain`'s
/// promise); debug builds, and so every test, check it.
fn debug_assert_plain(store: &Store, kind: ResourceKind, text: &[u8]) {
    if cfg!(debug_assertions) {
        let stored: Value = serde_json::from_slice(text).unwrap_or_default();
        debug_assert_eq!(project(&stored, store.schema(kind), &[], &[]), stored);
    }
}

fn show(store: &Store, kind: ResourceKind, resource: &Value, params: &Params) -> Value {
    project(
        resource,
        store.schema(kind),
        &params.attributes,
        &params.excluded,
    )
}

/// RFC 7644 §3.4.2.4: `startIndex` below 1 means 1, negative `count` means 0, and more
/// than `maxResults` is capped.
fn page_bounds(params: &Params, max: u64) -> (u64, u64) {
    let start = params.start_index.map_or(1, |s| s.max(1) as u64);
    let count = params.count.map_or(max, |c| (c.max(0) as u64).min(max));
    (start, count)
}

fn list(ctx: &Ctx<'_>, kind: ResourceKind, params: &Params) -> Result<Reply> {
    if let Some(f) = &params.filter {
        ctx.settings.profile.check_filter(kind, f)?;
        super::redact::check_filter(ctx.store.schema(kind), f)?;
    }
    super::redact::check_sort(ctx.store.schema(kind), params.sort_by.as_ref())?;
    let (start_index, count) = page_bounds(params, ctx.settings.max_results);
    let query = Query {
        filter: params.filter.as_ref(),
        sort_by: params.sort_by.as_ref(),
        descending: params.descending,
        start_index,
        count,
        with_members: params.wants_members(),
    };
    // Resources go into the page as JSON text: a stored user's text when the default
    // projection is asked for, so an indexed `userName eq` lookup parses one resource
    // (for the filter) and serialises nothing but the envelope.
    let default_view = params.attributes.is_empty() && params.excluded.is_empty();
    let page = if default_view {
        ctx.store.list_items(kind, &query)?
    } else {
        let page = ctx.store.list(kind, &query)?;
        crate::store::Page {
            resources: page.resources.into_iter().map(PageItem::Value).collect(),
            total: page.total,
            start_index: page.start_index,
        }
    };
    let mut resources: Vec<Box<RawValue>> = Vec::with_capacity(page.resources.len());
    for item in page.resources {
        let text = match item {
            PageItem::Text(bytes) => {
                debug_assert_plain(ctx.store, kind, &bytes);
                String::from_utf8(bytes.to_vec()).ok()
            }
            PageItem::Value(v) => serde_json::to_string(&show(ctx.store, kind, &v, params)).ok(),
        };
        if let Some(raw) = text.and_then(|t| RawValue::from_string(t).ok()) {
            resources.push(raw);
        }
    }
    let body = ListResponse::new(resources, page.total, page.start_index);
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| Error::internal(format!("cannot serialise a ListResponse: {e}")))?;
    Ok(Reply::text(200, Bytes::from(bytes)))
}

/// `POST /.search` across both resource types (RFC 7644 §3.4.3): users then groups.
fn search_all(ctx: &Ctx<'_>, params: &Params) -> Result<Reply> {
    let (start_index, count) = page_bounds(params, ctx.settings.max_results);
    let mut all = Vec::new();
    let kinds = ctx.settings.profile.kinds();
    if let Some(f) = &params.filter {
        // A filter no resource type can take is refused as on that type's endpoint;
        // otherwise each type drops only what it lacks (`check_search_filter`).
        let mut refusals = kinds
            .iter()
            .map(|k| ctx.settings.profile.check_filter(*k, f));
        if let Some(Err(first)) = refusals.next() {
            if refusals.all(|r| r.is_err()) {
                return Err(first);
            }
        }
    }
    for kind in kinds {
        if let Some(f) = &params.filter {
            ctx.settings.profile.check_search_filter(kind, f)?;
            super::redact::check_filter(ctx.store.schema(kind), f)?;
        }
        super::redact::check_sort(ctx.store.schema(kind), params.sort_by.as_ref())?;
        let query = Query {
            filter: params.filter.as_ref(),
            sort_by: params.sort_by.as_ref(),
            descending: params.descending,
            start_index: 1,
            count: u64::MAX,
            with_members: params.wants_members(),
        };
        for r in ctx.store.list(kind, &query)?.resources {
            all.push(show(ctx.store, kind, &r, params));
        }
    }
    let total = all.len() as u64;
    let skip = usize::try_from(start_index - 1).unwrap_or(usize::MAX);
    let take = usize::try_from(count).unwrap_or(usize::MAX);
    let page: Vec<Value> = all.into_iter().skip(skip).take(take).collect();
    let body = ListResponse::new(page, total, start_index);
    Reply::json(200, &body)
}

/// PATCH (RFC 7644 §3.5.2). Users answer 200 with the resource; groups 204 by default,
/// as Entra expects (entra-provisioning.md §1.13–§1.15), except when the request names
/// `attributes`: then the server "MUST return a 200 OK" with them (§3.5.2, §3.9).
fn patch_resource(ctx: &Ctx<'_>, req: &Request<'_>, kind: ResourceKind, id: &str) -> Result<Reply> {
    let params = Params::from_query(req.query)?;
    let request: PatchRequest = typed(json_body(req.body)?, "PatchOp request (RFC 7644 §3.5.2)")?;
    if request.operations.len() > super::MAX_PATCH_OPERATIONS {
        return Err(Error::too_many(format!(
            "{} operations in one PATCH; this server accepts at most {}",
            request.operations.len(),
            super::MAX_PATCH_OPERATIONS
        )));
    }
    let schema = ctx.store.schema(kind);
    let options = PatchOptions {
        strict_rfc: ctx.settings.dialect == crate::patch::Dialect::Rfc,
        members_attr: (kind == ResourceKind::Group).then_some("members"),
    };
    let answer_204 = kind == ResourceKind::Group
        && !ctx.settings.group_patch_returns_resource
        && params.attributes.is_empty();
    let with_members = !answer_204 && params.wants_members();
    let (resource, _changed) =
        ctx.store
            .patch_with(kind, id, req.if_match, with_members, |current| {
                let outcome = patch::apply(current, &request, schema, &options)?;
                ctx.settings
                    .profile
                    .check_patched(kind, &outcome.resource)?;
                Ok((outcome.resource, outcome.members, outcome.changed))
            })?;
    if answer_204 {
        let mut r = Reply::empty(204);
        r.headers
            .push(("etag", etag_of(&resource).unwrap_or_default().to_owned()));
        return Ok(r);
    }
    Ok(Reply::json(200, &show(ctx.store, kind, &resource, &params))?.with_etag(&resource))
}
