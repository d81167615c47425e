//! PATCH engine micro benches: the cost of applying a 1-op and a 10-op user PATCH (the
//! shape of entra-provisioning.md §4.3c without the flag), and of turning an Entra
//! add-one-member PATCH into a `MemberOp` (§1.14), and adding one member through the store
//! to groups of 10, 10,000 and 100,000 members (must be flat). Results go in BENCHMARKS.md.

use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use scimock::clock::{SequentialIds, SystemClock};
use scimock::fuzzing::patch_group;
use scimock::patch::{apply, PatchOptions};
use scimock::scim::ResourceKind;
use scimock::scim::{group_resource, user_resource};
use scimock::scim::{urn, PatchRequest};
use scimock::store::Store;
use serde_json::{json, Value};

fn user() -> Value {
    json!({
        "schemas": [urn::USER, urn::ENTERPRISE_USER],
        "id": "6764549bef60420686bc",
        "externalId": "6c75de36",
        "userName": "Test_User@testuser.com",
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "active": true,
        "emails": [{"value": "a@testuser.com", "type": "work", "primary": true}],
        urn::ENTERPRISE_USER: {"employeeNumber": "1", "department": "Sales"},
        "meta": {"resourceType": "User", "created": "2018-03-27T19:59:26.000Z"}
    })
}

fn request(ops: Value) -> PatchRequest {
    serde_json::from_value(json!({"schemas": [urn::PATCH_OP], "Operations": ops})).unwrap()
}

fn ten_ops() -> PatchRequest {
    let ent = urn::ENTERPRISE_USER;
    request(json!([
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "b@test.microsoft.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Replace", "path": format!("{ent}:employeeNumber"), "value": "Eqpj"},
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "555"},
        {"op": "Add", "path": format!("{ent}:manager"), "value": "m1"}
    ]))
}

fn benches(c: &mut Criterion) {
    let users = user_resource();
    let groups = group_resource();
    let user = user();
    let user_opts = PatchOptions {
        strict_rfc: false,
        members_attr: None,
    };
    let group_opts = PatchOptions {
        strict_rfc: false,
        members_attr: Some("members"),
    };
    let one = request(json!([{"op": "Replace", "path": "displayName", "value": "Pvlo"}]));
    let ten = ten_ops();
    c.bench_function("patch/user_1_op", |b| {
        b.iter(|| apply(black_box(&user), black_box(&one), &users, &user_opts).unwrap())
    });
    c.bench_function("patch/user_10_ops", |b| {
        b.iter(|| apply(black_box(&user), black_box(&ten), &users, &user_opts).unwrap())
    });
    let group = json!({"schemas": [urn::GROUP], "id": "g1", "displayName": "G", "meta": {"resourceType": "Group"}});
    let add_member = request(
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}]),
    );
    c.bench_function("patch/group_add_one_member", |b| {
        b.iter(|| {
            apply(
                black_box(&group),
                black_box(&add_member),
                &groups,
                &group_opts,
            )
            .unwrap()
        })
    });
}

/// A store with `size` + 1 users and one group holding the first `size` of them.
fn store_with_group(size: usize) -> (Store, String, String) {
    let store = Store::new(
        Arc::new(SystemClock),
        Arc::new(SequentialIds::new()),
        "http://b/scim/v2",
    );
    let mut ids = Vec::with_capacity(size + 1);
    for i in 0..=size {
        let u = store
            .create(ResourceKind::User, json!({"userName": format!("u{i}")}))
            .unwrap();
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    let extra = ids.pop().unwrap();
    let members: Vec<Value> = ids
        .iter()
        .take(size)
        .map(|id| json!({"value": id}))
        .collect();
    let g = store
        .create(
            ResourceKind::Group,
            json!({"displayName": "big", "members": members}),
        )
        .unwrap();
    (store, g["id"].as_str().unwrap().to_owned(), extra)
}

/// Adding one member through the store (engine + indexes, as a 204 group PATCH does) must
/// cost the same in a 10-member group as in a 100,000-member one. Each iteration adds the
/// member and removes it again, so the group keeps its size.
fn membership_scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("store/add_then_remove_one_member");
    for size in [10usize, 10_000, 100_000] {
        let (store, gid, extra) = store_with_group(size);
        let add = request(
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": extra}]}]),
        );
        let remove =
            request(json!([{"op": "remove", "path": format!("members[value eq \"{extra}\"]")}]));
        g.bench_function(format!("group_of_{size}"), |b| {
            b.iter(|| {
                patch_group(&store, &gid, black_box(&add)).unwrap();
                patch_group(&store, &gid, black_box(&remove)).unwrap();
            })
        });
    }
    g.finish();
}

criterion_group!(patch, benches, membership_scaling);
criterion_main!(patch);
