//! An I/O adapter between a connection and hyper that makes the request target of every
//! request on it parseable, and answers what still is not with an RFC 7644 §3.12 body.
//!
//! Why: the Microsoft Entra SCIM Validator sends
//! `GET /scim/v2/Users?filter=userName+eq+"dale.mohr%40romaguera.uk"` with literal `"`
//! (Microsoft Q&A 2238842). hyper builds an `http::Uri` from the request line, which
//! refuses `"` in a query, and answers a bare `400` before any of our code runs.
//!
//! What it does, per request on the connection (keep-alive included):
//! 1. Buffers the request head (at most [`MAX_HEAD`] bytes) and parses it with `httparse`,
//!    the parser hyper itself uses.
//! 2. Percent-encodes, in the request target only, the bytes of [`ENCODED`]: the printable
//!    ASCII characters RFC 3986 §2 allows nowhere in a URI (`"` `<` `>` `\` `^` `` ` ``
//!    `{` `|` `}`) plus `#` (RFC 9112 §3.2: a request target has no fragment, so a `#` is
//!    data; left alone, `http::Uri` would cut the query there). Everything else, `%`
//!    included, is passed as sent; the query parser decodes what this encodes.
//! 3. Hands hyper the head and then exactly the message body (by `Content-Length` or the
//!    chunked framing, RFC 9112 §6), so the next request's head is found again.
//! 4. A head hyper would refuse (malformed, too large, a target `http::Uri` still cannot
//!    parse, a bad `Content-Length`, a transfer coding other than one final `chunked`) is
//!    answered here with `400`, `414`, `431` or `501` and an RFC 7644 §3.12 error body,
//!    logged, and the connection closed; hyper then sees the connection end before any
//!    request.
//!
//! It wraps any `AsyncRead + AsyncWrite`, so it composes with TLS (wrap the decrypted
//! stream) and with the listener's limits.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::scim::ErrorResponse;

/// The largest request head accepted (hyper's own read buffer is as large).
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Bytes read from the connection at a time.
const READ_SIZE: usize = 8192;

/// Request headers parsed at most (hyper's default).
const MAX_HEADERS: usize = 100;

/// `http::Uri`'s length limit for a path and query.
const MAX_TARGET: usize = 65_534;

/// Bytes percent-encoded in a request target (see the module docs).
pub(crate) const ENCODED: &[u8] = b"\"#<>\\^`{|}";

/// Where the next byte from the client belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// Part of a request head (being buffered).
    Head,
    /// This many body bytes remain.
    Body(u64),
    /// A chunk-size line; the size so far and whether an extension (`;…`) began.
    ChunkSize(u64, bool),
    /// Chunk data; this many bytes remain, then a line end.
    ChunkData(u64),
    /// The line end after chunk data.
    ChunkEnd,
    /// Trailer fields; whether the current line is empty so far.
    Trailer(bool),
    /// Not HTTP/1 (the HTTP/2 connection preface, RFC 9113 §3.4): passed through.
    Opaque,
}

/// The adapter. `inner` is the client connection.
#[derive(Debug)]
pub(crate) struct NormalizedTarget<S> {
    inner: S,
    frame: Frame,
    /// A head being buffered.
    head: Vec<u8>,
    /// Bytes ready for hyper, from `ready_at`.
    ready: Vec<u8>,
    ready_at: usize,
    /// An error answer being written, from `refusal_at`; then EOF for hyper.
    refusal: Option<Vec<u8>>,
    refusal_at: usize,
    /// The peer, for the log line of a refusal.
    peer: String,
    /// What each read from `inner` lands in (allocated and zeroed once per connection).
    scratch: Vec<u8>,
}

impl<S> NormalizedTarget<S> {
    /// Wraps `inner`; `peer` names the client in log lines.
    pub(crate) fn new(inner: S, peer: impl Into<String>) -> Self {
        NormalizedTarget {
            inner,
            frame: Frame::Head,
            head: Vec::new(),
            ready: Vec::new(),
            ready_at: 0,
            refusal: None,
            refusal_at: 0,
            peer: peer.into(),
            scratch: Vec::new(),
        }
    }

