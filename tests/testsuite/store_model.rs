//! State-machine properties: random sequences of create / get / replace / delete on users
//! and groups (plus membership adds) run against the store, and a smaller sequence over
//! HTTP, each checked after every step against a BTreeMap model.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use scimock::clock::{SequentialIds, SystemClock};
use scimock::scim::ResourceKind;
use scimock::store::MemberOp;
use scimock::store::Store;
use serde_json::{json, Value};

use crate::strategies::{self, StoreOp as Op, NAMES};
use crate::support::{send, server};

#[derive(Debug, Default)]
struct Model {
    users: BTreeMap<String, String>,
    groups: BTreeMap<String, (String, BTreeSet<String>)>,
}

impl Model {
    fn taken(&self, kind: ResourceKind, name: &str, except: Option<&str>) -> bool {
        let lower = name.to_lowercase();
        match kind {
            ResourceKind::User => self
                .users
                .iter()
                .any(|(id, n)| n.to_lowercase() == lower && Some(id.as_str()) != except),
            ResourceKind::Group => self
                .groups
                .iter()
                .any(|(id, (n, _))| n.to_lowercase() == lower && Some(id.as_str()) != except),
        }
    }
    fn user_at(&self, slot: usize) -> Option<String> {
        self.users.keys().nth(slot).cloned()
    }
    fn group_at(&self, slot: usize) -> Option<String> {
        self.groups.keys().nth(slot).cloned()
    }
}

/// Applies `op` to both; panics (failing the property) when they disagree.
fn step(store: &Store, model: &mut Model, op: &Op) {
    match *op {
        Op::CreateUser(i) => {
            let r = store.create(ResourceKind::User, json!({"userName": NAMES[i]}));
            assert_eq!(
                r.is_ok(),
                !model.taken(ResourceKind::User, NAMES[i], None),
                "{op:?}"
            );
            if let Ok(v) = r {
                model
                    .users
                    .insert(v["id"].as_str().unwrap().to_owned(), NAMES[i].to_owned());
            }
        }
        Op::GetUser(slot) => {
            let id = model.user_at(slot).unwrap_or_else(|| "missing".into());
            let r = store.get(ResourceKind::User, &id, true);
            assert_eq!(
                r.ok().map(|v| v["userName"].as_str().unwrap().to_owned()),
                model.users.get(&id).cloned()
            );
        }
        Op::ReplaceUser(slot, i) => {
            let Some(id) = model.user_at(slot) else {
                return;
            };
            let r = store.replace(ResourceKind::User, &id, json!({"userName": NAMES[i]}), None);
            assert_eq!(
                r.is_ok(),
                !model.taken(ResourceKind::User, NAMES[i], Some(&id)),
                "{op:?}"
            );
            if r.is_ok() {
                model.users.insert(id, NAMES[i].to_owned());
            }
        }
        Op::DeleteUser(slot) => {
            let Some(id) = model.user_at(slot) else {
                return;
            };
            store.delete(ResourceKind::User, &id, None).unwrap();
            model.users.remove(&id);
            for (_, members) in model.groups.values_mut() {
                members.remove(&id);
            }
        }
        Op::CreateGroup(i) => {
            let r = store.create(
                ResourceKind::Group,
                json!({"displayName": NAMES[i], "members": []}),
            );
            assert_eq!(
                r.is_ok(),
                !model.taken(ResourceKind::Group, NAMES[i], None),
                "{op:?}"
            );
            if let Ok(v) = r {
                model.groups.insert(
                    v["id"].as_str().unwrap().to_owned(),
                    (NAMES[i].to_owned(), BTreeSet::new()),
                );
            }
        }
        Op::AddMember(g, u) => {
            let (Some(gid), Some(uid)) = (model.group_at(g), model.user_at(u)) else {
                return;
            };
            store
                .patch_with(ResourceKind::Group, &gid, None, true, |r| {
                    Ok((
                        r.clone(),
                        vec![MemberOp::Add(vec![json!({"value": uid})])],
                        false,
                    ))
                })
                .unwrap();
            model.groups.get_mut(&gid).unwrap().1.insert(uid);
        }
        Op::DeleteGroup(slot) => {
            let Some(id) = model.group_at(slot) else {
                return;
            };
            store.delete(ResourceKind::Group, &id, None).unwrap();
            model.groups.remove(&id);
        }
    }
}

