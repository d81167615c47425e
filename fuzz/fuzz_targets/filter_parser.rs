//! `cargo fuzz run filter_parser`: any bytes as a filter. Parsing never panics, and a
//! parsed filter's canonical form re-parses to the same tree (DESIGN.md rule 6).
//! The body lives in `scimock::fuzzing` so saved crashes replay under `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    scimock::fuzzing::filter_parser(data);
});
