//! What every request of the stand-in looks like on the wire, whichever command sends it:
//! the headers Entra sends, the schema URNs it puts in bodies, endpoint ids encoded as one
//! path segment, and literals escaped into filters.
//!
//! The endpoint under test is untrusted: an id it returned (`victim#x`, `../x`, `a b`,
//! `a?b`) goes into a later path percent-encoded as one segment (RFC 3986 §3.3), so it can
//! only ever address itself; a value placed in a filter is a JSON string with `"` and `\`
//! escaped (RFC 7644 §3.4.2.2 `compValue`), so `b" or value ne "zzz` stays one literal.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::scim::urn;

/// `Content-Type` of every request with a body, as the live provisioning service sends it
/// (MicrosoftDocs/azure-docs#12728: `application/scim+json; charset=utf-8`).
pub const CONTENT_TYPE: &str = "application/scim+json; charset=utf-8";

/// The core User schema URN (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = urn::USER;
/// The enterprise User extension (RFC 7643 §4.3), in every create Entra sends.
pub const ENTERPRISE_USER: &str = urn::ENTERPRISE_USER;
/// The core Group schema URN (RFC 7643 §4.2): the group create's only schema by default.
pub const GROUP_SCHEMA: &str = urn::GROUP;
/// The second schema URI of the SCIM tutorial's Create Group example. Sent only where a
/// configuration asks for it (`group_schemas` in a profile's `[provisioning]`): an RFC
/// endpoint may refuse an unknown schema (scim2-server does).
pub const ADSCIM_GROUP: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
/// RFC 7644 §3.5.2.
pub const PATCH_OP: &str = urn::PATCH_OP;

/// Bytes that cannot stand in one path segment as they are: everything but RFC 3986
/// `unreserved` and the sub-delims an id commonly holds: `/`, `?`, `#`, `%`, space and `"`
/// among them.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `id` percent-encoded as exactly one path segment (`victim#x` → `victim%23x`,
/// `../x` → `..%2Fx`); an id that is all dots (`.`, `..`), which a proxy would resolve as a
/// dot-segment (RFC 3986 §5.2.4), has its dots encoded too. A UUID is unchanged.
pub fn segment(id: &str) -> std::borrow::Cow<'_, str> {
    if !id.is_empty() && id.bytes().all(|b| b == b'.') {
        return id.replace('.', "%2E").into();
    }
    utf8_percent_encode(id, SEGMENT).into()
}

/// `/{endpoint}/{id}` with the id encoded as one segment (`/Users/a%20b`).
pub fn resource_path(endpoint: &str, id: &str) -> String {
    format!("/{endpoint}/{}", segment(id))
}

/// `value` as a filter string literal, quotes included: `"` and `\` escaped, and control
/// characters as JSON escapes (RFC 7644 §3.4.2.2: a string `compValue` is a JSON string).
pub fn filter_literal(value: &str) -> String {
    // serde_json writes exactly a JSON string: quotes, `\"`, `\\`, `\n`, `\u0001`.
    serde_json::Value::String(value.to_owned()).to_string()
}

/// `<attr> eq "<value>"`, the value escaped.
pub fn eq_filter(attr: &str, value: &str) -> String {
    format!("{attr} eq {}", filter_literal(value))
}

/// `members[value eq "<id>"]`, the PATCH path of one member (RFC 7644 §3.5.2.2).
pub fn member_path(id: &str) -> String {
    format!("members[value eq {}]", filter_literal(id))
}

/// `filter=<attr> eq "<value>"` form-encoded the way Entra sends it (`+` for space, `%22`
/// for quotes; *Tutorial: Develop and plan provisioning for a SCIM endpoint*, "Get User by
/// query"), the value escaped.
pub fn filter_query(attr: &str, value: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("filter", &eq_filter(attr, value))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_ids_stay_one_segment() {
        for (id, want) in [
            (
                "2819c223-7f76-453a-919d-413861904646",
                "2819c223-7f76-453a-919d-413861904646",
            ),
            ("victim#x", "victim%23x"),
            ("../admin", "..%2Fadmin"),
            ("..", "%2E%2E"),
            ("a.b", "a.b"),
            ("a?b=1", "a%3Fb=1"),
            ("a b", "a%20b"),
            ("q\"x", "q%22x"),
            ("50%", "50%25"),
            ("é", "%C3%A9"),
        ] {
            assert_eq!(segment(id), want, "{id}");
            assert!(!segment(id).contains(['/', '#', '?', ' ']));
        }
        assert_eq!(resource_path("Users", "a/b"), "/Users/a%2Fb");
    }

    #[test]
    fn filter_literals_cannot_break_out_of_their_quotes() {
        let hostile = r#"b" or value ne "zzz"#;
        let path = member_path(hostile);
        assert_eq!(path, r#"members[value eq "b\" or value ne \"zzz"]"#);
        // The server's own parser reads it back as one comparison with the hostile text.
        let f = crate::filter::parse(&eq_filter("userName", hostile)).unwrap();
        let crate::filter::Filter::Attr(exp) = f else {
            panic!("one comparison expected: {f:?}")
        };
        assert_eq!(
            exp.to_string(),
            format!("userName eq {}", filter_literal(hostile))
        );
        assert_eq!(filter_literal("a\\b"), r#""a\\b""#);
    }

    #[test]
    fn filter_queries_are_form_encoded() {
        assert_eq!(
            filter_query("userName", "a b@x"),
            "filter=userName+eq+%22a+b%40x%22"
        );
    }
}
