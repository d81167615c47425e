//! The seed-style attribute table of a profile (`scimock profiles show <id>`): one markdown
//! table per resource type with the columns the tutorials use, plus the profile settings.

use std::fmt::Write as _;

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
        out
    }
}
