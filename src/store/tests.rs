use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::clock::{FixedClock, SequentialIds};
use crate::scim::urn;
use crate::store::MemberOp;

fn store() -> Store {
    let clock = FixedClock(time::macros::datetime!(2024-01-02 03:04:05 UTC));
    Store::new(
        Arc::new(clock),
        Arc::new(SequentialIds::new()),
        "http://h/scim/v2",
    )
}

fn user(name: &str) -> Value {
    json!({"schemas": [urn::USER], "userName": name})
}

#[test]
fn create_assigns_id_and_meta_and_ignores_client_id() {
    let s = store();
    let u = s
        .create(ResourceKind::User, json!({"userName": "a", "id": "mine"}))
        .unwrap();
    assert_eq!(u["id"], "00000000000000000001");
    assert_eq!(u["meta"]["version"], "W/\"1\"");
    assert_eq!(u["meta"]["created"], "2024-01-02T03:04:05.000Z");
    assert_eq!(
        u["meta"]["location"],
        "http://h/scim/v2/Users/00000000000000000001"
    );
}

#[test]
fn user_name_is_unique_case_insensitively() {
    let s = store();
    s.create(ResourceKind::User, user("Alice")).unwrap();
    let e = s.create(ResourceKind::User, user("alice")).unwrap_err();
    assert!(e.kind() == crate::error::ErrorKind::Uniqueness);
}

#[test]
fn deleting_a_user_removes_it_from_every_group() {
    let s = store();
    let u = s.create(ResourceKind::User, user("a")).unwrap();
    let id = u["id"].as_str().unwrap();
    let g = s
        .create(
            ResourceKind::Group,
            json!({"displayName": "g", "members": [{"value": id}]}),
        )
        .unwrap();
    assert_eq!(g["members"][0]["type"], "User");
    s.delete(ResourceKind::User, id, None).unwrap();
    let g = s
        .get(ResourceKind::Group, g["id"].as_str().unwrap(), true)
        .unwrap();
    assert_eq!(g["members"], json!([]));
    assert_eq!(g["meta"]["version"], "W/\"2\"");
}

#[test]
fn failed_member_add_leaves_group_unchanged() {
    let s = store();
    let u = s.create(ResourceKind::User, user("a")).unwrap();
    let uid = u["id"].as_str().unwrap().to_owned();
    let g = s
        .create(ResourceKind::Group, json!({"displayName": "g"}))
        .unwrap();
    let gid = g["id"].as_str().unwrap();
    let err = s
        .patch_with(ResourceKind::Group, gid, None, true, |r| {
            Ok((
                r.clone(),
                vec![
                    MemberOp::Add(vec![json!({"value": uid})]),
                    MemberOp::Add(vec![json!({"value": "ghost"})]),
                ],
                false,
            ))
        })
        .unwrap_err();
    assert!(
        err.kind() == crate::error::ErrorKind::InvalidValue && err.to_string().contains("ghost")
    );
    let g = s.get(ResourceKind::Group, gid, true).unwrap();
    assert_eq!(g["members"], json!([]));
}

