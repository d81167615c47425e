//! `scimock record`: the recording reverse proxy from the shell.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Forward SCIM traffic to an endpoint and record it as a replayable sequence.
#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// The SCIM endpoint to forward to, e.g. https://staging.example.com/scim/v2.
    #[arg(long)]
    upstream: String,
    #[command(flatten)]
    tls: super::TlsArgs,
    /// Where the proxy listens; point the client's tenant URL at it.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: String,
    /// The sequence file to write (missing folders are created; rewritten while
    /// traffic flows, at most every --flush-interval, and in full on Ctrl-C or SIGTERM).
    #[arg(long)]
    out: PathBuf,
    /// Scenario name (default: the file stem).
    #[arg(long)]
    name: Option<String>,
    /// Open client connections served at once; one more gets 503 and is closed.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Seconds a client has to send a complete request head; a connection that sends
    /// none (idle, or slow) is closed.
    #[arg(long, default_value_t = 10.0)]
    header_timeout: f64,
    /// Seconds between rewrites of --out while exchanges arrive (a kill that cannot be
    /// caught loses at most this much).
    #[arg(long, default_value_t = 0.2)]
    flush_interval: f64,
}

/// A flag's seconds as a duration: positive and finite, at most an hour.
fn seconds(flag: &str, value: f64) -> Result<std::time::Duration, String> {
    if value.is_finite() && value > 0.0 {
        Ok(std::time::Duration::from_secs_f64(value.min(3600.0)))
    } else {
        Err(format!("{flag} must be a positive number of seconds"))
    }
}

pub(crate) fn run(args: RecordArgs) -> ExitCode {
    let out = super::output::Output::for_run(&args.upstream, None);
    super::output::exit(&out, try_run(args))
}

fn try_run(args: RecordArgs) -> Result<ExitCode, String> {
    let name = args.name.clone().unwrap_or_else(|| {
        args.out
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("recorded")
            .to_owned()
    });
    let limits = (
        seconds("--header-timeout", args.header_timeout),
        seconds("--flush-interval", args.flush_interval),
    );
    let (header_timeout, flush_interval) = match limits {
        (Ok(h), Ok(f)) => (h, f),
        (Err(e), _) | (_, Err(e)) => return Err(e.to_string()),
    };
    let options = scimock::record::RecordOptions {
        tls: args.tls.client_tls(),
        limits: scimock::server::Limits {
            max_connections: args.max_connections.max(1),
            header_read_timeout: header_timeout,
        },
        flush_interval,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async {
        let recorder = match scimock::record::Recorder::start_with(
            &args.upstream,
            &args.listen,
            &name,
            Some(&args.out),
            &options,
        )
        .await
        {
            Ok(r) => r,
            Err(e) => return Err(e.to_string()),
        };
        println!("scimock record");
        println!("  upstream  {}", args.upstream);
        println!("  out       {}", args.out.display());
        println!();
        println!("Tenant URL for the client:  http://{}", recorder.addr());
        println!(
            "Replay it later:            scimock replay <tenant-url> --scenarios-dir {}",
            args.out
                .parent()
                .map_or(".".into(), |p| if p.as_os_str().is_empty() {
                    ".".into()
                } else {
                    p.display().to_string()
                })
        );
        println!("Stop with Ctrl-C (or SIGTERM); the file is then complete.");
        let mut reported: Option<String> = None;
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        let stop = super::stop_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                _ = tick.tick() => {
                    // A failed rewrite is said once, when it happens, not only at the end.
                    let now = recorder.save_error();
                    if now.is_some() && now != reported {
                        eprintln!("error: {}", now.as_deref().unwrap_or_default());
                    }
                    reported = now;
                }
            }
        }
        let steps = recorder.scenario().steps.len();
        // Open exchanges finish, then the file is written once more, in full.
        match recorder.finish().await {
            Ok(steps) => {
                eprintln!("recorded {steps} requests into {}", args.out.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("error: {e}; the {steps} recorded requests are lost");
                Ok(ExitCode::from(1))
            }
        }
    })
}
