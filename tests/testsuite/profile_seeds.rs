//! Seed coverage: each seed tutorial's attribute-mapping tables are read from
//! `../shared/seeds/` at test time and every row must be a mapping row of the profile
//! with the same type and flags, and nothing more, so a profile cannot drift from its
//! source. The tables are parsed generically: the seed is identified by its title, a
//! table by its `|Attribute|Type|…` header, users or groups by the nearest preceding
//! "user attributes" / "group attributes" sentence, flags by column names.

use std::path::Path;

use scimock::profile::Profile;
use scimock::store::ResourceKind;

/// One row of a seed's attribute table.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    attribute: String,
    kind: String,
    filter: bool,
    required: bool,
}

/// A seed: its title and its tables (resource kind, rows).
#[derive(Debug)]
struct Seed {
    title: String,
    tables: Vec<(ResourceKind, Vec<Row>)>,
}

fn cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(|c| c.trim().to_owned()).collect()
}

fn checked(cell: Option<&String>) -> bool {
    cell.is_some_and(|c| c.contains("&check;") || c.contains('✓') || c.eq_ignore_ascii_case("yes"))
}

fn parse_seed(text: &str) -> Seed {
    let lines: Vec<&str> = text.lines().collect();
    let title = lines
        .iter()
        .find_map(|l| l.strip_prefix("title:"))
        .map(|t| t.trim().trim_matches('\'').to_owned())
        .unwrap_or_default();
    let mut tables = Vec::new();
    let mut i = 0;
    while i + 1 < lines.len() {
        let header = cells(lines[i]);
        let is_table = lines[i].trim().starts_with('|')
            && lines[i + 1].trim().starts_with("|---")
            && header
                .first()
                .is_some_and(|h| h.eq_ignore_ascii_case("attribute"));
        if !is_table {
            i += 1;
            continue;
        }
        let kind = lines[..i]
            .iter()
            .rev()
            .find_map(|l| {
                let l = l.to_ascii_lowercase();
                if l.contains("group attributes") {
                    Some(ResourceKind::Group)
                } else if l.contains("user attributes") {
                    Some(ResourceKind::User)
                } else {
                    None
                }
            })
            .unwrap_or_else(|| {
                panic!(
                    "{title}: a table at line {} follows no user/group sentence",
                    i + 1
                )
            });
        let column = |word: &str| {
            header
                .iter()
                .position(|h| h.to_ascii_lowercase().contains(word))
        };
        let (filter_col, required_col, matching_col) =
            (column("filter"), column("required"), column("matching"));
        let mut rows = Vec::new();
        let mut j = i + 2;
        while j < lines.len() && lines[j].trim().starts_with('|') {
            let c = cells(lines[j]);
            let matching = matching_col
                .and_then(|m| c.get(m))
                .is_some_and(|v| !v.is_empty());
            rows.push(Row {
                attribute: c[0].clone(),
                kind: c.get(1).cloned().unwrap_or_default(),
                filter: filter_col.is_some_and(|f| checked(c.get(f))) || matching,
                required: required_col.is_some_and(|r| checked(c.get(r))),
            });
            j += 1;
        }
        tables.push((kind, rows));
        i = j;
    }
    Seed { title, tables }
}

fn seeds_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/seeds"))
}