    /// Runs `input` through the framing: body bytes go to `ready`, head bytes to `head`
    /// (a complete head is checked, normalised and moved to `ready`).
    fn feed(&mut self, input: &[u8]) {
        let mut data = std::borrow::Cow::Borrowed(input);
        let mut at = 0;
        while at < data.len() && self.refusal.is_none() {
            let input = &data[at..];
            let mut head_end_possible = false;
            let used = match self.frame {
                Frame::Head => {
                    // A head can only end at a blank line: take the new bytes up to the
                    // first one they complete, so what follows (a pipelined request) is
                    // framed from where it starts instead of being copied and rescanned.
                    let used = match blank_line_end(&self.head, input) {
                        Some(end) => {
                            head_end_possible = true;
                            end
                        }
                        None => input.len(),
                    };
                    self.head.extend_from_slice(&input[..used]);
                    head_end_possible |= self.head.len() > MAX_HEAD;
                    used
                }
                Frame::Body(n) => {
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(input.len());
                    self.ready.extend_from_slice(&input[..take]);
                    let left = n - take as u64;
                    self.frame = if left == 0 {
                        Frame::Head
                    } else {
                        Frame::Body(left)
                    };
                    take
                }
                Frame::ChunkData(n) => {
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(input.len());
                    self.ready.extend_from_slice(&input[..take]);
                    let left = n - take as u64;
                    self.frame = if left == 0 {
                        Frame::ChunkEnd
                    } else {
                        Frame::ChunkData(left)
                    };
                    take
                }
                Frame::Opaque => {
                    self.ready.extend_from_slice(input);
                    input.len()
                }
                Frame::ChunkSize(..) | Frame::ChunkEnd | Frame::Trailer(_) => {
                    self.ready.push(input[0]);
                    self.frame = chunk_byte(self.frame, input[0]);
                    1
                }
            };
            at += used;
            if head_end_possible {
                // What follows a complete head is fed again, with its framing.
                let rest = self.take_head();
                if !rest.is_empty() {
                    data = std::borrow::Cow::Owned(rest);
                    at = 0;
                }
            }
        }
    }

    /// Checks the buffered head: when complete, moves it (normalised) to `ready`, sets the
    /// body framing and returns the bytes after it; when refused, sets `refusal`.
    fn take_head(&mut self) -> Vec<u8> {
        match check_head(&self.head) {
            Head::Partial if self.head.len() > MAX_HEAD => {
                self.refuse(431, "the request head is larger than the 65536-byte limit");
                Vec::new()
            }
            Head::Partial => Vec::new(),
            Head::Http2 => {
                self.ready.append(&mut self.head);
                self.frame = Frame::Opaque;
                Vec::new()
            }
            Head::Refused(status, detail) => {
                self.refuse(status, &detail);
                Vec::new()
            }
            Head::Complete { len, head, body } => {
                let len = len.min(self.head.len());
                let rest = self.head.split_off(len);
                match head {
                    Some(normalised) => self.ready.extend_from_slice(&normalised),
                    None => self.ready.extend_from_slice(&self.head),
                }
                self.head.clear();
                self.frame = body;
                rest
            }
        }
    }

    fn refuse(&mut self, status: u16, detail: &str) {
        tracing::warn!(
            peer = %self.peer,
            status,
            detail,
            "request refused before routing (RFC 7644 §3.12 body sent)"
        );
        self.refusal = Some(refusal(status, detail));
        self.head.clear();
    }
}

/// How many bytes of `input` (which follows `before`) run up to and including the end of
/// the first blank line (`\n\n` or `\n\r\n`) that ends inside `input`, if one does.
fn blank_line_end(before: &[u8], input: &[u8]) -> Option<usize> {
    // The two bytes before the one being looked at, starting with the end of `before`.
    let mut last = before.last().copied();
    let mut second = before.iter().rev().nth(1).copied();
    for (i, &b) in input.iter().enumerate() {
        if b == b'\n' && (last == Some(b'\n') || (last == Some(b'\r') && second == Some(b'\n'))) {
            return Some(i + 1);
        }
        second = last;
        last = Some(b);
    }
    None
}

