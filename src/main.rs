//! The `scimock` command line: `serve`, `filter parse`, `filter eval`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator, in the binary only (the library leaves the
/// choice to its users): loading a 100,000-user seed builds a ~400 MB `serde_json::Value`
/// that glibc malloc keeps mapped after it is freed (RSS stayed at the peak), while
/// mimalloc returns it to the OS. BENCHMARKS.md `## Server load` has the figures.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::run(args)
}
