//! `scimock filter parse|eval`: the filter parser and evaluator from the shell.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{json, Value};

use scimock::filter;
use scimock::scim;

use super::output::Failure;

#[derive(Debug, Subcommand)]
pub(crate) enum FilterCommand {
    /// Print the canonical form of a filter (exit 0), or a caret error (exit 2).
    Parse {
        /// The filter, e.g. 'userName eq "bjensen"'.
        expr: String,
        /// Print a JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print whether a filter matches a resource: `true` or `false` (exit 0), or an error
    /// (exit 2).
    Eval {
        /// The filter.
        expr: String,
        /// A JSON file holding one resource; `-` reads standard input.
        resource: String,
        /// Schema for caseExact and types: `user`, `group`, or `none`. Default: from the
        /// resource's `schemas`, else none.
        #[arg(long)]
        schema: Option<String>,
        /// Print a JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: FilterCommand) -> Result<ExitCode, Failure> {
    match cmd {
        FilterCommand::Parse { expr, json } => parse(&expr, json),
        FilterCommand::Eval {
            expr,
            resource,
            schema,
            json,
        } => eval(&expr, &resource, schema.as_deref(), json),
    }
}

fn parse(expr: &str, as_json: bool) -> Result<ExitCode, Failure> {
    match filter::parse(expr) {
        Ok(f) => {
            if as_json {
                println!("{}", json!({"ok": true, "canonical": f.to_string()}));
            } else {
                println!("{f}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            report_parse_error(expr, &e, as_json);
            Err(Failure::Shown)
        }
    }
}

fn report_parse_error(expr: &str, e: &filter::ParseError, as_json: bool) {
    if as_json {
        println!(
            "{}",
            json!({
                "ok": false,
                "error": e.to_string(),
                "kind": format!("{:?}", e.kind),
                "span": [e.span.start, e.span.end],
                "expected": e.expected,
            })
        );
    } else {
        eprint!("{}", e.render(expr));
    }
}

/// An input error: in `--json` mode the answer on stdout, else the one error path's line.
fn fail(message: &str, as_json: bool) -> Failure {
    if as_json {
        println!("{}", json!({"ok": false, "error": message}));
        Failure::Shown
    } else {
        Failure::Message(message.to_owned())
    }
}

fn read_resource(path: &str) -> Result<Value, String> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("reading stdin: {e}"))?
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?
    };
    serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))
}

fn pick_schema(
    name: Option<&str>,
    resource: &Value,
) -> Result<Option<scim::ResourceSchema>, String> {
    let declared = |urn: &str| {
        resource["schemas"].as_array().is_some_and(|s| {
            s.iter()
                .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
        })
    };
    match name {
        Some("user") => Ok(Some(scim::user_resource())),
        Some("group") => Ok(Some(scim::group_resource())),
        Some("none") => Ok(None),
        Some(other) => Err(format!("unknown schema `{other}`: use user, group or none")),
        None if declared(scimock::scim::urn::USER) => Ok(Some(scim::user_resource())),
        None if declared(scimock::scim::urn::GROUP) => Ok(Some(scim::group_resource())),
        None => Ok(None),
    }
}

fn eval(
    expr: &str,
    path: &str,
    schema_name: Option<&str>,
    as_json: bool,
) -> Result<ExitCode, Failure> {
    let f = filter::parse(expr).map_err(|e| {
        report_parse_error(expr, &e, as_json);
        Failure::Shown
    })?;
    let resource = read_resource(path).map_err(|msg| fail(&msg, as_json))?;
    let schema = pick_schema(schema_name, &resource).map_err(|msg| fail(&msg, as_json))?;
    match filter::matches(&f, &resource, schema.as_ref()) {
        Ok(result) => {
            if as_json {
                println!(
                    "{}",
                    json!({"ok": true, "matches": result, "canonical": f.to_string()})
                );
            } else {
                println!("{result}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(fail(&format!("invalid filter: {e}"), as_json)),
    }
}
