//! Attribute-mapping expression benches; results and the command are in BENCHMARKS.md
//! (`## Attribute-mapping expressions`).
//!
//! The mapping set is the non-gallery SCIM app's 22 default user mappings (20 Direct
//! attribute references, the `active` Switch and the `name.formatted` Join), as vendors
//! document them. `eval_100k_users` evaluates all 22 for 100,000 distinct users.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};

use scimock::clock::FixedClock;
use scimock::expr::{self, Evaluator, Expr};

/// (target attribute, source expression) of the default user mappings.
const DEFAULT_MAPPINGS: &[(&str, &str)] = &[
    ("userName", "[userPrincipalName]"),
    (
        "active",
        r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
    ),
    ("displayName", "[displayName]"),
    ("title", "[jobTitle]"),
    (r#"emails[type eq "work"].value"#, "[mail]"),
    ("preferredLanguage", "[preferredLanguage]"),
    ("name.givenName", "[givenName]"),
    ("name.familyName", "[surname]"),
    ("name.formatted", r#"Join(" ", [givenName], [surname])"#),
    (
        r#"addresses[type eq "work"].formatted"#,
        "[physicalDeliveryOfficeName]",
    ),
    (
        r#"addresses[type eq "work"].streetAddress"#,
        "[streetAddress]",
    ),
    (r#"addresses[type eq "work"].locality"#, "[city]"),
    (r#"addresses[type eq "work"].region"#, "[state]"),
    (r#"addresses[type eq "work"].postalCode"#, "[postalCode]"),
    (r#"addresses[type eq "work"].country"#, "[country]"),
    (r#"phoneNumbers[type eq "work"].value"#, "[telephoneNumber]"),
    (r#"phoneNumbers[type eq "mobile"].value"#, "[mobile]"),
    (
        r#"phoneNumbers[type eq "fax"].value"#,
        "[facsimileTelephoneNumber]",
    ),
    ("externalId", "[mailNickname]"),
    ("urn:…:enterprise:2.0:User:employeeNumber", "[employeeId]"),
    ("urn:…:enterprise:2.0:User:department", "[department]"),
    ("urn:…:enterprise:2.0:User:manager", "[manager]"),
];

/// An Entra user with every source attribute the default mappings read.
fn user(i: usize) -> Value {
    json!({
        "userPrincipalName": format!("user{i}@contoso.com"),
        "IsSoftDeleted": if i.is_multiple_of(7) { "True" } else { "False" },
        "displayName": format!("User {i}"),
        "jobTitle": "Engineer",
        "mail": format!("user{i}@contoso.com"),
        "preferredLanguage": "en-US",
        "givenName": format!("Given{i}"),
        "surname": "Surname",
        "physicalDeliveryOfficeName": "Building 1",
        "streetAddress": "1 Main Street",
        "city": "Redmond",
        "state": "WA",
        "postalCode": "98052",
        "country": "US",
        "telephoneNumber": "+1 555 0100",
        "mobile": "+1 555 0101",
        "facsimileTelephoneNumber": "+1 555 0102",
        "mailNickname": format!("user{i}"),
        "employeeId": i.to_string(),
        "department": "R&D",
        "manager": "boss@contoso.com"
    })
}

fn parsed() -> Vec<Expr> {
    DEFAULT_MAPPINGS
        .iter()
        .map(|(_, src)| expr::parse(src).expect("default mappings parse"))
        .collect()
}

fn parse(c: &mut Criterion) {
    let bytes: usize = DEFAULT_MAPPINGS.iter().map(|(_, s)| s.len()).sum();
    let mut group = c.benchmark_group("expr_parse");
    group.throughput(Throughput::Elements(DEFAULT_MAPPINGS.len() as u64));
    group.bench_function(format!("default_mappings_{bytes}B"), |b| {
        b.iter(|| {
            for (_, src) in DEFAULT_MAPPINGS {
                black_box(expr::parse(black_box(src)).ok());
            }
        })
    });
    group.finish();
}

fn eval(c: &mut Criterion) {
    let mappings = parsed();
    let clock = FixedClock(time::macros::datetime!(2026-01-01 0:00 UTC));
    let one = user(1);
    let mut ev = Evaluator::new().with_clock(&clock).with_seed(1);
    let out = ev.eval(&mappings[1], &one).unwrap();
    assert_eq!(
        out.to_json(),
        json!("True"),
        "active of a user not soft-deleted"
    );
    let mut group = c.benchmark_group("expr_eval");
    group.throughput(Throughput::Elements(mappings.len() as u64));
    group.bench_function("default_mappings_one_user", |b| {
        b.iter(|| {
            for m in &mappings {
                black_box(ev.eval(black_box(m), black_box(&one)).ok());
            }
        })
    });
    group.finish();

    let users: Vec<Value> = (0..100_000).map(user).collect();
    let mut group = c.benchmark_group("expr_eval_100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(users.len() as u64));
    group.bench_function("default_mappings_100k_users", |b| {
        b.iter(|| {
            let mut flowed = 0usize;
            for u in &users {
                for m in &mappings {
                    if let Ok(out) = ev.eval(m, u) {
                        flowed += usize::from(out.value().is_some_and(|v| !v.is_null()));
                    }
                }
            }
            assert_eq!(flowed, users.len() * mappings.len());
            flowed
        })
    });
    group.finish();
}

criterion_group!(benches, parse, eval);
criterion_main!(benches);
