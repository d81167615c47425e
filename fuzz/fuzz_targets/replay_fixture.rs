//! `cargo fuzz run replay_fixture`: any bytes as a recorded Entra sequence. Loading never
//! panics; what loads round-trips through JSON; substitution never panics. The body lives
//! in `scimock::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    scimock::fuzzing::replay_fixture(data);
});
