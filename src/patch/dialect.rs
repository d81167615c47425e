//! Entra's PATCH dialects (entra-provisioning.md §4): the legacy job (PascalCase ops,
//! boolean strings, members removed by value list, manager as a string) and the
//! `aadOptscim062020` job (RFC-style). Both are accepted by default.
//!
//! This file is the one answer to "what does strict RFC mode refuse": [`Quirk`] names
//! every Entra deviation the engine admits, with its source, and [`Dialect`] decides
//! whether it is admitted. The engine asks [`Dialect::allow`] where a quirk is refused
//! with an error that names it, and [`Dialect::admits`] where a quirk only changes what a
//! request means (an empty string that clears, a retry that creates). Op names and
//! filter literals are handled here too.

use super::value::bool_string;
use super::Kind;
use crate::filter::{AttrOp, CompValue, Filter};
use crate::scim::{AttrType, Attribute};
use crate::{Error, Result};

/// One Entra deviation from RFC 7644 the PATCH engine admits in the Entra dialect.
/// Sources are sections of entra-provisioning.md (what Entra sends, example by example).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quirk {
    /// `Add`, `Replace`, `Remove` for `add`, `replace`, `remove` (§4.3).
    PascalCaseOp,
    /// `"True"`/`"False"` (any case) for a boolean attribute (§4.3a, §4.5).
    BooleanString,
    /// `"True"`/`"False"` compared with a boolean sub-attribute in a value filter, as in
    /// `roles[primary eq "True"]` (§7.6).
    BooleanFilterLiteral,
    /// `manager` as the plain id string instead of `{"value": id}` (§7.2).
    ManagerAsString,
    /// A single-valued complex attribute sent as a one-element list (§1.18 Example 5).
    SingleElementList,
    /// `remove` with `path: "members"` and a value list removes those members (§1.15,
    /// §4.3d); RFC 7644 §3.5.2.2 wants `members[value eq "id"]`.
    RemoveMembersByValueList,
    /// `remove` on a multi-valued attribute with a value removes the listed values
    /// (§1.15); RFC 7644 §3.5.2.2 wants a filtered path.
    RemoveByValue,
    /// Dotted or URN-qualified keys in a path-less value (`"name.givenName"`) (§4.3c).
    DottedKey,
    /// Attributes and sub-attributes no schema defines are kept as data (§7.4 custom
    /// extensions); RFC 7644 §3.5.2 answers `invalidPath`.
    UnknownAttribute,
    /// An extension attribute named without its URN (`manager`), taken from the one
    /// extension that defines it (§1.18 Example 5).
    UnqualifiedExtensionAttribute,
    /// `""`, or an object of empty members such as `{"value": ""}`, clears the attribute
    /// (§7.2, §1.7 note); in RFC 7643 §2.5 only `null` is unassigned.
    EmptyMeansClear,
    /// `add`/`replace` on a value path that matches nothing creates the element from the
    /// filter's `eq` terms (Entra's retries, §3.6); on `members[…]` the value's members
    /// are added. RFC 7644 §3.5.2.3 answers `noTarget` ("no record match was made"), for
    /// `members` as for any multi-valued attribute.
    CreateOnAbsent,
    /// `remove` with a filter that matches nothing is a no-op (Entra's retries, §3.6), on
    /// `members[…]` as elsewhere. RFC 7644 §3.5.2.2 is silent; §3.12 defines `noTarget`
    /// as a path whose filter "yields no match", which strict mode answers.
    RemoveOfNothing,
    /// A value filter on a single-valued complex attribute, `manager[value eq "id"]`
    /// (thomaspoignant/scim-patch#453, a request received from Azure AD): the filter
    /// selects the one value when it matches. RFC 7644 §3.5.2 filters multi-valued ones.
    FilterOnSingleValued,
    /// The pre-2018 dot notation `urn:…:enterprise:2.0:User.department` for
    /// `urn:…:enterprise:2.0:User:department` (Microsoft Learn, "Known issues and
    /// resolutions with SCIM 2.0 protocol compliance"); RFC 7644 §3.10 joins with `:`.
    UrnDotAttribute,
}

impl Quirk {
    /// Every quirk, in the order of the README's table.
    pub const ALL: [Quirk; 15] = [
        Quirk::PascalCaseOp,
        Quirk::BooleanString,
        Quirk::BooleanFilterLiteral,
        Quirk::ManagerAsString,
        Quirk::SingleElementList,
        Quirk::RemoveMembersByValueList,
        Quirk::RemoveByValue,
        Quirk::DottedKey,
        Quirk::UnknownAttribute,
        Quirk::UnqualifiedExtensionAttribute,
        Quirk::EmptyMeansClear,
        Quirk::CreateOnAbsent,
        Quirk::RemoveOfNothing,
        Quirk::FilterOnSingleValued,
        Quirk::UrnDotAttribute,
    ];

