//! The app's provisioning configuration (the `[provisioning]` TOML section): attribute
//! mappings per object type, matching precedence, scoping filters, target object actions,
//! assignment scope, `SkipOutOfScopeDeletions`, the accidental-deletion threshold and the
//! PATCH dialect. Every field is documented in `docs/provision.md`.
//!
//! Model: *Tutorial - Customize Microsoft Entra attribute mappings in Application
//! Provisioning* (<https://learn.microsoft.com/en-us/entra/identity/app-provisioning/customize-application-attributes>)
//! and Graph's `attributeMapping` / `objectMapping` resources.

use serde::{Deserialize, Serialize};

use crate::expr::{self, Expr};
use crate::profile::Profile;
use crate::scope::ScopeFilter;

/// Why a configuration does not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("provisioning config: {0}")]
    Toml(String),
    #[error("provisioning config has no [provisioning] section")]
    Missing,
    #[error("mapping for `{target}`: {problem}")]
    Mapping { target: String, problem: String },
    #[error("{object} scoping filter: {problem}")]
    Scope { object: String, problem: String },
}

/// "Sync only assigned users and groups" or "Sync all users and groups".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeMode {
    #[default]
    Assigned,
    All,
}

/// Which PATCH shapes the job sends: the spine's [`crate::entra::Dialect`].
pub use crate::entra::Dialect;

/// "Apply this mapping".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Apply {
    /// Create and update (`flowType: Always`).
    #[default]
    Always,
    /// Only during object creation (`flowType: ObjectAddOnly`).
    Creation,
}

/// A target attribute's JSON type on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttrType {
    #[default]
    String,
    Boolean,
}

/// One `[[provisioning.users.mappings]]` row as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default)]
    pub apply: Apply,
    /// Matching precedence: 0 = not a matching attribute, 1 is tried first.
    #[serde(default)]
    pub matching: u32,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<AttrType>,
    /// "Exact case?": a case-only change is exported only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub case_exact: bool,
}

/// Target object actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

fn all_actions() -> Vec<Action> {
    vec![Action::Create, Action::Update, Action::Delete]
}

fn yes() -> bool {
    true
}

/// `[provisioning.users]` / `[provisioning.groups]` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectSpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "all_actions")]
    pub actions: Vec<Action>,
    /// Graph's `filter` shape: `{groups = [{name, clauses = [...]}]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoping: Option<serde_json::Value>,
    #[serde(default)]
    pub mappings: Vec<MappingSpec>,
}

impl Default for ObjectSpec {
    fn default() -> Self {
        ObjectSpec {
            enabled: true,
            actions: all_actions(),
            scoping: None,
            mappings: Vec::new(),
        }
    }
}

/// The `[provisioning]` section as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningSpec {
    #[serde(default)]
    pub scope: ScopeMode,
    #[serde(default)]
    pub dialect: Dialect,
    #[serde(default)]
    pub skip_out_of_scope_deletions: bool,
    /// Accidental-deletion prevention; absent = off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_threshold: Option<u64>,
    pub users: ObjectSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<ObjectSpec>,
    /// Schema URIs a group create sends after the core Group URN. Empty by default: the
    /// SCIM tutorial's Create Group example adds
    /// `http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group`
    /// ([`crate::entra::wire::ADSCIM_GROUP`]), which an RFC endpoint may refuse; list it
    /// here for an app that expects it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_schemas: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Wrapper {
    provisioning: Option<ProvisioningSpec>,
}

/// Where a mapping's value comes from.
#[derive(Debug, Clone)]
pub enum MappingSource {
    Direct(String),
    Constant(String),
    Expression(Box<Expr>),
}

/// One compiled mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub target: String,
    pub source: MappingSource,
    pub default: Option<String>,
    pub apply: Apply,
    pub matching: u32,
    pub kind: AttrType,
    /// A reference attribute (Direct `manager`): resolved to the referenced object's
    /// target id and exported after both ends exist.
    pub reference: bool,
    /// The mapping reads `IsSoftDeleted`, so it carries the disable.
    pub soft_delete: bool,
    /// Group `members`: exported by membership PATCHes, never in POST.
    pub members: bool,
    pub case_exact: bool,
}

