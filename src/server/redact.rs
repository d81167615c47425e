//! Secrets stay out of what the server keeps and shows.
//!
//! - The journal never stores credentials: `Authorization` is reduced to its scheme and
//!   whether the tenant's token matched; other credential headers (cookies, API keys)
//!   become a marker ([`credential_headers`]).
//! - `password` members of request bodies, and the `value` of a PATCH operation whose
//!   `path` names `password`, are replaced by a marker ([`body`]).
//! - A filter or `sortBy` on an attribute that is `returned: never` (RFC 7643 §7; the
//!   User `password`, RFC 7643 §4.1.1) is refused with `400 invalidFilter` (RFC 7644
//!   §3.4.2.2): answering it would reveal the value one guess at a time
//!   ([`check_filter`], [`check_sort`]).

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use serde_json::Value;

use crate::filter::{AttrPath, Filter};
use crate::scim::{ResourceSchema, Returned};
use crate::{Error, Result};

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// Headers that carry credentials besides `Authorization`.
const CREDENTIAL_HEADERS: [HeaderName; 5] = [
    HeaderName::from_static("proxy-authorization"),
    HeaderName::from_static("cookie"),
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("api-key"),
    HeaderName::from_static("x-auth-token"),
];

/// Rewrites credential headers in place: `Authorization: Bearer <token>` becomes
/// `Bearer [redacted] (matched)` when `checked` (the tenant checked and accepted the
/// token) or `Bearer [redacted] (not checked)` when the tenant has no token.
pub(crate) fn credential_headers(headers: &mut HeaderMap, checked: bool) {
    let note = if checked { "matched" } else { "not checked" };
    let mut sent = headers.get_all(AUTHORIZATION).iter();
    match (sent.next(), sent.next()) {
        (None, _) => {}
        // The common case, one `Bearer` field: a static summary, no allocation.
        (Some(one), None) if one.as_bytes().starts_with(b"Bearer ") && one.to_str().is_ok() => {
            let summary = if checked {
                HeaderValue::from_static("Bearer [redacted] (matched)")
            } else {
                HeaderValue::from_static("Bearer [redacted] (not checked)")
            };
            headers.insert(AUTHORIZATION, summary);
        }
        _ => {
            let summaries: Vec<HeaderValue> = headers
                .get_all(AUTHORIZATION)
                .iter()
                .map(|v| {
                    let scheme = v
                        .to_str()
                        .ok()
                        .and_then(|s| s.split_whitespace().next())
                        .filter(|s| s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
                        .unwrap_or("unknown-scheme");
                    let text = format!("{scheme} {REDACTED} ({note})");
                    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(REDACTED))
                })
                .collect();
            headers.remove(AUTHORIZATION);
            for s in summaries {
                headers.append(AUTHORIZATION, s);
            }
        }
    }
    for name in &CREDENTIAL_HEADERS {
        if headers.contains_key(name) {
            headers.insert(name.clone(), HeaderValue::from_static(REDACTED));
        }
    }
}

/// The body with every `password` member redacted. Bodies that cannot hold one (no
/// `password` in their bytes, in any case) are returned as they are without parsing.
pub(crate) fn body(bytes: Bytes) -> Bytes {
    if !mentions_password(&bytes) {
        return bytes;
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut value) => {
            redact_value(&mut value);
            serde_json::to_vec(&value).map_or_else(|_| Bytes::from_static(b""), Bytes::from)
        }
        // Not JSON we can read: keep none of it rather than risk a clear-text password.
        Err(_) => Bytes::from(format!(
            "{REDACTED}: a {}-byte body naming `password` that is not JSON",
            bytes.len()
        )),
    }
}

fn mentions_password(bytes: &[u8]) -> bool {
    bytes
        .windows(8)
        .any(|w| w.eq_ignore_ascii_case(b"password"))
}

/// True for `password` and a URN-qualified `…:password`.
fn is_password_name(name: &str) -> bool {
    let last = name.rsplit(':').next().unwrap_or(name);
    last.eq_ignore_ascii_case("password")
}

