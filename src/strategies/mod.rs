//! Proptest strategies for what Entra sends and for RFC 7644 filters (feature
//! `proptest`): the fuzzer's inputs for a vendor's own `cargo test`. Check an
//! implementation's answers against the reference [`Model`](crate::fuzz::Model) in
//! process, or run generated sequences against an endpoint over HTTP with
//! [`Fuzzer::check`](crate::fuzz::Fuzzer::check).
//!
//! | strategy | yields |
//! |---|---|
//! | [`entra_user`], [`entra_group`] | `POST /Users` and `/Groups` bodies as Entra's default mappings send them |
//! | [`user_values`], [`upn`], [`upn_local`], [`matching_text`], [`free_text`] | the values inside: matching values within what Entra's sources hold, free text full of what breaks naive endpoints |
//! | [`entra_filter`] | filters as Entra writes them: `userName eq`, `externalId eq`, `emails[type eq "work"].value eq`, `displayName eq` |
//! | [`filter`], [`attr_path`], [`attr_name`], [`schema_uri`], [`comp_value`], [`filter_text`] | filters as RFC 7644 writes them (the whole grammar, as [`Filter`](crate::filter::Filter) trees), their parts, and filter-like noise |
//! | [`entra_user_patch`], [`entra_group_patch`] | PATCH bodies in either Entra dialect |
//! | [`step`], [`steps`], [`membership`], [`sequence`], [`sublists`] | sequences of [`Step`](crate::fuzz::Step)s, as `scimock fuzz` runs them |
//!
//! Matching values are narrowed as the fuzzer narrows them (docs/fuzz.md,
//! "Tolerances"), so an endpoint is not held to what Entra never sends. The same inputs
//! have `arbitrary` impls with the feature `fuzzing`: the [`fuzz`](crate::fuzz) module
//! docs show a `cargo fuzz` target.
//!
//! # A toy implementation, property-tested against the model
//!
//! The implementation under test keeps users in a `HashMap`. The property: for any
//! Entra-shaped users, it answers creates (and a create clashing in another case), matching
//! queries and read-backs of `active` as the model does. A toy that kept `"active":
//! "True"` as a string, or compared `userName`s case-sensitively, fails it.
//!
//! ```
//! use std::collections::HashMap;
//!
//! use proptest::prelude::*;
//! use scimock::entra::wire::filter_query;
//! use scimock::fuzz::Model;
//! use scimock::profile::Profile;
//! use serde_json::{json, Value};
//!
//! /// The implementation under test.
//! #[derive(Default)]
//! struct Toy {
//!     users: HashMap<String, Value>,
//! }
//!
//! impl Toy {
//!     /// `POST /Users`: the status, and the id.
//!     fn create(&mut self, body: &Value) -> (u16, Option<String>) {
//!         let name = body["userName"].as_str().unwrap_or_default();
//!         if !self.find(name).is_empty() {
//!             return (409, None); // userName is unique, in any case (RFC 7643 §4.1.1)
//!         }
//!         let id = format!("toy-{}", self.users.len());
//!         let mut user = body.clone();
//!         // Entra may send "True"/"False"; the attribute is a boolean.
//!         if let Some(s) = user["active"].as_str() {
//!             user["active"] = json!(s.eq_ignore_ascii_case("true"));
//!         }
//!         self.users.insert(id.clone(), user);
//!         (201, Some(id))
//!     }
//!
//!     /// `GET /Users?filter=userName eq "…"`: the ids.
//!     fn find(&self, name: &str) -> Vec<&String> {
//!         let same = |u: &Value| u["userName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name));
//!         self.users.iter().filter(|(_, u)| same(u)).map(|(id, _)| id).collect()
//!     }
//! }
//!
//! proptest! {
//!     #![proptest_config(ProptestConfig::with_cases(16))]
//!     fn the_toy_answers_as_the_model_does(users in prop::collection::vec(scimock::strategies::entra_user(), 1..4)) {
//!         let model = Model::new(&Profile::default()).unwrap();
//!         let mut toy = Toy::default();
//!         for user in &users {
//!             let mut clash = user.clone();
//!             clash["userName"] = json!(user["userName"].as_str().unwrap().to_uppercase());
//!             for body in [user, &clash] {
//!                 let m = model.send("POST", "/Users", Some(body));
//!                 let (status, id) = toy.create(body);
//!                 prop_assert_eq!(status, m.status);
//!                 let (Some(id), Some(created)) = (id, m.json) else { continue };
//!                 // Entra's matching query, in another case.
//!                 let name = body["userName"].as_str().unwrap().to_lowercase();
//!                 let found = model.send("GET", &format!("/Users?{}", filter_query("userName", &name)), None);
//!                 prop_assert_eq!(found.json.unwrap()["totalResults"].clone(), json!(toy.find(&name).len()));
//!                 // The read-back.
//!                 let read = model.send("GET", &format!("/Users/{}", created["id"].as_str().unwrap()), None);
//!                 prop_assert_eq!(&read.json.unwrap()["active"], &toy.users[&id]["active"]);
//!             }
//!         }
//!     }
//! }
//!
//! fn main() {
//!     the_toy_answers_as_the_model_does();
//! }
//! ```
//!
//! # An endpoint over HTTP
//!
//! Generated sequences sent to an endpoint (here a `MockServer` stands in for it) and, in
//! lock-step, to a fresh model, each judged as `scimock fuzz` judges it. On a divergence
//! proptest shrinks the sequence and reports the smallest one it found.
//!
//! ```
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestRunner};
//! use scimock::entra::Dialect;
//! use scimock::fuzz::{FuzzConfig, Fuzzer};
//!
//! let endpoint = scimock::MockServer::builder().token("t").start_blocking();
//! let mut config = FuzzConfig::new(endpoint.base_url());
//! config.client.token = Some("t".into());
//! config.rate = 0.0; // no pacing against a local server
//! let fuzzer = Fuzzer::new(config).unwrap();
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//!
//! let mut runner = TestRunner::new(Config::with_cases(8));
//! let sequences = scimock::strategies::sequence(20, true);
//! let result = runner.run(&sequences, |steps| {
//!     for dialect in Dialect::BOTH {
//!         let divergence = rt.block_on(fuzzer.check(&steps, dialect)).unwrap();
//!         prop_assert!(divergence.is_none(), "{:?}", divergence);
//!     }
//!     Ok(())
//! });
//! // scimock agrees with its own model.
//! assert!(result.is_ok(), "{result:?}");
//! ```

mod entra;
mod filter;
mod steps;

pub use entra::{
    entra_filter, entra_group, entra_group_patch, entra_user, entra_user_patch, free_text,
    matching_text, upn, upn_local, user_values,
};
pub use filter::{attr_name, attr_path, comp_value, filter, filter_text, schema_uri};
pub use steps::{membership, sequence, step, steps, sublists};

#[cfg(test)]
mod tests;
