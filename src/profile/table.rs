//! The seed-style attribute table of a profile (`scimock profiles show <id>`): one markdown
//! table per resource type with the columns the tutorials use, plus the profile settings
//! and Entra's attribute mappings for `scimock provision`, rendered from the data of
//! [`super::provisioning`] as written (or derived), not from the compiled configuration.

use std::fmt::Write as _;

use super::provisioning::{Apply, MappingSpec, ObjectSpec};
use super::{Mapping, Profile};
use crate::scim::ResourceKind;

fn rule(row: &Mapping) -> String {
    match (row.format, &row.pattern) {
        (Some(f), _) => format!("{f:?}").to_ascii_lowercase(),
        (None, Some(p)) => format!("/{p}/"),
        (None, None) => String::new(),
    }
}

fn table(out: &mut String, profile: &Profile, kind: ResourceKind) {
    let check = |b: bool| if b { "✓" } else { "" };
    let _ = writeln!(
        out,
        "|Attribute|Type|Supported for filtering|Required by {}|Rule|",
        profile.name()
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for row in profile.mapping(kind) {
        let _ = writeln!(
            out,
            "|{}|{}|{}|{}|{}|",
            row.path,
            row.kind,
            check(row.filter),
            check(row.required),
            rule(row)
        );
    }
}

/// A mapping's source as the portal's mapping list shows it: the attribute, a quoted
/// constant, or the expression.
fn source(m: &MappingSpec) -> String {
    match (&m.source, &m.constant, &m.expression) {
        (Some(s), _, _) => s.clone(),
        (_, Some(c), _) => format!("\"{c}\""),
        (_, _, Some(e)) => e.clone(),
        _ => String::new(),
    }
}

fn mappings(out: &mut String, title: &str, o: &ObjectSpec) {
    let actions: Vec<String> = o
        .actions
        .iter()
        .map(|a| format!("{a:?}").to_ascii_lowercase())
        .collect();
    let _ = writeln!(
        out,
        "\n{title} ({}; {}):\n",
        if o.enabled { "enabled" } else { "disabled" },
        actions.join(", ")
    );
    if let Some(f) = &o.scoping {
        let _ = writeln!(out, "scoping filters: {f}\n");
    }
    let _ = writeln!(out, "|Target attribute|Source|Matching precedence|Apply|");
    let _ = writeln!(out, "|---|---|---|---|");
    for m in &o.mappings {
        let matching = if m.matching > 0 {
            m.matching.to_string()
        } else {
            String::new()
        };
        let apply = match m.apply {
            Apply::Always => "always",
            Apply::Creation => "only during object creation",
        };
        let _ = writeln!(
            out,
            "|{}|{}|{matching}|{apply}|",
            m.target,
            source(m).replace('|', "\\|")
        );
    }
}

/// Entra's side of the app (`[provisioning]`, or the mappings derived without one).
fn provisioning(out: &mut String, profile: &Profile) {
    let spec = profile.provisioning();
    let origin = if profile.spec().provisioning.is_some() {
        "[provisioning]"
    } else {
        "derived from the attributes, no [provisioning] section"
    };
    let _ = writeln!(
        out,
        "\nprovisioning ({origin}): scope {:?}, dialect {:?}, SkipOutOfScopeDeletions {}, deletion threshold {}",
        spec.scope,
        spec.dialect,
        spec.skip_out_of_scope_deletions,
        spec.deletion_threshold
            .map_or_else(|| "off".to_owned(), |t| t.to_string())
    );
    mappings(out, "user mappings", &spec.users);
    if let Some(g) = &spec.groups {
        mappings(out, "group mappings", g);
    }
}

impl Profile {
    /// The profile as text: settings, then the user (and group) attribute tables.
    pub fn render_table(&self) -> String {
        let s = self.spec();
        let mut out = String::new();
        let _ = writeln!(out, "{} ({})", s.name, s.id);
        let _ = writeln!(out, "source: {}", s.source);
        let kinds: Vec<&str> = self.kinds().iter().map(|k| k.endpoint()).collect();
        let _ = writeln!(out, "resource types: {}", kinds.join(", "));
        let _ = writeln!(out, "base path: {}", s.base_path);
        let _ = writeln!(
            out,
            "filters: {:?}, unknown extension attributes: {:?}, PATCH dialect: {:?}, group PATCH answer: {}, auth: {:?}, max results: {}",
            s.filter_policy, s.unknown_extension_attributes, s.patch_dialect, s.group_patch_response, s.auth, s.max_results
        );
        for note in &s.notes {
            let _ = writeln!(out, "note: {note}");
        }
        for kind in self.kinds() {
            let _ = writeln!(out, "\n{}:\n", kind.endpoint());
            table(&mut out, self, kind);
        }
        provisioning(&mut out, self);
        out
    }
}
