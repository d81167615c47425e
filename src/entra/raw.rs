//! A request line hyper cannot send: Microsoft's SCIM Validator puts a raw `"` in the query
//! (`filter=userName+eq+"x"`, Microsoft Q&A 2238842), which the `http` crate's `Uri` refuses
//! (WHATWG URL query state). This writes one HTTP/1.1 exchange itself (`Connection:
//! close`, over TLS for https://) with the headers [`super::client`] sends, and reads the
//! answer with `httparse` (head) and its chunk-size parser (body), within the same body
//! bound. The caller holds the deadline.

use bytes::{Bytes, BytesMut};
use hyper::header::{HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::client::{chain, headers, Answer, ClientConfig, Outgoing, TransportError};

/// The longest response head read.
const MAX_HEAD: usize = 64 << 10;
/// The most headers a response head may have.
const MAX_HEADERS: usize = 128;

/// Sends `out` to `base` (`http(s)://host[:port]/prefix`) byte for byte.
pub(crate) async fn send(
    base: &str,
    config: &ClientConfig,
    out: Outgoing<'_>,
) -> Result<Answer, TransportError> {
    let uri = format!("{base}{}", out.target);
    let build = |reason: &str| TransportError::Build {
        uri: uri.clone(),
        reason: reason.to_owned(),
    };
    let parsed: hyper::Uri = base.parse().map_err(|_| build("not a URL"))?;
    let https = parsed.scheme_str() == Some("https");
    let host = parsed.host().ok_or_else(|| build("no host"))?.to_owned();
    let port = parsed.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = parsed
        .authority()
        .map(|a| a.as_str().rsplit('@').next().unwrap_or("").to_owned())
        .unwrap_or_default();
    let prefix = parsed.path().trim_end_matches('/');
    if out.target.contains(['\r', '\n', ' ']) || out.method.contains(['\r', '\n', ' ']) {
        return Err(build(
            "line breaks and spaces cannot stand in a request line",
        ));
    }
    let body = out.body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!(
        "{} {prefix}{} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        out.method.to_ascii_uppercase(),
        out.target,
        body.len()
    );
    for (name, value) in headers(config, out)? {
        let value = value.to_str().map_err(|_| TransportError::Header {
            name: name.to_string(),
            reason: "not visible ASCII".into(),
        })?;
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(&body);
    let connect = |e: std::io::Error| TransportError::Connect {
        uri: uri.clone(),
        reason: e.to_string(),
    };
    let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(connect)?;
    if !https {
        return exchange(tcp, head.as_bytes(), &uri, config.max_body).await;
    }
    let tls = config
        .tls
        .client_config()
        .map_err(|e| TransportError::Connect {
            uri: uri.clone(),
            reason: e.to_string(),
        })?;
    let name = rustls_pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
        .map_err(|e| build(&e.to_string()))?;
    let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls))
        .connect(name, tcp)
        .await
        .map_err(connect)?;
    exchange(stream, head.as_bytes(), &uri, config.max_body).await
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
    uri: &str,
    max_body: usize,
) -> Result<Answer, TransportError> {
    stream
        .write_all(request)
        .await
        .map_err(|e| TransportError::Request {
            uri: uri.to_owned(),
            reason: e.to_string(),
        })?;
    let mut reader = Reader {
        stream,
        buf: BytesMut::with_capacity(8 << 10),
        eof: false,
    };
    read_answer(&mut reader, uri, max_body).await
}

/// A buffered reader that never holds more than the caller asks for.
struct Reader<S> {
    stream: S,
    buf: BytesMut,
    eof: bool,
}

impl<S: AsyncRead + Unpin> Reader<S> {
    /// Reads more into the buffer; false at the end of the stream.
    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let n = self.stream.read_buf(&mut self.buf).await?;
        self.eof = n == 0;
        Ok(n > 0)
    }
}

