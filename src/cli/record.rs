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
    /// The sequence file to write (missing folders are created; rewritten after every
    /// exchange).
    #[arg(long)]
    out: PathBuf,
    /// Scenario name (default: the file stem).
    #[arg(long)]
    name: Option<String>,
}

pub(crate) fn run(args: RecordArgs) -> ExitCode {
    let name = args.name.clone().unwrap_or_else(|| {
        args.out
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("recorded")
            .to_owned()
    });
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    rt.block_on(async {
        let tls = args.tls.client_tls();
        let recorder = match scimock::record::Recorder::start_with_tls(
            &args.upstream,
            &args.listen,
            &name,
            Some(&args.out),
            &tls,
        )
        .await
        {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
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
        println!("Stop with Ctrl-C; the file is complete after every request.");
        let mut reported: Option<String> = None;
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
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
        let saved = recorder.save();
        recorder.stop().await;
        match saved {
            Ok(()) => {
                eprintln!("recorded {steps} requests into {}", args.out.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}; the {steps} recorded requests are lost");
                ExitCode::from(1)
            }
        }
    })
}
