//! Query parameters (RFC 7644 §3.4.2: `filter`, `startIndex`, `count`, `sortBy`,
//! `sortOrder`, `attributes`, `excludedAttributes`) from a URL query string as Entra
//! encodes it (`+` or `%20` for spaces, `%22` or raw `"` for quotes) or from a
//! `SearchRequest` body (§3.4.3). Unknown parameters (Entra's `aadOptscim062020` flag
//! rides on the tenant URL) are ignored.

use percent_encoding::percent_decode;

use crate::filter::{self, AttrPath, Filter, ParseError, ParseErrorKind, PatchPath};
use crate::scim::SearchRequest;
use crate::{Error, Result};

/// Parsed list/read parameters.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pub(crate) filter: Option<Filter>,
    pub(crate) start_index: Option<i64>,
    pub(crate) count: Option<i64>,
    pub(crate) sort_by: Option<AttrPath>,
    pub(crate) descending: bool,
    pub(crate) attributes: Vec<AttrPath>,
    pub(crate) excluded: Vec<AttrPath>,
}

/// True when `raw` has a `%` not followed by two hex digits.
fn bad_percent(raw: &[u8]) -> bool {
    raw.iter().enumerate().any(|(i, b)| {
        *b == b'%'
            && !(raw.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && raw.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// Decodes one `application/x-www-form-urlencoded` component strictly: `+` is a space,
/// and bad `%` escapes or invalid UTF-8 are errors instead of replacement characters.
fn decode(raw: &str) -> std::result::Result<String, String> {
    if bad_percent(raw.as_bytes()) {
        return Err(format!(
            "`{raw}` contains a `%` that is not followed by two hex digits"
        ));
    }
    let plus_as_space = raw.replace('+', " ");
    percent_decode(plus_as_space.as_bytes())
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("`{raw}` does not decode to UTF-8 text"))
}

fn filter_encoding_error(note: String) -> Error {
    Error::from(ParseError {
        kind: ParseErrorKind::InvalidCharacter,
        span: 0..0,
        expected: Vec::new(),
        found: None,
        note: Some(note),
    })
}

fn integer(name: &str, value: &str) -> Result<i64> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::invalid_value(format!("`{name}` must be an integer, got `{value}`")))
}

/// `attributes` / `excludedAttributes`: comma-separated attribute paths (RFC 7644 §3.10).
fn attr_list(name: &str, value: &str) -> Result<Vec<AttrPath>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match filter::parse_path(s) {
            Ok(PatchPath::Attr(p)) => Ok(p),
            _ => Err(Error::invalid_path(format!(
                "`{name}` entry `{s}` is not an attribute path like `userName` or `name.givenName`"
            ))),
        })
        .collect()
}

fn sort_order(value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "ascending" => Ok(false),
        "descending" => Ok(true),
        _ => Err(Error::invalid_value(format!(
            "`sortOrder` must be `ascending` or `descending`, got `{value}`"
        ))),
    }
}

impl Params {
    fn set(&mut self, name: &str, value: &str) -> Result<()> {
        match name.to_ascii_lowercase().as_str() {
            // One filter per request: silently using the last of several would answer a
            // question the client did not ask (RFC 7644 §3.4.2.2 defines one `filter`).
            "filter" if self.filter.is_some() => {
                return Err(filter_encoding_error(
                    "the query has more than one `filter` parameter; send exactly one".into(),
                ))
            }
            "filter" => self.filter = Some(filter::parse(value)?),
            "startindex" => self.start_index = Some(integer("startIndex", value)?),
            "count" => self.count = Some(integer("count", value)?),
            "sortby" => {
                self.sort_by = attr_list("sortBy", value)?.into_iter().next();
            }
            "sortorder" => self.descending = sort_order(value)?,
            "attributes" => self.attributes.extend(attr_list("attributes", value)?),
            "excludedattributes" => self
                .excluded
                .extend(attr_list("excludedAttributes", value)?),
            _ => {}
        }
        Ok(())
    }

    /// Parses a raw (still encoded) query string.
    pub(crate) fn from_query(query: &str) -> Result<Params> {
        let mut params = Params::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(raw_name)
                .map_err(|e| Error::invalid_syntax(format!("query parameter name: {e}")))?;
            let value = decode(raw_value).map_err(|e| {
                if name.eq_ignore_ascii_case("filter") {
                    filter_encoding_error(format!("the filter parameter is badly encoded: {e}"))
                } else {
                    Error::invalid_syntax(format!("query parameter `{name}`: {e}"))
                }
            })?;
            params.set(&name, &value)?;
        }
        Ok(params)
    }

    /// Parameters from a `POST .search` body (RFC 7644 §3.4.3).
    pub(crate) fn from_search(req: &SearchRequest) -> Result<Params> {
        let mut params = Params::default();
        if let Some(f) = &req.filter {
            params.set("filter", f)?;
        }
        params.start_index = req.start_index;
        params.count = req.count;
        if let Some(s) = &req.sort_by {
            params.set("sortBy", s)?;
        }
        if let Some(s) = &req.sort_order {
            params.set("sortOrder", s)?;
        }
        for a in req.attributes.iter().flatten() {
            params.set("attributes", a)?;
        }
        for a in req.excluded_attributes.iter().flatten() {
            params.set("excludedAttributes", a)?;
        }
        Ok(params)
    }

    /// Whether `members` would be returned at all (lets the store skip rendering them).
    pub(crate) fn wants_members(&self) -> bool {
        let members = |p: &AttrPath| p.name.eq_ignore_ascii_case("members");
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(members);
        }
        !self
            .excluded
            .iter()
            .any(|p| members(p) && p.sub_attr.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_percent20_escaped_and_raw_quotes() {
        for q in [
            "filter=userName+eq+%22a%40b%22",
            "filter=userName%20eq%20%22a%40b%22",
            "filter=userName+eq+\"a%40b\"",
        ] {
            let p = Params::from_query(q).unwrap();
            assert_eq!(p.filter.unwrap().to_string(), r#"userName eq "a@b""#, "{q}");
        }
    }

    #[test]
    fn bad_percent_encoding_in_filter_is_invalid_filter() {
        let e = Params::from_query("filter=userName+eq+%2").unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::FilterSyntax);
        let e = Params::from_query("count=%FF").unwrap_err();
        assert!(e.kind() == crate::error::ErrorKind::InvalidSyntax);
    }

    #[test]
    fn a_repeated_filter_is_invalid_filter() {
        let e = Params::from_query("filter=userName+eq+%22a%22&filter=userName+eq+%22b%22")
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::FilterSyntax, "{e}");
    }

    #[test]
    fn excluded_members_means_no_members() {
        let p = Params::from_query("excludedAttributes=members").unwrap();
        assert!(!p.wants_members());
        assert!(Params::from_query("").unwrap().wants_members());
    }
}
