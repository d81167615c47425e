//! Filters over HTTP (issue #32): `pr` on a multi-valued complex attribute whose elements
//! have no `value` (RFC 7644 §3.4.2.2), against a server on 127.0.0.1:0.

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
