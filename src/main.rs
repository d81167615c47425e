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
    quiet_on_broken_pipe();
    let args = cli::Cli::parse();
    cli::run(args)
}

/// `scimock replay --list | head` closes the pipe before the listing ends. Rust ignores
/// SIGPIPE, so `println!` panics on the EPIPE that follows; a shell tool is expected to stop
/// quietly instead. The exit status is 141 (128 + SIGPIPE), what a shell reports for a
/// command killed by the signal, so `set -o pipefail` scripts see the same as with `yes | head`.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info)
    }));
}
