//! The crate error and its one exhaustive map to SCIM error responses (RFC 7644 §3.12).
//!
//! Every failure a client can cause is a variant here; [`Error::to_response`] is the only
//! place that decides its HTTP status and `scimType`, with no catch-all arm, so a new
//! variant does not compile until someone decides what it means on the wire.

use crate::filter::{EvalError, ParseError};
use crate::scim::{ErrorResponse, ScimType};

/// Everything that can go wrong serving or applying a SCIM request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A filter that does not parse (RFC 7644 §3.4.2.2).
    #[error("invalid filter: {0}")]
    FilterSyntax(#[from] ParseError),
    /// A filter that parses but cannot be applied (ordering a boolean, …).
    #[error("invalid filter: {0}")]
    FilterEval(#[from] EvalError),
    /// A body that is not JSON, or not the JSON shape the endpoint takes.
    #[error("{0}")]
    InvalidSyntax(String),
    /// A filter on an attribute the vendor profile does not let clients filter on.
    #[error("{0}")]
    UnfilterableAttribute(String),
    /// A value of the wrong type, format, or missing where required.
    #[error("{0}")]
    InvalidValue(String),
    /// A PATCH `path` or an `attributes` name that names nothing valid.
    #[error("{0}")]
    InvalidPath(String),
    /// A PATCH path with a filter that matched nothing (RFC 7644 §3.5.2.3).
    #[error("{0}")]
    NoTarget(String),
    /// An attempt to change a `readOnly` or `immutable` attribute.
    #[error("{0}")]
    Mutability(String),
    /// A value already taken by another resource.
    #[error("{0}")]
    Uniqueness(String),
    /// A query whose result is larger than the server will return.
    #[error("{0}")]
    TooMany(String),
    /// No resource, or no endpoint, at that address.
    #[error("{0}")]
    NotFound(String),
    /// Missing or wrong credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// The endpoint exists but not for this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// `If-Match` did not match the current version (RFC 7644 §3.14).
    #[error("{0}")]
    PreconditionFailed(String),
    /// The body is larger than the configured cap.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A body with a content type other than SCIM or plain JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The server is at a configured limit (connections); the client should retry.
    #[error("{0}")]
    ServiceUnavailable(String),
    /// A feature the server deliberately does not offer (bulk, sorting off, …).
    #[error("{0}")]
    NotImplemented(String),
    /// A defect in scimock; never caused by input.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status and `scimType` this error means on the wire.
    pub fn status_and_type(&self) -> (u16, Option<ScimType>) {
        match self {
            Error::FilterSyntax(_) | Error::FilterEval(_) => (400, Some(ScimType::InvalidFilter)),
            Error::UnfilterableAttribute(_) => (400, Some(ScimType::InvalidFilter)),
            Error::InvalidSyntax(_) => (400, Some(ScimType::InvalidSyntax)),
            Error::InvalidValue(_) => (400, Some(ScimType::InvalidValue)),
            Error::InvalidPath(_) => (400, Some(ScimType::InvalidPath)),
            Error::NoTarget(_) => (400, Some(ScimType::NoTarget)),
            Error::Mutability(_) => (400, Some(ScimType::Mutability)),
            Error::TooMany(_) => (400, Some(ScimType::TooMany)),
            Error::Uniqueness(_) => (409, Some(ScimType::Uniqueness)),
            Error::NotFound(_) => (404, None),
            Error::Unauthorized(_) => (401, None),
            Error::MethodNotAllowed(_) => (405, None),
            Error::PreconditionFailed(_) => (412, None),
            Error::PayloadTooLarge(_) => (413, None),
            Error::UnsupportedMediaType(_) => (415, None),
            Error::NotImplemented(_) => (501, None),
            Error::ServiceUnavailable(_) => (503, None),
            Error::Internal(_) => (500, None),
        }
    }

    /// The response headers this error carries: `WWW-Authenticate` with a 401
    /// (RFC 6750 §3).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if let Error::Unauthorized(_) = self {
            headers.push(("www-authenticate", "Bearer realm=\"scimock\"".into()));
        }
        headers
    }

    /// The RFC 7644 §3.12 body for this error.
    pub fn to_response(&self) -> ErrorResponse {
        let (status, scim_type) = self.status_and_type();
        ErrorResponse::new(status, scim_type, self.to_string())
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
        assert!(body.detail.unwrap().contains("at byte 11"));
    }

    #[test]
    fn uniqueness_maps_to_409() {
        let e = Error::Uniqueness("userName `x` is taken".into());
        assert_eq!(e.status_and_type(), (409, Some(ScimType::Uniqueness)));
    }
}
