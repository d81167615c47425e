//! `cargo fuzz run http_request`: any method, path, query, headers and body through the
//! router and handlers in-process. Every answer is a well-formed SCIM reply (never a 500
//! from input; errors are RFC 7644 §3.12 bodies) and the store's invariants hold. The body
//! lives in `scimock::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimock::fuzzing::HttpRequestInput;

fuzz_target!(|input: HttpRequestInput| {
    scimock::fuzzing::http_request(&input);
});
