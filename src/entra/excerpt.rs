//! The one bound on text the endpoint sent, applied where that text is captured into a
//! step result, a finding or a provisioning-log entry, so every writer (terminal, JSON,
//! JUnit, CSV, HTML) gets bounded text from one place.
//!
//! The client reads at most `--max-body` of a body ([`super::Client`]), but what it reads
//! then flows into every output: one 2 MiB `detail` was written whole to stdout, the JSON
//! report, the JUnit report (its failure message and its text) and the HTML report, in
//! every step that got it. Here each piece keeps its start:
//!
//! | what | kept | why |
//! |---|---|---|
//! | a body (the failed exchange a report shows) | [`BODY`] = 64 KiB | the request journal's bound (`src/server/journal.rs`); a real SCIM answer is far smaller |
//! | one string: an error `detail`, a header value, a content type, an id | [`TEXT`] = 1,000 bytes | a sentence a person reads; a thousand characters of ASCII |
//! | a provisioning log's property value (old or new) | [`BODY`] | a group's members are the ids the endpoint assigned, and a large group's list is long for good reason |
//!
//! A cut text ends in the journal's marker, `…[truncated: N bytes]`, N the length of the
//! whole as the endpoint sent it, so one marker means one thing everywhere.
//!
//! Text is scrubbed of secrets *before* it is cut ([`text`], [`body`]): the scrubber finds
//! a secret by its whole spelling, so a cut through the middle of an echoed token would
//! leave its start showing, where the writers' own scrubbing no longer recognises it. Text
//! kept whole is scrubbed too, so what a result holds of the endpoint's text has no secret
//! left in it, and any later, shorter cut (a terminal line, an HTML preview) is safe as
//! well. The writers still scrub everything they write.
//!
//! A cut is on a character boundary, never inside a UTF-8 sequence; control characters are
//! left for the writers to escape (an escape never straddles the cut, since whole
//! characters are kept).

use std::borrow::Cow;

use serde_json::Value;

use super::secrets::Scrubber;

/// The most of one body a report keeps, in bytes.
pub const BODY: usize = 64 << 10;

/// The most of one string from the endpoint (a `detail`, a header value) a report keeps,
/// in bytes.
pub const TEXT: usize = 1_000;

/// `text` whole when it is at most `max` bytes long; else its longest start of at most
/// `max` bytes that ends on a character boundary, and `…[truncated: N bytes]`, N the
/// length of `text`.
pub fn excerpt(text: &str, max: usize) -> Cow<'_, str> {
    cut(text, max, text.len())
}

/// [`excerpt`] of a text that stands for `whole` bytes the endpoint sent (more than the
/// text itself when it was scrubbed or decoded).
fn cut(text: &str, max: usize, whole: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let end = crate::caret::floor_char_boundary(text, max);
    Cow::Owned(format!(
        "{}…[truncated: {} bytes]",
        &text[..end],
        whole.max(text.len())
    ))
}

/// One string the endpoint sent, as a report keeps it: scrubbed of `secrets`, then cut to
/// [`TEXT`] bytes.
pub fn text(secrets: &Scrubber, text: &str) -> String {
    bounded(secrets, text, TEXT)
}

/// `text` scrubbed of `secrets`, then cut to `max` bytes; the marker counts the bytes of
/// `text` as given.
pub fn bounded(secrets: &Scrubber, text: &str, max: usize) -> String {
    let clean = secrets.scrub(text);
    cut(&clean, max, text.len()).into_owned()
}

/// A response body as text for a log line: lossy UTF-8, scrubbed of `secrets`, cut to
/// [`BODY`] bytes. The marker counts the body's bytes.
pub fn body_text(secrets: &Scrubber, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let clean = secrets.scrub(&text);
    cut(&clean, BODY, body.len()).into_owned()
}

