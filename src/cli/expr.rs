//! `scimock expr parse|eval` and `scimock scope check`: the attribute-mapping expression
//! language and scoping filters from the shell.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use scimock::clock::{Clock, FixedClock, SystemClock};
use scimock::expr::{self, Evaluator};
use scimock::scope::{RegexMode, ScopeFilter};

use super::output::Failure;

#[derive(Debug, Subcommand)]
pub(crate) enum ExprCommand {
    /// Print the canonical form of an expression (exit 0), or a caret error (exit 2).
    Parse {
        /// The expression, e.g. 'Join(" ", [givenName], [surname])'.
        expr: String,
    },
    /// Evaluate an expression and print its value as one JSON value (`null` for no
    /// value); exit 2 on a parse or evaluation error.
    Eval {
        /// The expression.
        expr: String,
        /// A JSON object of source attributes (Graph names: userPrincipalName, mail,
        /// givenName, IsSoftDeleted, …); `-` reads standard input.
        #[arg(long)]
        source: Option<String>,
        /// A source attribute as NAME=VALUE (a string); repeatable, overrides --source.
        #[arg(long = "attr", value_name = "NAME=VALUE")]
        attrs: Vec<String>,
        /// The instant `Now()` returns, RFC 3339 (default: the wall clock).
        #[arg(long)]
        now: Option<String>,
        /// Seed for Guid() and RandomString() (default: random).
        #[arg(long)]
        seed: Option<u64>,
        /// The tenant's default verified domain, for DefaultDomain().
        #[arg(long)]
        default_domain: Option<String>,
        /// A value SelectUniqueValue must treat as already taken; repeatable.
        #[arg(long = "taken", value_name = "VALUE")]
        taken: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ScopeCommand {
    /// Decide whether a source object is in scope: prints `in scope` (exit 0) or
    /// `out of scope` (exit 1) and the deciding clauses; exit 2 on a bad filter or source.
    Check {
        /// A scoping filter file in Graph's `filter` JSON shape.
        filter: String,
        /// A JSON object of source attributes; `-` reads standard input.
        #[arg(long)]
        source: String,
        /// Make REGEX MATCH match the whole value instead of searching it.
        #[arg(long)]
        regex_full_match: bool,
    },
}

fn read(path: &str) -> Result<String, String> {
    if path == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("standard input: {e}"))
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
    }
}

fn read_object(path: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str(&read(path)?) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("{path}: the source must be a JSON object")),
        Err(e) => Err(format!("{path}: {e}")),
    }
}

pub(crate) fn run_expr(cmd: ExprCommand) -> Result<ExitCode, Failure> {
    match cmd {
        ExprCommand::Parse { expr } => match expr::parse(&expr) {
            Ok(e) => {
                println!("{e}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprint!("{}", e.render(&expr));
                Err(Failure::Shown)
            }
        },
        ExprCommand::Eval {
            expr,
            source,
            attrs,
            now,
            seed,
            default_domain,
            taken,
        } => {
            let parsed = expr::parse(&expr).map_err(|e| {
                eprint!("{}", e.render(&expr));
                Failure::Shown
            })?;
            let mut object = source
                .as_deref()
                .map(read_object)
                .transpose()?
                .unwrap_or_default();
            for a in attrs {
                let Some((name, value)) = a.split_once('=') else {
                    return Err(format!("--attr {a:?}: expected NAME=VALUE").into());
                };
                object.insert(name.to_owned(), Value::String(value.to_owned()));
            }
            let fixed;
            let clock: &dyn Clock = match now {
                Some(text) => match OffsetDateTime::parse(&text, &Rfc3339) {
                    Ok(t) => {
                        fixed = FixedClock(t);
                        &fixed
                    }
                    Err(e) => return Err(format!("--now {text:?}: {e}").into()),
                },
                None => &SystemClock,
            };
            let unique = |v: &str| !taken.iter().any(|t| t == v);
            let mut ev = Evaluator::new().with_clock(clock).with_uniqueness(&unique);
            if let Some(seed) = seed {
                ev = ev.with_seed(seed);
            }
            if let Some(d) = default_domain {
                ev = ev.with_default_domain(d);
            }
            match ev.eval(&parsed, &object) {
                Ok(out) => {
                    println!("{}", out.to_json());
                    if out == expr::Outcome::Ignore {
                        eprintln!("note: IgnoreFlowIfNullOrEmpty: the attribute is not sent");
                    }
                    if parsed.redacts_log() {
                        eprintln!("note: the provisioning log shows this value as [Redact]");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(e.to_string().into()),
            }
        }
    }
}

pub(crate) fn run_scope(cmd: ScopeCommand) -> Result<ExitCode, Failure> {
    let ScopeCommand::Check {
        filter,
        source,
        regex_full_match,
    } = cmd;
    let mode = if regex_full_match {
        RegexMode::FullMatch
    } else {
        RegexMode::Search
    };
    let f = read(&filter).and_then(|t| {
        ScopeFilter::from_json_with(&t, mode).map_err(|e| format!("{filter}: {e}"))
    })?;
    let object = read_object(&source)?;
    let decision = f.evaluate(&object).map_err(|e| e.to_string())?;
    println!(
        "{}",
        if decision.in_scope {
            "in scope"
        } else {
            "out of scope"
        }
    );
    if decision.deciding.is_empty() && decision.in_scope {
        println!("no scoping filter groups: every object is in scope");
    }
    for c in &decision.deciding {
        let value = c
            .value
            .as_deref()
            .map_or_else(|| "NULL".to_owned(), |v| format!("{v:?}"));
        println!("\"{}\": {} (value {value})", c.text, c.result);
    }
    Ok(if decision.in_scope {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
