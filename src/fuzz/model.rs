//! The reference model: scimock's own SCIM server inside this process, one fresh tenant
//! per run of a sequence, driven through the server's sans-IO pipeline
//! (`server::local`) with no socket. Its store, PATCH engine and filter
//! evaluator are what the endpoint is compared with; a `MockServerBuilder` with the same
//! profile serves the same semantics over HTTP. Ids come from [`SequentialIds`], so the
//! model is deterministic. Public as [`super::Model`], for a vendor's own property tests.

use serde_json::Value;

use crate::clock::SequentialIds;
use crate::profile::Profile;
use crate::server::local::Local;
use crate::server::StartError;
use crate::MockServerBuilder;

/// One answer, from the endpoint or the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body as JSON (`None` when empty or not JSON).
    pub json: Option<Value>,
}

/// The reference model: scimock's SCIM server in this process, with no socket and no
/// authentication, answering the requests it is given as a `MockServer` serving the same
/// profile would (the store, both Entra PATCH dialects, RFC 7644 filters with RFC 7643
/// `caseExact`). Each model is a fresh, empty tenant; ids are sequential (`1`, `2`, …), so
/// the same requests get the same answers.
///
/// A vendor checks their implementation's answers against it in a property test: send
/// each request to both, compare. The `scimock::strategies` module docs (feature
/// `proptest`) have an example with a toy implementation.
///
/// ```
/// use scimock::fuzz::Model;
/// use serde_json::json;
///
/// let model = Model::new(&scimock::profile::Profile::default()).unwrap();
/// let created = model.send("POST", "/Users", Some(&json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///     "userName": "ada@contoso.com", "active": "True"})));
/// assert_eq!(created.status, 201);
/// let id = created.json.unwrap()["id"].as_str().unwrap().to_owned();
/// // Entra's matching query, form-encoded as Entra sends it.
/// let query = scimock::entra::wire::filter_query("userName", "ADA@contoso.com");
/// let found = model.send("GET", &format!("/Users?{query}"), None);
/// assert_eq!(found.json.unwrap()["Resources"][0]["id"], id.as_str());
/// // Disabled in the legacy dialect: a capitalised op, the boolean as a string.
/// let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
/// assert_eq!(model.send("PATCH", &format!("/Users/{id}"), Some(&patch)).status / 100, 2);
/// assert_eq!(model.send("GET", &format!("/Users/{id}"), None).json.unwrap()["active"], false);
/// ```
#[derive(Debug)]
pub struct Model(Local);

impl Model {
    /// A fresh, empty model serving `profile` (`Profile::default()` is `entra-generic`).
    pub fn new(profile: &Profile) -> Result<Model, StartError> {
        let builder = MockServerBuilder::default()
            .profile(profile.clone())
            .no_auth()
            .ids(SequentialIds::new());
        Local::new(&builder, "http://model").map(Model)
    }

    /// Answers one request. `target` is relative to the tenant URL, as it would be sent to
    /// an endpoint: `/Users`, `/Users/{id}`, `/Groups?filter=…` with the query
    /// form-encoded (`scimock::entra::wire::filter_query`). A target that is no valid URI
    /// is answered 400, as an HTTP client would refuse to send it.
    pub fn send(&self, method: &str, target: &str, body: Option<&Value>) -> Reply {
        match self.0.answer(method, target, None, body) {
            Ok(response) => Reply {
                status: response.status().as_u16(),
                json: serde_json::from_slice(response.body()).ok(),
            },
            // A target hyper cannot parse never reaches the endpoint either (the client
            // refuses it the same way); 400 keeps the two sides in step.
            Err(_) => Reply {
                status: 400,
                json: None,
            },
        }
    }
}
