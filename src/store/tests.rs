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