/// One object type's compiled configuration.
#[derive(Debug, Clone)]
pub struct ObjectConfig {
    pub enabled: bool,
    pub actions: Vec<Action>,
    pub scoping: ScopeFilter,
    pub mappings: Vec<Mapping>,
}

impl ObjectConfig {
    /// True when the target object action is on.
    pub fn allows(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }

    /// Matching mappings, lowest precedence number first.
    pub fn matching(&self) -> Vec<&Mapping> {
        let mut m: Vec<&Mapping> = self.mappings.iter().filter(|m| m.matching > 0).collect();
        m.sort_by_key(|m| m.matching);
        m
    }
}

/// A loaded, checked configuration.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub spec: ProvisioningSpec,
    pub users: ObjectConfig,
    pub groups: Option<ObjectConfig>,
}

impl AppConfig {
    /// Loads the `[provisioning]` section of a TOML document (a profile file or a file of
    /// its own).
    pub fn from_toml(text: &str) -> Result<AppConfig, ConfigError> {
        let w: Wrapper = toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        AppConfig::from_spec(w.provisioning.ok_or(ConfigError::Missing)?)
    }

    /// Compiles a spec: expressions parsed, scoping filters loaded, one source per mapping.
    pub fn from_spec(spec: ProvisioningSpec) -> Result<AppConfig, ConfigError> {
        let users = compile_object("users", &spec.users)?;
        let groups = match &spec.groups {
            Some(g) => Some(compile_object("groups", g)?),
            None => None,
        };
        Ok(AppConfig {
            spec,
            users,
            groups,
        })
    }

    /// A profile's app configuration: its `[provisioning]` section (every built-in profile
    /// has one, checked when the profile loads), or, for a profile file without one, the
    /// mappings derived from its attributes by [`AppConfig::derived`].
    pub fn for_profile(profile: &Profile) -> AppConfig {
        match &profile.spec().provisioning {
            Some(p) => AppConfig::from_spec(p.clone()).unwrap_or_else(|e| {
                // Profile::from_spec compiled this section already.
                tracing::error!("profile {}: [provisioning]: {e}", profile.id());
                AppConfig::derived(profile)
            }),
            None => AppConfig::derived(profile),
        }
    }

    /// The mappings a profile's attributes imply: each target attribute gets its source
    /// from the non-gallery SCIM app's defaults (entra-engine §2.3); targets with no
    /// default source are left unmapped. The built-in profiles' `[provisioning]` sections
    /// were written from this rule.
    pub fn derived(profile: &Profile) -> AppConfig {
        let spec = profile.spec();
        let users = spec
            .users
            .mapping
            .iter()
            .filter_map(|m| default_user_mapping(&m.path))
            .collect();
        let groups = spec.groups.as_ref().map(|g| ObjectSpec {
            mappings: g
                .mapping
                .iter()
                .filter_map(|m| default_group_mapping(&m.path))
                .collect(),
            ..ObjectSpec::default()
        });
        let p = ProvisioningSpec {
            users: ObjectSpec {
                mappings: users,
                ..ObjectSpec::default()
            },
            groups,
            ..ProvisioningSpec::default()
        };
        // The defaults are fixed strings that parse; a failure here is a bug in this table.
        AppConfig::from_spec(p.clone()).unwrap_or_else(|e| {
            tracing::error!("built-in provisioning mappings: {e}");
            AppConfig {
                spec: p,
                users: ObjectConfig {
                    enabled: true,
                    actions: all_actions(),
                    scoping: ScopeFilter::default(),
                    mappings: Vec::new(),
                },
                groups: None,
            }
        })
    }

    /// The spec as TOML (`[provisioning]` …), for `--print-config` and the docs.
    pub fn to_toml(&self) -> String {
        #[derive(Serialize)]
        struct Out<'a> {
            provisioning: &'a ProvisioningSpec,
        }
        toml::to_string(&Out {
            provisioning: &self.spec,
        })
        .unwrap_or_default()
    }

    pub fn dialect(&self) -> Dialect {
        self.spec.dialect
    }
}

/// The default `active` expression of the non-gallery app.
pub const ACTIVE_EXPRESSION: &str =
    r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#;

fn row(target: &str, source: &str) -> MappingSpec {
    MappingSpec {
        target: target.to_owned(),
        source: Some(source.to_owned()),
        ..MappingSpec::default()
    }
}

