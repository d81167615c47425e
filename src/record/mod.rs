//! `scimock record`: a recording reverse proxy. Whatever talks to it (a real Entra tenant
//! pointed at a tunnel, `scimock replay`, any SCIM client) is forwarded to a real SCIM
//! endpoint, and every exchange becomes a step of a replayable sequence in the
//! [`crate::replay`] format.
//!
//! What the recording keeps and what it changes, so it replays against a *fresh* server:
//! - Secrets never reach the file (the Entra spine's one policy, [`crate::entra::secrets`]):
//!   `Authorization` and cookies are dropped (the replay runner sends its own token), JSON
//!   members and query parameters named like secrets (`password`, `clientSecret`,
//!   `apiKey`, `access_token`…) are replaced by `"[redacted]"`, and every bearer token the
//!   proxy saw is scrubbed wherever the upstream echoed it.
//! - Server-generated ids become variables: the `id` of a 2xx answer to a `POST` is
//!   captured as `${user_1}`, `${group_2}`…, and every later occurrence of that id in paths,
//!   query values, request bodies and expected bodies is replaced by the variable.
//! - Expected bodies drop what varies between servers and runs: `meta` (timestamps,
//!   versions, locations) and `$ref` (absolute URLs) at any depth.
//! - Each step expects the recorded status; the capturing step expects the `id` to exist.
//!
//! The file is written before the proxy listens (so an unwritable path fails at once,
//! missing folders are created) and rewritten atomically after every exchange, so
//! stopping the proxy loses nothing; a failed rewrite is kept and reported by
//! [`Recorder::save_error`]. hyper is used here as in `server/`: a listener that forwards
//! through hyper-util's client, over http:// or https:// ([`crate::tls::ClientTls`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::replay::scenario::{Expect, Request as StepRequest, Scenario, StatusSet, Step};
use crate::tls::ClientTls;

type Upstream = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Largest body the proxy forwards (both directions).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The sequence being recorded, shared by every connection.
#[derive(Debug)]
struct Recording {
    scenario: Scenario,
    /// Literal id → variable name, for every id a POST answer revealed.
    ids: Vec<(String, String)>,
    counts: BTreeMap<String, usize>,
    out: Option<PathBuf>,
    /// The last failed rewrite of `out`, if the latest one failed.
    save_error: Option<String>,
    /// Every bearer token seen in a request, scrubbed from the file.
    secrets: crate::entra::Scrubber,
}

/// One forwarded exchange, as the recording sees it.
#[derive(Debug, Clone, Copy)]
struct Exchange<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    if_match: Option<&'a str>,
    /// The request's `Authorization` value.
    authorization: Option<&'a str>,
    body: &'a [u8],
    status: u16,
    answer: &'a [u8],
}

/// A running recorder; dropping it stops the proxy.
#[derive(Debug)]
pub struct Recorder {
    addr: SocketAddr,
    recording: Arc<Mutex<Recording>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Why a recorder could not start or save.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("upstream `{0}` must be an https:// or http:// URL")]
    Upstream(String),
    #[error("upstream TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot listen on {0}: {1}")]
    Listen(String, std::io::Error),
    #[error("cannot write {0}: {1}")]
    Write(String, std::io::Error),
}

impl Recorder {
    /// Starts a proxy on `listen` that forwards to `upstream` (a SCIM base URL such as
    /// `http://127.0.0.1:8080/scim/v2`) and records into a scenario named `name`, written
    /// to `out` after every exchange when given. Must be called inside a tokio runtime.
    ///
    /// ```
    /// # async fn demo() -> Result<(), scimock::record::RecordError> {
    /// let recorder = scimock::record::Recorder::start(
    ///     "http://127.0.0.1:8080/scim/v2", "127.0.0.1:0", "my_run", None,
    /// ).await?;
    /// println!("point the client at http://{}", recorder.addr());
    /// // … traffic …
    /// let recorded = recorder.scenario();
    /// assert_eq!(recorded.name, "my_run");
    /// recorder.stop().await;
    /// # Ok(()) }
    /// ```
    pub async fn start(
        upstream: &str,
        listen: &str,
        name: &str,
        out: Option<&Path>,
    ) -> Result<Recorder, RecordError> {
        Recorder::start_with_tls(upstream, listen, name, out, &ClientTls::default()).await
    }

