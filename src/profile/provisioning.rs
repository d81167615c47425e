//! The app's provisioning configuration as data: the `[provisioning]` TOML section
//! (attribute mappings per object type, matching precedence, scoping filters, target
//! object actions, assignment scope, `SkipOutOfScopeDeletions`, the accidental-deletion
//! threshold and the PATCH dialect), and the section a profile without one implies.
//! Every field is documented in `docs/provision.md`.
//!
//! Data only: expressions and scoping filters stay text here. `provision/config.rs`
//! compiles a [`ProvisioningSpec`] into what a cycle runs; a profile checks their syntax
//! when it loads ([`super::Profile::from_spec`]), so this module depends on neither
//! `provision/` nor the expression and scoping languages.
//!
//! Model: *Tutorial - Customize Microsoft Entra attribute mappings in Application
//! Provisioning* (<https://learn.microsoft.com/en-us/entra/identity/app-provisioning/customize-application-attributes>)
//! and Graph's `attributeMapping` / `objectMapping` resources.

use serde::{Deserialize, Serialize};

use super::ProfileSpec;
use crate::entra::Dialect;

/// "Sync only assigned users and groups" or "Sync all users and groups".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeMode {
    #[default]
    Assigned,
    All,
}

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

/// A mapping row's one source, as written: which of `source`, `constant`, `expression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceSpec<'a> {
    Direct(&'a str),
    Constant(&'a str),
    /// The expression's text, unparsed.
    Expression(&'a str),
}

impl MappingSpec {
    /// The row's source, after the checks that need no parser: a target, exactly one
    /// source, and no matching on a reference attribute. The error is the problem as the
    /// row's error message states it.
    pub fn checked_source(&self) -> Result<SourceSpec<'_>, &'static str> {
        if self.target.trim().is_empty() {
            return Err("empty target attribute");
        }
        let source = match (&self.source, &self.constant, &self.expression) {
            (Some(s), None, None) => SourceSpec::Direct(s),
            (None, Some(c), None) => SourceSpec::Constant(c),
            (None, None, Some(e)) => SourceSpec::Expression(e),
            _ => return Err("give exactly one of `source`, `constant`, `expression`"),
        };
        if self.is_reference() && self.matching > 0 {
            return Err("a reference attribute cannot be a matching attribute");
        }
        Ok(source)
    }

    /// A reference attribute (Direct `manager`): resolved to the referenced object's
    /// target id and exported after both ends exist.
    pub fn is_reference(&self) -> bool {
        self.constant.is_none()
            && self.expression.is_none()
            && self
                .source
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("manager"))
    }
}

/// Target object actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// Every target object action: the portal's default.
pub fn all_actions() -> Vec<Action> {
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
    /// Which PATCH shapes the job sends: the spine's [`Dialect`].
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

impl ProvisioningSpec {
    /// The mappings a profile's attributes imply: each target attribute gets its source
    /// from the non-gallery SCIM app's defaults (entra-engine §2.3); targets with no
    /// default source are left unmapped. The built-in profiles' `[provisioning]` sections
    /// were written from this rule.
    pub fn derived(profile: &ProfileSpec) -> ProvisioningSpec {
        let users = profile
            .users
            .mapping
            .iter()
            .filter_map(|m| default_user_mapping(&m.path))
            .collect();
        let groups = profile.groups.as_ref().map(|g| ObjectSpec {
            mappings: g
                .mapping
                .iter()
                .filter_map(|m| default_group_mapping(&m.path))
                .collect(),
            ..ObjectSpec::default()
        });
        ProvisioningSpec {
            users: ObjectSpec {
                mappings: users,
                ..ObjectSpec::default()
            },
            groups,
            ..ProvisioningSpec::default()
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(target: &str) -> MappingSpec {
        MappingSpec {
            target: target.to_owned(),
            ..MappingSpec::default()
        }
    }

    #[test]
    fn a_row_needs_a_target_and_exactly_one_source() {
        assert_eq!(
            row(" ", "mail").checked_source(),
            Err("empty target attribute")
        );
        assert_eq!(
            mapping("title").checked_source(),
            Err("give exactly one of `source`, `constant`, `expression`")
        );
        let two = MappingSpec {
            constant: Some("x".to_owned()),
            ..row("title", "jobTitle")
        };
        assert!(two.checked_source().is_err());
        assert_eq!(
            row("title", "jobTitle").checked_source(),
            Ok(SourceSpec::Direct("jobTitle"))
        );
    }

    #[test]
    fn a_manager_row_is_a_reference_and_cannot_be_matched_on() {
        let manager = row("manager", "Manager");
        assert!(manager.is_reference());
        let matched = MappingSpec {
            matching: 1,
            ..manager
        };
        assert_eq!(
            matched.checked_source(),
            Err("a reference attribute cannot be a matching attribute")
        );
    }

    #[test]
    fn a_profile_without_a_section_gets_the_non_gallery_defaults_for_its_attributes() {
        let profile: ProfileSpec = toml::from_str(
            "id='x'\nname='X'\nsource='s'\n[[users.mapping]]\npath='userName'\ntype='String'\n\
             [[users.mapping]]\npath='active'\ntype='Boolean'\n\
             [[users.mapping]]\npath='badge'\ntype='String'\n",
        )
        .unwrap();
        let derived = ProvisioningSpec::derived(&profile);
        let targets: Vec<&str> = derived
            .users
            .mappings
            .iter()
            .map(|m| m.target.as_str())
            .collect();
        assert_eq!(targets, ["userName", "active"]);
        assert_eq!(derived.users.mappings[0].matching, 1);
        assert_eq!(
            derived.users.mappings[1].expression.as_deref(),
            Some(ACTIVE_EXPRESSION)
        );
        assert!(derived.groups.is_none());
    }
}
