//! Durable state in a build without the `state` feature (no SQLite): the same API, and
//! every attempt to open a database says why it cannot.

use std::path::Path;

use serde_json::Value;

use super::{Ack, DurableError, Row, Sync};

/// A state database; none can be opened in this build.
#[derive(Debug)]
pub struct Durable {
    never: std::convert::Infallible,
}

fn not_built(path: &Path) -> DurableError {
    DurableError::Unusable {
        path: path.to_path_buf(),
        reason: "this scimock was built without the `state` feature (SQLite)".to_owned(),
    }
}

impl Durable {
    /// Always refused: this build has no SQLite.
    pub fn open(path: &Path, _sync: Sync) -> Result<(Durable, Option<Vec<u8>>), DurableError> {
        Err(not_built(path))
    }

    pub fn path(&self) -> &Path {
        match self.never {}
    }

    pub fn failed(&self) -> bool {
        match self.never {}
    }

    pub fn order(&self) -> std::sync::MutexGuard<'_, ()> {
        match self.never {}
    }

    pub fn write(&self, _rows: Vec<Row>) -> Ack {
        match self.never {}
    }

    pub fn write_all(&self, _rows: Vec<Row>) -> Ack {
        match self.never {}
    }

    pub fn close(&self) {
        match self.never {}
    }
}

/// Always refused: this build has no SQLite.
pub fn export(path: &Path) -> Result<Value, DurableError> {
    Err(not_built(path))
}

/// Always refused: this build has no SQLite.
pub fn import(_json: Vec<u8>, path: &Path) -> Result<usize, String> {
    Err(not_built(path).to_string())
}