    /// [`Recorder::start`] with an https upstream checked against `tls` (extra roots,
    /// or `insecure` for a self-signed staging endpoint).
    pub async fn start_with_tls(
        upstream: &str,
        listen: &str,
        name: &str,
        out: Option<&Path>,
        tls: &ClientTls,
    ) -> Result<Recorder, RecordError> {
        let upstream = upstream.trim_end_matches('/').to_owned();
        let lower = upstream.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://"))
            || upstream.parse::<hyper::Uri>().is_err()
        {
            return Err(RecordError::Upstream(upstream));
        }
        let client: Upstream = Client::builder(TokioExecutor::new()).build(tls.connector()?);
        let recording = Recording {
            scenario: Scenario {
                name: name.to_owned(),
                description: format!("Recorded by scimock record from {upstream}"),
                note: "recorded traffic".to_owned(),
                source: String::new(),
                rows: Vec::new(),
                profile: None,
                dialects: Vec::new(),
                requires: Vec::new(),
                vars: Default::default(),
                steps: Vec::new(),
            },
            ids: Vec::new(),
            counts: BTreeMap::new(),
            out: out.map(Path::to_path_buf),
            save_error: None,
            secrets: crate::entra::Scrubber::default(),
        };
        // Fail before listening when the file cannot be written: nothing would be kept.
        if let Some(out) = out {
            if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| RecordError::Write(parent.display().to_string(), e))?;
            }
        }
        recording.save()?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| RecordError::Listen(listen.to_owned(), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| RecordError::Listen(listen.to_owned(), e))?;
        let recording = Arc::new(Mutex::new(recording));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::clone(&recording);
        let task = tokio::spawn(async move {
            let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            loop {
                let stream = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, peer)) => {
                            // The same request-target normalisation as `serve` (issue 12).
                            crate::server::target::NormalizedTarget::new(stream, peer.to_string())
                        }
                        Err(_) => continue,
                    },
                    _ = &mut stopped => break,
                };
                let (client, upstream, shared, http) = (
                    client.clone(),
                    upstream.clone(),
                    Arc::clone(&shared),
                    http.clone(),
                );
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (client, upstream, shared) =
                            (client.clone(), upstream.clone(), Arc::clone(&shared));
                        async move {
                            Ok::<_, Infallible>(forward(req, &client, &upstream, &shared).await)
                        }
                    });
                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(Recorder {
            addr,
            recording,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The proxy's address; clients use `http://<addr>` as their tenant URL.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The sequence recorded so far.
    pub fn scenario(&self) -> Scenario {
        lock(&self.recording).scenario.clone()
    }

    /// Why the latest rewrite of the output file failed, if it did.
    pub fn save_error(&self) -> Option<String> {
        lock(&self.recording).save_error.clone()
    }

    /// Writes the output file now (a no-op without one).
    pub fn save(&self) -> Result<(), RecordError> {
        lock(&self.recording).save()
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn lock(m: &Mutex<Recording>) -> std::sync::MutexGuard<'_, Recording> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn text_response(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r
}

/// Forwards one request, records the exchange, returns the upstream's answer unchanged.
async fn forward(
    req: Request<Incoming>,
    client: &Upstream,
    upstream: &str,
    recording: &Mutex<Recording>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return text_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("scimock record: request body: {e}"),
            )
        }
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut out = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{upstream}{target}"));
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST
            && name != hyper::header::CONNECTION
            && name != hyper::header::CONTENT_LENGTH
        {
            out = out.header(name, value);
        }
    }
    let Ok(out) = out.body(Full::new(body.clone())) else {
        return text_response(
            StatusCode::BAD_REQUEST,
            format!("scimock record: cannot forward {target}"),
        );
    };
    let answer = match client.request(out).await {
        Ok(r) => r,
        Err(e) => {
            return text_response(
                StatusCode::BAD_GATEWAY,
                format!("scimock record: upstream {upstream}: {e}"),
            )
        }
    };
    let (rparts, rbody) = answer.into_parts();
    let rbody = match Limited::new(rbody, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return text_response(
                StatusCode::BAD_GATEWAY,
                format!("scimock record: upstream body: {e}"),
            )
        }
    };
    if !parts.uri.path().starts_with("/_mock") {
        let if_match = parts
            .headers
            .get(hyper::header::IF_MATCH)
            .and_then(|v| v.to_str().ok());
        let mut rec = lock(recording);
        rec.add(Exchange {
            authorization: parts
                .headers
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            if_match,
            body: &body,
            status: rparts.status.as_u16(),
            answer: &rbody,
        });
        rec.save_error = rec.save().err().map(|e| e.to_string());
        if let Some(e) = &rec.save_error {
            tracing::error!(error = %e, "scimock record: cannot save the recording");
        }
    }
    let mut response = Response::from_parts(rparts, Full::new(rbody));
    response.headers_mut().remove(hyper::header::CONTENT_LENGTH);
    response
}

