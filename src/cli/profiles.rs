//! `scimock profiles list` and `scimock profiles show <id|file>`: the built-in vendor
//! profiles and their seed-style attribute tables.

use std::process::ExitCode;

use clap::Subcommand;
use scimock::profile::Profile;

#[derive(Debug, Subcommand)]
pub(crate) enum ProfilesCommand {
    /// List the built-in profiles: id, resource types, name, source.
    List,
    /// Print a profile's settings and attribute-mapping tables.
    Show {
        /// A built-in id or a profile TOML file.
        profile: String,
    },
}

pub(crate) fn run(cmd: ProfilesCommand) -> ExitCode {
    match cmd {
        ProfilesCommand::List => match Profile::all_builtin() {
            Ok(all) => {
                for p in all {
                    let kinds: Vec<&str> = p.kinds().iter().map(|k| k.endpoint()).collect();
                    println!("{:<14} {:<13} {}", p.id(), kinds.join(","), p.name());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        ProfilesCommand::Show { profile } => match Profile::resolve(&profile) {
            Ok(p) => {
                print!("{}", p.render_table());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}