fn check(store: &Store, model: &Model) {
    let users: BTreeMap<String, String> = store
        .all(ResourceKind::User)
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                u["userName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(users, model.users);
    let groups: BTreeMap<String, (String, BTreeSet<String>)> = store
        .all(ResourceKind::Group)
        .iter()
        .map(|g| {
            let members = g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect();
            (
                g["id"].as_str().unwrap().to_owned(),
                (g["displayName"].as_str().unwrap().to_owned(), members),
            )
        })
        .collect();
    assert_eq!(groups, model.groups);
    // The userName index agrees with a scan.
    for name in NAMES.iter().copied() {
        let f =
            scimock::filter::parse(&format!("userName eq {}", Value::String(name.into()))).unwrap();
        let page = store
            .list(
                ResourceKind::User,
                &scimock::store::Query {
                    filter: Some(&f),
                    count: 100,
                    ..Default::default()
                },
            )
            .unwrap();
        let expected = model
            .users
            .values()
            .filter(|n| n.eq_ignore_ascii_case(name))
            .count() as u64;
        assert_eq!(page.total, expected);
    }
}

proptest! {
    #![proptest_config(strategies::config())]

    /// store ≡ BTreeMap model after every operation of any sequence
    #[test]
    fn store_agrees_with_model(ops in proptest::collection::vec(strategies::store_op(), 1..40)) {
        let store = Store::new(Arc::new(SystemClock), Arc::new(SequentialIds::new()), "http://h/scim/v2");
        let mut model = Model::default();
        for op in &ops {
            step(&store, &mut model, op);
            check(&store, &model);
        }
    }
}

proptest! {
    #![proptest_config(strategies::http_config())]

    /// over HTTP: create/get/delete users agree with the model's view of which ids exist
    #[test]
    fn http_server_agrees_with_model(ops in proptest::collection::vec(strategies::store_http_op(), 1..12)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let s = server();
            let mut model: BTreeMap<String, String> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::CreateUser(i) => {
                        let body = json!({"userName": NAMES[i]}).to_string();
                        let a = send(&s, "POST", "/Users", Some(&body), &[]).await;
                        let taken = model.values().any(|n| n.eq_ignore_ascii_case(NAMES[i]));
                        assert_eq!(a.status, if taken { 409 } else { 201 });
                        if a.status == 201 {
                            model.insert(a.json()["id"].as_str().unwrap().to_owned(), NAMES[i].to_owned());
                        }
                    }
                    Op::GetUser(slot) => {
                        let id = model.keys().nth(slot).cloned().unwrap_or_else(|| "nope".into());
                        let a = send(&s, "GET", &format!("/Users/{id}"), None, &[]).await;
                        assert_eq!(a.status, if model.contains_key(&id) { 200 } else { 404 });
                    }
                    Op::DeleteUser(slot) => {
                        let id = model.keys().nth(slot).cloned().unwrap_or_else(|| "nope".into());
                        let a = send(&s, "DELETE", &format!("/Users/{id}"), None, &[]).await;
                        assert_eq!(a.status, if model.remove(&id).is_some() { 204 } else { 404 });
                    }
                    other => unreachable!("store_http_op drew {other:?}"),
                }
                assert_eq!(s.users().len(), model.len());
            }
        });
    }
}

// ---- indexed and scanned filters agree ---------------------------------------------

/// A filter over the users [`strategies::user`] draws: `eq` on what the store indexes
/// (`userName`, `externalId`, a matching attribute `emails[type eq "work"].value`),
/// ranges on the ordered `userName`, and attributes only a scan answers, joined by
/// `and`/`or`/`not` so some index lookups narrow and some must not.
fn indexed_filter() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("a".to_owned()),
        Just("B".to_owned()),
        Just("barbara".to_owned()),
        "[a-z]{1,3}",
    ];
    let leaf = (0usize..9, word, any::<bool>()).prop_map(|(k, w, b)| match k {
        0 => format!("userName eq \"{w}\""),
        1 => format!("USERNAME sw \"{w}\""),
        2 => format!("userName gt \"{w}\""),
        3 => format!("externalId eq \"{w}\""),
        4 => format!("emails[type eq \"work\"].value eq \"{w}@example.com\""),
        5 => format!("emails[type eq \"work\" and value co \"{w}\"]"),
        6 => format!("active eq {b}"),
        7 => format!("name.familyName eq \"{w}\""),
        _ => "nickName pr".to_owned(),
    });
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// `Store::list` (index candidates, ordered ranges, projected scans) returns exactly
    /// the users that evaluating the filter on each whole resource selects.
    #[test]
    fn indexed_and_scanned_filters_agree(
        users in proptest::collection::vec(strategies::user(), 0..16),
        external in proptest::collection::vec(proptest::option::of("[aAbB]{1,2}"), 16),
        text in indexed_filter(),
    ) {
        let store = Store::new(
            Arc::new(SystemClock),
            Arc::new(SequentialIds::new()),
            "http://h/scim/v2",
        )
        .with_matching(ResourceKind::User, ["emails[type eq \"work\"].value"]);
        for (mut u, ext) in users.into_iter().zip(external) {
            if let (Some(obj), Some(e)) = (u.as_object_mut(), ext) {
                obj.insert("externalId".into(), json!(e));
            }
            // Case-insensitive userName collisions are refused; that is not under test.
            let _ = store.create(ResourceKind::User, u);
        }
        let f = scimock::filter::parse(&text).unwrap();
        let schema = store.schema(ResourceKind::User);
        let want: BTreeSet<String> = store
            .all(ResourceKind::User)
            .into_iter()
            .filter(|r| scimock::filter::matches(&f, r, Some(schema)).unwrap())
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        let query = scimock::store::Query {
            filter: Some(&f),
            count: u64::MAX,
            ..Default::default()
        };
        let page = store.list(ResourceKind::User, &query).unwrap();
        let got: BTreeSet<String> = page
            .resources
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        prop_assert_eq!(page.total, got.len() as u64);
        prop_assert_eq!(got, want, "{}", text);
    }
}
