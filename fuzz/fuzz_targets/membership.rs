//! `cargo fuzz run membership`: random sequences of user/group creates and deletes and
//! member add/remove/replace in both Entra dialects, applied to the store and to a model.
//! Members always equal the model's; no duplicates, no dangling ids, reverse index ==
//! forward index; failed PATCHes change nothing. The body lives in `scimock::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimock::fuzzing::MembershipStep;

fuzz_target!(|steps: Vec<MembershipStep>| {
    scimock::fuzzing::membership(&steps);
});