    /// The stable name (kebab-case), as the README's table lists it.
    pub fn name(self) -> &'static str {
        match self {
            Quirk::PascalCaseOp => "pascal-case-op",
            Quirk::BooleanString => "boolean-string",
            Quirk::BooleanFilterLiteral => "boolean-filter-literal",
            Quirk::ManagerAsString => "manager-as-string",
            Quirk::SingleElementList => "single-element-list",
            Quirk::RemoveMembersByValueList => "remove-members-by-value-list",
            Quirk::RemoveByValue => "remove-by-value",
            Quirk::DottedKey => "dotted-key",
            Quirk::UnknownAttribute => "unknown-attribute",
            Quirk::UnqualifiedExtensionAttribute => "unqualified-extension-attribute",
            Quirk::EmptyMeansClear => "empty-means-clear",
            Quirk::CreateOnAbsent => "create-on-absent",
            Quirk::RemoveOfNothing => "remove-of-nothing",
            Quirk::FilterOnSingleValued => "filter-on-single-valued",
            Quirk::UrnDotAttribute => "urn-dot-attribute",
        }
    }

    /// The refusal for a quirk refused with an error that names it: `at` is where (the
    /// op, the attribute path, the key), `found` what was sent, where the detail shows it.
    fn refusal(self, at: &str, found: &str) -> Error {
        match self {
            Quirk::PascalCaseOp => Error::invalid_syntax(format!(
                "op {at:?} is Entra's legacy PascalCase dialect (entra-provisioning.md §4.3); \
                 strict RFC mode takes {:?} (RFC 7644 §3.5.2)",
                at.to_ascii_lowercase()
            )),
            Quirk::BooleanString => Error::invalid_value(format!(
                "`{at}` is boolean; the string {found:?} is Entra's legacy dialect \
                 (quirk `boolean-string`, entra-provisioning.md §4.3a), refused in strict \
                 RFC mode"
            )),
            Quirk::ManagerAsString => Error::invalid_value(format!(
                "`{at}` is complex; a plain string for it is Entra's manager quirk \
                 (quirk `manager-as-string`, entra-provisioning.md §7.2), refused in strict \
                 RFC mode"
            )),
            Quirk::RemoveMembersByValueList => Error::invalid_syntax(
                "`remove` on `members` with a value list is Entra's legacy dialect \
                 (entra-provisioning.md §4.3d); RFC 7644 §3.5.2.2 wants \
                 `members[value eq \"id\"]` without a value",
            ),
            Quirk::RemoveByValue => Error::invalid_syntax(format!(
                "`remove` on `{at}` with a value is Entra's legacy dialect \
                 (entra-provisioning.md §1.15); RFC 7644 §3.5.2.2 wants a filtered path"
            )),
            Quirk::DottedKey => Error::invalid_value(format!(
                "key {at:?} in a path-less value is Entra's dotted/URN-qualified key quirk \
                 (entra-provisioning.md §4.3c); strict RFC mode wants nested objects"
            )),
            Quirk::FilterOnSingleValued => Error::invalid_path(format!(
                "`{at}`: a `[filter]` on a single-valued attribute is Entra's \
                 filter-on-single-valued quirk (scim-patch#453), refused in strict RFC mode; \
                 RFC 7644 §3.5.2 filters multi-valued attributes"
            )),
            Quirk::UrnDotAttribute => Error::invalid_path(format!(
                "path {at:?} joins the extension URN and the attribute with `.`, Entra's \
                 pre-2018 urn-dot-attribute quirk, refused in strict RFC mode; RFC 7644 §3.10 \
                 joins them with `:`"
            )),
            // The rest change what a request means rather than fail it; where strict mode
            // turns one into an error, the RFC's own error says why (see `admits`).
            Quirk::BooleanFilterLiteral
            | Quirk::SingleElementList
            | Quirk::UnknownAttribute
            | Quirk::UnqualifiedExtensionAttribute
            | Quirk::EmptyMeansClear
            | Quirk::CreateOnAbsent
            | Quirk::RemoveOfNothing => Error::invalid_value(format!(
                "`{at}`: Entra's {} quirk is refused in strict RFC mode",
                self.name()
            )),
        }
    }
}

/// Which PATCH dialect the engine speaks (a profile's `patch_dialect`: `"entra"` or
/// `"rfc"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// Both Entra jobs: every [`Quirk`] admitted (the default).
    #[default]
    Entra,
    /// RFC 7644 only: every [`Quirk`] refused.
    Rfc,
}

impl Dialect {
    /// `Rfc` when `strict`, else `Entra`.
    pub fn from_strict(strict: bool) -> Dialect {
        if strict {
            Dialect::Rfc
        } else {
            Dialect::Entra
        }
    }

    /// Whether this dialect admits `quirk`.
    pub fn admits(self, quirk: Quirk) -> bool {
        match (self, quirk) {
            (Dialect::Entra, _) => true,
            (Dialect::Rfc, _) => false,
        }
    }

