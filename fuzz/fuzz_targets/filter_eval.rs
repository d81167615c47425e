//! `cargo fuzz run filter_eval`: a filter and a SCIM-shaped JSON resource. Evaluation
//! never panics, and `not f` is the negation of `f` wherever `f` evaluates, with and
//! without the User schema. The body lives in `scimock::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimock::fuzzing::FilterEvalInput;

fuzz_target!(|input: FilterEvalInput| {
    scimock::fuzzing::filter_eval_input(&input);
});
