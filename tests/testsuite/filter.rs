//! Filter corpus (`testdata/filter/{valid,invalid}`) locked by snapshots, eval cases with
//! expected results (`testdata/filter/eval/cases.json`), properties, and the replay of
//! saved fuzz findings.

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

use scimock::filter::{self, Filter};
use scimock::scim;

use crate::strategies;
use crate::support::{case_name, snapshot_settings};

fn read_case(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    // One trailing newline is the file's, not the filter's.
    text.strip_suffix('\n').unwrap_or(&text).to_owned()
}

/// The AST as an indented tree, one node a line: readable in a snapshot, and exact
/// (every field of every node appears).
fn tree(f: &Filter, indent: usize) -> String {
    use scimock::filter::{AttrOp, AttrPath, ValuePath};
    let pad = "  ".repeat(indent);
    let path = |p: &AttrPath| {
        format!(
            "urn={:?} name={:?} sub={:?}",
            p.urn.as_deref().unwrap_or("-"),
            p.name,
            p.sub_attr.as_deref().unwrap_or("-")
        )
    };
    let op = |o: &AttrOp| match o {
        AttrOp::Present => "pr".to_owned(),
        AttrOp::Compare(op, v) => format!("{op} {v}"),
    };
    let vp = |v: &ValuePath| {
        format!(
            "{pad}value-path {}\n{}",
            path(&v.attr),
            tree(&v.filter, indent + 1)
        )
    };
    match f {
        Filter::Attr(e) => format!("{pad}attr {} {}\n", path(&e.path), op(&e.op)),
        Filter::ValuePath(v) => vp(v),
        Filter::ValuePathAttr {
            value_path,
            sub_attr,
            op: o,
        } => {
            format!("{}{pad}then .{sub_attr} {}\n", vp(value_path), op(o))
        }
        Filter::Not(inner) => format!("{pad}not\n{}", tree(inner, indent + 1)),
        Filter::And(ops) | Filter::Or(ops) => {
            let word = if matches!(f, Filter::And(_)) {
                "and"
            } else {
                "or"
            };
            let kids: String = ops.iter().map(|o| tree(o, indent + 1)).collect();
            format!("{pad}{word}\n{kids}")
        }
    }
}

#[test]
fn valid_filters_parse_round_trip_and_match_their_snapshots() {
    insta::glob!("../../testdata/filter", "valid/*.txt", |path| {
        let src = read_case(path);
        let f = filter::parse(&src)
            .unwrap_or_else(|e| panic!("{}:\n{}", path.display(), e.render(&src)));
        let canonical = f.to_string();
        assert_eq!(
            filter::parse(&canonical).as_ref(),
            Ok(&f),
            "round trip of {src:?}"
        );
        let body = format!(
            "input: {src:?}\ncanonical: {canonical}\nast:\n{}",
            tree(&f, 1)
        );
        let mut settings = snapshot_settings();
        settings.set_snapshot_suffix(case_name(path));
        settings.bind(|| insta::assert_snapshot!("filter_parse", body));
    });
}

#[test]
fn invalid_filters_fail_with_a_caret_error_matching_their_snapshots() {
    insta::glob!("../../testdata/filter", "invalid/*.txt", |path| {
        let src = read_case(path);
        let err = match filter::parse(&src) {
            Ok(f) => panic!("{} parsed as {f}", path.display()),
            Err(e) => e,
        };
        assert!(err.span.start <= src.len() && err.span.end <= src.len());
        let line = err.to_string();
        assert!(!line.contains('\n') && line.starts_with(|c: char| c.is_lowercase()));
        let body = format!("input: {src:?}\nkind: {:?}\n{}", err.kind, err.render(&src));
        let mut settings = snapshot_settings();
        settings.set_snapshot_suffix(case_name(path));
        settings.bind(|| insta::assert_snapshot!("filter_parse", body));
    });
}