async fn read_answer<S: AsyncRead + Unpin>(
    r: &mut Reader<S>,
    uri: &str,
    max_body: usize,
) -> Result<Answer, TransportError> {
    let read = |reason: String| TransportError::Read {
        uri: uri.to_owned(),
        reason,
    };
    let not_http = || TransportError::Request {
        uri: uri.to_owned(),
        reason: "the answer is not an HTTP/1.1 response".into(),
    };
    // The head, parsed as it grows.
    let (status, headers, head_len) = loop {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut slots);
        match response.parse(&r.buf) {
            Ok(httparse::Status::Complete(len)) => {
                let mut map = hyper::HeaderMap::new();
                for h in response.headers.iter() {
                    let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| not_http())?;
                    let value = HeaderValue::from_bytes(h.value).map_err(|_| not_http())?;
                    map.append(name, value);
                }
                break (response.code.ok_or_else(not_http)?, map, len);
            }
            Ok(httparse::Status::Partial) if r.buf.len() < MAX_HEAD => {
                if !r.fill().await.map_err(|e| read(e.to_string()))? {
                    return Err(not_http());
                }
            }
            _ => return Err(not_http()),
        }
    };
    let _ = r.buf.split_to(head_len);
    let too_large = || TransportError::TooLarge {
        uri: uri.to_owned(),
        limit: max_body,
    };
    let chunked = headers
        .get_all(hyper::header::TRANSFER_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    let body = if chunked {
        dechunk(r, max_body, uri).await?
    } else if let Some(len) = length {
        if len > max_body {
            return Err(too_large());
        }
        while r.buf.len() < len {
            if !r.fill().await.map_err(|e| read(e.to_string()))? {
                return Err(read(format!(
                    "the connection closed {} bytes into a {len}-byte body",
                    r.buf.len()
                )));
            }
        }
        r.buf.split_to(len).freeze()
    } else {
        // No framing: the body runs to the end of the connection.
        loop {
            if r.buf.len() > max_body {
                return Err(too_large());
            }
            if !r.fill().await.map_err(|e| read(e.to_string()))? {
                break r.buf.split().freeze();
            }
        }
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A chunked body (RFC 9112 §7.1), at most `max_body` bytes of data.
async fn dechunk<S: AsyncRead + Unpin>(
    r: &mut Reader<S>,
    max_body: usize,
    uri: &str,
) -> Result<Bytes, TransportError> {
    let bad = |reason: &str| TransportError::Read {
        uri: uri.to_owned(),
        reason: reason.to_owned(),
    };
    let io = |e: std::io::Error| TransportError::Read {
        uri: uri.to_owned(),
        reason: chain(&e),
    };
    let mut out = BytesMut::new();
    loop {
        let (start, size) = loop {
            match httparse::parse_chunk_size(&r.buf) {
                Ok(httparse::Status::Complete((start, size))) => break (start, size),
                Ok(httparse::Status::Partial) if r.buf.len() < MAX_HEAD => {
                    if !r.fill().await.map_err(io)? {
                        return Err(bad("the connection closed inside a chunk size"));
                    }
                }
                _ => return Err(bad("a chunk size line is not valid")),
            }
        };
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > max_body.saturating_sub(out.len()) {
            return Err(TransportError::TooLarge {
                uri: uri.to_owned(),
                limit: max_body,
            });
        }
        let _ = r.buf.split_to(start);
        if size == 0 {
            // Trailers are not read: the connection closes after this answer.
            return Ok(out.freeze());
        }
        while r.buf.len() < size + 2 {
            if !r.fill().await.map_err(io)? {
                return Err(bad("the connection closed inside a chunk"));
            }
        }
        out.extend_from_slice(&r.buf[..size]);
        let _ = r.buf.split_to(size + 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(raw: &'static [u8], max_body: usize) -> Result<Answer, TransportError> {
        let mut reader = Reader {
            stream: raw,
            buf: BytesMut::new(),
            eof: false,
        };
        read_answer(&mut reader, "u", max_body).await
    }

    #[tokio::test]
    async fn parses_identity_chunked_and_unframed_answers() {
        let a = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 100)
            .await
            .unwrap();
        assert_eq!((a.status, &a.body[..]), (200, &b"{}"[..]));
        let a = answer(
            b"HTTP/1.1 400 Bad\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n1;x=y\r\nd\r\n0\r\n\r\n",
            100,
        )
        .await
        .unwrap();
        assert_eq!((a.status, &a.body[..]), (400, &b"abcd"[..]));
        let a = answer(b"HTTP/1.1 204 No Content\r\n\r\nrest", 100)
            .await
            .unwrap();
        assert_eq!(&a.body[..], b"rest");
        assert!(matches!(
            answer(b"garbage\r\n\r\n", 100).await,
            Err(TransportError::Request { .. })
        ));
    }

    #[tokio::test]
    async fn bodies_over_the_bound_are_refused_in_every_framing() {
        for raw in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890"[..],
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n"[..],
            &b"HTTP/1.1 200 OK\r\n\r\n01234567890"[..],
        ] {
            let mut reader = Reader {
                stream: raw,
                buf: BytesMut::new(),
                eof: false,
            };
            let got = read_answer(&mut reader, "u", 10).await;
            assert!(matches!(got, Err(TransportError::TooLarge { limit: 10, .. })), "{got:?}");
        }
    }
}
