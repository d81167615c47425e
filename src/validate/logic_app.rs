//! The direct SCIM tests of Microsoft's Logic App "SCIM Validation" template
//! (AzureAD/SCIMReferenceCode, `Microsoft.SCIM.LogicAppValidationTemplate`,
//! SCIM-Validation-Test-Overview.md). The template also drives the real provisioning engine
//! (assignment, provision on demand, OAuth and federated-identity tokens); those tests need a
//! tenant and are listed by [`ENGINE_TESTS`], not run. Every request here sends
//! `Accept: application/scim+json`, as the template's workflow does.

use serde_json::{json, Value};

use super::validator::{fresh_user, group_body, Steps};
use super::values::{Discovered, Gen};
use super::{scenario, Options, Suite, Test};
use crate::replay::ScenarioError;
use crate::scim::urn;

const SOURCE: &str = "AzureAD/SCIMReferenceCode, Microsoft.SCIM.LogicAppValidationTemplate (SCIM-Validation-Test-Overview.md, SCIMTests_Workflow.json)";

/// Template tests that need the real Entra provisioning engine or a tenant: not offline.
pub const ENGINE_TESTS: [&str; 9] = [
    "User Create / Update / Disable / Delete through the provisioning engine",
    "User Update_Manager through the provisioning engine",
    "User Restore (unassign, delete, reassign) through the provisioning engine",
    "User provision on demand",
    "Group Create / Update / Delete / Add_Member / Remove_Member through the engine",
    "Group provision on demand",
    "Group Restore",
    "OAuth client-credentials token",
    "Federated identity credential",
];

fn accept(mut steps: Value) -> Value {
    if let Some(list) = steps.as_array_mut() {
        for s in list {
            s["request"]["headers"] = json!({"Accept": "application/scim+json"});
        }
    }
    steps
}

fn test(
    name: &str,
    mandatory: bool,
    note: &str,
    groups: bool,
    steps: Value,
) -> Result<Test, ScenarioError> {
    Ok(Test {
        suite: Suite::LogicApp,
        mandatory,
        scenario: scenario(name, mandatory, note, SOURCE, groups, accept(steps))?,
    })
}

