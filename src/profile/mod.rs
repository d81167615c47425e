//! Vendor profiles: what one app that Entra provisions into accepts, so the mock behaves like
//! that app instead of like a generic RFC 7643/7644 server.
//!
//! Owns: the profile file format (TOML, below), the built-in profiles embedded from the
//! top-level `profiles/` directory, building each resource type's [`ResourceSchema`] from the
//! RFC schemas plus the profile's overrides (`build`), the request checks a profile adds
//! (required attributes, value rules, filterable attributes, unknown extension attributes:
//! `enforce`), example bodies (`example`), the seed-style attribute table (`table`),
//! the run-wide variables a replay takes from a profile ([`Profile::run_vars`]) and the
//! data of Entra's provisioning configuration, the `[provisioning]` section
//! ([`provisioning`]). Leaves storage and type checks to `store/`, HTTP to `server/`, and
//! compiling the `[provisioning]` section into what a cycle runs to `provision/config.rs`:
//! a profile only checks the section's syntax when it loads, so `profile/` uses the
//! expression and scoping languages' parsers but never `provision/`.
//!
//! # Format
//!
//! One TOML document per profile. Every key, its type and default:
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `id` | string | required | short id: `alexishr`; `--profile alexishr` |
//! | `name` | string | required | display name as the seed's title spells it: `AlexisHR` |
//! | `source` | string | required | where the profile came from: seed file and section |
//! | `notes` | array of strings | `[]` | deviations from the source and why (typos, guesses) |
//! | `base_path` | string | `"/scim/v2"` | SCIM base path (ALVAO: `/scim`) |
//! | `auth` | `"bearer"` \| `"none"` | `"bearer"` | Entra's Secret Token (bearer, RFC 6750) or no auth; a token given for the server or the tenant is required either way |
//! | `max_results` | integer | `1000` | page size limit: `count` is capped here, ServiceProviderConfig `filter.maxResults` |
//! | `filter_policy` | `"allow"` \| `"strict"` | `"allow"` | a filter on an attribute no mapping row marks `filter`: allowed but unindexed, or 400 `invalidFilter` |
//! | `unknown_extension_attributes` | `"keep"` \| `"reject"` | `"keep"` | an extension object (or attribute in one) the schemas do not define: stored as sent, or 400 `invalidSyntax` |
//! | `patch_dialect` | `"entra"` \| `"rfc"` | `"entra"` | accept Entra's PATCH quirks, or refuse them (`PatchOptions::strict_rfc`) |
//! | `group_patch_response` | `204` \| `200` | `204` | group PATCH answer: no content, or 200 with the group |
//! | `users` | table | `{}` | the User resource type (always served) |
//! | `groups` | table | absent | the Group resource type; absent = users only: `/Groups` is 404 and left out of `/ResourceTypes` |
//! | `schemas` | array of tables | `[]` | schema overrides and additions (below) |
//! | `provisioning` | table | absent | Entra's side of the app for `scimock provision` ([`provisioning::ProvisioningSpec`], `docs/provision.md`); absent = mappings derived from the attributes ([`provisioning::ProvisioningSpec::derived`]) |
//!
//! `[users]` / `[groups]`:
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `extensions` | array of URNs | users: `[enterprise User]`, groups: `[]` | extension schemas of the resource type (RFC 7643 §6 `schemaExtensions`) |
//! | `mapping` | array of tables | `[]` | the seed's attribute-mapping rows, one table each (below) |
//!
//! `[[users.mapping]]` / `[[groups.mapping]]`, one per row of the seed's table:
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `path` | string | required | SCIM attribute path as Entra maps it: `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:manager` |
//! | `type` | string | required | the seed's Type column: `String`, `Boolean`, `Reference` |
//! | `filter` | bool | `false` | "Supported for filtering" / matching attribute: filterable and indexed |
//! | `required` | bool | `false` | "Required by &lt;app&gt;": POST and PUT without a value here are 400 `invalidValue` |
//! | `format` | `"e164"` \| `"email"` | none | a built-in value rule (E.164 phone `+16175551212`, email address) |
//! | `pattern` | string (regex) | none | a custom value rule; every value at `path` must match |
//! | `example` | string | none | a valid value, quoted in the error when `pattern` fails |
//! | `seed_path` | string | `path` | the path exactly as the seed spells it, when that differs (Visibly's `name.giveName`) |
//!
//! `[[schemas]]`: a schema to add, or one of the RFC schemas (core User, core Group,
//! enterprise User) to amend without restating it:
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `id` | URN | required | the schema id |
//! | `name`, `description` | string | the RFC's, else none | |
//! | `attributes` | array of tables | `[]` | attribute definitions, merged by `name` (below) |
//!
//! `[[schemas.attributes]]` (and `subAttributes` inside them) use RFC 7643 §7's names: `name`
//! (required), `type` (required for a new attribute), `multiValued`, `description`,
//! `required`, `caseExact`, `mutability`, `returned`, `uniqueness`, `canonicalValues`,
//! `referenceTypes`, `subAttributes`. A name the base schema already has overrides only
//! the keys given; a new name adds an attribute. A mapping row with `required = true`
//! also marks its attribute (or sub-attribute) `required` in `/Schemas`.

