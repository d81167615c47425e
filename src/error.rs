//! The crate error and its one exhaustive map to SCIM error responses (RFC 7644 §3.12).
//!
//! An [`Error`] is a kind plus a detail (and, for PATCH, the index of the operation that
//! failed). [`ErrorKind::meaning`] is the only place that decides a kind's HTTP status,
//! `scimType` and wording, with no catch-all arm, so a new kind does not compile until
//! someone decides what it means on the wire; [`Error::headers`], next to it, is the only
//! place that decides the headers an error carries.

use std::fmt;

use crate::filter::{EvalError, ParseError};
use crate::scim::{ErrorResponse, ScimType};

/// What went wrong, without the particulars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A filter that does not parse (RFC 7644 §3.4.2.2).
    FilterSyntax,
    /// A filter that parses but cannot be applied (ordering a boolean, …).
    FilterEval,
    /// A body that is not JSON, or not the JSON shape the endpoint takes.
    InvalidSyntax,
    /// A filter on an attribute the vendor profile does not let clients filter on.
    UnfilterableAttribute,
    /// A value of the wrong type, format, or missing where required.
    InvalidValue,
    /// A PATCH `path` or an `attributes` name that names nothing valid.
    InvalidPath,
    /// A PATCH path with a filter that matched nothing (RFC 7644 §3.5.2.3).
    NoTarget,
    /// An attempt to change a `readOnly` or `immutable` attribute.
    Mutability,
    /// A value already taken by another resource.
    Uniqueness,
    /// A query whose result is larger than the server will return.
    TooMany,
    /// No resource, or no endpoint, at that address.
    NotFound,
    /// Missing or wrong credentials.
    Unauthorized,
    /// The endpoint exists but not for this method.
    MethodNotAllowed,
    /// `If-Match` did not match the current version (RFC 7644 §3.14).
    PreconditionFailed,
    /// The body is larger than the configured cap.
    PayloadTooLarge,
    /// A body with a content type other than SCIM or plain JSON.
    UnsupportedMediaType,
    /// The server is at a configured limit (connections); the client should retry.
    ServiceUnavailable,
    /// A feature the server deliberately does not offer (bulk, sorting off, …).
    NotImplemented,
    /// A defect in scimock; never caused by input.
    Internal,
}

/// What a kind means on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meaning {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    /// Words put before the detail (`invalid filter: `), or `""`.
    pub lead: &'static str,
}

impl ErrorKind {
    /// The one map from kind to status, `scimType` and wording (RFC 7644 §3.12).
    pub fn meaning(self) -> Meaning {
        let (status, scim_type, lead) = match self {
            ErrorKind::FilterSyntax | ErrorKind::FilterEval => {
                (400, Some(ScimType::InvalidFilter), "invalid filter: ")
            }
            ErrorKind::UnfilterableAttribute => (400, Some(ScimType::InvalidFilter), ""),
            ErrorKind::InvalidSyntax => (400, Some(ScimType::InvalidSyntax), ""),
            ErrorKind::InvalidValue => (400, Some(ScimType::InvalidValue), ""),
            ErrorKind::InvalidPath => (400, Some(ScimType::InvalidPath), ""),
            ErrorKind::NoTarget => (400, Some(ScimType::NoTarget), ""),
            ErrorKind::Mutability => (400, Some(ScimType::Mutability), ""),
            ErrorKind::TooMany => (400, Some(ScimType::TooMany), ""),
            ErrorKind::Uniqueness => (409, Some(ScimType::Uniqueness), ""),
            ErrorKind::NotFound => (404, None, ""),
            ErrorKind::Unauthorized => (401, None, ""),
            ErrorKind::MethodNotAllowed => (405, None, ""),
            ErrorKind::PreconditionFailed => (412, None, ""),
            ErrorKind::PayloadTooLarge => (413, None, ""),
            ErrorKind::UnsupportedMediaType => (415, None, ""),
            ErrorKind::NotImplemented => (501, None, ""),
            ErrorKind::ServiceUnavailable => (503, None, ""),
            ErrorKind::Internal => (500, None, "internal error: "),
        };
        Meaning {
            status,
            scim_type,
            lead,
        }
    }
}

/// Everything that can go wrong serving or applying a SCIM request: a kind, a detail for
/// the client, and where it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    detail: String,
    /// The PATCH operation that failed (`Operations[i]`, RFC 7644 §3.5.2).
    operation: Option<usize>,
    /// For [`ErrorKind::MethodNotAllowed`]: the methods the endpoint allows.
    allow: Option<&'static str>,
    /// For [`ErrorKind::ServiceUnavailable`]: seconds the client should wait.
    retry_after: Option<u64>,
}