/// The template's direct SCIM tests.
pub fn tests(all: &Discovered, opts: &Options) -> Result<Vec<Test>, ScenarioError> {
    // The template's direct tests create users with what Entra's default mapping writes,
    // not every writable attribute (its generated bodies are not published).
    let defaults = all.entra_defaults();
    let d = &defaults;
    let mut g = Gen::new(opts.seed.map(|s| s ^ 0x5c1a), false);
    let st = Steps { raw: false };
    let mut out = Vec::new();
    let by_name = |upn: &str| format!("userName eq \"{upn}\"");

    let names: Vec<&str> = [
        "userName",
        "displayName",
        "active",
        "emails",
        "externalId",
        "members",
    ]
    .into_iter()
    .filter(|n| !d.names.contains(&n.to_ascii_lowercase()))
    .collect();
    out.push(test("Schema_Discoverability_Test", true,
        &format!("GET /Schemas must list the User and Group schemas; attribute names are compared case-insensitively{}",
            if names.is_empty() { String::new() } else { format!(" (missing here: {})", names.join(", ")) }),
        false, json!([{
            "name": "GET /Schemas", "request": {"method": "GET", "path": "/Schemas"},
            "expect": {"status": 200, "body": {"Resources": []}, "ignore": ["/Resources"]},
            "consequence": "The template fails the mandatory schema test: gallery onboarding stops here (AzureAD/SCIMReferenceCode, SCIM Validation template: Schema_Discoverability_Test)"
        }, {
            "name": "User and Group schemas", "request": {"method": "GET", "path": "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group"},
            "expect": {"status": 200},
            "consequence": "Group support is mandatory in the template: a missing Group schema fails it (AzureAD/SCIMReferenceCode, SCIM Validation template: Schema_Discoverability_Test)"
        }]))?);

    // Null update: "" on every mapped target, then null, and the attributes must read back empty.
    let (_, _, body) = fresh_user(&mut g, d);
    // The default mapping's targets the endpoint declares: the department only with the
    // enterprise extension (a path the endpoint does not declare is refused, rightly).
    let department = format!("{}:department", urn::ENTERPRISE_USER);
    let declared = |name: &str| all.names.iter().any(|n| n.eq_ignore_ascii_case(name));
    let targets: Vec<&str> = [
        ("title", declared("title")),
        ("nickName", declared("nickName")),
        ("name.givenName", declared("givenName")),
        ("emails[type eq \"work\"].value", declared("emails")),
        (department.as_str(), all.enterprise.is_some()),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(t, _)| t)
    .collect();
    let empty: Vec<Value> = targets
        .iter()
        .map(|t| json!({"op": "replace", "path": t, "value": ""}))
        .collect();
    let null: Vec<Value> = targets
        .iter()
        .map(|t| json!({"op": "replace", "path": t, "value": null}))
        .collect();
    out.push(test("SCIM_Null_Update_Test", true,
        "PATCH replace with \"\" on simple, dotted, value-path and URN targets, then with null, then GET: the attributes must be empty or gone (RFC 7643 §2.5: null is unassigned). The template's exact target list follows the app's mapping; ours is the default mapping's",
        false, json!([
            st.post("POST /Users", "/Users", &body, "user_id"),
            st.patch("replace with \"\"", "/Users/${user_id}", Value::Array(empty)),
            st.patch("replace with null", "/Users/${user_id}", Value::Array(null)),
            {"name": "GET /Users/{id}", "request": {"method": "GET", "path": "/Users/${user_id}"},
             "expect": {"status": 200, "empty": targets.iter().filter(|t| !t.contains(['[', ':'])).map(|t| format!("/{}", t.replace('.', "/"))).collect::<Vec<_>>()}},
        ]))?);

    let (upn, _, body) = fresh_user(&mut g, d);
    out.push(test(
        "SCIM_User_Create_Update_Test",
        true,
        "POST a user, find it by userName, replace displayName, read it back",
        false,
        json!([
            st.post("POST /Users", "/Users", &body, "user_id"),
            st.filter("GET by filter", "/Users", &by_name(&upn), 1, &[]),
            st.patch(
                "PATCH displayName",
                "/Users/${user_id}",
                json!([{"op": "replace", "path": "displayName", "value": "Updated Name"}])
            ),
            st.get(
                "GET /Users/{id}",
                "/Users/${user_id}",
                200,
                Some(json!({"displayName": "Updated Name"}))
            ),
        ]),
    )?);

    let (upn, ext, body) = fresh_user(&mut g, d);
    out.push(test("Restore_User_Test", true,
        "unassign -> delete -> reassign: DELETE the user, then POST the same userName and externalId again: 201 (soft deletes that keep the userName reserved answer 409)",
        false, json!([
            st.post("POST /Users", "/Users", &body, "user_id"),
            st.delete("DELETE", "/Users/${user_id}", 204),
            st.post("POST again (same userName, externalId)", "/Users", &body, "user_id_2"),
            {"name": "GET by filter", "request": {"method": "GET", "path": "/Users", "query": {"filter": by_name(&upn)}},
             "expect": {"status": 200, "body": {"totalResults": 1, "Resources": [{"id": "${user_id_2}", "externalId": ext}]}}},
        ]))?);

    let mut steps = Vec::new();
    for i in 0..6 {
        let (_, _, body) = fresh_user(&mut g, d);
        steps.push(st.post(
            &format!("POST /Users {}", i + 1),
            "/Users",
            &body,
            &format!("u{i}"),
        ));
    }
    for (page, start) in [(1, "1"), (2, "6")] {
        steps.push(json!({"name": format!("page {page}"), "request": {"method": "GET", "path": "/Users", "query": {"startIndex": start, "count": "5"}},
            "expect": {"status": 200, "body": {"startIndex": start.parse::<u64>().unwrap_or(1)}, "exists": ["/Resources/0"]}}));
    }
    out.push(test("SCIM_User_Pagination_Test", true,
        "GET /Users?startIndex=N&count=5 over two pages (six users created first); each page echoes its startIndex",
        false, Value::Array(steps))?);

    let mgr = format!("{}:manager", urn::ENTERPRISE_USER);
    let (_, _, user) = fresh_user(&mut g, d);
    let (_, _, m1) = fresh_user(&mut g, d);
    let (_, _, m2) = fresh_user(&mut g, d);
    out.push(test("SCIM_Manager_Test", true,
        "manager set (add), change (replace), remove (replace with empty), each read back",
        false, json!([
            st.post("POST /Users (user)", "/Users", &user, "user_id"),
            st.post("POST /Users (manager 1)", "/Users", &m1, "m1"),
            st.post("POST /Users (manager 2)", "/Users", &m2, "m2"),
            st.patch("set", "/Users/${user_id}", json!([{"op": "add", "path": mgr, "value": "${m1}"}])),
            st.get("read set", "/Users/${user_id}", 200, Some(json!({urn::ENTERPRISE_USER: {"manager": {"value": "${m1}"}}}))),
            st.patch("change", "/Users/${user_id}", json!([{"op": "replace", "path": mgr, "value": "${m2}"}])),
            st.get("read change", "/Users/${user_id}", 200, Some(json!({urn::ENTERPRISE_USER: {"manager": {"value": "${m2}"}}}))),
            st.patch("remove", "/Users/${user_id}", json!([{"op": "replace", "path": mgr, "value": ""}])),
            {"name": "read remove", "request": {"method": "GET", "path": "/Users/${user_id}"},
             "expect": {"status": 200, "empty": [format!("/{}/manager/value", urn::ENTERPRISE_USER.replace('/', "~1"))]}},
        ]))?);

    let (upn, _, body) = fresh_user(&mut g, d);
    out.push(test("SCIM_User_Disable_Test", true,
        "replace active false; the user is still found by userName, inactive",
        false, json!([
            st.post("POST /Users", "/Users", &body, "user_id"),
            st.patch("disable", "/Users/${user_id}", json!([{"op": "replace", "path": "active", "value": false}])),
            {"name": "GET by filter", "request": {"method": "GET", "path": "/Users", "query": {"filter": by_name(&upn)}},
             "expect": {"status": 200, "body": {"totalResults": 1, "Resources": [{"id": "${user_id}", "active": false}]}}},
        ]))?);

    let (_, _, body) = fresh_user(&mut g, d);
    out.push(test(
        "SCIM_User_Delete_Test",
        false,
        "DELETE, then GET 404",
        false,
        json!([
            st.post("POST /Users", "/Users", &body, "user_id"),
            st.delete("DELETE", "/Users/${user_id}", 204),
            st.get("GET after delete", "/Users/${user_id}", 404, None),
        ]),
    )?);

    if opts.groups {
        let name = g.word();
        let (_, _, m1) = fresh_user(&mut g, d);
        let (_, _, m2) = fresh_user(&mut g, d);
        out.push(test("SCIM_Group_Create_Update_Test", true,
            "POST a group, find it by displayName, add two members in one PATCH, remove one, rename",
            true, json!([
                st.post("POST /Users 1", "/Users", &m1, "m1"),
                st.post("POST /Users 2", "/Users", &m2, "m2"),
                st.post("POST /Groups", "/Groups", &group_body(&name, &g.uuid()), "group_id"),
                st.filter("GET by filter", "/Groups", &format!("displayName eq \"{name}\""), 1, &[("excludedAttributes", "members")]),
                st.patch("add two members", "/Groups/${group_id}", json!([{"op": "add", "path": "members", "value": [{"value": "${m1}"}, {"value": "${m2}"}]}])),
                st.patch("remove one", "/Groups/${group_id}", json!([{"op": "remove", "path": "members[value eq \"${m1}\"]"}])),
                st.patch("rename", "/Groups/${group_id}", json!([{"op": "replace", "path": "displayName", "value": format!("{name} renamed")}])),
            ]))?);
        let mut steps = Vec::new();
        for i in 0..6 {
            let name = g.word();
            steps.push(st.post(
                &format!("POST /Groups {}", i + 1),
                "/Groups",
                &group_body(&name, &g.uuid()),
                &format!("g{i}"),
            ));
        }
        for (page, start) in [(1, 1u64), (2, 6)] {
            steps.push(json!({"name": format!("page {page}"), "request": {"method": "GET", "path": "/Groups", "query": {"startIndex": start.to_string(), "count": "5", "excludedAttributes": "members"}},
                "expect": {"status": 200, "body": {"startIndex": start}, "exists": ["/Resources/0"]}}));
        }
        out.push(test(
            "SCIM_Group_Pagination_Test",
            false,
            "GET /Groups?startIndex=N&count=5 over two pages (optional in the template)",
            true,
            Value::Array(steps),
        )?);
    }
    Ok(out)
}