/// Target (as the profile spells it, case-insensitive) → the non-gallery default source.
fn default_user_mapping(target: &str) -> Option<MappingSpec> {
    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:";
    let t = target.to_ascii_lowercase();
    let source = match t.as_str() {
        "username" => {
            return Some(MappingSpec {
                matching: 1,
                ..row(target, "userPrincipalName")
            })
        }
        "active" => {
            return Some(MappingSpec {
                target: target.to_owned(),
                expression: Some(ACTIVE_EXPRESSION.to_owned()),
                kind: Some(AttrType::Boolean),
                ..MappingSpec::default()
            })
        }
        "name.formatted" => {
            return Some(MappingSpec {
                target: target.to_owned(),
                expression: Some(r#"Join(" ", [givenName], [surname])"#.to_owned()),
                ..MappingSpec::default()
            })
        }
        "displayname" => "displayName",
        "title" => "jobTitle",
        "emails[type eq \"work\"].value" => "mail",
        "preferredlanguage" => "preferredLanguage",
        // ‘name.giveName’ is how one seed table spells givenName; it maps the same way.
        "name.givenname" | "name.givename" => "givenName",
        "name.familyname" => "surname",
        "addresses[type eq \"work\"].formatted" => "physicalDeliveryOfficeName",
        "addresses[type eq \"work\"].streetaddress" => "streetAddress",
        "addresses[type eq \"work\"].locality" => "city",
        "addresses[type eq \"work\"].region" => "state",
        "addresses[type eq \"work\"].postalcode" => "postalCode",
        "addresses[type eq \"work\"].country" => "country",
        "phonenumbers[type eq \"work\"].value" => "telephoneNumber",
        "phonenumbers[type eq \"mobile\"].value" => "mobile",
        "phonenumbers[type eq \"fax\"].value" => "facsimileTelephoneNumber",
        "externalid" => "mailNickname",
        _ => match t.strip_prefix(ENT) {
            Some("employeenumber") => "employeeId",
            Some("department") => "department",
            Some("manager") => "manager",
            _ => return None,
        },
    };
    Some(row(target, source))
}

fn default_group_mapping(target: &str) -> Option<MappingSpec> {
    match target.to_ascii_lowercase().as_str() {
        "displayname" => Some(MappingSpec {
            matching: 1,
            ..row(target, "displayName")
        }),
        "externalid" => Some(row(target, "objectId")),
        "members" => Some(row(target, "members")),
        _ => None,
    }
}

fn compile_object(object: &str, spec: &ObjectSpec) -> Result<ObjectConfig, ConfigError> {
    let scoping = match &spec.scoping {
        Some(v) => ScopeFilter::from_json(&v.to_string()).map_err(|e| ConfigError::Scope {
            object: object.to_owned(),
            problem: e.to_string(),
        })?,
        None => ScopeFilter::default(),
    };
    let mappings = spec
        .mappings
        .iter()
        .map(compile_mapping)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ObjectConfig {
        enabled: spec.enabled,
        actions: spec.actions.clone(),
        scoping,
        mappings,
    })
}

