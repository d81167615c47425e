//! Filter parser and evaluator micro benches; results and the command are in BENCHMARKS.md
//! (`## Filter parser and evaluator`).
//!
//! Every parse case reports bytes of throughput, so the 64 KiB / 1 KiB time ratio shows
//! whether parsing stays linear in input size (flat `or` chains are loops, not recursion).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::{json, Value};

use scimock::filter;
use scimock::scim::user_resource;

/// What Entra sends first for every user it provisions (reference §1).
const ENTRA_SHORT: &str = r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee""#;

/// Twenty attribute expressions mixing `and`, `or`, `not`, groups, value paths, the
/// Entra `valuePath.subAttr` form, URN paths, dates, booleans and `pr`.
const TWENTY_CLAUSES: &str = concat!(
    r#"(userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee" or userName sw "test_")"#,
    r#" and active eq true"#,
    r#" and emails[type eq "work" and primary eq true]"#,
    r#" and emails[type eq "work"].value ew "@testuser.com""#,
    r#" and not (name.familyName eq "Smith" or name.givenName co "xyz")"#,
    r#" and (externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" or externalId pr)"#,
    r#" and meta.resourceType eq "User""#,
    r#" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber ne "1""#,
    r#" and not (displayName eq "displayName")"#,
    r#" or meta.created ge "2011-08-01T18:29:49.793Z" and meta.lastModified lt "2030-01-01T00:00:00Z""#,
    r#" or title pr and nickName eq null"#,
    r#" or urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#,
);

/// The user Entra creates in reference §1.1, as the server stores it.
fn entra_user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "48af03ac28ad4fb88478",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true,
        "emails": [{
            "primary": true,
            "type": "work",
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
        }],
        "meta": {
            "resourceType": "User",
            "created": "2018-03-27T19:59:26.000Z",
            "lastModified": "2018-03-27T19:59:26.000Z"
        },
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        },
        "roles": []
    })
}

/// `ENTRA_SHORT` repeated with ` or ` up to `target` bytes.
fn generated(target: usize) -> String {
    let mut s = String::from(ENTRA_SHORT);
    while s.len() + 4 + ENTRA_SHORT.len() <= target {
        s.push_str(" or ");
        s.push_str(ENTRA_SHORT);
    }
    s
}

fn parse(c: &mut Criterion) {
    let one_kib = generated(1024);
    let sixty_four_kib = generated(64 * 1024);
    let cases = [
        ("entra_short", ENTRA_SHORT),
        ("twenty_clauses", TWENTY_CLAUSES),
        ("generated_1KiB", one_kib.as_str()),
        ("generated_64KiB", sixty_four_kib.as_str()),
    ];
    let mut group = c.benchmark_group("filter_parse");
    for (name, src) in cases {
        assert!(filter::parse(src).is_ok(), "{name} must parse");
        group.throughput(Throughput::Bytes(src.len() as u64));
        group.bench_with_input(BenchmarkId::new(name, src.len()), src, |b, src| {
            b.iter(|| filter::parse(black_box(src)))
        });
    }
    group.finish();
}

fn eval(c: &mut Criterion) {
    let user = entra_user();
    let schema = user_resource();
    let mut group = c.benchmark_group("filter_eval");
    for (name, src, expected) in [
        ("entra_short", ENTRA_SHORT, true),
        ("twenty_clauses", TWENTY_CLAUSES, true),
    ] {
        let f = filter::parse(src).expect("bench filters parse");
        let got = filter::matches(&f, &user, Some(&schema));
        assert_eq!(got, Ok(expected), "{name} against the Entra user");
        group.bench_function(name, |b| {
            b.iter(|| filter::matches(black_box(&f), black_box(&user), Some(&schema)))
        });
    }
    group.finish();
}

criterion_group!(benches, parse, eval);
criterion_main!(benches);
