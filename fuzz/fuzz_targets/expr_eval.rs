//! `cargo fuzz run expr_eval`: an expression, a source object and an RNG seed.
//! Evaluation never panics and, with a fixed clock and seed, is deterministic. The body
//! lives in `scimock::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimock::fuzzing::ExprEvalInput;

fuzz_target!(|input: ExprEvalInput| {
    scimock::fuzzing::expr_eval(&input);
});
