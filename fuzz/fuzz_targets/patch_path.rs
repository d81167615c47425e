//! `cargo fuzz run patch_path`: a PATCH `path` (RFC 7644 §3.5.2). Parsing never panics;
//! what parses prints back to the same path. The body lives in `scimock::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    scimock::fuzzing::patch_path(data);
});
