//! The request journal: a bounded ring of every SCIM request and its response, readable
//! from [`crate::MockServer::received_requests`] and `GET /_mock/requests`
//! (paged: `?limit=N&after=SEQ`). Its own small lock, separate from the store's; held
//! only to push or copy.
//!
//! Bounded twice: at most `capacity` entries and at most `max_bytes` of kept bodies and
//! headers. A body longer than [`MAX_BODY_BYTES`] (or than a sixteenth of `max_bytes`)
//! keeps only its start, shown as text ending in a `…[truncated: N bytes]` marker; the
//! oldest entries go first when either bound is reached. Memory is thus set by
//! configuration (`--journal-size`, `--journal-bytes`), not by traffic.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

/// One request and what the server answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// Position in the journal, counting from 1 since start (or the last reset): the
    /// `after=` cursor of `GET /_mock/requests`.
    pub seq: u64,
    pub method: String,
    /// Path and query exactly as received (still percent-encoded).
    pub uri: String,
    /// Request headers, names lowercased.
    pub headers: BTreeMap<String, String>,
    /// The request body: JSON when it parsed, else text (lossy UTF-8), else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_body: Option<Value>,
    pub duration_us: u64,
    /// The fault rule that fired for this request (see [`crate::server::FaultRule`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// A body as the journal keeps it.
pub(crate) fn body_value(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        // The store's reader (store/bounds.rs): what the journal shows as JSON is within
        // the same depth bound as what the store keeps.
        crate::store::read_json("a journal body", bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
    )
}

/// What the hot path records: method, URI and headers as hyper parsed them (their
/// clones share hyper's buffers instead of copying every header into a `String`), bodies
/// as the bytes already in hand (cheap `Bytes` clones). All of it is turned into text and
/// JSON only when someone reads the journal.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub(crate) method: hyper::Method,
    pub(crate) uri: hyper::Uri,
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: bytes::Bytes,
    pub(crate) status: u16,
    pub(crate) response_body: bytes::Bytes,
    pub(crate) duration_us: u64,
    pub(crate) fault: Option<String>,
}

/// The longest body the journal keeps whole.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// The default bound on what the journal keeps, in bytes (`--journal-bytes`).
pub(crate) const DEFAULT_JOURNAL_BYTES: usize = 64 * 1024 * 1024;

/// A kept body: the bytes, or the start of them and the original length.
fn keep(bytes: bytes::Bytes, limit: usize) -> (bytes::Bytes, Option<usize>) {
    if bytes.len() <= limit {
        return (bytes, None);
    }
    let len = bytes.len();
    (bytes.slice(..limit), Some(len))
}

/// A body as the journal shows it: JSON when whole and parseable, else text, with the
/// truncation marker when it was cut.
fn shown(bytes: &[u8], cut: Option<usize>) -> Option<Value> {
    match cut {
        None => body_value(bytes),
        Some(len) => Some(Value::String(format!(
            "{}…[truncated: {len} bytes]",
            String::from_utf8_lossy(bytes)
        ))),
    }
}

/// One kept entry: the raw request, where its bodies were cut, and its sequence number.
#[derive(Debug, Clone)]
struct Kept {
    seq: u64,
    raw: RawEntry,
    body_cut: Option<usize>,
    response_cut: Option<usize>,
    bytes: usize,
}

impl RawEntry {
    /// Roughly what this entry holds on the heap.
    fn weight(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 16)
            .sum();
        256 + self.uri.to_string().len() + headers + self.body.len() + self.response_body.len()
    }

    fn decode_kept(
        &self,
        seq: u64,
        body_cut: Option<usize>,
        response_cut: Option<usize>,
    ) -> RecordedRequest {
        RecordedRequest {
            seq,
            method: self.method.to_string(),
            uri: self.uri.to_string(),
            // Names are lowercase in a HeaderMap; a repeated header keeps its last value.
            headers: self
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: shown(&self.body, body_cut),
            status: self.status,
            response_body: shown(&self.response_body, response_cut),
            duration_us: self.duration_us,
            fault: self.fault.clone(),
        }
    }
}

