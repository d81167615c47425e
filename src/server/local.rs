//! A builder's tenant answering requests in this process: each request goes through the
//! sans-IO pipeline ([`super::pipeline::respond`]) with no socket and no HTTP client. The
//! fuzzer's reference model (`fuzz::Model`) and provision's in-process target are this.

use std::sync::Arc;

use bytes::Bytes;
use hyper::{Request, Response};
use serde_json::Value;

use super::{Shared, StartError};
use crate::entra::wire;
use crate::MockServerBuilder;

/// The one tenant `builder` makes, served without a listener.
#[derive(Debug)]
pub(crate) struct Local {
    pub(crate) shared: Arc<Shared>,
    /// The tenant's base path, without a trailing `/`: targets are relative to it.
    base_path: String,
}

impl Local {
    /// `builder`'s default tenant (seed data, token and base path as configured); `uri`
    /// is what it believes its own address is (`location` and `meta.location`).
    pub(crate) fn new(builder: &MockServerBuilder, uri: &str) -> Result<Local, StartError> {
        let mount = builder
            .mounts(uri)?
            .into_iter()
            .next()
            .ok_or_else(|| StartError::BadTenant(String::new()))?;
        let base_path = mount
            .shared
            .settings
            .base_path
            .trim_end_matches('/')
            .to_owned();
        Ok(Local {
            shared: mount.shared,
            base_path,
        })
    }

    /// Answers `method target` as the server would: `target` is relative to the tenant
    /// URL (`/Users?filter=…`), `body` is sent as SCIM JSON, `token` as the bearer token.
    /// `Err` when no HTTP request can be built from them (a target that is no URI): an
    /// HTTP client refuses to send it the same way.
    pub(crate) fn answer(
        &self,
        method: &str,
        target: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Response<Bytes>, hyper::http::Error> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{target}", self.base_path));
        if let Some(t) = token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let bytes = match body {
            Some(b) => {
                request = request.header(hyper::header::CONTENT_TYPE, wire::CONTENT_TYPE);
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        let request = request.body(bytes)?;
        Ok(super::pipeline::respond(&self.shared, request).response)
    }
}
