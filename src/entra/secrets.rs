//! The one secret policy of everything the stand-in writes: terminal, JSON, JUnit, CSV,
//! HTML, recordings and state. What the endpoint sends back is untrusted and may echo the
//! bearer token anywhere (an error `detail`, a header, a body member), so the policy works
//! on the text that leaves the process, not on fields we expect secrets in:
//!
//! - [`Scrubber::scrub`]: every known secret (the bearer token, a URL password), in its raw,
//!   percent-encoded and form-encoded spellings, becomes `[redacted]`; so do URL user-info
//!   (`https://user:pass@host`) and credential query values (`access_token=…`). Secrets of
//!   8 characters or more are replaced wherever they occur, shorter ones (a test token such
//!   as `t`) only where no letter or digit touches them.
//! - [`redact_json`]: JSON members named like secrets (`password`, `clientSecret`,
//!   `api_key`, `access_token`…: one list, [`is_secret_key`]) lose their values.
//! - [`header_value`]: credential headers (`Authorization`, cookies, `*token*`, `*api-key*`).
//!
//! And the text hygiene that goes with it: [`printable`] escapes control characters for a
//! terminal, [`csv_cell`] keeps a cell from being read as a formula.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde_json::Value;

/// What a secret becomes.
pub const REDACTED: &str = "[redacted]";

/// Secrets at least this long are replaced wherever they occur; shorter ones only where
/// they stand alone, so a test token `t` does not eat every letter t.
const SUBSTRING_SECRET: usize = 8;

/// Key fragments that mark a JSON member or query parameter as secret, compared against
/// the lower-cased name with `_` and `-` removed.
const SECRET_KEY_PARTS: [&str; 7] = [
    "password",
    "secret",
    "token",
    "authorization",
    "apikey",
    "credential",
    "privatekey",
];

/// True for a JSON member or query parameter name that holds a secret
/// (`password`, `client_secret`, `clientSecret`, `apiKey`, `access_token`, `x-api-key`).
pub fn is_secret_key(name: &str) -> bool {
    let key: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_KEY_PARTS.iter().any(|s| key.contains(s))
}

/// True for a header whose value is a credential.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization" || n == "proxy-authorization" || n.contains("cookie") || is_secret_key(&n)
}

/// A header's value as reports show it.
pub fn header_value<'a>(name: &str, value: &'a str) -> &'a str {
    if is_secret_header(name) {
        REDACTED
    } else {
        value
    }
}

/// `value` with every secret-named member's value replaced by `"[redacted]"`.
pub fn redact_json(value: &Value) -> Value {
    let mut out = value.clone();
    redact_json_in_place(&mut out);
    out
}

/// [`redact_json`] in place.
pub fn redact_json_in_place(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_key(k) {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact_json_in_place(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json_in_place),
        _ => {}
    }
}

/// `url` without `user:password@` in its authority (`https://[redacted]@host/…`).
pub fn without_userinfo(url: &str) -> String {
    userinfo_pattern()
        .replace_all(url, |c: &regex::Captures<'_>| {
            format!("{}{REDACTED}@", &c[1])
        })
        .into_owned()
}

fn userinfo_pattern() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    // scheme "://" userinfo "@" (RFC 3986 §3.2.1): no `/`, `?`, `#`, `@` or space inside.
    RE.get_or_init(|| {
        regex::Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s\x22'<>]+@").expect("valid")
    })
}

fn query_secret_pattern() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    // `name=value` in a query string or form body, where the name holds a secret fragment.
    RE.get_or_init(|| {
        regex::Regex::new(r"(?i)([?&;\s]|^)([a-z0-9_.-]*(?:token|secret|password|api[_-]?key|credential)[a-z0-9_.-]*)=([^&#\s\x22'<>]+)")
            .expect("valid")
    })
}

/// Replaces what must not leave the process in any text that does.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    /// Each secret in every spelling it may come back in, longest first.
    spellings: Vec<String>,
}

impl Scrubber {
    /// A scrubber for these secrets (empty ones are ignored).
    pub fn new<I, S>(secrets: I) -> Scrubber
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut s = Scrubber::default();
        for secret in secrets {
            s.add(secret.as_ref());
        }
        s
    }

    /// A scrubber for a run: the bearer token and the tenant URL's password, if any.
    pub fn for_run(tenant_url: &str, token: Option<&str>) -> Scrubber {
        let mut s = Scrubber::new(token);
        if let Some(c) = userinfo_pattern().find(tenant_url) {
            let info = &tenant_url[c.start()..c.end()];
            let info = info.rsplit_once("://").map_or(info, |(_, i)| i);
            let info = info.trim_end_matches('@');
            let password = info.split_once(':').map_or(info, |(_, p)| p);
            s.add(password);
        }
        s
    }

    /// Also scrubs `secret`.
    pub fn add(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let encoded =
            percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let json = Value::String(secret.to_owned()).to_string();
        let json = json[1..json.len() - 1].to_owned();
        for spelling in [secret.to_owned(), encoded, form, json] {
            if !self.spellings.contains(&spelling) {
                self.spellings.push(spelling);
            }
        }
        self.spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// True when no secret is known (URL user-info and query secrets are still scrubbed).
    pub fn is_empty(&self) -> bool {
        self.spellings.is_empty()
    }

    /// `text` with every secret, URL user-info and credential query value replaced.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.spellings {
            if !out.contains(secret.as_str()) {
                continue;
            }
            out = Cow::Owned(if secret.chars().count() >= SUBSTRING_SECRET {
                out.replace(secret.as_str(), REDACTED)
            } else {
                replace_standalone(&out, secret)
            });
        }
        if out.contains("://") {
            if let Cow::Owned(s) = userinfo_pattern()
                .replace_all(&out, |c: &regex::Captures<'_>| {
                    format!("{}{REDACTED}@", &c[1])
                })
            {
                out = Cow::Owned(s);
            }
        }
        if out.contains('=') {
            if let Cow::Owned(s) = query_secret_pattern()
                .replace_all(&out, |c: &regex::Captures<'_>| {
                    format!("{}{}={REDACTED}", &c[1], &c[2])
                })
            {
                out = Cow::Owned(s);
            }
        }
        out
    }

    /// [`Scrubber::scrub`] on every string of `value`, member names included.
    pub fn scrub_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(clean) = self.scrub(s) {
                    *s = clean;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_json(v)),
            Value::Object(map) => {
                if map.keys().any(|k| matches!(self.scrub(k), Cow::Owned(_))) {
                    *map = std::mem::take(map)
                        .into_iter()
                        .map(|(k, v)| (self.scrub_owned(k), v))
                        .collect();
                }
                map.values_mut().for_each(|v| self.scrub_json(v));
            }
            _ => {}
        }
    }

    /// [`Scrubber::scrub`] into an owned string.
    pub fn scrub_owned(&self, text: String) -> String {
        match self.scrub(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(s) => s,
        }
    }
}