/// Bounded ring buffer of recorded requests.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    max_bytes: usize,
    entries: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    kept: VecDeque<Kept>,
    bytes: usize,
    next_seq: u64,
}

impl Journal {
    /// A journal keeping the last `capacity` requests (0 keeps none) within `max_bytes`.
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Self {
        Journal {
            capacity,
            max_bytes,
            entries: Mutex::new(Ring {
                // Grown as requests come: a server that sees a few requests (most test
                // servers) never allocates room for `capacity` of them.
                kept: VecDeque::new(),
                bytes: 0,
                next_seq: 1,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends, cutting long bodies and dropping the oldest entries to stay in bounds.
    pub(crate) fn push(&self, entry: RawEntry) {
        if self.capacity == 0 || self.max_bytes == 0 {
            return;
        }
        let limit = MAX_BODY_BYTES.min(self.max_bytes / 16).max(1);
        let mut raw = entry;
        let (body, body_cut) = keep(std::mem::take(&mut raw.body), limit);
        let (response, response_cut) = keep(std::mem::take(&mut raw.response_body), limit);
        // Copy what is kept: a slice would pin the whole original buffer.
        raw.body = if body_cut.is_some() {
            bytes::Bytes::copy_from_slice(&body)
        } else {
            body
        };
        raw.response_body = if response_cut.is_some() {
            bytes::Bytes::copy_from_slice(&response)
        } else {
            response
        };
        let bytes = raw.weight();
        let mut ring = self.lock();
        while ring.kept.len() >= self.capacity
            || (!ring.kept.is_empty() && ring.bytes + bytes > self.max_bytes)
        {
            if let Some(old) = ring.kept.pop_front() {
                ring.bytes -= old.bytes;
            }
        }
        let seq = ring.next_seq;
        ring.next_seq += 1;
        ring.bytes += bytes;
        ring.kept.push_back(Kept {
            seq,
            raw,
            body_cut,
            response_cut,
            bytes,
        });
    }

    /// Everything kept, oldest first.
    pub(crate) fn all(&self) -> Vec<RecordedRequest> {
        self.page(0, usize::MAX)
    }

    /// At most `limit` entries with a sequence number above `after`, oldest first.
    pub(crate) fn page(&self, after: u64, limit: usize) -> Vec<RecordedRequest> {
        let raw: Vec<Kept> = self
            .lock()
            .kept
            .iter()
            .filter(|k| k.seq > after)
            .take(limit)
            .cloned()
            .collect();
        raw.iter()
            .map(|k| k.raw.decode_kept(k.seq, k.body_cut, k.response_cut))
            .collect()
    }

    /// The sequence number of the newest entry (0 when none was ever kept).
    pub(crate) fn last_seq(&self) -> u64 {
        self.lock().next_seq.saturating_sub(1)
    }

    /// Appends to `out` the JSON of at most `limit` entries with `after < seq <= upto`,
    /// oldest first, each preceded by a comma unless `first`; returns how many it wrote
    /// and the last one's sequence number. The lock is held only to clone the entries
    /// (their bodies are shared `Bytes`), so a streamed `GET /_mock/requests` costs one
    /// chunk of decoded entries at a time, whatever the journal holds.
    pub(crate) fn write_page(
        &self,
        after: u64,
        upto: u64,
        limit: usize,
        first: bool,
        out: &mut Vec<u8>,
    ) -> (usize, u64) {
        let raw: Vec<Kept> = self
            .lock()
            .kept
            .iter()
            .filter(|k| k.seq > after && k.seq <= upto)
            .take(limit)
            .cloned()
            .collect();
        let mut last = after;
        for (i, k) in raw.iter().enumerate() {
            if i > 0 || !first {
                out.push(b',');
            }
            let entry = k.raw.decode_kept(k.seq, k.body_cut, k.response_cut);
            // A RecordedRequest always serialises (strings, numbers and JSON values).
            let _ = serde_json::to_writer(&mut *out, &entry);
            last = k.seq;
        }
        (raw.len(), last)
    }

    /// What the kept entries weigh, in bytes (bounded by `max_bytes`).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        let mut ring = self.lock();
        ring.kept.clear();
        ring.bytes = 0;
        ring.next_seq = 1;
    }
}

/// Decoded views of a recorded request, for assertions in tests.
///
/// ```
/// # use std::io::{Read, Write};
/// let server = scimock::MockServer::builder().token("t").start_blocking();
/// # let mut tcp = std::net::TcpStream::connect(server.address()).unwrap();
/// # write!(tcp, "GET /scim/v2/Users?filter=userName+eq+%22bjensen%22&count=5 HTTP/1.1\r\n\
/// #     Host: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n").unwrap();
/// # let _ = tcp.read_to_end(&mut Vec::new());
/// // … the code under test sends GET /scim/v2/Users?filter=userName+eq+%22bjensen%22 …
/// let seen = &server.received_requests()[0];
/// assert_eq!(seen.method(), "GET");
/// assert_eq!(seen.path(), "/scim/v2/Users");
/// assert_eq!(seen.query_param("filter").as_deref(), Some("userName eq \"bjensen\""));
/// assert_eq!(seen.query_param("count").as_deref(), Some("5"));
/// // The journal never keeps a credential: only the scheme and whether it matched.
/// assert_eq!(seen.header("authorization"), Some("Bearer [redacted] (matched)"));
/// assert_eq!(seen.json(), None); // a GET has no body
/// ```
impl RecordedRequest {
    /// The HTTP method, e.g. `PATCH`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path without the query, still percent-encoded as sent.
    pub fn path(&self) -> &str {
        self.uri.split_once('?').map_or(&self.uri, |(path, _)| path)
    }

    /// The first query parameter named `name` (case-sensitive), decoded as a form value
    /// (`+` is a space, `%22` a quote), as Entra encodes its filters.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let (_, query) = self.uri.split_once('?')?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// A request header by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The request body when it was JSON; `None` when absent or not JSON.
    pub fn json(&self) -> Option<&Value> {
        self.body.as_ref().filter(|b| !b.is_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u16) -> RawEntry {
        RawEntry {
            method: hyper::Method::GET,
            uri: hyper::Uri::from_static("/"),
            headers: hyper::HeaderMap::new(),
            body: bytes::Bytes::new(),
            status: n,
            response_body: bytes::Bytes::from_static(b"{}"),
            duration_us: 0,
            fault: None,
        }
    }

    #[test]
    fn keeps_only_the_newest_entries() {
        let j = Journal::new(2, DEFAULT_JOURNAL_BYTES);
        for n in 1..=3 {
            j.push(entry(n));
        }
        let statuses: Vec<u16> = j.all().iter().map(|e| e.status).collect();
        assert_eq!(statuses, vec![2, 3]);
        let seqs: Vec<u64> = j.page(2, 10).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![3]);
    }

    #[test]
    fn stays_within_its_byte_bound_and_marks_cut_bodies() {
        let j = Journal::new(1000, 256 * 1024);
        for n in 0..100 {
            let mut e = entry(200 + n);
            e.response_body = bytes::Bytes::from(vec![b'x'; 100_000]);
            j.push(e);
            assert!(j.bytes() <= 256 * 1024, "{}", j.bytes());
        }
        let all = j.all();
        assert!(all.len() > 1 && all.len() < 100, "{}", all.len());
        let shown = all[0]
            .response_body
            .as_ref()
            .and_then(|v| v.as_str())
            .unwrap();
        assert!(
            shown.ends_with("…[truncated: 100000 bytes]"),
            "{}",
            &shown[shown.len() - 40..]
        );
    }
}
