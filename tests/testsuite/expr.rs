//! Attribute-mapping expressions: every test vector of the reference page
//! (`testdata/expr/vectors/V001.json` … `V084.json`) asserted and locked by snapshots,
//! the held-back corpus of further Microsoft examples (`testdata/expr/corpus/`), the
//! properties, and the `scimock expr` / `scimock scope` commands run as a user would.

use std::path::Path;
use std::process::{Command, Output};

use proptest::prelude::*;
use serde_json::{json, Value as Json};
use time::OffsetDateTime;

use scimock::clock::FixedClock;
use scimock::expr::{self, Evaluator, Outcome, Value};

use crate::strategies;
use crate::support::{case_name, snapshot_settings};

/// The clock every fixture runs with unless it names its own `now`.
const DEFAULT_NOW: &str = "2021-08-25T17:41:18Z";

fn instant(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

/// Runs one fixture case: returns the outcome and the value printed for the snapshot.
fn run_case(src: &str, case: &Json) -> Result<Outcome, expr::EvalError> {
    let e = expr::parse(src).unwrap_or_else(|err| panic!("{}", err.render(src)));
    let clock = FixedClock(instant(case["now"].as_str().unwrap_or(DEFAULT_NOW)));
    let taken: Vec<String> = case["taken"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let unique = |v: &str| !taken.iter().any(|t| t == v);
    let seed = case["seed"].as_u64().unwrap_or(42);
    let mut ev = Evaluator::new()
        .with_clock(&clock)
        .with_seed(seed)
        .with_uniqueness(&unique);
    if let Some(d) = case["default_domain"].as_str() {
        ev = ev.with_default_domain(d);
    }
    ev.eval(&e, &case["in"])
}

/// Whether `got` is the fixture's `out`: a string compares with the value's text form
/// (Entra moves every value as a string), numbers, booleans, arrays and null exactly.
fn same_value(got: &Value, want: &Json) -> bool {
    match want {
        Json::String(s) => got.text().is_some_and(|t| t == s.as_str()),
        Json::Array(items) => {
            matches!(got, Value::Multi(v) if v.len() == items.len()
                && v.iter().zip(items).all(|(a, b)| b.as_str() == Some(a.as_str())))
        }
        Json::Number(n) => match (got.number(), n.as_i64()) {
            (Some(scimock::expr::Number::Int(a)), Some(b)) => a == b,
            (Some(a), _) => n.as_f64() == Some(a.as_f64()),
            _ => false,
        },
        Json::Bool(b) => got.boolean() == Some(*b),
        Json::Null => got.is_null(),
        Json::Object(_) => false,
    }
}

/// Checks a generated value against a `property` (Guid shape, RandomString minimums).
fn check_property(got: &Value, property: &Json) {
    let text = got.text().expect("a single value").into_owned();
    if property == "guid" {
        let re = regex::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .unwrap();
        assert!(re.is_match(&text), "{text} is not a v4 GUID");
        return;
    }
    let count = |f: fn(&char) -> bool| text.chars().filter(f).count() as u64;
    let want = |k: &str| property[k].as_u64().unwrap_or(0);
    assert_eq!(text.chars().count() as u64, want("length"), "{text}");
    assert!(count(char::is_ascii_digit) >= want("digits"), "{text}");
    assert!(count(char::is_ascii_lowercase) >= want("lower"), "{text}");
    assert!(count(char::is_ascii_uppercase) >= want("upper"), "{text}");
    assert!(
        count(|c| !c.is_ascii_alphanumeric()) >= want("special"),
        "{text}"
    );
    if let Some(avoid) = property["avoid"].as_str() {
        assert!(
            !text.chars().any(|c| avoid.contains(c)),
            "{text} has one of {avoid:?}"
        );
    }
}

/// Asserts a fixture case's expectation; returns the case's snapshot lines.
fn assert_case(fixture: &Path, default_expr: &str, case: &Json) -> String {
    let src = case["expr"].as_str().unwrap_or(default_expr);
    let got = run_case(src, case);
    // Deterministic with a fixed clock and seed.
    assert_eq!(got, run_case(src, case), "{src} is not deterministic");
    let what = format!("{} case {case}", fixture.display());
    let shown = match &got {
        Ok(Outcome::Ignore) => "not flowed (IgnoreFlowIfNullOrEmpty)".to_owned(),
        Ok(Outcome::Value(v)) => format!("{}", v.to_json()),
        Err(e) => format!("error: {e}"),
    };
    if let Some(want) = case.get("out") {
        match &got {
            Ok(Outcome::Value(v)) => assert!(same_value(v, want), "{what}: got {shown}"),
            _ => panic!("{what}: got {shown}"),
        }
    } else if case["ignore"] == true {
        assert_eq!(got, Ok(Outcome::Ignore), "{what}");
    } else if let Some(msg) = case["error"].as_str() {
        let err = got.as_ref().expect_err(&what).to_string();
        assert!(err.contains(msg), "{what}: {err}");
    } else if let Some(property) = case.get("property") {
        match &got {
            Ok(Outcome::Value(v)) => check_property(v, property),
            _ => panic!("{what}: got {shown}"),
        }
    } else {
        panic!("{what}: no expectation");
    }
    if let Some(log) = case["log"].as_str() {
        assert_eq!(log, "[Redact]");
        assert!(expr::parse(src).unwrap().redacts_log(), "{what}");
    }
    let mut lines = String::new();
    if case.get("expr").is_some() {
        lines.push_str(&format!("  expr: {src}\n"));
    }
    lines.push_str(&format!("  in: {}\n  result: {shown}\n", case["in"]));
    for key in ["now", "seed", "taken", "default_domain", "log"] {
        if let Some(v) = case.get(key) {
            lines.push_str(&format!("  {key}: {v}\n"));
        }
    }
    lines
}

fn load(path: &Path) -> Json {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Parses a fixture's expression, checks the round trip, and returns (source, canonical).
fn parse_fixture(doc: &Json) -> (String, String) {
    let src = doc["expr"].as_str().unwrap().to_owned();
    let e = expr::parse(&src).unwrap_or_else(|err| panic!("{}", err.render(&src)));
    let canonical = e.to_string();
    assert_eq!(
        expr::parse(&canonical).as_ref(),
        Ok(&e),
        "round trip of {src}"
    );
    (src, canonical)
}

#[test]
fn every_reference_vector_gives_its_documented_or_literal_result() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/expr/vectors");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 84, "V001 to V084");
    insta::glob!("../../testdata/expr", "vectors/*.json", |path| {
        let doc = load(path);
        assert_eq!(doc["id"].as_str(), Some(case_name(path).as_str()));
        let (src, canonical) = parse_fixture(&doc);
        let mut body = format!(
            "id: {}\nsource: {}\nsection: {}\nexpr: {src}\ncanonical: {canonical}\n",
            doc["id"].as_str().unwrap(),
            doc["source"].as_str().unwrap(),
            doc["section"].as_str().unwrap(),
        );
        if let Some(note) = doc["note"].as_str() {
            body.push_str(&format!("note: {note}\n"));
        }
        if let Some(bug) = doc.get("doc_error") {
            body.push_str(&format!(
                "doc error: documented {} / literal {} ({})\n",
                bug["documented"].as_str().unwrap(),
                bug["literal"].as_str().unwrap(),
                bug["why"].as_str().unwrap()
            ));
        }
        for (i, case) in doc["cases"].as_array().unwrap().iter().enumerate() {
            body.push_str(&format!(
                "case {}:\n{}",
                i + 1,
                assert_case(path, &src, case)
            ));
        }
        let mut settings = snapshot_settings();
        settings.set_snapshot_suffix(case_name(path));
        settings.bind(|| insta::assert_snapshot!("expr_vector", body));
    });
}

#[test]
fn held_back_microsoft_examples_evaluate_as_literal_semantics_predict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/expr/corpus");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let doc = load(&entry.path());
        let (src, _) = parse_fixture(&doc);
        for case in doc["cases"].as_array().unwrap() {
            assert_case(&entry.path(), &src, case);
            n += 1;
        }
    }
    assert!(n >= 12, "{n} corpus cases");
}

