//! `cargo fuzz run http_bytes`: raw bytes as a client writes them to the socket, through
//! hyper's HTTP/1.1 parser, the listener and the pipeline over an in-memory pipe (framing,
//! pipelining, chunked bodies, limits, the journal). Nothing panics, the first answer is a
//! well-formed HTTP head that is never a 500, and stored data still reads back. The body
//! lives in `scimock::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    scimock::fuzzing::http_bytes(data);
});
