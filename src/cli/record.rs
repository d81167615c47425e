//! `scimock record`: the recording reverse proxy from the shell.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Forward SCIM traffic to an endpoint and record it as a replayable sequence.
#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// The SCIM endpoint to forward to, e.g. http://127.0.0.1:8080/scim/v2.
    #[arg(long)]
    upstream: String,
    /// Where the proxy listens; point the client's tenant URL at it.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: String,
    /// The sequence file to write (rewritten after every exchange).
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
        let recorder = match scimock::record::Recorder::start(
            &args.upstream,
            &args.listen,
            &name,
            Some(&args.out),
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
        let _ = tokio::signal::ctrl_c().await;
        let steps = recorder.scenario().steps.len();
        recorder.stop().await;
        eprintln!("recorded {steps} requests into {}", args.out.display());
        ExitCode::SUCCESS
    })
}
