//! The stand-in's one HTTP client: hyper's, for every request replay, validate and
//! provision send. It treats the endpoint as untrusted input:
//!
//! - the whole exchange (connect, head, body) has one deadline ([`ClientConfig::timeout`]),
//!   so a trickling or endless body cannot stretch it;
//! - a body is read up to [`ClientConfig::max_body`] (16 MiB by default) and no further: a
//!   larger one ends the exchange with [`TransportError::TooLarge`], whatever its framing;
//! - redirects are not followed (a 3xx is an answer like any other);
//! - the bearer token goes in `Authorization` and nowhere else, and a body goes with
//!   Entra's [`CONTENT_TYPE`](super::wire::CONTENT_TYPE).
//!
//! Requests whose target hyper cannot send (the SCIM Validator's raw `"` in a query) take
//! [`super::raw`], which shares the deadline, the bound and the headers.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client as Hyper};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The default bound on one response body.
pub const DEFAULT_MAX_BODY: usize = 16 << 20;
/// The default deadline for one whole exchange. Entra's own limit is 60 s (Microsoft Q&A
/// 1151866); a healthy endpoint answers in well under a second, and a CI run should not
/// wait a minute per hung request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Runs stop after this many exchanges in a row got no answer in time.
pub const DEFAULT_MAX_TIMEOUTS: usize = 3;

/// Why a request got no usable HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The request's method is not an HTTP method.
    #[error("bad method `{0}`")]
    Method(String),
    /// A header name or value cannot be sent.
    #[error("header `{name}`: {reason}")]
    Header { name: String, reason: String },
    /// The request could not be assembled (for example an invalid URI after substitution).
    #[error("cannot build request for {uri}: {reason}")]
    Build { uri: String, reason: String },
    /// No connection: refused, unknown host, TLS handshake failed (an untrusted
    /// certificate among them).
    #[error("cannot connect to {uri}: {reason}")]
    Connect { uri: String, reason: String },
    /// Connected, but the exchange broke before a response head arrived.
    #[error("request to {uri} failed: {reason}")]
    Request { uri: String, reason: String },
    /// The response head arrived, its body did not.
    #[error("reading the response from {uri}: {reason}")]
    Read { uri: String, reason: String },
    /// The body is larger than the client reads; nothing more was read.
    #[error("the response from {uri} is larger than {limit} bytes; stopped reading there (raise it with --max-body)")]
    TooLarge { uri: String, limit: usize },
    /// Nothing complete within the deadline.
    #[error("no complete response from {uri} within {} s (Entra's limit is 60 s)", .after.as_secs_f64())]
    Timeout { uri: String, after: Duration },
}

impl TransportError {
    /// True for [`TransportError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, TransportError::Timeout { .. })
    }

    /// True when no connection could be made at all.
    pub fn is_connect(&self) -> bool {
        matches!(self, TransportError::Connect { .. })
    }
}

/// How the client talks to one endpoint.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The bearer token, sent on every request.
    pub token: Option<String>,
    /// The deadline for one whole exchange.
    pub timeout: Duration,
    /// The most bytes of one response body read.
    pub max_body: usize,
    /// What an https endpoint's certificate is checked against.
    pub tls: crate::tls::ClientTls,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            token: None,
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            tls: crate::tls::ClientTls::default(),
        }
    }
}

/// One request: target relative to the base URL.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub method: &'a str,
    /// Path and query, appended to the base URL.
    pub target: &'a str,
    /// Extra headers (a scenario's own); `Authorization` and `Content-Type` are added.
    pub headers: &'a BTreeMap<String, String>,
    pub body: Option<&'a Value>,
    /// Send the target byte for byte (a raw `"` in the query), not through hyper's `Uri`.
    pub raw: bool,
}

impl<'a> Outgoing<'a> {
    /// A request with no extra headers.
    pub fn new(method: &'a str, target: &'a str, body: Option<&'a Value>) -> Outgoing<'a> {
        static NONE: BTreeMap<String, String> = BTreeMap::new();
        Outgoing {
            method,
            target,
            headers: &NONE,
            body,
            raw: false,
        }
    }
}

/// A complete HTTP answer, its body within the bound.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The `Retry-After` header as a wait (RFC 9110 §10.2.3: seconds or an HTTP date).
    pub fn retry_after(&self) -> Option<Duration> {
        super::retry::retry_after(&self.headers)
    }
}

