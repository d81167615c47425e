//! A request line hyper cannot send: Microsoft's SCIM Validator puts a raw `"` in the query
//! (`filter=userName+eq+"x"`, Microsoft Q&A 2238842), which the `http` crate's `Uri` refuses
//! (WHATWG URL query state). This writes one HTTP/1.1 exchange by hand over a plain TCP
//! connection (`Connection: close`), for `http://` tenant URLs only, and reads the answer
//! back into the same [`Answer`] the hyper client returns.

use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::client::{Answer, TransportError};

/// The most of an answer read back; the rest is dropped.
const MAX_ANSWER: usize = 8 << 20;

/// Sends `method target` (target already holding the raw query) to `base`
/// (`http://host:port/prefix`) and reads the whole answer within `timeout`.
pub(crate) async fn send(
    base: &str,
    token: Option<&str>,
    method: &str,
    target: &str,
    headers: &std::collections::BTreeMap<String, String>,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<Answer, TransportError> {
    let uri = format!("{base}{target}");
    let rest = base.get("http://".len()..).unwrap_or("");
    let (authority, prefix) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let connect_to = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!(
        "{} {prefix}{target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        method.to_ascii_uppercase(),
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in headers {
        if k.contains(['\r', '\n']) || v.contains(['\r', '\n']) {
            return Err(TransportError::Header {
                name: k.clone(),
                reason: "line breaks are not allowed".into(),
            });
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&connect_to)
            .await
            .map_err(|e| TransportError::Connect {
                uri: uri.clone(),
                reason: e.to_string(),
            })?;
        let request_error = |e: std::io::Error| TransportError::Request {
            uri: uri.clone(),
            reason: e.to_string(),
        };
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(request_error)?;
        stream
            .write_all(body.as_bytes())
            .await
            .map_err(request_error)?;
        let mut raw = Vec::new();
        let mut limited = (&mut stream).take(MAX_ANSWER as u64);
        limited
            .read_to_end(&mut raw)
            .await
            .map_err(|e| TransportError::Read {
                uri: uri.clone(),
                reason: e.to_string(),
            })?;
        parse(&raw).ok_or_else(|| TransportError::Request {
            uri: uri.clone(),
            reason: "the answer is not an HTTP/1.1 response".into(),
        })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(TransportError::Timeout {
            uri,
            after: timeout,
        }),
    }
}

/// Status line, headers and body (identity or chunked) of a complete answer.
fn parse(raw: &[u8]) -> Option<Answer> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(raw.get(..end)?).ok()?;
    let rest = raw.get(end + 4..)?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse::<u16>().ok()?;
    let mut headers = hyper::HeaderMap::new();
    for line in lines {
        let (k, v) = line.split_once(':')?;
        let name = HeaderName::from_bytes(k.trim().as_bytes()).ok()?;
        let value = HeaderValue::from_str(v.trim()).ok()?;
        headers.append(name, value);
    }
    let chunked = headers
        .get(hyper::header::TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        let len = headers
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(rest.len());
        rest.get(..len.min(rest.len()))?.to_vec()
    };
    Some(Answer {
        status,
        headers,
        body: Bytes::from(body),
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(rest.get(..line_end)?).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = rest.get(line_end + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_identity_and_chunked_answers() {
        let a = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((a.status, &a.body[..]), (200, &b"{}"[..]));
        let a =
            parse(b"HTTP/1.1 400 Bad\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
                .unwrap();
        assert_eq!((a.status, &a.body[..]), (400, &b"abc"[..]));
        assert!(parse(b"garbage").is_none());
    }
}
