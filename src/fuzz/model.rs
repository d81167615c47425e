//! The reference model: scimock's own SCIM server inside this process, one fresh tenant
//! per run of a sequence, driven through the server's sans-IO pipeline
//! (`server::pipeline::respond`) with no socket. Its store, PATCH engine and filter
//! evaluator are what the endpoint is compared with; a `MockServerBuilder` with the same
//! profile serves the same semantics over HTTP. Ids come from [`SequentialIds`], so the
//! model is deterministic.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use crate::clock::SequentialIds;
use crate::entra::wire;
use crate::profile::Profile;
use crate::server::StartError;
use crate::MockServerBuilder;

/// One answer, from the endpoint or the model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// The body as JSON (`None` when empty or not JSON).
    pub(crate) json: Option<Value>,
}

/// scimock in-process, with no authentication (the model is never exposed).
#[derive(Debug)]
pub(crate) struct Model {
    shared: Arc<crate::server::Shared>,
    base_path: String,
}

impl Model {
    /// A fresh, empty model serving `profile`.
    pub(crate) fn new(profile: &Profile) -> Result<Model, StartError> {
        let builder = MockServerBuilder::default()
            .profile(profile.clone())
            .no_auth()
            .ids(SequentialIds::new());
        let mount = builder
            .mounts("http://model")?
            .into_iter()
            .next()
            .ok_or_else(|| StartError::BadTenant(String::new()))?;
        let base_path = mount
            .shared
            .settings
            .base_path
            .trim_end_matches('/')
            .to_owned();
        Ok(Model {
            shared: mount.shared,
            base_path,
        })
    }

    /// Answers one request (`target` relative to the tenant URL, as sent to the endpoint).
    pub(crate) fn send(&self, method: &str, target: &str, body: Option<&Value>) -> Reply {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{target}", self.base_path));
        let bytes = match body {
            Some(b) => {
                request = request.header(hyper::header::CONTENT_TYPE, wire::CONTENT_TYPE);
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        match request.body(bytes) {
            Ok(r) => {
                let outcome = crate::server::pipeline::respond(&self.shared, r);
                let response = outcome.response;
                Reply {
                    status: response.status().as_u16(),
                    json: serde_json::from_slice(response.body()).ok(),
                }
            }
            // A target hyper cannot parse never reaches the endpoint either (the client
            // refuses it the same way); 400 keeps the two sides in step.
            Err(_) => Reply {
                status: 400,
                json: None,
            },
        }
    }
}
