//! The request journal: a bounded ring of every SCIM request and its response, readable
//! from [`crate::server::MockServer::received_requests`] and `GET /_mock/requests`.
//! Its own small lock, separate from the store's; held only to push or copy.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

/// One request and what the server answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
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
    /// The fault rule that fired for this request (see [`crate::server::faults`]).
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

impl RawEntry {
    fn decode(&self) -> RecordedRequest {
        RecordedRequest {
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
            body: body_value(&self.body),
            status: self.status,
            response_body: body_value(&self.response_body),
            duration_us: self.duration_us,
            fault: self.fault.clone(),
        }
    }
}

/// Bounded ring buffer of recorded requests.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    entries: Mutex<VecDeque<RawEntry>>,
}

impl Journal {
    /// A journal keeping the last `capacity` requests (0 keeps none).
    pub(crate) fn new(capacity: usize) -> Self {
        Journal {
            capacity,
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<RawEntry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends, dropping the oldest when full.
    pub(crate) fn push(&self, entry: RawEntry) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        while entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// Everything kept, oldest first.
    pub(crate) fn all(&self) -> Vec<RecordedRequest> {
        let raw: Vec<RawEntry> = self.lock().iter().cloned().collect();
        raw.iter().map(RawEntry::decode).collect()
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.lock().clear();
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
        let j = Journal::new(2);
        for n in 1..=3 {
            j.push(entry(n));
        }
        let statuses: Vec<u16> = j.all().iter().map(|e| e.status).collect();
        assert_eq!(statuses, vec![2, 3]);
    }
}
