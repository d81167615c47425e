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
//! missing folders are created), then rewritten atomically by a writer task, coalesced
//! to at most one write per [`RecordOptions::flush_interval`] and off the exchanges' path
//! (`writer.rs`), and once more when the proxy stops, so a stopped recorder's file holds
//! every exchange; a failed rewrite is kept and reported by [`Recorder::save_error`].
//!
//! The proxy listens through the server's own listener (`crate::server::listener`): the
//! same header timeout, connection cap with its 503, and accept backoff as `scimock
//! serve` ([`RecordOptions::limits`]); `proxy.rs` serves each connection and forwards
//! through hyper-util's client, over http:// or https:// ([`crate::tls::ClientTls`]).

mod proxy;
mod writer;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::replay::scenario::{Expect, Request as StepRequest, Scenario, StatusSet, Step};
use crate::server::Limits;
use crate::tls::ClientTls;
use writer::{lock, Shared};

/// The sequence being recorded, shared by every connection.
#[derive(Debug)]
struct Recording {
    scenario: Scenario,
    /// Literal id → variable name, for every id a POST answer revealed.
    ids: Vec<(String, String)>,
    counts: BTreeMap<String, usize>,
    out: Option<PathBuf>,
    /// Every bearer token seen in a request, scrubbed from the file.
    secrets: crate::entra::secrets::Scrubber,
    /// One more for every exchange recorded (the writer compares it with the file's).
    version: u64,
}

/// The recording as it was at one moment, for the writer to render and write outside
/// the lock.
#[derive(Debug)]
struct Snapshot {
    scenario: Scenario,
    out: Option<PathBuf>,
    secrets: crate::entra::secrets::Scrubber,
    version: u64,
}

/// How a [`Recorder`] listens and writes. The default is what `scimock record` uses
/// without flags.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// What an https upstream is trusted by.
    pub tls: ClientTls,
    /// The proxy's connection limits, those of `scimock serve`: `max_connections`
    /// clients at once (one more is answered 503 and closed), and `header_read_timeout`
    /// to send a request head (a connection that sends none, idle or slow, is closed).
    pub limits: Limits,
    /// The file is rewritten at most this often while exchanges arrive (default 200 ms),
    /// and always once more when the recorder stops.
    pub flush_interval: Duration,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            tls: ClientTls::default(),
            limits: Limits::default(),
            flush_interval: Duration::from_millis(200),
        }
    }
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

/// A running recorder. Dropping it stops the proxy too, and its last write then happens
/// in the background; [`Recorder::stop`] and [`Recorder::finish`] wait for it.
#[derive(Debug)]
pub struct Recorder {
    addr: SocketAddr,
    shared: Arc<Shared>,
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
    /// to `out` when given (see [`RecordOptions::flush_interval`]), with the default
    /// [`RecordOptions`]. Must be called inside a tokio runtime.
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
        let options = RecordOptions {
            tls: tls.clone(),
            ..RecordOptions::default()
        };
        Recorder::start_with(upstream, listen, name, out, &options).await
    }

    /// [`Recorder::start`] with every option: upstream trust, connection limits, and
    /// how often the file is rewritten.
    pub async fn start_with(
        upstream: &str,
        listen: &str,
        name: &str,
        out: Option<&Path>,
        options: &RecordOptions,
    ) -> Result<Recorder, RecordError> {
        let upstream = upstream.trim_end_matches('/').to_owned();
        let lower = upstream.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://"))
            || upstream.parse::<hyper::Uri>().is_err()
        {
            return Err(RecordError::Upstream(upstream));
        }
        let client: proxy::Upstream =
            Client::builder(TokioExecutor::new()).build(options.tls.connector()?);
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
            secrets: crate::entra::secrets::Scrubber::default(),
            version: 0,
        };
        // Fail before listening when the file cannot be written: nothing would be kept.
        if let Some(out) = out {
            if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| RecordError::Write(parent.display().to_string(), e))?;
            }
        }
        let shared = Arc::new(Shared::new(recording));
        shared.flush(true)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| RecordError::Listen(listen.to_owned(), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| RecordError::Listen(listen.to_owned(), e))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let proxy = proxy::Proxy::new(client, &upstream, Arc::clone(&shared), &options.limits);
        let listener = crate::server::listener::Listener::new(listener, options.limits, None);
        let (every, for_writer) = (options.flush_interval, Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let (served, done) = tokio::sync::oneshot::channel::<()>();
            let writer = tokio::spawn(writer::run(for_writer, every, async {
                let _ = done.await;
            }));
            listener
                .run(proxy, async {
                    let _ = stopped.await;
                })
                .await;
            // Every connection has ended: the writer's last write holds every exchange.
            let _ = served.send(());
            let _ = writer.await;
        });
        Ok(Recorder {
            addr,
            shared,
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
        lock(&self.shared.recording).scenario.clone()
    }

    /// Why the latest rewrite of the output file failed, if it did.
    pub fn save_error(&self) -> Option<String> {
        lock(&self.shared.file).error().map(|e| e.to_string())
    }

    /// How many times the output file has been written so far (the first write is at
    /// start; exchanges that arrive together share one).
    pub fn writes(&self) -> u64 {
        lock(&self.shared.file).writes
    }

    /// Writes the output file now, on the calling thread (a no-op without one).
    pub fn save(&self) -> Result<(), RecordError> {
        self.shared.flush(true)
    }

    /// Stops accepting connections, lets open ones finish (up to five seconds), and
    /// waits for the last write of the file, which then holds every exchange.
    pub async fn stop(self) {
        let _ = self.finish().await;
    }

    /// [`Recorder::stop`], then the number of steps recorded, or why the last write of
    /// the file failed.
    pub async fn finish(mut self) -> Result<usize, RecordError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        match lock(&self.shared.file).error() {
            Some(e) => Err(e),
            None => Ok(lock(&self.shared.recording).scenario.steps.len()),
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
            // Every string of every step meets every id: most hold none of them, and a
            // search costs far less than `replace`'s new string and `format!`.
            if out.contains(id.as_str()) {
                out = out.replace(id.as_str(), &format!("${{{var}}}"));
            }
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
            read_back: None,
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
        self.version += 1;
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            scenario: self.scenario.clone(),
            out: self.out.clone(),
            secrets: self.secrets.clone(),
            version: self.version,
        }
    }
}

impl Snapshot {
    /// Renders the sequence and replaces `out` with it atomically, every bearer token the
    /// proxy saw scrubbed.
    fn save(&self) -> Result<(), RecordError> {
        let Some(out) = &self.out else { return Ok(()) };
        let write_err = |e| RecordError::Write(out.display().to_string(), e);
        let text = serde_json::to_string_pretty(&self.scenario)
            .map_err(|e| write_err(std::io::Error::other(e)))?;
        let text = self.secrets.scrub_owned(text) + "\n";
        crate::files::atomic_write(out, text.as_bytes()).map_err(write_err)
    }
}