pub(crate) mod build;
pub(crate) mod enforce;
pub(crate) mod example;
pub mod provisioning;
pub(crate) mod table;
mod vars;

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::scim::ResourceKind;
use crate::scim::{AttrType, Mutability, ResourceSchema, Returned, Uniqueness};

pub use enforce::{values_at, ValueRule};
use provisioning::{ProvisioningSpec, SourceSpec};

/// The id of the default profile: Entra's default mapping (entra-provisioning.md §7.1).
pub const DEFAULT_PROFILE: &str = "entra-generic";

/// The built-in profiles, embedded from `profiles/` (id, TOML text).
pub const BUILTIN: [(&str, &str); 6] = [
    (
        "entra-generic",
        include_str!("../../profiles/entra-generic.toml"),
    ),
    ("servicely", include_str!("../../profiles/servicely.toml")),
    (
        "freshservice",
        include_str!("../../profiles/freshservice.toml"),
    ),
    ("visibly", include_str!("../../profiles/visibly.toml")),
    ("alvao", include_str!("../../profiles/alvao.toml")),
    ("alexishr", include_str!("../../profiles/alexishr.toml")),
];

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown profile `{0}`; built-in profiles: {list}", list = builtin_ids().join(", "))]
    Unknown(String),
    #[error("cannot read profile file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("profile {origin}: {source}")]
    Toml {
        origin: String,
        source: Box<toml::de::Error>,
    },
    #[error("profile `{id}`: {detail}")]
    Invalid { id: String, detail: String },
}

/// The ids of the built-in profiles, default first.
pub fn builtin_ids() -> Vec<&'static str> {
    BUILTIN.iter().map(|(id, _)| *id).collect()
}

/// `filter_policy`: what a filter on a non-matching attribute gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterPolicy {
    /// Evaluated like any filter (by a scan, not an index).
    #[default]
    Allow,
    /// 400 `invalidFilter`: "attribute not filterable in this app".
    Strict,
}

/// `unknown_extension_attributes`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtensionPolicy {
    #[default]
    Keep,
    Reject,
}

/// `patch_dialect`: the PATCH engine's own [`crate::patch::Dialect`] (`"entra"` or
/// `"rfc"`), so a profile names the policy rather than a copy of it.
use crate::patch::Dialect as PatchDialect;

/// `auth`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthScheme {
    #[default]
    Bearer,
    None,
}

/// `format`: the built-in value rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    E164,
    Email,
}

/// One attribute-mapping row (`[[users.mapping]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub filter: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_path: Option<String>,
}

impl Mapping {
    /// The path as the source table spells it.
    pub fn source_path(&self) -> &str {
        self.seed_path.as_deref().unwrap_or(&self.path)
    }
}

/// `[users]` / `[groups]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<String>>,
    #[serde(default)]
    pub mapping: Vec<Mapping>,
}

/// An attribute definition to add or merge (`[[schemas.attributes]]`): RFC 7643 §7 keys,
/// all optional but `name`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttributeSpec {
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: Option<AttrType>,
    #[serde(default)]
    pub multi_valued: Option<bool>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub case_exact: Option<bool>,
    #[serde(default)]
    pub mutability: Option<Mutability>,
    #[serde(default)]
    pub returned: Option<Returned>,
    #[serde(default)]
    pub uniqueness: Option<Uniqueness>,
    #[serde(default)]
    pub canonical_values: Option<Vec<String>>,
    #[serde(default)]
    pub reference_types: Option<Vec<String>>,
    #[serde(default)]
    pub sub_attributes: Vec<AttributeSpec>,
}

/// `[[schemas]]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaSpec {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub attributes: Vec<AttributeSpec>,
}

fn default_base_path() -> String {
    "/scim/v2".to_owned()
}

fn default_max_results() -> u64 {
    1000
}

fn default_group_patch_response() -> u16 {
    204
}

/// A profile file as written (see the module docs for every key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    pub id: String,
    pub name: String,
    pub source: String,
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default = "default_base_path")]
    pub base_path: String,
    #[serde(default)]
    pub auth: AuthScheme,
    #[serde(default = "default_max_results")]
    pub max_results: u64,
    #[serde(default)]
    pub filter_policy: FilterPolicy,
    #[serde(default)]
    pub unknown_extension_attributes: ExtensionPolicy,
    #[serde(default)]
    pub patch_dialect: PatchDialect,
    #[serde(default = "default_group_patch_response")]
    pub group_patch_response: u16,
    #[serde(default)]
    pub users: ResourceSpec,
    #[serde(default)]
    pub groups: Option<ResourceSpec>,
    #[serde(default)]
    pub schemas: Vec<SchemaSpec>,
    /// Entra's side of the app for `scimock provision`: attribute mappings, matching,
    /// scoping, target object actions, thresholds, dialect (`docs/provision.md`, "The app
    /// configuration"). Absent: the mappings are derived from the attributes above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<ProvisioningSpec>,
}