/// The next framing state after one byte of chunked framing (RFC 9112 §7.1).
fn chunk_byte(frame: Frame, b: u8) -> Frame {
    match frame {
        Frame::ChunkSize(size, ext) => match b {
            b'\n' if size == 0 => Frame::Trailer(true),
            b'\n' => Frame::ChunkData(size),
            b';' => Frame::ChunkSize(size, true),
            _ if ext => frame,
            _ => match (b as char).to_digit(16) {
                Some(d) => Frame::ChunkSize(size.saturating_mul(16).saturating_add(d.into()), ext),
                // Whitespace or CR: hyper judges the line.
                None => frame,
            },
        },
        Frame::ChunkEnd if b == b'\n' => Frame::ChunkSize(0, false),
        Frame::Trailer(empty) => match b {
            b'\n' if empty => Frame::Head,
            b'\n' => Frame::Trailer(true),
            b'\r' => Frame::Trailer(empty),
            _ => Frame::Trailer(false),
        },
        other => other,
    }
}

/// What a buffered head turned out to be.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    Partial,
    /// The HTTP/2 connection preface: the rest of the connection is not ours to frame.
    Http2,
    /// Refused with this status and detail.
    Refused(u16, String),
    /// `len` bytes of input make the head; `head` is it with the target normalised
    /// (`None`: the head is sent as it came); `body` is the framing of what follows.
    Complete {
        len: usize,
        head: Option<Vec<u8>>,
        body: Frame,
    },
}

fn check_head(buf: &[u8]) -> Head {
    if buf.starts_with(b"PRI * HTTP/2.0\r\n") {
        return Head::Http2;
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Partial) => return Head::Partial,
        Ok(httparse::Status::Complete(len)) => len,
        Err(httparse::Error::TooManyHeaders) => {
            return Head::Refused(
                431,
                format!("the request has more than {MAX_HEADERS} header fields"),
            )
        }
        Err(e) => {
            return Head::Refused(400, format!("the request head is not valid HTTP/1.1: {e}"))
        }
    };
    let Some(target) = req.path else {
        return Head::Partial;
    };
    // The target's place in `buf` (httparse hands out slices of it).
    let start = (target.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    let Some(end) = start.checked_add(target.len()).filter(|&e| e <= len) else {
        return Head::Refused(400, "the request line could not be read".to_owned());
    };
    let normalised = normalise(target);
    let as_sent = matches!(normalised, std::borrow::Cow::Borrowed(_));
    let normalised = normalised.as_ref();
    if normalised.len() > MAX_TARGET {
        return Head::Refused(
            414,
            format!("the request target is longer than {MAX_TARGET} bytes"),
        );
    }
    if let Err(e) = hyper::Uri::try_from(normalised) {
        return Head::Refused(
            400,
            format!("the request target is not a valid URI even with the characters {} percent-encoded: {e}",
                String::from_utf8_lossy(ENCODED)),
        );
    }
    let body = match framing(req.headers) {
        Ok(body) => body,
        Err((status, detail)) => return Head::Refused(status, detail),
    };
    if as_sent {
        // Nothing was encoded: the head goes to hyper as sent.
        return Head::Complete {
            len,
            head: None,
            body,
        };
    }
    let mut head = Vec::with_capacity(len + normalised.len() - target.len());
    head.extend_from_slice(&buf[..start]);
    head.extend_from_slice(normalised.as_bytes());
    head.extend_from_slice(&buf[end..len]);
    Head::Complete {
        len,
        head: Some(head),
        body,
    }
}