impl Error {
    /// An error of `kind` with `detail` for the client.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Error {
        Error {
            kind,
            detail: detail.into(),
            operation: None,
            allow: None,
            retry_after: None,
        }
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidSyntax, detail)
    }
    pub fn unfilterable_attribute(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::UnfilterableAttribute, detail)
    }
    pub fn invalid_value(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidValue, detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidPath, detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::NoTarget, detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Mutability, detail)
    }
    pub fn uniqueness(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Uniqueness, detail)
    }
    pub fn too_many(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::TooMany, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unauthorized, detail)
    }
    /// 405 for an endpoint that allows only `allow` (sent as the `Allow` header).
    pub fn method_not_allowed(allow: &'static str) -> Error {
        let mut e = Error::new(
            ErrorKind::MethodNotAllowed,
            format!("this endpoint allows only {allow}"),
        );
        e.allow = Some(allow);
        e
    }
    pub fn precondition_failed(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::PreconditionFailed, detail)
    }
    pub fn payload_too_large(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::PayloadTooLarge, detail)
    }
    pub fn unsupported_media_type(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::UnsupportedMediaType, detail)
    }
    /// 503; the client may retry after `retry_after` seconds (the `Retry-After` header).
    pub fn service_unavailable(detail: impl Into<String>, retry_after: u64) -> Error {
        let mut e = Error::new(ErrorKind::ServiceUnavailable, detail);
        e.retry_after = Some(retry_after);
        e
    }
    pub fn not_implemented(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotImplemented, detail)
    }
    pub fn internal(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, detail)
    }

    /// The same error, located in PATCH operation `index` (the innermost location wins).
    pub fn in_operation(mut self, index: usize) -> Error {
        self.operation.get_or_insert(index);
        self
    }

    /// The same error with `prefix` before its detail (where in a larger input it is).
    pub(crate) fn prefixed(mut self, prefix: &str) -> Error {
        self.detail.insert_str(0, prefix);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The particulars, without the operation index or the kind's lead words.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The PATCH operation that failed, if this error comes from one.
    pub fn operation(&self) -> Option<usize> {
        self.operation
    }

    /// The HTTP status and `scimType` this error means on the wire.
    pub fn status_and_type(&self) -> (u16, Option<ScimType>) {
        let m = self.kind.meaning();
        (m.status, m.scim_type)
    }

    /// The response headers this error carries: `WWW-Authenticate` with a 401 (RFC 6750
    /// §3), `Allow` with a 405 (RFC 9110 §15.5.6), `Retry-After` with a 503 (RFC 9110
    /// §10.2.3).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if self.kind == ErrorKind::Unauthorized {
            headers.push(("www-authenticate", "Bearer realm=\"scimock\"".into()));
        }
        if let Some(allow) = self.allow {
            headers.push(("allow", allow.to_owned()));
        }
        if let Some(secs) = self.retry_after {
            headers.push(("retry-after", secs.to_string()));
        }
        headers
    }

    /// The RFC 7644 §3.12 body for this error.
    pub fn to_response(&self) -> ErrorResponse {
        let (status, scim_type) = self.status_and_type();
        ErrorResponse::new(status, scim_type, self.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.operation {
            write!(f, "Operations[{i}]: ")?;
        }
        write!(f, "{}{}", self.kind.meaning().lead, self.detail)
    }
}

impl std::error::Error for Error {}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Error {
        Error::new(ErrorKind::FilterSyntax, e.to_string())
    }
}

impl From<EvalError> for Error {
    fn from(e: EvalError) -> Error {
        Error::new(ErrorKind::FilterEval, e.to_string())
    }
}

/// `Result` with the crate [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_syntax_error_maps_to_400_invalid_filter_with_position() {
        let err: Error = crate::filter::parse("userName eq").unwrap_err().into();
        let body = err.to_response();
        assert_eq!(body.status, "400");
        assert_eq!(body.scim_type, Some(ScimType::InvalidFilter));
        let detail = body.detail.unwrap();
        assert!(detail.starts_with("invalid filter: "), "{detail}");
        assert!(detail.contains("at byte 11"));
    }

    #[test]
    fn uniqueness_maps_to_409() {
        let e = Error::uniqueness("userName `x` is taken");
        assert_eq!(e.status_and_type(), (409, Some(ScimType::Uniqueness)));
    }

    #[test]
    fn an_operation_index_leads_the_detail_and_the_innermost_wins() {
        let e = Error::mutability("`id` is readOnly")
            .in_operation(2)
            .in_operation(7);
        assert_eq!(e.operation(), Some(2));
        assert_eq!(e.to_string(), "Operations[2]: `id` is readOnly");
        assert_eq!(e.kind(), ErrorKind::Mutability);
    }

    #[test]
    fn headers_follow_the_kind() {
        let allow = Error::method_not_allowed("GET, POST");
        assert_eq!(allow.headers(), vec![("allow", "GET, POST".to_owned())]);
        assert_eq!(allow.to_string(), "this endpoint allows only GET, POST");
        let busy = Error::service_unavailable("full", 1);
        assert_eq!(busy.headers(), vec![("retry-after", "1".to_owned())]);
        let who = Error::unauthorized("no token");
        assert_eq!(who.headers()[0].0, "www-authenticate");
        assert!(Error::not_found("x").headers().is_empty());
    }
}
