//! Which Entra PATCH dialect a job speaks: the default (legacy) job, or the one the tenant
//! URL's `aadOptscim062020` flag opts in to (*Known issues and resolutions with SCIM 2.0
//! protocol compliance of the Microsoft Entra user provisioning service*, learn.microsoft.com).

use serde::{Deserialize, Serialize};

/// Which Entra PATCH dialect a run speaks (docs/entra.md §4.2).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum Dialect {
    /// The default job: PascalCase ops, booleans as `"True"`/`"False"`, member removal with
    /// `path: members` and a value list.
    #[default]
    #[serde(rename = "legacy")]
    Legacy,
    /// The `aadOptscim062020` flag: lower-case ops, real booleans, simple replaces folded
    /// into one path-less op, member removal by value filter.
    #[serde(rename = "aadOptscim062020")]
    AadOptscim062020,
}

impl Dialect {
    /// Both dialects, legacy first.
    pub const BOTH: [Dialect; 2] = [Dialect::Legacy, Dialect::AadOptscim062020];

    /// The name used in files, reports and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Legacy => "legacy",
            Dialect::AadOptscim062020 => "aadOptscim062020",
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
