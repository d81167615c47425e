//! What the strategies generate, scimock's model accepts: Entra sends it, so an endpoint
//! that refuses it is judged for it.

use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::entra::{wire, Dialect};
use crate::fuzz::{Kind, Model, Step, GROUP_SLOTS, USER_SLOTS};
use crate::profile::Profile;

fn model() -> Model {
    Model::new(&Profile::default()).unwrap()
}

fn ops(body: &Value) -> Vec<&str> {
    body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["op"].as_str().unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn entra_users_and_groups_are_created_and_read_back(user in entra_user(), group in entra_group()) {
        let m = model();
        let created = m.send("POST", "/Users", Some(&user));
        prop_assert_eq!(created.status, 201, "{:?}", created.json);
        let id = created.json.unwrap()["id"].as_str().unwrap().to_owned();
        let read = m.send("GET", &wire::resource_path("Users", &id), None).json.unwrap();
        prop_assert_eq!(&read["userName"], &user["userName"]);
        let active = user["active"] == true || user["active"] == "True";
        prop_assert_eq!(&read["active"], &Value::Bool(active));
        let name = user["userName"].as_str().unwrap();
        let (local, domain) = name.split_once('@').unwrap();
        prop_assert!(domain == "contoso.com" && !local.is_empty() && local.len() <= 64);
        prop_assert!(!local.starts_with('.') && !local.ends_with('.') && !local.contains(".."));
        prop_assert_eq!(m.send("POST", "/Groups", Some(&group)).status, 201);
    }

    #[test]
    fn entra_filters_parse_and_are_answered(f in entra_filter()) {
        let parsed = crate::filter::parse(&f);
        prop_assert!(parsed.is_ok(), "{}", f);
        let collection = if f.starts_with("displayName") { "Groups" } else { "Users" };
        let query = form_urlencoded::Serializer::new(String::new()).append_pair("filter", &f).finish();
        let answer = model().send("GET", &format!("/{collection}?{query}"), None);
        prop_assert_eq!(answer.status, 200);
    }

    #[test]
    fn entra_patches_apply_in_their_dialect(
        user in entra_user(),
        legacy in entra_user_patch(Dialect::Legacy),
        flag in entra_user_patch(Dialect::AadOptscim062020),
    ) {
        let m = model();
        let created = m.send("POST", "/Users", Some(&user)).json.unwrap();
        let path = wire::resource_path("Users", created["id"].as_str().unwrap());
        for (body, capital) in [(&legacy, true), (&flag, false)] {
            for op in ops(body) {
                prop_assert_eq!(op.starts_with(char::is_uppercase), capital, "{}", body);
            }
            let answer = m.send("PATCH", &path, Some(body));
            prop_assert!((200..300).contains(&answer.status), "{} → {:?}", body, answer);
        }
        // Booleans as strings in the legacy dialect only.
        prop_assert!(!flag.to_string().contains("\"False\"") && !flag.to_string().contains("\"True\""));
    }

    #[test]
    fn entra_group_patches_apply(dialect in prop::sample::select(Dialect::BOTH.to_vec()), users in prop::collection::vec(entra_user(), 1..4), group in entra_group()) {
        let m = model();
        let mut ids = Vec::new();
        for u in &users {
            if let Some(j) = m.send("POST", "/Users", Some(u)).json.filter(|j| j["id"].is_string()) {
                ids.push(j["id"].as_str().unwrap().to_owned());
            }
        }
        let gid = m.send("POST", "/Groups", Some(&group)).json.unwrap()["id"].as_str().unwrap().to_owned();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let patch = entra_group_patch(dialect, ids).new_tree(&mut runner).unwrap().current();
        let answer = m.send("PATCH", &wire::resource_path("Groups", &gid), Some(&patch));
        prop_assert!((200..300).contains(&answer.status), "{} → {:?}", patch, answer);
    }

    #[test]
    fn steps_address_the_slots_and_sequences_keep_their_budget(
        drawn in steps(true, 1..20),
        members in membership(0..10),
        seeded in sequence(25, false),
    ) {
        for s in drawn.iter().chain(&members) {
            let ok = match s {
                Step::CreateUser { slot, .. } | Step::Query { slot, .. } | Step::Update { slot, .. }
                | Step::SetActive { slot, .. } => *slot < USER_SLOTS,
                Step::Read { kind: Kind::User, slot } | Step::Delete { kind: Kind::User, slot } => *slot < USER_SLOTS,
                Step::CreateGroup { slot, .. } | Step::RenameGroup { slot, .. } | Step::QueryGroup { slot, .. }
                | Step::Read { kind: Kind::Group, slot } | Step::Delete { kind: Kind::Group, slot } => *slot < GROUP_SLOTS,
                Step::AddMembers { group, users } | Step::RemoveMembers { group, users } => {
                    *group < GROUP_SLOTS && users.iter().all(|u| *u < USER_SLOTS)
                }
                Step::CreateClash { of, .. } => *of < USER_SLOTS,
            };
            prop_assert!(ok, "{:?}", s);
        }
        let opens_with_a_create = matches!(members[0], Step::CreateUser { .. });
        prop_assert!(opens_with_a_create);
        prop_assert!(!seeded.is_empty() && seeded.len() <= 25);
        let no_group = seeded.iter().all(|s| !matches!(s, Step::CreateGroup { .. }));
        prop_assert!(no_group);
    }
}
