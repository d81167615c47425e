//! `scimock profiles list`, `scimock profiles show <id|file>` and `scimock profiles example
//! <id|file>`: the built-in vendor profiles, their seed-style attribute tables, and the
//! body Entra would send for their mapping.

use std::process::ExitCode;

use clap::Subcommand;
use scimock::profile::Profile;
use scimock::scim::ResourceKind;

#[derive(Debug, Subcommand)]
pub(crate) enum ProfilesCommand {
    /// List the built-in profiles: id, resource types, name, source.
    List,
    /// Print a profile's settings and attribute-mapping tables.
    Show {
        /// A built-in id or a profile TOML file.
        profile: String,
    },
    /// Print the JSON body Entra would POST for this app's mapping (every mapped attribute
    /// with a plausible valid value; `--groups` for a group).
    Example {
        /// A built-in id or a profile TOML file.
        profile: String,
        /// The group body instead of the user body.
        #[arg(long)]
        groups: bool,
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
        ProfilesCommand::Example { profile, groups } => match Profile::resolve(&profile) {
            Ok(p) => {
                let kind = if groups {
                    ResourceKind::Group
                } else {
                    ResourceKind::User
                };
                if !p.supports(kind) {
                    eprintln!("error: {} does not provision {}", p.id(), kind.endpoint());
                    return ExitCode::from(2);
                }
                let body = p.example(kind);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
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
