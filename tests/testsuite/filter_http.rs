//! Filters over HTTP (issue #32), against a server on 127.0.0.1:0: `pr` on a
//! multi-valued complex attribute whose elements have no `value`, and ordering a boolean
//! or binary refused whatever the data (both RFC 7644 §3.4.2.2).

use serde_json::{json, Value};

use crate::support::{send, server, Answer};

/// `GET /Users?filter=<filter>`, the filter form-encoded.
async fn users_where(s: &scimock::MockServer, filter: &str) -> Answer {
    let q: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    send(s, "GET", &format!("/Users?filter={q}"), None, &[]).await
}

/// The `userName`s of a list answer, in order.
fn names(a: &Answer) -> Vec<String> {
    assert_eq!(a.status, 200, "{:?}", a.json());
    a.json()["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect()
}

async fn create(s: &scimock::MockServer, user: Value) {
    let a = send(s, "POST", "/Users", Some(&user.to_string()), &[]).await;
    assert_eq!(a.status, 201, "{:?}", a.json());
}

#[tokio::test]
async fn addresses_pr_finds_a_user_whose_address_has_a_type_and_locality_but_no_value() {
    let s = server();
    create(
        &s,
        json!({"userName": "addressed",
               "addresses": [{"type": "work", "locality": "Hollywood"}]}),
    )
    .await;
    create(&s, json!({"userName": "homeless"})).await;
    create(
        &s,
        json!({"userName": "blank", "addresses": [{"type": null, "locality": null}]}),
    )
    .await;
    assert_eq!(names(&users_where(&s, "addresses pr").await), ["addressed"]);
    assert_eq!(
        names(&users_where(&s, "addresses ne null").await),
        ["addressed"]
    );
    let absent = ["homeless", "blank"];
    assert_eq!(names(&users_where(&s, "addresses eq null").await), absent);
    assert_eq!(names(&users_where(&s, "not (addresses pr)").await), absent);
    // Comparisons still read the `value` sub-attribute, which this address lacks.
    assert!(names(&users_where(&s, "addresses co \"Holly\"").await).is_empty());
}

/// Ordering a boolean or binary anywhere in the tree: refused before any user is read.
const UNORDERABLE: &[&str] = &[
    "active gt true",
    r#"userName eq "nobody" and active gt true"#,
    r#"x509Certificates[value lt "x"]"#,
    "not (active le false)",
    r#"userName pr or emails[primary ge true]"#,
    r#"emails[type eq "work"].primary gt false"#,
];

#[tokio::test]
async fn ordering_a_boolean_or_binary_is_invalid_filter_whatever_the_users_hold() {
    let s = server();
    for round in ["no users", "one user"] {
        for f in UNORDERABLE {
            let a = users_where(&s, f).await;
            assert_eq!(a.status, 400, "{f} with {round}: {:?}", a.json());
            assert_eq!(a.json()["scimType"], "invalidFilter", "{f}");
            let search = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": f,
            });
            let a = send(&s, "POST", "/Users/.search", Some(&search.to_string()), &[]).await;
            assert_eq!(a.status, 400, "{f} via .search with {round}");
        }
        if round == "no users" {
            create(&s, json!({"userName": "bjensen", "active": true})).await;
        }
    }
    // What can be ordered still can.
    assert_eq!(
        names(&users_where(&s, r#"userName gt "a""#).await),
        ["bjensen"]
    );
}
