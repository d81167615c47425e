//! Capabilities: what a scenario or a validate test needs of the endpoint beyond what every
//! Entra app sends, how a run learns that the endpoint has it, and what a skip says when it
//! does not. A scenario names them in `requires`; a run has a capability when it is on by
//! default, when the profile or the endpoint's `/Schemas` declares it, or when the user
//! asks for it with `--with`.
//!
//! | capability | needed by | the run has it when |
//! |---|---|---|
//! | `users` | every user scenario | always |
//! | `groups` | group scenarios and tests | replay: by default (`--no-groups` turns it off); validate: the Validator's group tests when `/Schemas` declares the Group schema, or `--with groups` |
//! | `entra-quirks` | custom scenarios that send Entra quirks an RFC-only endpoint may refuse | `--with entra-quirks` |
//! | `raw-quotes` | `raw_quote_filter` (the SCIM Validator's raw `"` in a query) | `--with raw-quotes` |
//! | `custom-extension` | `custom_extension_patch` | the profile or `/Schemas` declares a custom user extension with a writable single-valued string attribute; `--with custom-extension` |
//! | `custom-multi-valued` | `custom_extension_multi_valued` | the profile or `/Schemas` declares a custom user extension with a writable multi-valued attribute that has a `value` sub-attribute; `--with custom-multi-valued` |
//! | `adscim-group` | `group_create_adscim_schema` | the profile lists the tutorial's ADSCIM group schema URI (`group_schemas` in `[provisioning]`, or a group extension), or `/Schemas` declares it; `--with adscim-group` |
//!
//! A custom user extension is a schema whose id ends in `:User` and is neither the core
//! User nor the enterprise extension (Microsoft's example is
//! `urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User`, Microsoft Learn
//! "Customize user provisioning attribute-mappings for SaaS applications in Microsoft Entra
//! ID"). The scenarios that need one write the declared extension's attribute
//! (`${custom_extension}`, `${custom_attribute}`; `${custom_multi_extension}`,
//! `${custom_multi_attribute}`); a run forced with `--with` and nothing declared sends
//! Microsoft's example names.

use serde_json::Value;

use crate::entra::wire::ADSCIM_GROUP;
use crate::profile::Profile;
use crate::scim::{urn, ResourceKind};

/// Users: every run has it.
pub const USERS: &str = "users";
/// Groups: replay's default; validate's Validator group tests need the Group schema declared.
pub const GROUPS: &str = "groups";
/// The capability a custom scenario `requires` when it sends Entra quirks an RFC-only
/// endpoint may refuse; the default run skips it. (The built-in quirk scenarios run by
/// default: Entra sends those shapes, so an endpoint must take them.)
pub const ENTRA_QUIRKS: &str = "entra-quirks";
/// The capability a scenario `requires` when it sends the SCIM Validator's raw quotes.
pub const RAW_QUOTES: &str = "raw-quotes";
/// The capability a scenario `requires` when it writes a custom extension's attribute:
/// only an endpoint that declares such an extension can store it.
pub const CUSTOM_EXTENSION: &str = "custom-extension";
/// The capability a scenario `requires` when it adds to a custom multi-valued attribute
/// (`[{"value": "1"}]`, Microsoft Q&A 1693075).
pub const CUSTOM_MULTI_VALUED: &str = "custom-multi-valued";
/// The capability a scenario `requires` when it sends the SCIM tutorial's ADSCIM group
/// schema URI next to the core Group URN ([`ADSCIM_GROUP`]), which an RFC endpoint refuses
/// unless it declares it.
pub const ADSCIM_GROUP_CAPABILITY: &str = "adscim-group";

