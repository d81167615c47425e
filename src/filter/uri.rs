//! RFC 3986 §3 URIs, as far as a filter's schema prefix needs them: the `URI` of RFC 7644
//! §3.4.2.2's `attrPath = [URI ":"] ATTRNAME *1subAttr` (RFC 7644 §3.10: an attribute
//! qualified by its schema URI, `urn:ietf:params:scim:schemas:core:2.0:User:userName`).
//!
//! One function per ABNF rule, each quoting its rule. Only what a filter word can hold is
//! ever asked about: the lexer keeps `(` `)` `[` `]` for the filter grammar, so an
//! `IP-literal` host (`[::1]`) cannot occur and `host` is `reg-name` (an `IPv4address` is
//! one too).

/// `URI = scheme ":" hier-part [ "?" query ] [ "#" fragment ]`
///
/// `absolute-URI` is this without the fragment; the filter ABNF names `URI`, so both are
/// accepted.
pub(super) fn uri(s: &str) -> bool {
    let Some((head, rest)) = s.split_once(':') else {
        return false;
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (hier, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    scheme(head)
        && hier_part(hier)
        && query.is_none_or(query_or_fragment)
        && fragment.is_none_or(query_or_fragment)
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`
fn scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// `hier-part = "//" authority path-abempty / path-absolute / path-rootless / path-empty`
fn hier_part(s: &str) -> bool {
    match s.strip_prefix("//") {
        Some(rest) => {
            let end = rest.find('/').unwrap_or(rest.len());
            authority(&rest[..end]) && path_abempty(&rest[end..])
        }
        // `path-absolute = "/" [ segment-nz *( "/" segment ) ]` (not "//", taken above),
        // `path-rootless = segment-nz *( "/" segment )`, `path-empty = 0<pchar>`: every
        // segment is `*pchar`.
        None => s.split('/').all(segment),
    }
}

/// `authority = [ userinfo "@" ] host [ ":" port ]`
fn authority(s: &str) -> bool {
    let (userinfo, host_port) = match s.split_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, s),
    };
    let (host, port) = match host_port.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    // `userinfo = *( unreserved / pct-encoded / sub-delims / ":" )`
    userinfo.is_none_or(|u| chars(u, |b| b == b':'))
        // `reg-name = *( unreserved / pct-encoded / sub-delims )`
        && chars(host, |_| false)
        // `port = *DIGIT`
        && port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// `path-abempty = *( "/" segment )`
fn path_abempty(s: &str) -> bool {
    s.is_empty()
        || s.strip_prefix('/')
            .is_some_and(|p| p.split('/').all(segment))
}

/// `segment = *pchar`, `pchar = unreserved / pct-encoded / sub-delims / ":" / "@"`
fn segment(s: &str) -> bool {
    chars(s, |b| matches!(b, b':' | b'@'))
}

/// `query = *( pchar / "/" / "?" )`, `fragment = *( pchar / "/" / "?" )`
fn query_or_fragment(s: &str) -> bool {
    chars(s, |b| matches!(b, b':' | b'@' | b'/' | b'?'))
}

/// `*( unreserved / pct-encoded / sub-delims / <also> )`, where
/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`,
/// `pct-encoded = "%" HEXDIG HEXDIG`,
/// `sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="`.
fn chars(s: &str, also: impl Fn(u8) -> bool) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        let sub_delim = matches!(
            b,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        );
        if !(unreserved || sub_delim || also(b)) {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn uris_of_every_hier_part_form_are_accepted() {
        for s in [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf::scim:User",
            "x:y",
            "x:",
            "svn+ssh.v-2:a",
            "http://example.com/scim/schemas/User",
            "http://user:pw@example.com:8080/a/b?q=1#frag",
            "https://example.com",
            "file:///etc",
            "mailto:a@b.c",
            "tag:example.com,2024:x%2Fy",
            "x:/a/b",
        ] {
            assert!(uri(s), "{s}");
        }
    }

    #[test]
    fn what_is_no_uri_is_refused() {
        for s in [
            "user",
            ":x",
            "1x:y",
            "a_b:c",
            "x:a%2",
            "x:a%zz",
            "http://a@b@c/",
            "http://host:80x/",
            "x:a#b#c",
            "x:a b",
            "x:\"",
        ] {
            assert!(!uri(s), "{s}");
        }
    }
}