fn compile_mapping(m: &MappingSpec) -> Result<Mapping, ConfigError> {
    let bad = |problem: &str| ConfigError::Mapping {
        target: m.target.clone(),
        problem: problem.to_owned(),
    };
    if m.target.trim().is_empty() {
        return Err(bad("empty target attribute"));
    }
    let source = match (&m.source, &m.constant, &m.expression) {
        (Some(s), None, None) => MappingSource::Direct(s.clone()),
        (None, Some(c), None) => MappingSource::Constant(c.clone()),
        (None, None, Some(e)) => {
            MappingSource::Expression(Box::new(expr::parse(e).map_err(|e| bad(&e.to_string()))?))
        }
        _ => {
            return Err(bad(
                "give exactly one of `source`, `constant`, `expression`",
            ))
        }
    };
    let reference =
        matches!(&source, MappingSource::Direct(s) if s.eq_ignore_ascii_case("manager"));
    let members = matches!(&source, MappingSource::Direct(s) if s.eq_ignore_ascii_case("members"))
        && m.target.eq_ignore_ascii_case("members");
    let soft_delete = match (&m.source, &m.expression) {
        (Some(s), _) => s.eq_ignore_ascii_case("IsSoftDeleted"),
        (_, Some(e)) => e.to_ascii_lowercase().contains("[issoftdeleted]"),
        _ => false,
    };
    let kind = m
        .kind
        .unwrap_or(if m.target.eq_ignore_ascii_case("active") {
            AttrType::Boolean
        } else {
            AttrType::String
        });
    if reference && m.matching > 0 {
        return Err(bad("a reference attribute cannot be a matching attribute"));
    }
    Ok(Mapping {
        target: m.target.clone(),
        source,
        default: m.default.clone(),
        apply: m.apply,
        matching: m.matching,
        kind,
        reference,
        soft_delete,
        members,
        case_exact: m.case_exact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_profile_gets_a_matching_username_mapping() {
        for id in crate::profile::builtin_ids() {
            let p = Profile::builtin(id).unwrap();
            let c = AppConfig::for_profile(&p);
            let m = c.users.matching();
            assert_eq!(m.len(), 1, "{id}");
            assert_eq!(m[0].target, "userName", "{id}");
            assert!(c.users.mappings.iter().any(|m| m.soft_delete), "{id}");
        }
    }

    #[test]
    fn a_mapping_with_two_sources_is_refused() {
        let t = r#"
[provisioning]
[[provisioning.users.mappings]]
target = "userName"
source = "userPrincipalName"
constant = "x"
"#;
        let e = AppConfig::from_toml(t).unwrap_err();
        assert!(e.to_string().contains("exactly one"), "{e}");
    }

    #[test]
    fn a_bad_expression_names_its_target() {
        let t = r#"
[provisioning]
[[provisioning.users.mappings]]
target = "displayName"
expression = "Join(\" \", [givenName]"
"#;
        let e = AppConfig::from_toml(t).unwrap_err();
        assert!(
            e.to_string().starts_with("mapping for `displayName`"),
            "{e}"
        );
    }

    #[test]
    fn every_builtin_profile_carries_its_provisioning_section() {
        for id in crate::profile::builtin_ids() {
            let p = Profile::builtin(id).unwrap();
            let section = p.spec().provisioning.as_ref();
            assert!(section.is_some(), "{id}");
            assert_eq!(AppConfig::for_profile(&p).spec, *section.unwrap(), "{id}");
        }
    }

    /// A copy of a built-in profile whose section is edited: the edit is what runs.
    fn edited_entra_generic(from: &str, to: &str) -> Result<Profile, crate::profile::ProfileError> {
        let (_, text) = crate::profile::BUILTIN
            .iter()
            .find(|(id, _)| *id == "entra-generic")
            .unwrap();
        assert!(text.contains(from), "{from}");
        Profile::from_toml(&text.replacen(from, to, 1), "edited.toml")
    }

    #[test]
    fn an_edited_section_is_the_configuration() {
        let p = edited_entra_generic(
            r#"{ target = "title", source = "jobTitle" }"#,
            r#"{ target = "title", constant = "Staff" }"#,
        )
        .unwrap();
        let c = AppConfig::for_profile(&p);
        let title = c
            .users
            .mappings
            .iter()
            .find(|m| m.target == "title")
            .unwrap();
        assert!(matches!(&title.source, MappingSource::Constant(s) if s == "Staff"));
        let derived = AppConfig::derived(&p);
        let title = derived
            .users
            .mappings
            .iter()
            .find(|m| m.target == "title")
            .unwrap();
        assert!(matches!(&title.source, MappingSource::Direct(s) if s == "jobTitle"));
    }

    #[test]
    fn typos_in_and_around_the_section_are_refused_when_the_profile_loads() {
        let e = edited_entra_generic("[provisioning]\n", "[provisioning]\ndialekt = \"legacy\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("dialekt"), "{e}");
        let e = edited_entra_generic("[provisioning]\n", "[provisionig]\n").unwrap_err();
        assert!(e.to_string().contains("provisionig"), "{e}");
        let e = edited_entra_generic(
            r#"{ target = "title", source = "jobTitle" }"#,
            r#"{ target = "title", expression = "Join(" }"#,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("[provisioning]: mapping for `title`"),
            "{e}"
        );
    }

    #[test]
    fn the_builtin_config_round_trips_through_toml() {
        let p = Profile::builtin("entra-generic").unwrap();
        let c = AppConfig::for_profile(&p);
        let again = AppConfig::from_toml(&c.to_toml()).unwrap();
        assert_eq!(again.spec, c.spec);
    }
}