use crate::entra::secrets::redact_json_in_place as redact;

/// Drops what differs between servers and runs from an expected body.
fn strip_volatile(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("meta");
            map.remove("$ref");
            map.values_mut().for_each(strip_volatile);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

impl Recording {
    /// Replaces every known literal id in `s` by its `${variable}`.
    fn templated(&self, s: &str) -> String {
        let mut out = s.replace("${", "$${");
        for (id, var) in &self.ids {
            out = out.replace(id.as_str(), &format!("${{{var}}}"));
        }
        out
    }

    fn templated_json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.templated(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.templated_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.templated(k), self.templated_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Appends one exchange as a step, templating known ids and capturing new ones.
    fn add(&mut self, exchange: Exchange<'_>) {
        let Exchange {
            method,
            path,
            query,
            if_match,
            authorization,
            body,
            status,
            answer,
        } = exchange;
        if let Some(auth) = authorization {
            let token = auth.split_once(' ').map_or(auth, |(_, t)| t).trim();
            self.secrets.add(token);
        }
        let mut request_body: Option<Value> = serde_json::from_slice(body).ok();
        if let Some(b) = &mut request_body {
            redact(b);
        }
        let query: BTreeMap<String, String> =
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| {
                    let v = if crate::entra::secrets::is_secret_key(&k) {
                        crate::entra::secrets::REDACTED.to_owned()
                    } else {
                        self.templated(&v)
                    };
                    (k.into_owned(), v)
                })
                .collect();
        let mut headers = BTreeMap::new();
        if let Some(v) = if_match {
            headers.insert("If-Match".to_owned(), self.templated(v));
        }
        let mut step = Step {
            name: String::new(),
            note: String::new(),
            dialect: None,
            request: StepRequest {
                method: method.to_owned(),
                path: self.templated(path),
                query,
                headers,
                body: request_body.map(|b| self.templated_json(&b)),
                raw_quotes: false,
            },
            expect: Expect {
                status: Some(StatusSet::One(status)),
                ..Expect::default()
            },
            capture: BTreeMap::new(),
            consequence: None,
            cleanup: None,
            advisory: false,
        };
        let mut answer: Option<Value> = serde_json::from_slice(answer).ok();
        let new_id = answer
            .as_ref()
            .filter(|_| method == "POST" && (200..300).contains(&status))
            .and_then(|a| a.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(a) = &mut answer {
            redact(a);
            strip_volatile(a);
            if new_id.is_some() {
                if let Some(map) = a.as_object_mut() {
                    map.remove("id");
                }
                step.expect.exists.push("/id".to_owned());
            }
            step.expect.body = Some(self.templated_json(a));
        }
        if let Some(id) = new_id {
            let kind = if path.contains("/Groups") {
                "group"
            } else if path.contains("/Users") {
                "user"
            } else {
                "resource"
            };
            let n = self.counts.entry(kind.to_owned()).or_insert(0);
            *n += 1;
            let var = format!("{kind}_{n}");
            step.capture.insert(var.clone(), "/id".to_owned());
            self.ids.push((id, var));
        }
        let n = self.scenario.steps.len() + 1;
        step.name = format!("{n:03} {method} {}", step.request.path);
        self.scenario.steps.push(step);
    }

    fn save(&self) -> Result<(), RecordError> {
        let Some(out) = &self.out else { return Ok(()) };
        let write_err = |e| RecordError::Write(out.display().to_string(), e);
        let text = serde_json::to_string_pretty(&self.scenario)
            .map_err(|e| write_err(std::io::Error::other(e)))?;
        let text = self.secrets.scrub_owned(text) + "\n";
        crate::files::atomic_write(out, text.as_bytes()).map_err(write_err)
    }
}
