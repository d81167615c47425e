//! Bodies of the fuzz targets, shared with the tests that replay saved crashes, so a
//! finding reproduces under plain `cargo test`. Each function panics exactly when the
//! property it checks is broken.

use serde_json::Value;

use crate::filter;

/// `filter_parser`: parsing never panics; on success the canonical form re-parses to the
/// same tree and is a fixed point of printing.
pub fn filter_parser(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = filter::parse(src) {
        let printed = f.to_string();
        let again = filter::parse(&printed)
            .unwrap_or_else(|e| panic!("canonical form {printed:?} of {src:?} fails: {e}"));
        assert_eq!(again, f, "round trip changed the tree of {src:?}");
        assert_eq!(again.to_string(), printed, "canonical form is not stable");
    } else if let Err(e) = filter::parse(src) {
        // Rendering must cope with every span the parser reports.
        let _ = e.render(src);
        let _ = e.to_string();
    }
}

/// `filter_eval`: evaluating any parsed filter against any JSON resource never panics,
/// and `not f` is the negation of `f` wherever `f` evaluates.
pub fn filter_eval(filter_src: &str, resource: &Value) {
    let Ok(f) = filter::parse(filter_src) else {
        return;
    };
    let schema = crate::scim::schema::user_resource();
    for schema in [None, Some(&schema)] {
        let direct = filter::matches(&f, resource, schema);
        let negated = filter::matches(&filter::Filter::negate(f.clone()), resource, schema);
        match (direct, negated) {
            (Ok(a), Ok(b)) => assert_eq!(a, !b, "not ({f}) is not the negation of {f}"),
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("{f}: direct {a:?} but negated {b:?}"),
        }
    }
}