#[test]
fn eq_filter_on_user_name_uses_the_index_and_matches_case_insensitively() {
    let s = store();
    s.create(ResourceKind::User, user("Bob")).unwrap();
    let f = crate::filter::parse(r#"userName eq "bob""#).unwrap();
    let page = s
        .list(
            ResourceKind::User,
            &Query {
                filter: Some(&f),
                count: 10,
                ..Query::default()
            },
        )
        .unwrap();
    assert_eq!(page.total, 1);
}

#[test]
fn if_match_mismatch_is_a_precondition_failure() {
    let s = store();
    let u = s.create(ResourceKind::User, user("a")).unwrap();
    let e = s
        .delete(
            ResourceKind::User,
            u["id"].as_str().unwrap(),
            Some("W/\"9\""),
        )
        .unwrap_err();
    assert!(e.kind() == crate::error::ErrorKind::PreconditionFailed);
}

#[test]
fn a_profile_matching_attribute_is_indexed_and_kept_current() {
    let s = store().with_matching(
        ResourceKind::User,
        [r#"emails[type eq "work"].value"#, "userName"],
    );
    let with_mail = |name: &str, mail: &str| json!({"userName": name, "emails": [{"type": "home", "value": "h@x"}, {"type": "work", "value": mail}]});
    let a = s
        .create(ResourceKind::User, with_mail("a", "A@Contoso.com"))
        .unwrap();
    s.create(ResourceKind::User, with_mail("b", "b@contoso.com"))
        .unwrap();
    let id = a["id"].as_str().unwrap().to_owned();
    let f = crate::filter::parse(r#"emails[type eq "work"].value eq "a@contoso.com""#).unwrap();
    // The index answers (a candidate list, not a scan) …
    assert_eq!(
        s.read().candidates(ResourceKind::User, &f),
        Some(vec![id.clone()])
    );
    let home = crate::filter::parse(r#"emails[type eq "home"].value eq "h@x""#).unwrap();
    assert_eq!(
        s.read().candidates(ResourceKind::User, &home),
        None,
        "not a matching attribute"
    );
    // … and follows replace and delete.
    s.replace(
        ResourceKind::User,
        &id,
        with_mail("a", "new@contoso.com"),
        None,
    )
    .unwrap();
    assert_eq!(s.read().candidates(ResourceKind::User, &f), Some(vec![]));
    let g = crate::filter::parse(r#"emails[type eq "work"].value eq "NEW@contoso.com""#).unwrap();
    assert_eq!(
        s.read().candidates(ResourceKind::User, &g),
        Some(vec![id.clone()])
    );
    let page = s
        .list(
            ResourceKind::User,
            &Query {
                filter: Some(&g),
                count: 10,
                ..Query::default()
            },
        )
        .unwrap();
    assert_eq!(page.total, 1);
    s.delete(ResourceKind::User, &id, None).unwrap();
    assert_eq!(s.read().candidates(ResourceKind::User, &g), Some(vec![]));
    s.clear();
    assert_eq!(
        s.read().candidates(ResourceKind::User, &g),
        Some(vec![]),
        "kept after clear"
    );
}

mod ordered_index {
    //! The ordered unique-name index (`sw`/`gt`/`ge`/`lt`/`le` ranges, `sortBy=userName`
    //! read off the index, top-k sorts) answers exactly what evaluating the filter on
    //! every resource and fully sorting answers.
    use proptest::prelude::*;

    use super::*;
    use crate::filter::{parse, AttrPath, Filter};

    /// Names with case variants, shared prefixes, non-ASCII letters and digits.
    fn name() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[aAbBéÉz0-9_]{0,4}").unwrap()
    }

    fn scan(s: &Store, kind: ResourceKind, filter: &Filter) -> Vec<String> {
        let schema = s.schema(kind);
        let mut ids: Vec<String> = s
            .all(kind)
            .into_iter()
            .filter(|r| crate::filter::matches(filter, r, Some(schema)).unwrap())
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    }

    fn query<'a>(filter: Option<&'a Filter>, sort: Option<&'a AttrPath>) -> Query<'a> {
        Query {
            filter,
            sort_by: sort,
            descending: false,
            start_index: 1,
            count: u64::MAX,
            with_members: false,
        }
    }

    fn ids(page: &Page) -> Vec<String> {
        page.resources
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn ranges_and_sorts_agree_with_a_scan(
            names in proptest::collection::vec(name(), 0..24),
            probe in name(),
            op in 0usize..6,
            extra in any::<bool>(),
            descending in any::<bool>(),
            start in 1u64..6,
            count in 0u64..6,
        ) {
            let s = store();
            for (i, n) in names.iter().enumerate() {
                // Unique names may collide case-insensitively: those are refused, as always.
                let _ = s.create(ResourceKind::User, json!({
                    "userName": format!("{n}{}", if i % 3 == 0 { "" } else { "x" }),
                    "active": i % 2 == 0,
                }));
                let _ = s.create(ResourceKind::Group, json!({"displayName": n}));
            }
            let op = ["sw", "gt", "ge", "lt", "le", "eq"][op];
            for (kind, attr) in [(ResourceKind::User, "userName"), (ResourceKind::Group, "displayName")] {
                let mut text = format!("{attr} {op} {}", serde_json::to_string(&probe).unwrap());
                if extra && kind == ResourceKind::User {
                    text = format!("active eq true and {text}");
                }
                let f = parse(&text).unwrap();
                let indexed = s.list(kind, &query(Some(&f), None)).unwrap();
                let mut got = ids(&indexed);
                got.sort();
                prop_assert_eq!(&got, &scan(&s, kind, &f), "{}", text);
                prop_assert_eq!(indexed.total, got.len() as u64);

                // sortBy on the unique name: the index order against a full sort.
                let crate::filter::PatchPath::Attr(path) = crate::filter::parse_path(attr).unwrap() else {
                    unreachable!("a plain attribute path")
                };
                let mut all: Vec<Value> = s.all(kind);
                let key = |v: &Value| v[attr].as_str().unwrap().to_lowercase();
                all.sort_by(|a, b| {
                    let o = key(a).cmp(&key(b));
                    (if descending { o.reverse() } else { o })
                        .then_with(|| a["id"].as_str().cmp(&b["id"].as_str()))
                });
                let want: Vec<String> = all
                    .iter()
                    .skip(start as usize - 1)
                    .take(count as usize)
                    .map(|r| r["id"].as_str().unwrap().to_owned())
                    .collect();
                let mut q = query(None, Some(&path));
                q.descending = descending;
                q.start_index = start;
                q.count = count;
                let page = s.list(kind, &q).unwrap();
                prop_assert_eq!(ids(&page), want.clone(), "sortBy {} desc={}", attr, descending);
                prop_assert_eq!(page.total, all.len() as u64);
                // The same with a filter that needs a scan: the top-k partial sort.
                let any = parse("meta.resourceType pr").unwrap();
                let mut q = query(Some(&any), Some(&path));
                q.descending = descending;
                q.start_index = start;
                q.count = count;
                prop_assert_eq!(ids(&s.list(kind, &q).unwrap()), want, "top-k {}", attr);
            }
        }
    }
}

#[test]
fn reset_restores_exactly_the_state_the_seed_built() {
    let s = store();
    s.set_seed(json!({
        "Users": [
            {"id": "u1", "userName": "alice", "externalId": "a-1",
             "emails": [{"value": "a@example.com", "type": "work"}]},
            {"userName": "bob"}
        ],
        "Groups": [
            {"id": "g1", "displayName": "outer", "members": [{"value": "u1"}, {"value": "g2"}]},
            {"id": "g2", "displayName": "inner", "members": [{"value": "u1"}]}
        ]
    }))
    .unwrap();
    let seeded = s.export();
    // Change everything the snapshot must not see.
    s.delete(ResourceKind::User, "u1", None).unwrap();
    s.create(ResourceKind::User, user("carol")).unwrap();
    s.replace(
        ResourceKind::Group,
        "g2",
        json!({"displayName": "renamed"}),
        None,
    )
    .unwrap();
    assert_ne!(s.export(), seeded);
    for _ in 0..2 {
        s.reset().unwrap();
        assert_eq!(s.export(), seeded);
        // The indexes came back with the entries: a name, an externalId and a reverse
        // membership lookup all answer.
        assert!(s
            .state
            .read()
            .unwrap()
            .id_by_name(ResourceKind::User, "ALICE")
            .is_some());
        let f = crate::filter::parse(r#"externalId eq "a-1""#).unwrap();
        let q = Query {
            filter: Some(&f),
            count: 10,
            ..Default::default()
        };
        assert_eq!(s.list(ResourceKind::User, &q).unwrap().total, 1);
        assert_eq!(
            s.read().groups_of("u1"),
            vec!["g1".to_owned(), "g2".to_owned()]
        );
        s.read().check_membership().unwrap();
        s.create(ResourceKind::User, user("dave")).unwrap();
    }
}

#[test]
fn a_streamed_seed_loads_what_the_same_text_loads_and_fails_with_the_same_words() {
    let text = serde_json::to_vec(&json!({
        "Groups": [{"id": "g1", "displayName": "team", "members": [{"value": "u1"}]}],
        "Users": [{"id": "u1", "userName": "alice"}, {"id": "u2", "userName": "bob", "active": true}]
    }))
    .unwrap();
    let (streamed, buffered) = (store(), store());
    streamed.set_seed_reader(&text[..]).unwrap();
    buffered.set_seed_text(text.clone()).unwrap();
    assert_eq!(streamed.export(), buffered.export());
    streamed.delete(ResourceKind::User, "u2", None).unwrap();
    streamed.reset().unwrap();
    assert_eq!(streamed.export(), buffered.export());

    let cases: &[(&str, &str)] = &[
        (
            r#"{"Users": [], "Extra": 1}"#,
            "unknown top-level key `Extra`",
        ),
        (
            r#"{"Users": {"userName": "x"}}"#,
            "`Users` must be an array",
        ),
        (r#"[1, 2]"#, "must be a JSON object"),
        (r#"{"Users": [{"userName": "x"}"#, "not valid JSON"),
        (
            r#"{"Users": [{"userName": "x"}, {"userName": 7}]}"#,
            "Users[1]: ",
        ),
        (
            r#"{"Users": [{"userName": "x"}, {"userName": "X"}]}"#,
            "already used",
        ),
        (r#"{"Users": []} trailing"#, "not valid JSON"),
    ];
    for (input, words) in cases {
        let s = store();
        s.set_seed_text(b"{\"Users\": [{\"userName\": \"kept\"}]}".to_vec())
            .unwrap();
        let err = s.set_seed_reader(input.as_bytes()).unwrap_err().to_string();
        assert!(err.contains(words), "{input}: {err}");
        // A failed load changes nothing.
        assert_eq!(s.all(ResourceKind::User)[0]["userName"], "kept", "{input}");
    }
}

#[test]
fn only_index_answered_filters_are_reported_as_such() {
    let s = store().with_matching(ResourceKind::User, ["emails[type eq \"work\"].value"]);
    s.create(ResourceKind::User, user("alice")).unwrap();
    let answered =
        |f: &str| s.answers_from_index(ResourceKind::User, &crate::filter::parse(f).unwrap());
    assert!(answered(r#"userName eq "alice""#));
    assert!(answered(r#"externalId eq "x" and active eq true"#));
    assert!(answered(r#"userName sw "al""#));
    assert!(answered(
        r#"emails[type eq "work"].value eq "a@example.com""#
    ));
    assert!(!answered(r#"name.familyName eq "x""#));
    assert!(!answered(r#"userName eq "a" or active eq true"#));
    assert!(!answered(r#"userName ne "alice""#));
}
