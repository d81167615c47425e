//! What a replay run knows about its target from a vendor profile (`scimock replay
//! --profile ID`): the matching attribute Test Connection probes, the required attributes,
//! the custom extension. The runner exposes them to scenarios as run-wide variables
//! (`crate::replay`, "Substitution").

use std::collections::BTreeMap;

use super::Profile;
use crate::scim::urn;

impl Profile {
    /// Run-wide variables for a replay against this profile:
    ///
    /// | variable | value |
    /// |---|---|
    /// | `match_attr` | the first user mapping with `filter = true` (the matching attribute, Microsoft Learn "Customize user provisioning attribute-mappings"), else `userName` |
    /// | `required_attrs` | the required user mappings' paths, comma-separated |
    /// | `profile_extension` | the first user extension URN other than the enterprise one, or `""` |
    pub fn run_vars(&self) -> BTreeMap<String, String> {
        let users = &self.spec().users;
        let match_attr = users
            .mapping
            .iter()
            .find(|m| m.filter)
            .map_or("userName", |m| m.path.as_str());
        let required: Vec<&str> = users
            .mapping
            .iter()
            .filter(|m| m.required)
            .map(|m| m.path.as_str())
            .collect();
        let extension = users
            .extensions
            .iter()
            .flatten()
            .find(|e| e.as_str() != urn::ENTERPRISE_USER)
            .map_or("", String::as_str);
        BTreeMap::from([
            ("match_attr".to_owned(), match_attr.to_owned()),
            ("required_attrs".to_owned(), required.join(",")),
            ("profile_extension".to_owned(), extension.to_owned()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generic_profile_matches_on_the_work_email_and_freshservice_has_an_extension() {
        let generic = Profile::builtin("entra-generic").unwrap().run_vars();
        assert_eq!(generic["match_attr"], r#"emails[type eq "work"].value"#);
        let fresh = Profile::builtin("freshservice").unwrap().run_vars();
        assert_eq!(fresh["match_attr"], "userName");
        assert_eq!(
            fresh["profile_extension"],
            "urn:ietf:params:scim:schemas:extension:freshservice:2.0:User"
        );
    }
}