/// Every capability a built-in scenario or test needs, with what `--with` turns on.
pub const ALL: [(&str, &str); 7] = [
    (USERS, "user scenarios (always on)"),
    (GROUPS, "group scenarios (replay: on unless --no-groups; validate: the Validator's group tests, on when /Schemas declares the Group schema)"),
    (ENTRA_QUIRKS, "custom scenarios that send Entra quirks an RFC-only endpoint may refuse"),
    (RAW_QUOTES, "the SCIM Validator's raw `\"` in a query"),
    (CUSTOM_EXTENSION, "a custom extension attribute written in POST and PATCH (on when the profile or /Schemas declares a custom user extension)"),
    (CUSTOM_MULTI_VALUED, "an Add to a custom multi-valued attribute (on when the profile or /Schemas declares one)"),
    (ADSCIM_GROUP_CAPABILITY, "a group created with the tutorial's ADSCIM schema URI (on when the profile or /Schemas declares it)"),
];

/// The capabilities a profile or a `/Schemas` answer can declare: the ones a runner reads
/// `/Schemas` for when a scenario needs one the run has not got.
pub(crate) const DECLARABLE: [&str; 3] = [
    CUSTOM_EXTENSION,
    CUSTOM_MULTI_VALUED,
    ADSCIM_GROUP_CAPABILITY,
];

/// Microsoft's example extension, sent when a run is forced with `--with` and nothing
/// declares one.
const EXAMPLE_EXTENSION: &str =
    "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

/// The run-wide variables of the custom-extension scenarios, with the values a forced run
/// sends (Microsoft Learn "Customize user provisioning attribute-mappings": the example
/// extension; Microsoft Q&A 1693075: the multi-valued attribute).
pub(crate) const DEFAULT_VARS: [(&str, &str); 4] = [
    ("custom_extension", EXAMPLE_EXTENSION),
    ("custom_attribute", "CustomAttribute"),
    ("custom_multi_extension", EXAMPLE_EXTENSION),
    ("custom_multi_attribute", "department_ids"),
];

/// What a profile or a `/Schemas` answer declares, as far as capabilities go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    /// A custom user extension's URN and a writable single-valued string attribute of it.
    pub custom_attribute: Option<(String, String)>,
    /// A custom user extension's URN and a writable multi-valued attribute of it with a
    /// `value` sub-attribute.
    pub custom_multi_valued: Option<(String, String)>,
    /// The ADSCIM group schema URI.
    pub adscim_group: bool,
    /// The core Group schema.
    pub group: bool,
}

impl Declared {
    /// What a `/Schemas` answer declares: a ListResponse of schemas, or a bare array.
    pub fn from_schemas(body: &Value) -> Declared {
        let mut d = Declared::default();
        for schema in crate::scim::listed_schemas(body) {
            d.add_schema(schema);
        }
        d
    }

    /// What a vendor profile declares: its user extensions, its Group schema, and the
    /// ADSCIM URI as a group extension or in `[provisioning] group_schemas` (the app's
    /// mapping sends it, so the profile's endpoint takes it).
    pub fn from_profile(profile: &Profile) -> Declared {
        let mut d = Declared::default();
        let users = profile.schema(ResourceKind::User);
        for (schema, _) in &users.extensions {
            if let Ok(v) = serde_json::to_value(schema) {
                d.add_schema(&v);
            }
        }
        if profile.supports(ResourceKind::Group) {
            d.group = true;
            let groups = profile.schema(ResourceKind::Group);
            d.adscim_group |= groups
                .extensions
                .iter()
                .any(|(s, _)| s.id.eq_ignore_ascii_case(ADSCIM_GROUP));
        }
        d.adscim_group |= profile
            .provisioning()
            .group_schemas
            .iter()
            .any(|s| s.eq_ignore_ascii_case(ADSCIM_GROUP));
        d
    }