/// A client for one base URL.
#[derive(Clone)]
pub struct Client {
    base: String,
    config: ClientConfig,
    hyper: Hyper<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &super::secrets::without_userinfo(&self.base))
            .field("timeout", &self.config.timeout)
            .field("max_body", &self.config.max_body)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client sending to `base` (a [`TenantUrl`](super::TenantUrl)'s base: no trailing
    /// `/`, http:// or https://).
    pub fn new(base: &str, config: ClientConfig) -> Result<Client, crate::tls::TlsError> {
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            hyper: Hyper::builder(TokioExecutor::new()).build(config.tls.connector()?),
            config,
        })
    }

    /// The base URL requests are sent to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The client's settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sends one request and waits at most the deadline for the whole answer.
    pub async fn send(&self, out: Outgoing<'_>) -> Result<Answer, TransportError> {
        let uri = format!("{}{}", self.base, out.target);
        let exchange = async {
            if out.raw {
                super::raw::send(&self.base, &self.config, out).await
            } else {
                self.send_hyper(&uri, out).await
            }
        };
        match tokio::time::timeout(self.config.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::Timeout {
                uri,
                after: self.config.timeout,
            }),
        }
    }

    async fn send_hyper(&self, uri: &str, out: Outgoing<'_>) -> Result<Answer, TransportError> {
        let method = hyper::Method::from_bytes(out.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| TransportError::Method(out.method.to_owned()))?;
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(uri)
            .body(Full::new(
                out.body
                    .map(|b| Bytes::from(b.to_string()))
                    .unwrap_or_default(),
            ))
            .map_err(|e| TransportError::Build {
                uri: uri.to_owned(),
                reason: e.to_string(),
            })?;
        for (name, value) in headers(&self.config, out)? {
            request.headers_mut().insert(name, value);
        }
        let response = self
            .hyper
            .request(request)
            .await
            .map_err(|e| client_error(uri, &e))?;
        let (parts, body) = response.into_parts();
        let limit = self.config.max_body;
        let too_large = || TransportError::TooLarge {
            uri: uri.to_owned(),
            limit,
        };
        let announced = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let bytes = Limited::new(body, limit)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    too_large()
                } else {
                    TransportError::Read {
                        uri: uri.to_owned(),
                        reason: chain(e.as_ref()),
                    }
                }
            })?
            .to_bytes();
        Ok(Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: bytes,
        })
    }
}

/// The headers of a request: the scenario's own, `Authorization` with the token and, with
/// a body, Entra's `Content-Type` unless the scenario set one.
pub(crate) fn headers(
    config: &ClientConfig,
    out: Outgoing<'_>,
) -> Result<Vec<(HeaderName, HeaderValue)>, TransportError> {
    let mut list = Vec::new();
    if let Some(token) = &config.token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            TransportError::Header {
                name: "Authorization".into(),
                reason: "the token holds characters a header cannot".into(),
            }
        })?;
        list.push((AUTHORIZATION, value));
    }
    if out.body.is_some()
        && !out
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
    {
        list.push((
            CONTENT_TYPE,
            HeaderValue::from_static(super::wire::CONTENT_TYPE),
        ));
    }
    for (k, v) in out.headers {
        let header = |reason: String| TransportError::Header {
            name: k.clone(),
            reason,
        };
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| header(e.to_string()))?;
        let value = HeaderValue::from_str(v).map_err(|e| header(e.to_string()))?;
        list.push((name, value));
    }
    Ok(list)
}

fn client_error(uri: &str, e: &hyper_util::client::legacy::Error) -> TransportError {
    let reason = chain(e);
    if e.is_connect() {
        TransportError::Connect {
            uri: uri.to_owned(),
            reason,
        }
    } else {
        TransportError::Request {
            uri: uri.to_owned(),
            reason,
        }
    }
}

/// An error and its sources, joined by `: `.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        // hyper repeats a source's text in its own Display now and then; say it once.
        if !msg.ends_with(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}