#[test]
fn documented_function_count_and_names_are_all_known() {
    // The reference page's list (45 names; the page's "47" miscounts) plus the
    // tutorial's AssertiveAppRoleAssignmentsComplex.
    let page = "Append AppRoleAssignmentsComplex BitAnd CBool CDate Coalesce ConvertToBase64 \
        ConvertToUTF8Hex Count CStr DateAdd DateDiff DateFromNum DefaultDomain FormatDateTime Guid \
        IgnoreFlowIfNullOrEmpty IIF InStr IsNull IsNullOrEmpty IsPresent IsString Item Join Left \
        Len Mid NormalizeDiacritics Not Now NumFromDate PCase RandomString Redact RemoveDuplicates \
        Replace SelectUniqueValue SingleAppRoleAssignment Split StripSpaces Switch ToLower ToUpper Word";
    let names: Vec<&str> = page.split_whitespace().collect();
    assert_eq!(names.len(), 45);
    for name in &names {
        assert_eq!(expr::Func::from_name(name).map(|f| f.name()), Some(*name));
    }
    assert_eq!(expr::Func::ALL.len(), names.len() + 1);
}

#[test]
fn three_argument_format_date_time_reads_source_input_and_output() {
    let case = json!({"in": {"endDate": "3/7/2021 01:05:09 PM"}});
    let got = run_case(
        r#"FormatDateTime([endDate], "M/d/yyyy hh:mm:ss tt", "yyyy-MM-dd")"#,
        &case,
    );
    assert_eq!(got, Ok(Outcome::Value(Value::str("2021-03-07"))));
}