/// A response body as a report keeps it: absent when empty; when it is at most [`BODY`]
/// bytes, the JSON (`json`, the body parsed) or the text, scrubbed of `secrets` (the
/// writers redact secret-named members); else a string: the secret-named members redacted
/// (when it is JSON), the secrets scrubbed, then cut to [`BODY`] bytes. A cut body is no
/// longer JSON, so it is redacted before it becomes text.
pub fn body(secrets: &Scrubber, body: &[u8], json: Option<Value>) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    if body.len() <= BODY {
        return Some(match json {
            Some(mut value) => {
                secrets.scrub_json(&mut value);
                value
            }
            None => Value::String(secrets.scrub(&String::from_utf8_lossy(body)).into_owned()),
        });
    }
    let text = match json {
        Some(value) => super::secrets::redact_json(&value).to_string(),
        None => String::from_utf8_lossy(body).into_owned(),
    };
    let clean = secrets.scrub(&text);
    Some(Value::String(cut(&clean, BODY, body.len()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_whole_and_long_text_keeps_its_start_and_a_marker() {
        assert_eq!(excerpt("short", 10), "short");
        assert!(matches!(excerpt("short", 5), Cow::Borrowed("short")));
        assert_eq!(excerpt("0123456789", 4), "0123…[truncated: 10 bytes]");
        assert_eq!(excerpt("abc", 0), "…[truncated: 3 bytes]");
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        // `€` is three bytes: a bound of 4 keeps one, of 6 two.
        let text = "€€€€";
        assert_eq!(excerpt(text, 4), "€…[truncated: 12 bytes]");
        assert_eq!(excerpt(text, 5), "€…[truncated: 12 bytes]");
        assert_eq!(excerpt(text, 6), "€€…[truncated: 12 bytes]");
        for max in 0..text.len() {
            let cut = excerpt(text, max);
            let kept = cut.split('…').next().unwrap_or_default();
            assert!(kept.len() <= max, "{max}: {cut}");
            assert!(kept.chars().all(|c| c == '€'), "{max}: {cut}");
        }
    }

    #[test]
    fn a_token_cut_in_half_is_scrubbed_first() {
        let token = "tok-3f9c2a7e1b5d4c8a9e6f0b1c2d3e4f5a";
        let secrets = Scrubber::new([token]);
        // The bound falls 20 bytes into the token.
        let text = format!("{}{token}{}", "x".repeat(TEXT - 20), "y".repeat(5000));
        let kept = super::text(&secrets, &text);
        assert!(!kept.contains("tok-"), "{kept}");
        assert!(kept.contains("[redacted]"), "{kept}");
        assert!(kept.ends_with(&format!("…[truncated: {} bytes]", text.len())));
        // Cut first, the start of the token would be left where no scrubber finds it.
        let wrong = secrets.scrub(&excerpt(&text, TEXT)).into_owned();
        assert!(wrong.contains("tok-3f9c2a7e1b5d4c8a"), "{wrong}");
    }

    #[test]
    fn a_large_body_is_redacted_scrubbed_and_cut() {
        let secrets = Scrubber::new(["tok-3f9c2a7e1b5d4c8a9e6f0b1c2d3e4f5a"]);
        let json = serde_json::json!({
            "password": "hunter2",
            "echo": "tok-3f9c2a7e1b5d4c8a9e6f0b1c2d3e4f5a",
            "padding": "€".repeat(BODY),
        });
        let bytes = json.to_string().into_bytes();
        let Some(Value::String(kept)) = body(&secrets, &bytes, Some(json)) else {
            panic!("a large body is kept as text")
        };
        assert!(
            !kept.contains("hunter2") && !kept.contains("tok-"),
            "{kept}"
        );
        assert!(kept.len() <= BODY + 40, "{}", kept.len());
        assert!(kept.contains("[redacted]"), "{}", &kept[..200]);
        assert!(
            kept.ends_with(&format!("…[truncated: {} bytes]", bytes.len())),
            "{}",
            &kept[kept.len() - 40..]
        );
        // A small body stays JSON, scrubbed; the writers redact it.
        let small =
            serde_json::json!({"a": ["tok-3f9c2a7e1b5d4c8a9e6f0b1c2d3e4f5a"], "password": "p"});
        let bytes = small.to_string().into_bytes();
        assert_eq!(
            body(&secrets, &bytes, Some(small)),
            Some(serde_json::json!({"a": ["[redacted]"], "password": "p"}))
        );
        assert_eq!(body(&secrets, b"", None), None);
        assert_eq!(
            body(&secrets, b"not json", None),
            Some(Value::String("not json".into()))
        );
    }

    #[test]
    fn a_body_that_is_not_utf8_is_cut_without_a_replacement_at_the_cut() {
        let mut bytes = "é".repeat(BODY).into_bytes();
        bytes.push(0xff);
        let text = body_text(&Scrubber::default(), &bytes);
        let kept = text.split('…').next().unwrap_or_default();
        assert!(kept.len() <= BODY);
        assert!(
            kept.chars().all(|c| c == 'é'),
            "{}",
            &kept[kept.len() - 8..]
        );
    }
}
