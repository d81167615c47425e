//! `scimock state export DB [OUT]` and `scimock state import JSON DB`: between the SQLite
//! state database of `serve --state` and seed-style JSON (`{"Users": [...],
//! "Groups": [...]}`), which people read, edit and pass to `--seed`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum StateCommand {
    /// Write a state database's resources as seed JSON (to OUT, or standard output).
    Export {
        /// The state database (`serve --state`).
        db: PathBuf,
        /// Output file (default: standard output).
        out: Option<PathBuf>,
    },
    /// Load seed JSON (or an older scimock's JSON state file) into a new state database.
    Import {
        /// The JSON file.
        json: PathBuf,
        /// The state database to create.
        db: PathBuf,
    },
}

pub(crate) fn run(cmd: StateCommand) -> Result<ExitCode, String> {
    let result = match cmd {
        StateCommand::Export { db, out } => scimock::store::durable::export(&db)
            .map_err(|e| e.to_string())
            .and_then(|v| serde_json::to_vec_pretty(&v).map_err(|e| e.to_string()))
            .and_then(|bytes| match out {
                Some(path) => std::fs::write(&path, bytes)
                    .map_err(|e| format!("cannot write {}: {e}", path.display())),
                None => {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    out.write_all(&bytes)
                        .and_then(|()| out.write_all(b"\n"))
                        .map_err(|e| e.to_string())
                }
            }),
        StateCommand::Import { json, db } => std::fs::read(&json)
            .map_err(|e| format!("cannot read {}: {e}", json.display()))
            .and_then(|text| scimock::store::durable::import(text, &db))
            .map(|n| eprintln!("imported {n} resources into {}", db.display())),
    };
    result.map(|()| ExitCode::SUCCESS)
}
