//! Seed coverage: each vendor profile against the attribute-mapping tables of the Microsoft
//! Learn tutorial it follows, vendored in `testdata/seeds/<profile>.txt` (each file names its
//! tutorial, URL and step; `.ci/seed-tables.py` keeps them equal to the tutorials). Every
//! row must be a mapping row of the profile with the same type and flags, and nothing more,
//! so a profile cannot drift from its source.
//!
//! File format: `#` lines are the source header; `[users]` / `[groups]` open a table; its
//! first line names the columns (`Attribute | Type | Supported for filtering | Required by
//! …`), every further line is one row, cells separated by `|`, a flag is `yes` or empty.

use scimock::profile::Profile;
use scimock::scim::ResourceKind;

/// One row of a tutorial's attribute table.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    attribute: String,
    kind: String,
    filter: bool,
    required: bool,
}

/// A vendored table file: the source header and its tables (resource kind, columns, rows).
#[derive(Debug)]
struct Tables {
    source: Vec<String>,
    tables: Vec<(ResourceKind, Vec<String>, Vec<Vec<String>>)>,
}

fn cells(line: &str) -> Vec<String> {
    line.split('|').map(|c| c.trim().to_owned()).collect()
}

fn parse_tables(text: &str) -> Tables {
    let mut out = Tables {
        source: Vec::new(),
        tables: Vec::new(),
    };
    for line in text.lines() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            out.source.push(comment.trim().to_owned());
        } else if line == "[users]" || line == "[groups]" {
            let kind = if line == "[users]" {
                ResourceKind::User
            } else {
                ResourceKind::Group
            };
            out.tables.push((kind, Vec::new(), Vec::new()));
        } else if !line.is_empty() {
            let (_, header, rows) = out
                .tables
                .last_mut()
                .unwrap_or_else(|| panic!("a row before any [users]/[groups]: {line}"));
            if header.is_empty() {
                *header = cells(line);
            } else {
                rows.push(cells(line));
            }
        }
    }
    out
}

fn read(name: &str) -> Tables {
    let path = format!("{}/testdata/seeds/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let tables = parse_tables(&text);
    assert!(
        tables.source.iter().any(|l| l.starts_with("Source:"))
            && tables
                .source
                .iter()
                .any(|l| l.starts_with("https://learn.microsoft.com/")),
        "{path} names its public source"
    );
    tables
}

/// The rows of a tutorial table, flags read from the named columns.
fn rows(header: &[String], rows: &[Vec<String>]) -> Vec<Row> {
    let column = |word: &str| {
        header
            .iter()
            .position(|h| h.to_ascii_lowercase().contains(word))
    };
    let flag = |col: Option<usize>, row: &[String]| {
        col.and_then(|c| row.get(c))
            .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
    };
    let (filter_col, required_col) = (column("filter"), column("required"));
    rows.iter()
        .map(|r| Row {
            attribute: r.first().cloned().unwrap_or_default(),
            kind: r.get(1).cloned().unwrap_or_default(),
            filter: flag(filter_col, r),
            required: flag(required_col, r),
        })
        .collect()
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

const VENDORS: [&str; 5] = ["alexishr", "alvao", "freshservice", "servicely", "visibly"];

#[test]
fn every_seed_table_row_is_a_profile_row_with_the_same_flags() {
    for id in VENDORS {
        let seed = read(id);
        let p = Profile::builtin(id).unwrap();
        assert!(!seed.tables.is_empty(), "{id}: no attribute table");
        assert!(
            seed.source.iter().any(|l| l.contains(p.name())),
            "{id}: the vendored source names the tutorial for {}",
            p.name()
        );
        for (kind, header, table) in &seed.tables {
            let mine = profile_rows(&p, *kind);
            let theirs = rows(header, table);
            for row in &theirs {
                let found = mine.iter().find(|m| m.attribute == row.attribute);
                assert_eq!(found, Some(row), "profile `{id}` {kind:?} row for {row:?}");
            }
            assert_eq!(
                mine.len(),
                theirs.len(),
                "profile `{id}` {kind:?} has rows the tutorial does not"
            );
        }
        let seed_kinds: Vec<ResourceKind> = seed.tables.iter().map(|(k, ..)| *k).collect();
        assert_eq!(
            p.kinds(),
            seed_kinds,
            "profile `{id}` serves the tutorial's types"
        );
    }
}

#[test]
fn every_vendor_profile_has_a_vendored_table_and_no_more() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/seeds");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut want: Vec<String> = VENDORS.iter().map(|v| v.to_string()).collect();
    want.push("entra-generic".into());
    want.sort();
    assert_eq!(files, want);
}

#[test]
fn table_parser_reads_flags_from_named_columns() {
    let text = "# Source: Microsoft Learn, \"Tutorial: Configure Acme\"\n\n[users]\nAttribute | Type | Supported for filtering | Required by Acme\nuserName | String | yes | yes\ntitle | String\n\n[groups]\nAttribute | Type\nmembers | Reference\n";
    let t = parse_tables(text);
    assert_eq!(
        t.source,
        ["Source: Microsoft Learn, \"Tutorial: Configure Acme\""]
    );
    let (kind, header, table) = &t.tables[0];
    assert_eq!(*kind, ResourceKind::User);
    let r = rows(header, table);
    assert_eq!(
        r[0],
        Row {
            attribute: "userName".into(),
            kind: "String".into(),
            filter: true,
            required: true
        }
    );
    assert!(!r[1].filter && !r[1].required);
    assert_eq!(t.tables[1].0, ResourceKind::Group);
    assert_eq!(rows(&t.tables[1].1, &t.tables[1].2)[0].attribute, "members");
}

/// The `entra-generic` profile against the default mapping table of Microsoft's SCIM
/// tutorial (users and groups), compared case-insensitively: the tutorial prints
/// `.Value` and `.Formatted`, and attribute paths are case-insensitive (RFC 7643 §2.1).
#[test]
fn entra_generic_covers_the_default_mapping_of_the_scim_tutorial() {
    let t = read("entra-generic");
    let scim = |kind: ResourceKind| {
        let (_, header, table) = t
            .tables
            .iter()
            .find(|(k, ..)| *k == kind)
            .unwrap_or_else(|| panic!("no {kind:?} table"));
        let col = header.iter().position(|h| h == "SCIM attribute").unwrap();
        let mut v: Vec<String> = table.iter().map(|r| r[col].to_ascii_lowercase()).collect();
        v.sort();
        v
    };
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
    assert_eq!(scim(ResourceKind::User).len(), 18);
    assert_eq!(mine(ResourceKind::User), scim(ResourceKind::User));
    assert_eq!(mine(ResourceKind::Group), scim(ResourceKind::Group));
}