/// A loaded profile: the spec, its built schemas and compiled value rules.
#[derive(Debug, Clone)]
pub struct Profile {
    spec: ProfileSpec,
    /// Shared with every store serving this profile: one copy, never cloned per request.
    users: Arc<ResourceSchema>,
    groups: Option<Arc<ResourceSchema>>,
    /// Value rules per resource kind: (mapping path, rule).
    rules: Vec<(ResourceKind, String, ValueRule)>,
}

impl Profile {
    /// The same profile with Entra's PATCH quirks refused (`patch_dialect = "rfc"`), as
    /// `scimock serve --strict-rfc` asks.
    pub fn strict_rfc(mut self) -> Profile {
        self.spec.patch_dialect = PatchDialect::Rfc;
        self
    }

    /// Parses and checks a profile from TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let spec: ProfileSpec = toml::from_str(text).map_err(|e| ProfileError::Toml {
            origin: origin.to_owned(),
            source: Box::new(e),
        })?;
        Profile::from_spec(spec)
    }

    /// Builds a profile from its spec: schemas merged, rules compiled, paths checked.
    pub fn from_spec(spec: ProfileSpec) -> Result<Profile, ProfileError> {
        let invalid = |detail: String| ProfileError::Invalid {
            id: spec.id.clone(),
            detail,
        };
        if !matches!(spec.group_patch_response, 200 | 204) {
            return Err(invalid(format!(
                "group_patch_response must be 200 or 204, got {}",
                spec.group_patch_response
            )));
        }
        if !spec.base_path.starts_with('/') {
            return Err(invalid(format!(
                "base_path must start with `/`, got `{}`",
                spec.base_path
            )));
        }
        if let Some(p) = &spec.provisioning {
            check_provisioning(p).map_err(|e| invalid(format!("[provisioning]: {e}")))?;
        }
        let users = Arc::new(build::resource_schema(&spec, ResourceKind::User).map_err(invalid)?);
        let groups = match &spec.groups {
            Some(_) => Some(Arc::new(
                build::resource_schema(&spec, ResourceKind::Group).map_err(invalid)?,
            )),
            None => None,
        };
        let mut rules = Vec::new();
        for (kind, rs) in [
            (ResourceKind::User, Some(&spec.users)),
            (ResourceKind::Group, spec.groups.as_ref()),
        ] {
            for row in rs.map(|r| r.mapping.as_slice()).unwrap_or_default() {
                crate::filter::parse_path(&row.path)
                    .map_err(|e| invalid(format!("mapping path `{}`: {e}", row.path)))?;
                if let Some(rule) = ValueRule::for_mapping(row).map_err(invalid)? {
                    rules.push((kind, row.path.clone(), rule));
                }
            }
        }
        Ok(Profile {
            spec,
            users,
            groups,
            rules,
        })
    }

    /// A built-in profile by id.
    pub fn builtin(id: &str) -> Result<Profile, ProfileError> {
        let (id, text) = BUILTIN
            .iter()
            .find(|(b, _)| b.eq_ignore_ascii_case(id))
            .ok_or_else(|| ProfileError::Unknown(id.to_owned()))?;
        Profile::from_toml(text, &format!("profiles/{id}.toml"))
    }

    /// Every built-in profile, default first.
    pub fn all_builtin() -> Result<Vec<Profile>, ProfileError> {
        BUILTIN.iter().map(|(id, _)| Profile::builtin(id)).collect()
    }

    /// A built-in id, or else a path to a TOML file (`--profile <id|file>`).
    pub fn resolve(id_or_file: &str) -> Result<Profile, ProfileError> {
        match Profile::builtin(id_or_file) {
            Ok(p) => Ok(p),
            Err(ProfileError::Unknown(_)) if std::path::Path::new(id_or_file).is_file() => {
                let text =
                    std::fs::read_to_string(id_or_file).map_err(|source| ProfileError::Read {
                        path: id_or_file.to_owned(),
                        source,
                    })?;
                Profile::from_toml(&text, id_or_file)
            }
            Err(e) => Err(e),
        }
    }

    /// The spec as written.
    pub fn spec(&self) -> &ProfileSpec {
        &self.spec
    }

    /// The profile id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Does the app serve this resource type?
    pub fn supports(&self, kind: ResourceKind) -> bool {
        kind == ResourceKind::User || self.groups.is_some()
    }

    /// The resource types served, users first.
    pub fn kinds(&self) -> Vec<ResourceKind> {
        [ResourceKind::User, ResourceKind::Group]
            .into_iter()
            .filter(|k| self.supports(*k))
            .collect()
    }

    /// The schema of `kind`; for an unsupported kind, the RFC one (never served).
    pub fn schema(&self, kind: ResourceKind) -> &ResourceSchema {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => match &self.groups {
                Some(groups) => groups,
                None => group_fallback(),
            },
        }
    }

    /// The same schema as [`Profile::schema`], shared, for a store to hold.
    pub(crate) fn shared_schema(&self, kind: ResourceKind) -> Arc<ResourceSchema> {
        match kind {
            ResourceKind::User => Arc::clone(&self.users),
            ResourceKind::Group => match &self.groups {
                Some(groups) => Arc::clone(groups),
                None => crate::scim::shared_group_resource(),
            },
        }
    }

    /// The mapping rows of `kind` (empty for an unsupported kind).
    pub fn mapping(&self, kind: ResourceKind) -> &[Mapping] {
        let spec = match kind {
            ResourceKind::User => Some(&self.spec.users),
            ResourceKind::Group => self.spec.groups.as_ref(),
        };
        spec.map(|s| s.mapping.as_slice()).unwrap_or_default()
    }

    /// Entra's side of the app as data: the `[provisioning]` section, or for a profile
    /// without one the mappings its attributes imply ([`ProvisioningSpec::derived`]).
    pub fn provisioning(&self) -> Cow<'_, ProvisioningSpec> {
        match &self.spec.provisioning {
            Some(p) => Cow::Borrowed(p),
            None => Cow::Owned(ProvisioningSpec::derived(&self.spec)),
        }
    }
}

