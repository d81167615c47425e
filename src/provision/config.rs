//! The app's provisioning configuration, compiled: the `[provisioning]` section's data
//! ([`crate::profile::provisioning`], owned by `profile/`) turned into what a cycle runs,
//! with expressions parsed into [`Expr`]s, scoping filters loaded into [`ScopeFilter`]s
//! and one source per mapping ([`AppConfig`], [`ObjectConfig`], [`Mapping`]); a profile's
//! configuration ([`AppConfig::for_profile`]); and the section as TOML
//! ([`AppConfig::to_toml`]). Every field is documented in `docs/provision.md`.

use serde::{Deserialize, Serialize};

use crate::entra::Dialect;
use crate::expr::{self, Expr};
use crate::profile::provisioning::{
    all_actions, Action, Apply, AttrType, MappingSpec, ObjectSpec, ProvisioningSpec, SourceSpec,
};
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
                // Profile::from_spec made every check compiling does: a bug if reached.
                tracing::error!("profile {}: [provisioning]: {e}", profile.id());
                AppConfig::derived(profile)
            }),
            None => AppConfig::derived(profile),
        }
    }

    /// The mappings a profile's attributes imply ([`ProvisioningSpec::derived`]), compiled.
    pub fn derived(profile: &Profile) -> AppConfig {
        let p = ProvisioningSpec::derived(profile.spec());
        // The defaults are fixed strings that parse; a failure here is a bug in that table.
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
    let bad = |problem: String| ConfigError::Mapping {
        target: m.target.clone(),
        problem,
    };
    let source = match m.checked_source().map_err(|p| bad(p.to_owned()))? {
        SourceSpec::Direct(s) => MappingSource::Direct(s.to_owned()),
        SourceSpec::Constant(c) => MappingSource::Constant(c.to_owned()),
        SourceSpec::Expression(e) => {
            let e = expr::parse(e).map_err(|e| bad(e.to_string()))?;
            e.check_for_scim_app().map_err(|p| bad(p.to_owned()))?;
            MappingSource::Expression(Box::new(e))
        }
    };
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
    Ok(Mapping {
        target: m.target.clone(),
        source,
        default: m.default.clone(),
        apply: m.apply,
        matching: m.matching,
        kind,
        reference: m.is_reference(),
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
    fn a_section_refused_when_compiled_is_refused_with_the_same_words_when_the_profile_loads() {
        let scoping = r#"scoping = { groups = [{ name = "x", clauses = [{ sourceOperandName = "department", operatorName = "REGEX MATCH", targetOperand = { values = ["(?<=a)b"] } }] }] }"#;
        for (from, to) in [
            (
                r#"{ target = "title", source = "jobTitle" }"#,
                r#"{ target = "title", expression = "Join(" }"#,
            ),
            (
                r#"{ target = "title", source = "jobTitle" }"#,
                r#"{ target = " ", source = "jobTitle" }"#,
            ),
            (
                r#"{ target = "title", source = "jobTitle" }"#,
                r#"{ target = "title", source = "jobTitle", constant = "x" }"#,
            ),
            (
                r#"{ target = "title", source = "jobTitle" }"#,
                r#"{ target = "title", source = "manager", matching = 2 }"#,
            ),
            (
                "[provisioning.users]\n",
                &format!("[provisioning.users]\n{scoping}\n"),
            ),
        ] {
            let e = edited_entra_generic(from, to).unwrap_err().to_string();
            let (_, text) = crate::profile::BUILTIN
                .iter()
                .find(|(id, _)| *id == "entra-generic")
                .unwrap();
            let compiled = AppConfig::from_toml(&text.replacen(from, to, 1)).unwrap_err();
            assert_eq!(
                e,
                format!("profile `entra-generic`: [provisioning]: {compiled}"),
                "{to}"
            );
        }
    }

    #[test]
    fn the_builtin_config_round_trips_through_toml() {
        let p = Profile::builtin("entra-generic").unwrap();
        let c = AppConfig::for_profile(&p);
        let again = AppConfig::from_toml(&c.to_toml()).unwrap();
        assert_eq!(again.spec, c.spec);
    }
}
