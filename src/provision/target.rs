//! Where the engine's requests go: a SCIM endpoint over HTTP (the Entra spine's client,
//! [`crate::entra::Client`]), or a dry run that records the request stream and answers as
//! an empty, accepting endpoint.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use crate::entra::secrets::Scrubber;
use crate::entra::{wire, Client, ClientConfig, Outgoing, TransportError};

/// One request, path relative to the tenant URL.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    pub method: &'static str,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl Request {
    pub fn get(path: String) -> Request {
        Request {
            method: "GET",
            path,
            body: None,
        }
    }

    /// `GET /{endpoint}/{id}`, the id encoded as one path segment; a group is read
    /// without its members, as Entra reads it (docs/entra.md §1.11:
    /// `GET /Groups/{id}?excludedAttributes=members`).
    pub fn read(endpoint: &str, id: &str) -> Request {
        let path = wire::resource_path(endpoint, id);
        Request::get(if endpoint == "Groups" {
            format!("{path}?excludedAttributes=members")
        } else {
            path
        })
    }

    /// `PATCH /{endpoint}/{id}` with `body`, the id encoded as one path segment.
    pub fn patch(endpoint: &str, id: &str, body: Value) -> Request {
        Request {
            method: "PATCH",
            path: wire::resource_path(endpoint, id),
            body: Some(body),
        }
    }

    /// `DELETE /{endpoint}/{id}`, the id encoded as one path segment.
    pub fn delete(endpoint: &str, id: &str) -> Request {
        Request {
            method: "DELETE",
            path: wire::resource_path(endpoint, id),
            body: None,
        }
    }

    /// `METHOD path` and the body on one line: the dry-run listing.
    pub fn line(&self) -> String {
        match &self.body {
            Some(b) => format!("{} {} {}", self.method, self.path, b),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Response {
    pub status: u16,
    /// `Retry-After`, as a wait.
    pub retry_after: Option<Duration>,
    /// The body as text for log reasons: from an endpoint, an excerpt
    /// ([`crate::entra::excerpt::body_text`]: scrubbed, at most 64 KiB).
    pub text: String,
    /// The body as JSON, `Null` when empty or not JSON.
    pub json: Value,
}

impl Response {
    /// An answer as it came off the wire: read as JSON where the whole body is JSON, and
    /// kept as text for the log only as an excerpt, scrubbed of `secrets` before the cut
    /// (`entra::excerpt`). The one place an endpoint's bytes become a [`Response`], so the
    /// machines' tests build their answers the way the edge does.
    pub(crate) fn from_body(
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
        secrets: &Scrubber,
    ) -> Response {
        Response {
            status,
            retry_after,
            text: crate::entra::excerpt::body_text(secrets, body),
            json: serde_json::from_slice(body).unwrap_or(Value::Null),
        }
    }
}

/// The endpoint a cycle runs against: a SCIM endpoint, or a dry run (no requests leave
/// the process; POSTs get ids `dry-run-1`, `dry-run-2`, …).
#[derive(Debug)]
pub struct Target(Inner);

#[derive(Debug)]
enum Inner {
    /// The client, and the run's secrets (the token, the URL's password), scrubbed from an
    /// answer before it is cut to an excerpt.
    Http(Box<(Client, Scrubber)>),
    DryRun(DryRun),
    InProcess(Box<InProcess>),
}

/// A dry run's memory: ids handed out, and each object as created and patched, so a read
/// back answers what was sent (an empty, accepting endpoint that keeps what it is given).
#[derive(Debug, Default)]
struct DryRun {
    next: AtomicU64,
    objects: std::sync::Mutex<std::collections::BTreeMap<String, Value>>,
}

/// scimock's own SCIM server inside this process (`server::local`): no socket, no HTTP
/// client.
#[derive(Debug)]
struct InProcess {
    local: crate::server::local::Local,
    token: Option<String>,
}

impl Target {
    /// A SCIM endpoint: `base` is the tenant URL's base (`http://127.0.0.1:8080/scim/v2`,
    /// or https:// trusting the platform's roots), with the client's defaults (a 10 s
    /// deadline per exchange, 16 MiB bodies).
    pub fn http(base: &str, token: Option<String>) -> Result<Target, crate::tls::TlsError> {
        Target::new(
            base,
            ClientConfig {
                token,
                ..ClientConfig::default()
            },
        )
    }

    /// [`Target::http`] with the https trust `tls` describes (`--ca-cert`, `--insecure`).
    pub fn with_tls(
        base: &str,
        token: Option<String>,
        tls: &crate::tls::ClientTls,
    ) -> Result<Target, crate::tls::TlsError> {
        Target::new(
            base,
            ClientConfig {
                token,
                tls: tls.clone(),
                ..ClientConfig::default()
            },
        )
    }

    /// A SCIM endpoint reached with `config` (token, deadline, body bound, TLS).
    pub fn new(base: &str, config: ClientConfig) -> Result<Target, crate::tls::TlsError> {
        let secrets = Scrubber::for_run(base, config.token.as_deref());
        Ok(Target(Inner::Http(Box::new((
            Client::new(base, config)?,
            secrets,
        )))))
    }

    /// scimock's own server, in this process and without a socket: the engine's decisions
    /// against a real SCIM store at thousands of cycles a minute (property tests), with
    /// HTTP only at the edge. `token` is sent as the bearer token.
    pub fn in_process(
        builder: &crate::MockServerBuilder,
        token: Option<String>,
    ) -> Result<Target, crate::server::StartError> {
        Ok(Target(Inner::InProcess(Box::new(InProcess {
            local: crate::server::local::Local::new(builder, "http://in-process")?,
            token,
        }))))
    }

    /// What an in-process target stores of `kind` (members included); empty for others.
    pub fn stored(&self, kind: crate::scim::ResourceKind) -> Vec<Value> {
        match &self.0 {
            Inner::InProcess(p) => p.local.shared.store.all(kind),
            _ => Vec::new(),
        }
    }

    /// The secrets scrubbed from an answer before it is cut to an excerpt: the token and
    /// the URL's password for a SCIM endpoint, none for the dry run and scimock's own
    /// server (whose answers hold no secret).
    pub(crate) fn secrets(&self) -> &Scrubber {
        match &self.0 {
            Inner::Http(http) => &http.1,
            Inner::DryRun(_) | Inner::InProcess(_) => no_secrets(),
        }
    }

    pub fn dry_run() -> Target {
        Target(Inner::DryRun(DryRun::default()))
    }

    pub fn is_dry_run(&self) -> bool {
        matches!(self.0, Inner::DryRun(_))
    }

    pub(crate) async fn send(&self, req: &Request) -> Result<Response, TransportError> {
        match &self.0 {
            Inner::Http(http) => {
                let (client, secrets) = &**http;
                let answer = client
                    .send(Outgoing::new(req.method, &req.path, req.body.as_ref()))
                    .await?;
                Ok(Response::from_body(
                    answer.status,
                    answer.retry_after(),
                    &answer.body,
                    secrets,
                ))
            }
            Inner::DryRun(dry) => Ok(dry.answer(req)),
            Inner::InProcess(p) => Ok(p.answer(req)),
        }
    }
}

/// The scrubber of a target whose answers hold no secret: scimock's own server, the dry
/// run.
fn no_secrets() -> &'static Scrubber {
    static NONE: std::sync::LazyLock<Scrubber> = std::sync::LazyLock::new(Scrubber::default);
    &NONE
}

impl InProcess {
    fn answer(&self, req: &Request) -> Response {
        let token = self.token.as_deref();
        match self
            .local
            .answer(req.method, &req.path, token, req.body.as_ref())
        {
            Ok(response) => Response::from_body(
                response.status().as_u16(),
                crate::entra::retry_after(response.headers()),
                response.body(),
                no_secrets(),
            ),
            Err(e) => Response {
                status: 400,
                retry_after: None,
                text: e.to_string(),
                json: Value::Null,
            },
        }
    }
}

impl DryRun {
    fn answer(&self, req: &Request) -> Response {
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let path = req.path.split('?').next().unwrap_or_default();
        let (status, json) = match req.method {
            "GET" if req.path.contains("filter=") => (
                200,
                json!({"schemas": [crate::scim::urn::LIST_RESPONSE],
                       "totalResults": 0, "Resources": [], "startIndex": 1, "itemsPerPage": 20}),
            ),
            "GET" => (
                200,
                objects
                    .get(path)
                    .cloned()
                    .unwrap_or_else(|| json!({"id": path.rsplit('/').next().unwrap_or_default()})),
            ),
            "POST" => {
                let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
                let id = format!("dry-run-{n}");
                let mut body = req.body.clone().unwrap_or_else(|| json!({}));
                if let Value::Object(m) = &mut body {
                    m.insert("id".into(), Value::String(id.clone()));
                }
                objects.insert(format!("{path}/{id}"), body.clone());
                (201, body)
            }
            "PATCH" => {
                if let (Some(object), Some(body)) = (objects.get_mut(path), &req.body) {
                    patch_in_place(path, object, body);
                }
                (204, Value::Null)
            }
            "DELETE" => {
                objects.remove(path);
                (204, Value::Null)
            }
            _ => (204, Value::Null),
        };
        Response {
            status,
            retry_after: None,
            text: if json.is_null() {
                String::new()
            } else {
                json.to_string()
            },
            json,
        }
    }
}

/// Applies a PATCH the engine sent to a dry run's copy with scimock's own PATCH engine (the
/// Entra dialect, member operations left out); one it cannot apply leaves the copy as it was.
fn patch_in_place(path: &str, object: &mut Value, body: &Value) {
    let Ok(request) = serde_json::from_value::<crate::scim::PatchRequest>(body.clone()) else {
        return;
    };
    let (schema, members_attr) = if path.starts_with("/Groups") {
        (crate::scim::shared_group_resource(), Some("members"))
    } else {
        (crate::scim::shared_user_resource(), None)
    };
    let options = crate::patch::PatchOptions {
        strict_rfc: false,
        members_attr,
    };
    if let Ok(out) = crate::patch::apply(object, &request, &schema, &options) {
        *object = out.resource;
    }
}