#[test]
fn eval_cases_give_their_expected_results() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/filter/eval/cases.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let users = scim::user_resource();
    let groups = scim::group_resource();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 40);
    for case in cases {
        let name = case["resource"].as_str().unwrap();
        let resource = &doc["resources"][name];
        let schema = if name == "group" { &groups } else { &users };
        let src = case["filter"].as_str().unwrap();
        let f = filter::parse(src).unwrap_or_else(|e| panic!("{}", e.render(src)));
        let got = filter::matches(&f, resource, Some(schema));
        match &case["expect"] {
            Value::Bool(want) => assert_eq!(got, Ok(*want), "{src} on {name}"),
            Value::String(kind) => {
                assert_eq!(kind, "invalidFilter");
                let err = got.expect_err(src);
                let body = scimock::Error::from(err).to_response();
                assert_eq!(body.status, "400");
                assert_eq!(body.scim_type, Some(scimock::scim::ScimType::InvalidFilter));
            }
            other => panic!("bad expect {other}"),
        }
    }
}

#[test]
fn filters_nested_past_the_limit_fail_with_too_deep_not_a_stack_overflow() {
    let deep = format!("{}a pr{}", "not (".repeat(10_000), ")".repeat(10_000));
    assert_eq!(
        filter::parse(&deep).unwrap_err().kind,
        filter::ParseErrorKind::TooDeep
    );
    let ok = format!(
        "{}a pr{}",
        "(".repeat(filter::MAX_DEPTH),
        ")".repeat(filter::MAX_DEPTH)
    );
    assert!(filter::parse(&ok).is_ok());
}

#[test]
fn filters_longer_than_the_limit_fail_with_too_long() {
    let long = format!("a eq \"{}\"", "x".repeat(filter::MAX_LEN));
    assert_eq!(
        filter::parse(&long).unwrap_err().kind,
        filter::ParseErrorKind::TooLong
    );
}

#[test]
fn a_64_kib_or_chain_parses_and_evaluates() {
    let clause = "userName eq \"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee\"";
    let n = 64 * 1024 / (clause.len() + 4);
    let src = vec![clause; n].join(" or ");
    let f = filter::parse(&src).unwrap();
    assert!(matches!(&f, Filter::Or(ops) if ops.len() == n));
    let user = serde_json::json!({"userName": "test_user_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"});
    assert_eq!(
        filter::matches(&f, &user, Some(&scim::user_resource())),
        Ok(true)
    );
}

/// `f` with every string literal replaced by `next()`'s.
fn with_literals(f: Filter, next: &mut impl FnMut() -> String) -> Filter {
    use scimock::filter::{AttrExp, AttrOp, CompValue, ValuePath};
    let op = |op: AttrOp, next: &mut dyn FnMut() -> String| match op {
        AttrOp::Compare(c, CompValue::String(_)) => AttrOp::Compare(c, CompValue::String(next())),
        other => other,
    };
    match f {
        Filter::Attr(e) => Filter::Attr(AttrExp {
            path: e.path,
            op: op(e.op, next),
        }),
        Filter::ValuePath(vp) => Filter::ValuePath(ValuePath {
            attr: vp.attr,
            filter: Box::new(with_literals(*vp.filter, next)),
        }),
        Filter::ValuePathAttr {
            value_path,
            sub_attr,
            op: o,
        } => Filter::ValuePathAttr {
            value_path: ValuePath {
                attr: value_path.attr,
                filter: Box::new(with_literals(*value_path.filter, next)),
            },
            sub_attr,
            op: op(o, next),
        },
        Filter::Not(inner) => Filter::Not(Box::new(with_literals(*inner, next))),
        Filter::And(fs) => Filter::And(fs.into_iter().map(|f| with_literals(f, next)).collect()),
        Filter::Or(fs) => Filter::Or(fs.into_iter().map(|f| with_literals(f, next)).collect()),
    }
}