/// True when a PATCH `path` targets a password (`password`, `urn:…:User:password`).
fn is_password_path(path: &str) -> bool {
    let head = path.split(['[', '.']).next().unwrap_or(path);
    is_password_name(head.trim())
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let op_on_password = map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("path"))
                .and_then(|(_, p)| p.as_str())
                .is_some_and(is_password_path);
            for (k, v) in map.iter_mut() {
                if is_password_name(k) || (op_on_password && k.eq_ignore_ascii_case("value")) {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_value(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// Refuses a filter that compares a `returned: never` attribute (RFC 7643 §7).
pub(crate) fn check_filter(schema: &ResourceSchema, f: &Filter) -> Result<()> {
    match f {
        Filter::Attr(e) => check_path(schema, &e.path),
        Filter::ValuePath(vp) => {
            check_path(schema, &vp.attr)?;
            check_inner(schema, &vp.attr, &vp.filter)
        }
        Filter::ValuePathAttr {
            value_path,
            sub_attr,
            ..
        } => {
            check_path(schema, &value_path.attr)?;
            check_inner(schema, &value_path.attr, &value_path.filter)?;
            let sub = AttrPath {
                urn: value_path.attr.urn.clone(),
                name: value_path.attr.name.clone(),
                sub_attr: Some(sub_attr.clone()),
            };
            check_path(schema, &sub)
        }
        Filter::Not(inner) => check_filter(schema, inner),
        Filter::And(fs) | Filter::Or(fs) => fs.iter().try_for_each(|f| check_filter(schema, f)),
    }
}

/// The bracket filter of `attr[...]` names sub-attributes of `attr`.
fn check_inner(schema: &ResourceSchema, attr: &AttrPath, f: &Filter) -> Result<()> {
    match f {
        Filter::Attr(e) => check_path(
            schema,
            &AttrPath {
                urn: attr.urn.clone(),
                name: attr.name.clone(),
                sub_attr: Some(e.path.name.clone()),
            },
        ),
        Filter::Not(inner) => check_inner(schema, attr, inner),
        Filter::And(fs) | Filter::Or(fs) => {
            fs.iter().try_for_each(|f| check_inner(schema, attr, f))
        }
        // Nested value paths are not in the grammar; the evaluator refuses them.
        Filter::ValuePath(_) | Filter::ValuePathAttr { .. } => Ok(()),
    }
}

/// Refuses `sortBy` on a `returned: never` attribute: the order would leak the value.
pub(crate) fn check_sort(schema: &ResourceSchema, path: Option<&AttrPath>) -> Result<()> {
    path.map_or(Ok(()), |p| check_path(schema, p))
}

fn check_path(schema: &ResourceSchema, path: &AttrPath) -> Result<()> {
    let top = schema.resolve(path.urn.as_deref(), &path.name, None);
    let sub = path
        .sub_attr
        .as_deref()
        .and_then(|s| top.and_then(|t| t.sub_attribute(s)));
    let never = [top, sub]
        .into_iter()
        .flatten()
        .any(|a| a.returned == Returned::Never);
    if never {
        return Err(Error::unfilterable_attribute(format!(
            "`{path}` is never returned (RFC 7643 §7 `returned: never`), so it cannot be \
             filtered or sorted on"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_keeps_only_its_scheme() {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer s3cret"));
        h.insert("cookie", HeaderValue::from_static("session=abc"));
        credential_headers(&mut h, true);
        assert_eq!(h[AUTHORIZATION], "Bearer [redacted] (matched)");
        assert_eq!(h["cookie"], REDACTED);

        // Every other shape takes the general path: the scheme as sent, each field kept.
        let cases: &[(&[&str], bool, &[&str])] = &[
            (&["Bearer t"], false, &["Bearer [redacted] (not checked)"]),
            (&["bearer t"], true, &["bearer [redacted] (matched)"]),
            (
                &["Basic dXNlcjpwYXNz"],
                true,
                &["Basic [redacted] (matched)"],
            ),
            (
                &["Bearer a", "Bearer b"],
                true,
                &["Bearer [redacted] (matched)", "Bearer [redacted] (matched)"],
            ),
            (&["Bearer"], true, &["Bearer [redacted] (matched)"]),
            (
                &["Be@rer x"],
                true,
                &["unknown-scheme [redacted] (matched)"],
            ),
        ];
        for (sent, checked, kept) in cases {
            let mut h = HeaderMap::new();
            for v in *sent {
                h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            }
            h.insert("x-api-key", HeaderValue::from_static("k"));
            credential_headers(&mut h, *checked);
            let got: Vec<&str> = h
                .get_all(AUTHORIZATION)
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect();
            assert_eq!(&got, kept, "{sent:?}");
            assert_eq!(h["x-api-key"], REDACTED);
        }
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        );
        credential_headers(&mut h, true);
        assert_eq!(h[AUTHORIZATION], "unknown-scheme [redacted] (matched)");
    }

    #[test]
    fn passwords_in_bodies_and_patch_values_are_redacted() {
        let b = body(Bytes::from_static(
            br#"{"userName":"a","Password":"p1","Operations":[{"op":"replace","path":"password","value":"p2"}]}"#,
        ));
        let text = String::from_utf8_lossy(&b);
        assert!(!text.contains("p1") && !text.contains("p2"), "{text}");
        assert!(text.contains("\"userName\":\"a\""), "{text}");
    }

    #[test]
    fn a_filter_on_password_is_refused() {
        let schema = crate::scim::user_resource();
        for f in [
            r#"password sw "a""#,
            r#"userName eq "x" or not (Password pr)"#,
        ] {
            let f = crate::filter::parse(f).unwrap();
            assert_eq!(
                check_filter(&schema, &f).map_err(|e| e.kind()),
                Err(crate::ErrorKind::UnfilterableAttribute)
            );
        }
        let ok = crate::filter::parse(r#"userName eq "password""#).unwrap();
        assert!(check_filter(&schema, &ok).is_ok());
    }
}
