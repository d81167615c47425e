//! `cargo fuzz run expr_parser`: any bytes as an attribute-mapping expression. Parsing
//! never panics, a parsed expression's canonical form re-parses to the same tree, and
//! error rendering copes with every span. The body lives in `scimock::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    scimock::fuzzing::expr_parser(data);
});
