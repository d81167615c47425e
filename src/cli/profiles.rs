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

pub(crate) fn run(cmd: ProfilesCommand) -> Result<ExitCode, String> {
    match cmd {
        ProfilesCommand::List => {
            for p in Profile::all_builtin().map_err(|e| e.to_string())? {
                let kinds: Vec<&str> = p.kinds().iter().map(|k| k.endpoint()).collect();
                println!("{:<14} {:<13} {}", p.id(), kinds.join(","), p.name());
            }
        }
        ProfilesCommand::Example { profile, groups } => {
            let p = Profile::resolve(&profile).map_err(|e| e.to_string())?;
            let kind = if groups {
                ResourceKind::Group
            } else {
                ResourceKind::User
            };
            if !p.supports(kind) {
                return Err(format!("{} does not provision {}", p.id(), kind.endpoint()));
            }
            let body = p.example(kind);
            println!(
                "{}",
                serde_json::to_string_pretty(&body).unwrap_or_default()
            );
        }
        ProfilesCommand::Show { profile } => {
            let p = Profile::resolve(&profile).map_err(|e| e.to_string())?;
            print!("{}", p.render_table());
        }
    }
    Ok(ExitCode::SUCCESS)
}