    fn add_schema(&mut self, schema: &Value) {
        let Some(id) = schema.get("id").and_then(Value::as_str) else {
            return;
        };
        if id.eq_ignore_ascii_case(urn::GROUP) {
            self.group = true;
        }
        if id.eq_ignore_ascii_case(ADSCIM_GROUP) {
            self.adscim_group = true;
        }
        let custom_user = id.to_ascii_lowercase().ends_with(":user")
            && !id.eq_ignore_ascii_case(urn::USER)
            && !id.eq_ignore_ascii_case(urn::ENTERPRISE_USER);
        if !custom_user {
            return;
        }
        let attributes = schema.get("attributes").and_then(Value::as_array);
        for a in attributes.into_iter().flatten() {
            let Some(name) = a.get("name").and_then(Value::as_str) else {
                continue;
            };
            if !writable(a) {
                continue;
            }
            let multi = a.get("multiValued").and_then(Value::as_bool) == Some(true);
            let kind = a.get("type").and_then(Value::as_str).unwrap_or("");
            if !multi && kind.eq_ignore_ascii_case("string") && self.custom_attribute.is_none() {
                self.custom_attribute = Some((id.to_owned(), name.to_owned()));
            }
            let has_value = a
                .get("subAttributes")
                .and_then(Value::as_array)
                .is_some_and(|subs| {
                    subs.iter().any(|s| {
                        s.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| n.eq_ignore_ascii_case("value"))
                    })
                });
            if multi && has_value && self.custom_multi_valued.is_none() {
                self.custom_multi_valued = Some((id.to_owned(), name.to_owned()));
            }
        }
    }

    /// The declarable capabilities this declaration gives.
    pub fn capabilities(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.custom_attribute.is_some() {
            out.push(CUSTOM_EXTENSION);
        }
        if self.custom_multi_valued.is_some() {
            out.push(CUSTOM_MULTI_VALUED);
        }
        if self.adscim_group {
            out.push(ADSCIM_GROUP_CAPABILITY);
        }
        out
    }

    /// The run-wide variables the declaration sets: the declared extension and attributes.
    pub(crate) fn vars(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some((ext, attr)) = &self.custom_attribute {
            out.push(("custom_extension", ext.clone()));
            out.push(("custom_attribute", attr.clone()));
        }
        if let Some((ext, attr)) = &self.custom_multi_valued {
            out.push(("custom_multi_extension", ext.clone()));
            out.push(("custom_multi_attribute", attr.clone()));
        }
        out
    }
}

/// `readWrite` (the default) or `writeOnly`: a value Entra can set and change.
fn writable(attribute: &Value) -> bool {
    match attribute.get("mutability").and_then(Value::as_str) {
        None => true,
        Some(m) => m.eq_ignore_ascii_case("readWrite") || m.eq_ignore_ascii_case("writeOnly"),
    }
}

/// Whether a run looked at the endpoint's `/Schemas` for declared capabilities.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Looked {
    /// Not yet: the runner reads it when a scenario needs a declarable capability.
    #[default]
    NotYet,
    /// Read and parsed.
    Read,
    /// Asked for, but no usable answer: why (`answered 404`).
    Unusable(String),
}

/// Why a run skips a scenario that needs `capability`, which the run has not got:
/// who declares nothing, and the flag that runs it anyway.
pub(crate) fn missing(capability: &str, profile: Option<&str>, looked: &Looked) -> String {
    let force = format!("run with --with {capability} to force it");
    let undeclared = |what: &str| {
        let declares = match (profile, looked) {
            (None, Looked::Read) => format!("the endpoint declares no {what} in /Schemas"),
            (Some(p), Looked::Read) => {
                format!("the `{p}` profile and the endpoint's /Schemas declare no {what}")
            }
            (None, Looked::Unusable(why)) => {
                format!("nothing declares a {what} (the endpoint's /Schemas {why})")
            }
            (Some(p), Looked::Unusable(why)) => {
                format!("the `{p}` profile declares no {what} (the endpoint's /Schemas {why})")
            }
            (None, Looked::NotYet) => format!("nothing declares a {what}"),
            (Some(p), Looked::NotYet) => format!("the `{p}` profile declares no {what}"),
        };
        format!("{declares}; {force}")
    };
    match capability {
        GROUPS => "needs group provisioning, which this run leaves out (--no-groups)".to_owned(),
        ENTRA_QUIRKS => {
            format!("sends Entra quirks an RFC-only endpoint may refuse: add --with {ENTRA_QUIRKS}")
        }
        RAW_QUOTES => {
            format!("sends the SCIM Validator's raw `\"` in the query: add --with {RAW_QUOTES}")
        }
        CUSTOM_EXTENSION => undeclared("custom extension"),
        CUSTOM_MULTI_VALUED => undeclared("multi-valued attribute in a custom extension"),
        ADSCIM_GROUP_CAPABILITY => undeclared(&format!("ADSCIM group schema ({ADSCIM_GROUP})")),
        other => format!("the endpoint does not offer `{other}` (add --with {other})"),
    }
}

