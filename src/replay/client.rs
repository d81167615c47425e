//! The replay's HTTP client: one request to the endpoint with the bearer token, a bounded
//! wait, and a typed [`TransportError`] when no answer arrives.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The scenario's method is not an HTTP method.
    #[error("bad method `{0}`")]
    Method(String),
    /// A scenario header name or value cannot be sent.
    #[error("header `{name}`: {reason}")]
    Header { name: String, reason: String },
    /// The request could not be assembled (for example an invalid URI after substitution).
    #[error("cannot build request for {uri}: {reason}")]
    Build { uri: String, reason: String },
    /// No connection: refused, unknown host, TLS handshake failed.
    #[error("cannot connect to {uri}: {reason}")]
    Connect { uri: String, reason: String },
    /// Connected, but the exchange broke before a response head arrived.
    #[error("request to {uri} failed: {reason}")]
    Request { uri: String, reason: String },
    /// The response head arrived, its body did not.
    #[error("reading the response from {uri}: {reason}")]
    Read { uri: String, reason: String },
    /// Nothing complete within the per-request timeout.
    #[error("no complete response from {uri} within {} s (Entra's limit is 60 s)", .after.as_secs_f64())]
    Timeout { uri: String, after: Duration },
}

/// One request as the client sends it: target relative to the base URL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outgoing<'a> {
    pub(crate) method: &'a str,
    /// Path and query, appended to the base URL.
    pub(crate) target: &'a str,
    pub(crate) headers: &'a std::collections::BTreeMap<String, String>,
    pub(crate) body: Option<&'a Value>,
}

/// A complete HTTP answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: Bytes,
}

/// A client for one base URL.
#[derive(Clone)]
pub(crate) struct HttpClient {
    base: String,
    token: Option<String>,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("base", &self.base)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client sending to `base` (no trailing `/`), with `token` as a bearer token.
    pub(crate) fn new(base: String, token: Option<String>, timeout: Duration) -> HttpClient {
        HttpClient {
            base,
            token,
            timeout,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends one request and waits at most the timeout for the whole answer.
    pub(crate) async fn send(&self, out: Outgoing<'_>) -> Result<Answer, TransportError> {
        let method = hyper::Method::from_bytes(out.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| TransportError::Method(out.method.to_owned()))?;
        let uri = format!("{}{}", self.base, out.target);
        let mut builder = hyper::Request::builder().method(method).uri(&uri);
        if let Some(token) = &self.token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match out.body {
            Some(b) => {
                builder = builder.header(CONTENT_TYPE, "application/scim+json");
                Full::new(Bytes::from(b.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let mut request = builder.body(body).map_err(|e| TransportError::Build {
            uri: uri.clone(),
            reason: e.to_string(),
        })?;
        for (k, v) in out.headers {
            let header = |reason: String| TransportError::Header {
                name: k.clone(),
                reason,
            };
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| header(e.to_string()))?;
            let value = HeaderValue::from_str(v).map_err(|e| header(e.to_string()))?;
            request.headers_mut().insert(name, value);
        }
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| client_error(&uri, &e))?;
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| TransportError::Read {
                    uri: uri.clone(),
                    reason: chain(&e),
                })?
                .to_bytes();
            Ok(Answer {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body: bytes,
            })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::Timeout {
                uri,
                after: self.timeout,
            }),
        }
    }
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
fn chain(e: &dyn std::error::Error) -> String {
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
