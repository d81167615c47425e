//! `cargo fuzz run patch_apply`: a User or Group and a PATCH request built by `arbitrary`.
//! No panic; a failed request leaves the input untouched (atomicity); a successful one
//! keeps `id`/`meta`, reports `changed` truthfully and keeps multi-valued attributes arrays.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimock::fuzzing::PatchApplyInput;

fuzz_target!(|input: PatchApplyInput| {
    scimock::fuzzing::patch_apply(&input);
});