/// The presence model of RFC 7644 §3.4.2.2 `pr` ("a non-empty value, or … a non-empty
/// node for complex attributes") and RFC 7643 §2.5 unassigned, written out on its own.
fn node_model(v: Option<&Value>) -> (bool, bool) {
    fn present(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(items) => items.iter().any(present),
            Value::Object(members) => members.values().any(present),
            Value::Bool(_) | Value::Number(_) => true,
        }
    }
    fn assigned(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Array(items) => items.iter().any(assigned),
            Value::Object(members) => members.values().any(assigned),
            _ => true,
        }
    }
    v.map_or((false, false), |v| (present(v), assigned(v)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1000)
    ))]

    /// parse ∘ display == id
    #[test]
    fn filter_roundtrip(f in strategies::filter()) {
        let printed = f.to_string();
        let parsed = filter::parse(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&f), "printed: {}", printed);
    }

    /// eval(not f) == !eval(f) wherever eval(f) is defined
    #[test]
    fn filter_not_negates(f in strategies::filter(), resource in strategies::resource()) {
        let users = scim::user_resource();
        for schema in [None, Some(&users)] {
            let direct = filter::matches(&f, &resource, schema);
            let negated = filter::matches(&Filter::negate(f.clone()), &resource, schema);
            match direct {
                Ok(b) => prop_assert_eq!(negated, Ok(!b)),
                Err(e) => prop_assert_eq!(negated, Err(e)),
            }
        }
    }

    /// a scan's projected parse (only the members the filter reads) evaluates exactly as
    /// the whole resource does, with and without a schema, errors included
    #[test]
    fn projection_evaluates_as_the_whole_resource(
        f in strategies::filter(),
        resource in strategies::resource_with_extensions(),
    ) {
        let users = scim::user_resource();
        let text = serde_json::to_vec(&resource).unwrap();
        for schema in [None, Some(&users)] {
            let projected = filter::Projection::of(&f, schema).parse(&text).unwrap();
            prop_assert!(projected.as_object().unwrap().len() <= resource.as_object().unwrap().len());
            prop_assert_eq!(
                filter::matches(&f, &projected, schema),
                filter::matches(&f, &resource, schema),
                "projected: {}", projected
            );
        }
    }

    /// the text check before a scan's parse never rejects a resource the filter matches
    /// (string literals drawn from the resources' own alphabet, so matches are common)
    #[test]
    fn the_text_check_never_rejects_a_match(
        f in strategies::filter(),
        literals in proptest::collection::vec("[a-zA-Z0-9@. ]{0,3}", 1..6),
        resource in strategies::resource_with_extensions(),
    ) {
        let mut next = literals.iter().cycle();
        let f = with_literals(f, &mut || next.next().cloned().unwrap_or_default());
        let users = scim::user_resource();
        let text = serde_json::to_vec(&resource).unwrap();
        let check = filter::Prefilter::of(&f);
        for schema in [None, Some(&users)] {
            if filter::matches(&f, &resource, schema) == Ok(true) {
                prop_assert!(check.may_match(&text), "{} rejected {}", f, resource);
            }
        }
    }

    /// `pr`, `not (… pr)`, `eq null` and `ne null` on a multi-valued complex attribute
    /// agree with the node model, with and without a schema
    #[test]
    fn complex_presence_agrees_with_the_node_model(
        list in strategies::complex_list(),
        name in proptest::sample::select(vec!["addresses", "emails", "x509Certificates"]),
    ) {
        let mut user = serde_json::json!({"userName": "u"});
        if let Some(v) = &list {
            user[name] = v.clone();
        }
        let (present, assigned) = node_model(list.as_ref());
        let users = scim::user_resource();
        for schema in [None, Some(&users)] {
            for (src, want) in [
                (format!("{name} pr"), present),
                (format!("not ({name} pr)"), !present),
                (format!("{name} eq null"), !assigned),
                (format!("{name} ne null"), assigned),
            ] {
                let f = filter::parse(&src).unwrap();
                prop_assert_eq!(filter::matches(&f, &user, schema), Ok(want), "{} on {}", src, user);
            }
        }
    }

    /// the parser never panics, and what it accepts it prints canonically
    #[test]
    fn filter_parse_total(src in strategies::filter_text()) {
        if let Ok(f) = filter::parse(&src) {
            let printed = f.to_string();
            prop_assert_eq!(filter::parse(&printed), Ok(f));
        }
    }
}