/// Why validate skips the SCIM Validator's group tests: `/Schemas` declares no Group
/// schema (and the user did not ask for them with `--with groups`).
pub(crate) fn no_group_schema() -> String {
    format!(
        "the endpoint declares no Group schema ({}) in /Schemas; run with --with {GROUPS} to force it",
        urn::GROUP
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_custom_user_extension_is_found_with_its_first_writable_attributes() {
        let d = Declared::from_schemas(&json!({"Resources": [
            {"id": urn::USER, "attributes": [{"name": "userName", "type": "string"}]},
            {"id": urn::ENTERPRISE_USER, "attributes": [{"name": "department", "type": "string"}]},
            {"id": "urn:acme:2.0:User", "attributes": [
                {"name": "badge", "type": "string", "mutability": "readOnly"},
                {"name": "level", "type": "integer"},
                {"name": "team", "type": "string"},
                {"name": "tags", "type": "complex", "multiValued": true,
                 "subAttributes": [{"name": "value", "type": "string"}]}
            ]},
            {"id": urn::GROUP, "attributes": []}
        ]}));
        assert_eq!(
            d.custom_attribute,
            Some(("urn:acme:2.0:User".into(), "team".into()))
        );
        assert_eq!(
            d.custom_multi_valued,
            Some(("urn:acme:2.0:User".into(), "tags".into()))
        );
        assert!(d.group && !d.adscim_group);
        assert_eq!(d.capabilities(), [CUSTOM_EXTENSION, CUSTOM_MULTI_VALUED]);
    }

    #[test]
    fn the_rfc_schemas_declare_no_custom_extension_and_a_bare_array_is_read_too() {
        let rfc = Declared::from_schemas(&json!({"Resources": [
            {"id": urn::USER, "attributes": []},
            {"id": urn::ENTERPRISE_USER, "attributes": [{"name": "costCenter", "type": "string"}]}
        ]}));
        assert!(rfc.capabilities().is_empty());
        let bare = Declared::from_schemas(&json!([{"id": ADSCIM_GROUP, "attributes": []}]));
        assert_eq!(bare.capabilities(), [ADSCIM_GROUP_CAPABILITY]);
        assert!(Declared::from_schemas(&json!("no"))
            .capabilities()
            .is_empty());
    }

    #[test]
    fn freshservice_declares_its_extension_and_the_generic_profile_nothing() {
        let fresh = Declared::from_profile(&Profile::builtin("freshservice").unwrap());
        assert_eq!(
            fresh.custom_attribute,
            Some((
                "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User".into(),
                "isAgent".into()
            ))
        );
        assert!(!fresh.group);
        let generic = Declared::from_profile(&Profile::builtin("entra-generic").unwrap());
        assert!(generic.capabilities().is_empty() && generic.group);
    }

    #[test]
    fn a_skip_says_who_declares_nothing_and_which_flag_forces_it() {
        assert_eq!(
            missing(CUSTOM_EXTENSION, None, &Looked::Read),
            "the endpoint declares no custom extension in /Schemas; run with --with custom-extension to force it"
        );
        assert_eq!(
            missing(CUSTOM_EXTENSION, Some("alvao"), &Looked::Unusable("answered 404".into())),
            "the `alvao` profile declares no custom extension (the endpoint's /Schemas answered 404); run with --with custom-extension to force it"
        );
        assert!(missing(ADSCIM_GROUP_CAPABILITY, None, &Looked::Read)
            .contains("ADSCIM group schema (http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group) in /Schemas; run with --with adscim-group"));
        for (capability, _) in ALL {
            let why = missing(capability, None, &Looked::Read);
            assert!(
                why.contains("--with") || why.contains("--no-groups"),
                "{why}"
            );
        }
    }
}