/// `target` with every byte of [`ENCODED`] percent-encoded (borrowed when it has none).
pub(crate) fn normalise(target: &str) -> std::borrow::Cow<'_, str> {
    if !target.bytes().any(|b| ENCODED.contains(&b)) {
        return std::borrow::Cow::Borrowed(target);
    }
    let mut out = String::with_capacity(target.len() + 8);
    for c in target.chars() {
        match u8::try_from(c) {
            Ok(b) if ENCODED.contains(&b) => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
            _ => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The body framing the headers declare (RFC 9112 §6.3): chunked when
/// `Transfer-Encoding` is present, else `Content-Length` bytes, else none. `Err` is the
/// status and detail of a refusal.
///
/// The only transfer coding served is `chunked` (RFC 9112 §7.1), once and last:
/// - a `Transfer-Encoding` whose final coding is not `chunked` (`gzip`) leaves the body's
///   length unknown, and RFC 9112 §6.3 says the server "MUST respond with the 400 (Bad
///   Request) status code and then close the connection";
/// - any other coding before the final `chunked` (`gzip, chunked`) is one the server does
///   not understand, and RFC 9112 §6.1 says it "SHOULD respond with 501 (Not
///   Implemented)";
/// - `chunked` twice is malformed (RFC 9112 §6.1: a sender "MUST NOT apply the chunked
///   transfer coding more than once"): 400.
fn framing(headers: &[httparse::Header<'_>]) -> Result<Frame, (u16, String)> {
    let mut length: Option<u64> = None;
    let mut codings: Option<Vec<String>> = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // RFC 9112 §6.1: the codings of every field line, in order; RFC 9110 §5.6.1:
            // empty list elements are ignored; a coding's name ends at its parameters.
            let value = String::from_utf8_lossy(h.value);
            let list = codings.get_or_insert_with(Vec::new);
            list.extend(
                value
                    .split(',')
                    .map(|c| {
                        c.split(';')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_ascii_lowercase()
                    })
                    .filter(|c| !c.is_empty()),
            );
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    let v = String::from_utf8_lossy(h.value);
                    (
                        400,
                        format!("Content-Length `{v}` is not a number (RFC 9110 §8.6)"),
                    )
                })?;
            if length.is_some_and(|m| m != n) {
                let detail = "two different Content-Length values (RFC 9110 §8.6)";
                return Err((400, detail.to_owned()));
            }
            length = Some(n);
        }
    }
    if let Some(codings) = codings {
        transfer_codings(&codings)?;
        return Ok(Frame::ChunkSize(0, false));
    }
    Ok(match length {
        Some(n) if n > 0 => Frame::Body(n),
        _ => Frame::Head,
    })
}

/// Accepts exactly `chunked` as a request's transfer codings (see [`framing`]).
fn transfer_codings(codings: &[String]) -> Result<(), (u16, String)> {
    let listed = codings.join(", ");
    let Some((_, before)) = codings.split_last().filter(|(last, _)| *last == "chunked") else {
        return Err((
            400,
            format!(
                "Transfer-Encoding `{listed}` does not end in `chunked`, so the body's length \
                 cannot be determined (RFC 9112 §6.3); send `chunked` alone, or a \
                 Content-Length"
            ),
        ));
    };
    if before.iter().any(|c| c == "chunked") {
        return Err((
            400,
            format!(
                "Transfer-Encoding `{listed}` applies `chunked` more than once (RFC 9112 §6.1)"
            ),
        ));
    }
    if let Some(other) = before.first() {
        return Err((
            501,
            format!(
                "transfer coding `{other}` is not implemented; this server understands only \
                 `chunked` (RFC 9112 §6.1)"
            ),
        ));
    }
    Ok(())
}