fn read_seeds() -> Vec<Seed> {
    let mut paths: Vec<_> = std::fs::read_dir(seeds_dir())
        .unwrap_or_else(|e| panic!("the seeds must be at {}: {e}", seeds_dir().display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| parse_seed(&std::fs::read_to_string(p).unwrap()))
        .collect()
}

/// The profile whose display name the seed's title names.
fn profile_for(seed: &Seed) -> Profile {
    let all = Profile::all_builtin().unwrap();
    let matches: Vec<Profile> = all
        .into_iter()
        .filter(|p| seed.title.contains(p.name()))
        .collect();
    assert_eq!(
        matches.len(),
        1,
        "exactly one profile for seed `{}`",
        seed.title
    );
    matches.into_iter().next().unwrap()
}

fn profile_rows(p: &Profile, kind: ResourceKind) -> Vec<Row> {
    p.mapping(kind)
        .iter()
        .map(|m| Row {
            attribute: m.source_path().to_owned(),
            kind: m.kind.clone(),
            filter: m.filter,
            required: m.required,
        })
        .collect()
}

#[test]
fn every_seed_table_row_is_a_profile_row_with_the_same_flags() {
    let seeds = read_seeds();
    assert_eq!(seeds.len(), 5, "five seed tutorials");
    let mut covered = Vec::new();
    for seed in &seeds {
        let p = profile_for(seed);
        assert!(
            !seed.tables.is_empty(),
            "{}: no attribute table found",
            seed.title
        );
        for (kind, rows) in &seed.tables {
            let mine = profile_rows(&p, *kind);
            for row in rows {
                let found = mine.iter().find(|m| m.attribute == row.attribute);
                assert_eq!(
                    found,
                    Some(row),
                    "profile `{}` {kind:?} row for seed row {row:?}",
                    p.id()
                );
            }
            assert_eq!(
                mine.len(),
                rows.len(),
                "profile `{}` {kind:?} has rows the seed does not",
                p.id()
            );
        }
        let seed_kinds: Vec<ResourceKind> = seed.tables.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            p.kinds(),
            seed_kinds,
            "profile `{}` serves the seed's resource types",
            p.id()
        );
        covered.push(p.id().to_owned());
    }
    covered.sort();
    assert_eq!(
        covered,
        ["alexishr", "alvao", "freshservice", "servicely", "visibly"]
    );
}

#[test]
fn seed_parser_reads_flags_from_named_columns() {
    let text = "title: 'Tutorial: Configure Acme'\nReview the user attributes:\n\n   |Attribute|Type|Supported for filtering|Required by Acme|\n   |---|---|---|---|\n   |userName|String|&check;|&check;\n   |title|String||\n\nReview the group attributes:\n|Attribute|Type|\n|---|---|\n|members|Reference|\n";
    let seed = parse_seed(text);
    assert_eq!(seed.title, "Tutorial: Configure Acme");
    let (kind, rows) = &seed.tables[0];
    assert_eq!(*kind, ResourceKind::User);
    assert_eq!(
        rows[0],
        Row {
            attribute: "userName".into(),
            kind: "String".into(),
            filter: true,
            required: true
        }
    );
    assert!(!rows[1].filter && !rows[1].required);
    assert_eq!(seed.tables[1].0, ResourceKind::Group);
}

/// The `entra-generic` profile against reference §7.1's default mapping table and its
/// groups line, compared case-insensitively as §7.1 says attribute paths are.
#[test]
fn entra_generic_covers_the_default_mapping_of_the_reference() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/reference/entra-provisioning.md"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("### 7.1").unwrap();
    let section = &text[start..start + text[start..].find("### 7.2").unwrap()];
    let backticked = |l: &str| l.split('`').nth(1).map(str::to_ascii_lowercase);
    let mut users: Vec<String> = section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.contains("SCIM attribute"))
        .filter_map(backticked)
        .collect();
    let groups_line = section.lines().find(|l| l.starts_with("Groups:")).unwrap();
    let mut groups: Vec<String> = groups_line
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_ascii_lowercase)
        .collect();
    let p = Profile::builtin("entra-generic").unwrap();
    let mine = |k| {
        let mut v: Vec<String> = p
            .mapping(k)
            .iter()
            .map(|m| m.source_path().to_ascii_lowercase())
            .collect();
        v.sort();
        v
    };
    users.sort();
    groups.sort();
    assert_eq!(users.len(), 18);
    assert_eq!(mine(ResourceKind::User), users);
    assert_eq!(mine(ResourceKind::Group), groups);
}