/// The load-time check of a `[provisioning]` section: every check compiling it
/// (`provision/config.rs`) makes, with the same messages, so the section of a
/// profile that loads always compiles. Nothing is kept: an expression is parsed and a
/// scoping filter read by `crate::scope`'s loader (the one place its rules live; it
/// builds a REGEX MATCH pattern to check it), and both are dropped, since serving a
/// profile never runs them.
fn check_provisioning(p: &ProvisioningSpec) -> Result<(), String> {
    let groups = p.groups.as_ref().map(|g| ("groups", g));
    for (object, spec) in std::iter::once(("users", &p.users)).chain(groups) {
        if let Some(v) = &spec.scoping {
            crate::scope::ScopeFilter::from_json(&v.to_string())
                .map_err(|e| format!("{object} scoping filter: {e}"))?;
        }
        for m in &spec.mappings {
            let bad =
                |problem: &dyn std::fmt::Display| format!("mapping for `{}`: {problem}", m.target);
            if let SourceSpec::Expression(e) = m.checked_source().map_err(|p| bad(&p))? {
                let e = crate::expr::parse(e).map_err(|e| bad(&e))?;
                e.check_for_scim_app().map_err(|p| bad(&p))?;
            }
        }
    }
    Ok(())
}

/// The RFC Group schema, for a profile that serves no groups (one per process).
fn group_fallback() -> &'static ResourceSchema {
    static SCHEMA: OnceLock<Arc<ResourceSchema>> = OnceLock::new();
    SCHEMA.get_or_init(crate::scim::shared_group_resource)
}

impl Default for Profile {
    fn default() -> Self {
        // Parsed once per process; a clone shares the schemas.
        static DEFAULT: OnceLock<Profile> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                // The embedded default is checked by a unit test; failing here is a build
                // defect.
                Profile::builtin(DEFAULT_PROFILE)
                    .expect("the embedded entra-generic profile is valid")
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_profile_loads_and_is_named_after_its_file() {
        for (id, _) in BUILTIN {
            let p = Profile::builtin(id).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(p.id(), id);
        }
    }

    #[test]
    fn unknown_keys_and_bad_rules_are_errors() {
        let e = Profile::from_toml("id='x'\nname='X'\nsource='s'\nbogus=1", "t").unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let bad = "id='x'\nname='X'\nsource='s'\n[[users.mapping]]\npath='title'\ntype='String'\npattern='('";
        let e = Profile::from_toml(bad, "t").unwrap_err();
        assert!(e.to_string().contains("pattern"), "{e}");
    }

    #[test]
    fn resolve_reads_a_file_when_the_id_is_not_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, "id='mine'\nname='Mine'\nsource='test'\n").unwrap();
        let p = Profile::resolve(path.to_str().unwrap()).unwrap();
        assert_eq!(p.id(), "mine");
        assert!(!p.supports(ResourceKind::Group));
        assert!(matches!(
            Profile::resolve("nope"),
            Err(ProfileError::Unknown(_))
        ));
    }
}