#[test]
fn ignore_flow_nested_anywhere_stops_the_whole_mapping() {
    let case = json!({"in": {"givenName": "Ann"}});
    let got = run_case(
        r#"Join(" ", [givenName], IgnoreFlowIfNullOrEmpty([surname]))"#,
        &case,
    );
    assert_eq!(got, Ok(Outcome::Ignore));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(500)
    ))]

    /// parse ∘ display == id
    #[test]
    fn expr_roundtrip(e in strategies::expr()) {
        let printed = e.to_string();
        let parsed = expr::parse(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&e), "printed: {}", printed);
    }

    /// evaluation never panics and, with a fixed clock and seed, gives the same result twice
    #[test]
    fn expr_eval_total(e in strategies::expr(), source in strategies::expr_source(), seed in any::<u64>()) {
        let clock = FixedClock(instant(DEFAULT_NOW));
        let taken = |v: &str| !v.len().is_multiple_of(3);
        let run = || {
            Evaluator::new()
                .with_clock(&clock)
                .with_seed(seed)
                .with_uniqueness(&taken)
                .with_default_domain("contoso.com")
                .eval(&e, &source)
        };
        let first = run();
        prop_assert_eq!(first, run());
    }
}

// ---- the binary ---------------------------------------------------------------------------

fn scimock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scimock"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn expr_parse_prints_the_canonical_form_or_a_caret_error() {
    let out = scimock(&[
        "expr",
        "parse",
        r#"switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "Switch([IsSoftDeleted], , \"False\", \"True\", \"True\", \"False\")\n"
    );
    let out = scimock(&["expr", "parse", "Mid([givenName], 1)"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`Mid` takes 3 arguments, found 2"), "{err}");
    assert!(err.contains("^^^"), "{err}");
}

#[test]
fn expr_eval_prints_one_json_value() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("user.json");
    std::fs::write(
        &source,
        r#"{"givenName": "John", "surname": "Doe", "IsSoftDeleted": "False"}"#,
    )
    .unwrap();
    let source = source.to_str().unwrap();
    let run = |args: &[&str]| {
        let o = scimock(args);
        (o.status.code(), stdout(&o))
    };
    assert_eq!(
        run(&[
            "expr",
            "eval",
            r#"Join(" ", [givenName], [surname])"#,
            "--source",
            source
        ]),
        (Some(0), "\"John Doe\"\n".to_owned())
    );
    assert_eq!(
        run(&["expr", "eval", "Split([a], \",\")", "--attr", "a=x,y"]),
        (Some(0), "[\"x\",\"y\"]\n".to_owned())
    );
    assert_eq!(
        run(&[
            "expr",
            "eval",
            "IgnoreFlowIfNullOrEmpty([department])",
            "--source",
            source
        ]),
        (Some(0), "null\n".to_owned())
    );
    assert_eq!(
        run(&[
            "expr",
            "eval",
            "DateDiff(\"d\", Now(), CDate([d]))",
            "--attr",
            "d=2021-08-31",
            "--now",
            "2021-08-25T17:41:18Z"
        ]),
        (Some(0), "6\n".to_owned())
    );
    let o = scimock(&["expr", "eval", "CDate([d])", "--attr", "d=someday"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("CDate"));
}

#[test]
fn scope_check_prints_the_decision_and_the_deciding_clause() {
    let dir = tempfile::tempdir().unwrap();
    let filter = dir.path().join("filter.json");
    std::fs::write(
        &filter,
        r#"{"groups": [{"name": "Sales", "clauses": [
            {"sourceOperandName": "department", "operatorName": "EQUALS", "targetOperand": {"values": ["Sales"]}}]}]}"#,
    )
    .unwrap();
    let user = dir.path().join("user.json");
    std::fs::write(&user, r#"{"department": "Marketing"}"#).unwrap();
    let o = scimock(&[
        "scope",
        "check",
        filter.to_str().unwrap(),
        "--source",
        user.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.starts_with("out of scope\n"), "{text}");
    assert!(text.contains("Sales.department EQUALS 'Sales'"), "{text}");
    std::fs::write(&user, r#"{"department": "Sales"}"#).unwrap();
    let o = scimock(&[
        "scope",
        "check",
        filter.to_str().unwrap(),
        "--source",
        user.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("in scope\n"));
    std::fs::write(
        &filter,
        r#"{"groups": [{"clauses": [{"sourceOperandName": "manager", "operatorName": "IS NOT NULL"}]}]}"#,
    )
    .unwrap();
    let o = scimock(&[
        "scope",
        "check",
        filter.to_str().unwrap(),
        "--source",
        user.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("manager cannot be used"));
}
