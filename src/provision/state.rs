//! What the engine keeps between cycles (`--state FILE`, JSON): the watermark, the
//! source → target id links with the values last exported, escrows and the quarantine
//! verdict. Mirrors what Entra keeps in its connector data store (*Understand how
//! Application Provisioning in Microsoft Entra ID works*).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a linked user was disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DisableReason {
    /// Unassigned from the app or failed a scoping filter. Entra stops managing the
    /// account: a later hard delete in the directory sends no DELETE.
    OutOfScope,
    /// `accountEnabled` false.
    Disabled,
    /// `deletedDateTime` set.
    SoftDeleted,
}

/// A source object provisioned (created or matched) in the target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub target_id: String,
    /// Target path → the value last exported (or read back when matched).
    #[serde(default)]
    pub exported: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<DisableReason>,
    /// Groups: source user id → target user id of each member last exported.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub members: BTreeMap<String, String>,
    /// Users: the cycle that last processed the user (created, matched or updated it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_cycle: Option<String>,
    /// Users: the source manager's id when the user was last processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
}

/// An object whose last export failed; retried on the following cycles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Escrow {
    pub error_code: String,
    /// Retries so far (0 after the first failure).
    pub retries: u32,
    pub first_failure: String,
}

/// The job's quarantine verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quarantine {
    /// Graph `synchronizationQuarantine.reason`.
    pub reason: String,
    /// The rule that fired, in words.
    pub rule: String,
    pub current_began: String,
}

/// The whole state file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// Completed cycles; 0 means the next one is the initial cycle.
    #[serde(default)]
    pub cycles: u64,
    /// When the last cycle finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    #[serde(default)]
    pub users: BTreeMap<String, Link>,
    #[serde(default)]
    pub groups: BTreeMap<String, Link>,
    /// Source id → escrow.
    #[serde(default)]
    pub escrows: BTreeMap<String, Escrow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<Quarantine>,
}

impl State {
    pub fn from_json(text: &str) -> Result<State, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn is_initial(&self) -> bool {
        self.cycles == 0
    }
}