    /// `Ok` when `quirk` is admitted, else the refusal naming it (see [`Quirk`]).
    pub(crate) fn allow(self, quirk: Quirk, at: &str, found: &str) -> Result<()> {
        if self.admits(quirk) {
            Ok(())
        } else {
            Err(quirk.refusal(at, found))
        }
    }
}

/// The operation an `op` string names. RFC 7644 §3.5.2 spells them `add`, `replace`,
/// `remove`; the legacy Entra job sends `Add`, `Replace`, `Remove` (§4.3).
pub(super) fn op_kind(op: &str, dialect: Dialect) -> Result<Kind> {
    let kind = if op.eq_ignore_ascii_case("add") {
        Kind::Add
    } else if op.eq_ignore_ascii_case("replace") {
        Kind::Replace
    } else if op.eq_ignore_ascii_case("remove") {
        Kind::Remove
    } else {
        return Err(Error::invalid_syntax(format!(
            "unknown op {op:?}; expected \"add\", \"replace\" or \"remove\" (RFC 7644 §3.5.2)"
        )));
    };
    if op != kind.as_str() {
        dialect.allow(Quirk::PascalCaseOp, op, op)?;
    }
    Ok(kind)
}

/// A value filter with `"True"`/`"False"` string literals turned into booleans where they
/// compare a boolean sub-attribute of `def`: Entra maps roles to
/// `roles[primary eq "True"].value` (entra-provisioning.md §7.6), which must match the
/// stored `primary: true`.
pub(super) fn coerce_filter(f: &Filter, def: &Attribute) -> Filter {
    match f {
        Filter::Attr(exp) => {
            let mut exp = exp.clone();
            let boolean = exp.path.urn.is_none()
                && exp.path.sub_attr.is_none()
                && def
                    .sub_attribute(&exp.path.name)
                    .is_some_and(|d| d.kind == AttrType::Boolean);
            if let AttrOp::Compare(op, CompValue::String(s)) = &exp.op {
                if let Some(b) = bool_string(s).filter(|_| boolean) {
                    exp.op = AttrOp::Compare(*op, CompValue::Bool(b));
                }
            }
            Filter::Attr(exp)
        }
        Filter::Not(inner) => Filter::Not(Box::new(coerce_filter(inner, def))),
        Filter::And(ops) => Filter::And(ops.iter().map(|f| coerce_filter(f, def)).collect()),
        Filter::Or(ops) => Filter::Or(ops.iter().map(|f| coerce_filter(f, def)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_names_are_case_insensitive_unless_strict() {
        assert_eq!(op_kind("Replace", Dialect::Entra).unwrap(), Kind::Replace);
        assert_eq!(op_kind("ADD", Dialect::Entra).unwrap(), Kind::Add);
        assert!(op_kind("Replace", Dialect::Rfc)
            .unwrap_err()
            .to_string()
            .contains("legacy PascalCase"));
        assert!(op_kind("move", Dialect::Entra).is_err());
    }

    /// The first column of the README's "Entra quirks strict mode refuses" table.
    fn readme_quirks() -> Vec<String> {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("### Entra quirks strict mode refuses")
            .nth(1)
            .expect("the README has the quirk table section");
        let section = section.split("\n#").next().unwrap_or_default();
        section
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_owned)
            .collect()
    }

    /// The first column of docs/serve-fidelity.md's table of quirks added for issue 12.
    fn fidelity_quirks() -> Vec<String> {
        let doc = include_str!("../../docs/serve-fidelity.md");
        let section = doc
            .split("## Quirks added to the Entra dialect")
            .nth(1)
            .expect("docs/serve-fidelity.md has the quirk table section");
        let section = section.split("\n#").next().unwrap_or_default();
        section
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn readme_table_lists_exactly_the_quirks_in_order() {
        // The README's table, then the ones docs/serve-fidelity.md lists that the README
        // does not yet (each quirk once, in `Quirk::ALL` order).
        let names: Vec<String> = Quirk::ALL.iter().map(|q| q.name().to_owned()).collect();
        let mut listed = readme_quirks();
        for q in fidelity_quirks() {
            if !listed.contains(&q) {
                listed.push(q);
            }
        }
        assert_eq!(listed, names);
    }

    #[test]
    fn rfc_admits_no_quirk_and_entra_admits_every_one() {
        for q in Quirk::ALL {
            assert!(Dialect::Entra.admits(q), "{q:?}");
            assert!(!Dialect::Rfc.admits(q), "{q:?}");
            assert!(Dialect::Rfc.allow(q, "x", "y").is_err());
        }
    }

    #[test]
    fn string_true_in_a_roles_filter_becomes_a_boolean() {
        let users = crate::scim::user_resource();
        let roles = users.resolve(None, "roles", None).unwrap();
        let f = crate::filter::parse(r#"primary eq "True""#).unwrap();
        assert_eq!(coerce_filter(&f, roles).to_string(), "primary eq true");
    }
}