/// A whole HTTP/1.1 answer with an RFC 7644 §3.12 body, closing the connection.
fn refusal(status: u16, detail: &str) -> Vec<u8> {
    let reason = match status {
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Bad Request",
    };
    let scim_type = (status == 400).then_some(crate::scim::ScimType::InvalidSyntax);
    let body = serde_json::to_vec(&ErrorResponse::new(status, scim_type, detail))
        .unwrap_or_else(|_| b"{}".to_vec());
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/scim+json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for NormalizedTarget<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.ready_at < this.ready.len() {
                let n = buf.remaining().min(this.ready.len() - this.ready_at);
                buf.put_slice(&this.ready[this.ready_at..this.ready_at + n]);
                this.ready_at += n;
                if this.ready_at == this.ready.len() {
                    this.ready.clear();
                    this.ready_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if let Some(answer) = &this.refusal {
                // Write the refusal, then tell hyper the connection ended.
                while this.refusal_at < answer.len() {
                    let n = ready!(
                        Pin::new(&mut this.inner).poll_write(cx, &answer[this.refusal_at..])
                    )?;
                    if n == 0 {
                        return Poll::Ready(Ok(()));
                    }
                    this.refusal_at += n;
                }
                ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
                return Poll::Ready(Ok(()));
            }
            let mut scratch = std::mem::take(&mut this.scratch);
            if scratch.is_empty() {
                scratch = vec![0; READ_SIZE];
            }
            let mut rb = ReadBuf::new(&mut scratch);
            let read = Pin::new(&mut this.inner).poll_read(cx, &mut rb);
            let got = rb.filled().len();
            if let Poll::Ready(Ok(())) = read {
                if got > 0 {
                    this.feed(&scratch[..got]);
                }
            }
            this.scratch = scratch;
            ready!(read)?;
            if got == 0 {
                // EOF: an incomplete head goes to hyper as it is, for hyper to judge.
                let partial = std::mem::take(&mut this.head);
                if partial.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                this.ready.extend_from_slice(&partial);
                continue;
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for NormalizedTarget<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(input: &[&[u8]]) -> (Vec<u8>, Option<String>) {
        let mut t = NormalizedTarget::new((), "test");
        for part in input {
            t.feed(part);
        }
        let refusal = t
            .refusal
            .as_ref()
            .map(|r| String::from_utf8_lossy(r).into_owned());
        (t.ready, refusal)
    }

    // row A4: Microsoft Q&A 2238842, the Validator's request line.
    #[test]
    fn raw_quotes_in_the_query_are_percent_encoded() {
        let (out, refused) =
            through(&[b"GET /scim/v2/Users?filter=userName+eq+\"dale.mohr%40romaguera.uk\" HTTP/1.1\r\nHost: x\r\n\r\n"]);
        assert!(refused.is_none());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /scim/v2/Users?filter=userName+eq+%22dale.mohr%40romaguera.uk%22 HTTP/1.1\r\nHost: x\r\n\r\n"
        );
    }

    #[test]
    fn each_request_on_a_connection_is_found_after_its_body() {
        let (out, _) = through(&[
            b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\n\"x\"",
            b"{}GET /b?q=\"1\" HTTP/1.1\r\n",
            b"\r\nPOST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n\"#\"\r\n0\r\n\r\n",
            b"GET /d?x=a#b HTTP/1.1\r\n\r\n",
        ]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\n\"x\"{}GET /b?q=%221%22 HTTP/1.1\r\n\r\n\
             POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n\"#\"\r\n0\r\n\r\n\
             GET /d?x=a%23b HTTP/1.1\r\n\r\n"
        );
    }

    #[test]
    fn a_malformed_head_gets_a_scim_400_and_an_oversized_one_a_431() {
        let (_, refused) = through(&[b"GET /a b c\r\n\r\n"]);
        let refused = refused.unwrap();
        assert!(
            refused.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{refused}"
        );
        assert!(refused.contains("urn:ietf:params:scim:api:messages:2.0:Error"));
        assert!(refused.contains("\"scimType\":\"invalidSyntax\""));
        let big = format!("GET /a HTTP/1.1\r\nX: {}\r\n", "y".repeat(MAX_HEAD));
        let (_, refused) = through(&[big.as_bytes()]);
        assert!(refused.unwrap().starts_with("HTTP/1.1 431 "));
        let (_, refused) = through(&[b"POST /a HTTP/1.1\r\nContent-Length: x\r\n\r\n"]);
        assert!(refused.unwrap().contains("Content-Length"));
    }

    #[test]
    fn transfer_codings_other_than_one_final_chunked_are_refused() {
        for (te, status) in [
            ("gzip", "400 Bad Request"),
            ("chunked, gzip", "400 Bad Request"),
            (" ", "400 Bad Request"),
            ("chunked, chunked", "400 Bad Request"),
            ("gzip, chunked", "501 Not Implemented"),
            ("x-custom;q=1, Chunked", "501 Not Implemented"),
        ] {
            let head = format!("POST /a HTTP/1.1\r\nTransfer-Encoding: {te}\r\n\r\n");
            let (out, refused) = through(&[head.as_bytes()]);
            let refused = refused.unwrap_or_else(|| panic!("{te:?} passed"));
            assert!(
                refused.starts_with(&format!("HTTP/1.1 {status}\r\n")),
                "{te:?}: {refused}"
            );
            assert!(refused.contains("application/scim+json"), "{refused}");
            assert!(out.is_empty(), "{te:?}");
        }
        // Two field lines make one list (RFC 9112 §6.1).
        let (_, refused) = through(&[
            b"POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        ]);
        assert!(refused.unwrap().starts_with("HTTP/1.1 501 "));
        let (out, refused) = through(&[
            b"POST /a HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        ]);
        assert!(refused.is_none());
        assert!(out.ends_with(b"0\r\n\r\n"));
    }

    /// The adapter's output does not depend on how the client's bytes were split into
    /// reads: every split of a three-request stream into two reads gives the same bytes.
    #[test]
    fn output_is_the_same_for_every_split_of_the_input() {
        let wire: &[u8] = b"POST /a?x=\"1\" HTTP/1.1\r\nContent-Length: 4\r\n\r\n{\"\"}\
            PATCH /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;e=1\r\n{}\r\n0\r\nT: v\r\n\r\n\
            GET /c?f=a|b HTTP/1.1\r\n\r\n";
        let (whole, refused) = through(&[wire]);
        assert!(refused.is_none());
        let text = String::from_utf8(whole.clone()).unwrap();
        assert!(
            text.contains("/a?x=%221%22 ") && text.contains("/c?f=a%7Cb "),
            "{text}"
        );
        for cut in 1..wire.len() {
            let (split, _) = through(&[&wire[..cut], &wire[cut..]]);
            assert_eq!(split, whole, "cut at {cut}");
        }
        let bytewise: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(through(&bytewise).0, whole);
    }

    /// `blank_line_end` finds the first blank line that ends in the new bytes, wherever
    /// the read boundary falls: checked against a plain scan of the joined bytes.
    #[test]
    fn a_blank_line_is_found_across_every_read_boundary() {
        fn oracle(before: &[u8], input: &[u8]) -> Option<usize> {
            let joined = [before, input].concat();
            (before.len()..joined.len())
                .find(|&p| {
                    joined[p] == b'\n'
                        && ((p >= 1 && joined[p - 1] == b'\n')
                            || (p >= 2 && joined[p - 1] == b'\r' && joined[p - 2] == b'\n'))
                })
                .map(|p| p + 1 - before.len())
        }
        for wire in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"[..],
            b"\n\nGET / HTTP/1.1\n\n",
            b"\r\n\r\nGET / HTTP/1.1\r\nA: b\r\n\r\n",
            b"no blank line\r\nat all\r\n",
            b"\n\r\n\n",
        ] {
            for cut in 0..=wire.len() {
                let (before, input) = wire.split_at(cut);
                assert_eq!(
                    blank_line_end(before, input),
                    oracle(before, input),
                    "{wire:?} cut at {cut}"
                );
            }
        }
    }

    /// Many requests in one read (pipelining) are each found and normalised.
    #[test]
    fn pipelined_requests_in_one_read_are_each_framed() {
        let one = "GET /u?f=\"a\" HTTP/1.1\r\nHost: x\r\n\r\nPOST /p HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
        let wire = one.repeat(50);
        let (out, refused) = through(&[wire.as_bytes()]);
        assert!(refused.is_none());
        let expected = one.replace("\"a\"", "%22a%22").repeat(50);
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    /// Whatever arrives, the adapter neither panics nor passes a head it refused.
    #[test]
    fn garbage_never_panics() {
        let inputs: [&[u8]; 6] = [
            b"\r\n\r\n\r\n",
            b"\x00\xff\xfe GET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\nabc",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nab",
            b"GET / HTTP/1.1\n\nGET /x HTTP/1.1\n\n",
            b"GET",
        ];
        for input in inputs {
            let (out, refused) = through(&[input]);
            if refused.is_some() {
                assert!(out.is_empty(), "{input:?}");
            }
        }
    }

    #[test]
    fn the_http2_preface_passes_through() {
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04";
        let (out, refused) = through(&[preface]);
        assert!(refused.is_none());
        assert_eq!(out, preface);
    }

    #[test]
    fn normalise_leaves_valid_targets_alone() {
        let t = "/scim/v2/Users?filter=userName%20eq%20%22a%22&attributes=id";
        assert_eq!(normalise(t), t);
        assert_eq!(normalise("/x?f={a|b}"), "/x?f=%7Ba%7Cb%7D");
    }
}