/// `text` with each occurrence of `secret` that no letter or digit touches replaced.
fn replace_standalone(text: &str, secret: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find(secret) {
        let (head, tail) = rest.split_at(at);
        let after = tail.get(secret.len()..).unwrap_or("");
        let prev = head.chars().next_back().or(before);
        let alone = !prev.is_some_and(char::is_alphanumeric)
            && !after.chars().next().is_some_and(char::is_alphanumeric);
        out.push_str(head);
        out.push_str(if alone { REDACTED } else { secret });
        before = secret.chars().next_back();
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `text` safe for a terminal: control characters other than newline and tab (an escape
/// sequence, a carriage return that rewrites the line, a bell) shown as `\u{1b}`.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unprintable) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unprintable(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_unprintable(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}')
}

/// A CSV cell a spreadsheet shows as text: a cell starting with `=`, `+`, `-`, `@`, tab or
/// carriage return (a formula to Excel, LibreOffice and Sheets) gets a leading `'` (OWASP
/// "CSV Injection").
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_secrets_go_everywhere_and_short_ones_where_they_stand_alone() {
        let s = Scrubber::new(["t", "longsecret", ""]);
        assert_eq!(s.scrub("a t b \"t\""), "a [redacted] b \"[redacted]\"");
        assert_eq!(s.scrub("contoso.com"), "contoso.com");
        assert_eq!(
            s.scrub("xlongsecretx longsecret"),
            "x[redacted]x [redacted]"
        );
    }

    #[test]
    fn every_spelling_of_the_token_is_scrubbed() {
        let token = "abc+/def==ghi";
        let s = Scrubber::new([token]);
        for text in [
            format!("detail: token {token} refused"),
            "q=abc%2B%2Fdef%3D%3Dghi".to_owned(),
            "form abc%2B%2Fdef%3D%3Dghi".to_owned(),
        ] {
            let out = s.scrub(&text);
            assert!(!out.contains("def"), "{text} -> {out}");
        }
        let mut json = serde_json::json!({"a": [token], token: {"b": "x"}, "n": 1});
        s.scrub_json(&mut json);
        assert_eq!(
            json,
            serde_json::json!({"a": [REDACTED], REDACTED: {"b": "x"}, "n": 1})
        );
        let quoted = Scrubber::new(["a\"quoted\\token"]);
        let json = Value::String("a\"quoted\\token".into()).to_string();
        assert_eq!(quoted.scrub(&json), "\"[redacted]\"");
    }

    #[test]
    fn user_info_and_query_credentials_are_scrubbed_in_any_text() {
        let s = Scrubber::default();
        assert_eq!(
            s.scrub("cannot connect to https://u:hunter2@h:1/scim/Users"),
            "cannot connect to https://[redacted]@h:1/scim/Users"
        );
        assert_eq!(
            s.scrub("GET /cb?access_token=eyJ.x.y&state=1"),
            "GET /cb?access_token=[redacted]&state=1"
        );
        assert_eq!(
            s.scrub("http://h/a@b userName=x"),
            "http://h/a@b userName=x"
        );
        let run = Scrubber::for_run("https://svc:p4ssw0rd-long@h/scim", Some("tok"));
        assert_eq!(
            run.scrub("p4ssw0rd-long and tok"),
            "[redacted] and [redacted]"
        );
    }

    #[test]
    fn secret_keys_are_one_list() {
        for k in [
            "password",
            "clientSecret",
            "client_secret",
            "apiKey",
            "api-key",
            "access_token",
            "Authorization",
            "privateKey",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["userName", "displayName", "emails", "active"] {
            assert!(!is_secret_key(k), "{k}");
        }
        let v = redact_json(
            &serde_json::json!({"a": [{"clientSecret": "x"}], "password": "y", "b": 1}),
        );
        assert_eq!(
            v,
            serde_json::json!({"a": [{"clientSecret": REDACTED}], "password": REDACTED, "b": 1})
        );
        assert_eq!(header_value("X-Api-Key", "k"), REDACTED);
        assert_eq!(header_value("Content-Type", "k"), "k");
    }

    #[test]
    fn control_characters_and_formulas_are_neutralised() {
        assert_eq!(printable("a\u{1b}[31mb\rc\n"), "a\\u{1b}[31mb\\u{d}c\n");
        assert_eq!(printable("plain"), "plain");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("a=b"), "a=b");
    }
}
