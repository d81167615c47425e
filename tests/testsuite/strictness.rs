//! HTTP strictness ("Why" 9): a missing or repeated `Host` is 400 (RFC 9112 §3.2), a
//! repeated `filter=` is 400 invalidFilter, fault rules cannot inject an interim 100/101
//! as a final answer, and a transfer coding other than `chunked` gets a SCIM error body
//! (RFC 9112 §6.1, §6.3; issue #32). 127.0.0.1 only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use scimock::MockServer;
use serde_json::json;

use crate::wire::send;

fn raw(server: &MockServer, request: &str) -> String {
    let mut s = TcpStream::connect(server.address()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn a_missing_or_repeated_host_is_400() {
    let server = MockServer::builder().no_auth().start_blocking();
    let none = raw(
        &server,
        "GET /scim/v2/Users HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(none.starts_with("HTTP/1.1 400"), "{none}");
    assert!(none.contains("Host"), "{none}");
    let two = raw(
        &server,
        "GET /scim/v2/Users HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
    );
    assert!(two.starts_with("HTTP/1.1 400"), "{two}");
    let one = raw(
        &server,
        "GET /scim/v2/Users HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(one.starts_with("HTTP/1.1 200"), "{one}");
}

#[test]
fn a_repeated_filter_parameter_is_invalid_filter() {
    let server = MockServer::builder().no_auth().start_blocking();
    let a = send(
        server.address(),
        "GET",
        "/scim/v2/Users?filter=userName+eq+%22a%22&filter=userName+eq+%22b%22",
        &[],
        None,
    )
    .unwrap();
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.body["scimType"], "invalidFilter");
}

#[test]
fn fault_rules_refuse_interim_statuses() {
    let server = MockServer::builder().no_auth().start_blocking();
    for status in [100, 101] {
        let rule = json!({"rule": format!("GET /Users status={status}")}).to_string();
        let a = send(server.address(), "POST", "/_mock/faults", &[], Some(&rule)).unwrap();
        assert_eq!(a.status, 400, "{status}: {}", a.text);
    }
    assert!(MockServer::builder()
        .fault("GET /Users status=101")
        .try_start()
        .is_err());
}

#[test]
fn a_fault_rule_fires_for_every_spelling_the_router_serves() {
    let server = MockServer::builder()
        .no_auth()
        .fault("GET /Users status=503")
        .start_blocking();
    for path in [
        "/scim/v2/Users",
        "/scim/v2/Users/",
        "/scim/v2//Users",
        "/scim/v2/%55sers",
    ] {
        let a = send(server.address(), "GET", path, &[], None).unwrap();
        assert_eq!(a.status, 503, "{path}: {}", a.text);
    }
}

/// "Why" 9: an integer beyond 64 bits was read as a double and stored rounded. It is now
/// 400 invalidValue in POST and PATCH bodies, and nothing is stored.
#[test]
fn integers_beyond_64_bits_are_refused_instead_of_rounded() {
    let server = MockServer::builder().no_auth().start_blocking();
    let wide = "123456789012345678901234567890";
    let post = format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"wide@x.test","urn:x:ext":{{"n":{wide}}}}}"#
    );
    let r = send(server.address(), "POST", "/scim/v2/Users", &[], Some(&post)).unwrap();
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert!(r.text.contains(wide), "{}", r.text);
    let list = send(server.address(), "GET", "/scim/v2/Users", &[], None).unwrap();
    assert_eq!(list.body["totalResults"], 0, "{}", list.text);

    let ok =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a@x.test"});
    let created = send(
        server.address(),
        "POST",
        "/scim/v2/Users",
        &[],
        Some(&ok.to_string()),
    )
    .unwrap();
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let patch = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"add","path":"nickName","value":-{wide}}}]}}"#
    );
    let r = send(
        server.address(),
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        &[],
        Some(&patch),
    )
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["scimType"], "invalidValue");
}

/// A POST of `{"userName": name}` with `Transfer-Encoding: te`, the body chunked.
fn post_with_transfer_encoding(server: &MockServer, te: &str, name: &str) -> crate::wire::Answer {
    let body = format!(r#"{{"userName":"{name}"}}"#);
    let request = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\
         Content-Type: application/scim+json\r\nTransfer-Encoding: {te}\r\n\r\n\
         {:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let answer = raw(server, &request);
    crate::wire::parse(answer.as_bytes()).unwrap_or_else(|e| panic!("{te}: {e}: {answer:?}"))
}

#[test]
fn a_transfer_coding_other_than_chunked_gets_a_scim_error_body() {
    let server = MockServer::builder().no_auth().start_blocking();
    // RFC 9112 §6.3: chunked not final, so the length is unknown: 400, then close.
    for te in ["gzip", "chunked, gzip", "deflate"] {
        let a = post_with_transfer_encoding(&server, te, "x");
        assert_eq!(a.status, 400, "{te}: {}", a.text);
        assert_eq!(a.body["scimType"], "invalidSyntax", "{te}: {}", a.text);
        assert!(
            a.body["detail"].as_str().unwrap().contains("RFC 9112 §6.3"),
            "{}",
            a.text
        );
    }
    // RFC 9112 §6.1: a coding the server does not understand, framed by a final chunked.
    let a = post_with_transfer_encoding(&server, "gzip, chunked", "x");
    assert_eq!(a.status, 501, "{}", a.text);
    assert_eq!(
        a.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{}",
        a.text
    );
    assert!(
        a.body["detail"].as_str().unwrap().contains("`gzip`"),
        "{}",
        a.text
    );
    assert!(server.users().is_empty());
    // `chunked` alone, in any case, is served.
    let a = post_with_transfer_encoding(&server, "Chunked", "chunky");
    assert_eq!(a.status, 201, "{}", a.text);
}
