//! `scimock filter parse|eval`: the filter parser and evaluator from the shell.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{json, Value};

use scimock::filter;
use scimock::scim;

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

pub(crate) fn run(cmd: FilterCommand) -> ExitCode {
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

fn parse(expr: &str, as_json: bool) -> ExitCode {
    match filter::parse(expr) {
        Ok(f) => {
            if as_json {
                println!("{}", json!({"ok": true, "canonical": f.to_string()}));
            } else {
                println!("{f}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            report_parse_error(expr, &e, as_json);
            ExitCode::from(2)
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

fn fail(message: &str, as_json: bool) -> ExitCode {
    if as_json {
        println!("{}", json!({"ok": false, "error": message}));
    } else {
        eprintln!("error: {message}");
    }
    ExitCode::from(2)
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

fn eval(expr: &str, path: &str, schema_name: Option<&str>, as_json: bool) -> ExitCode {
    let f = match filter::parse(expr) {
        Ok(f) => f,
        Err(e) => {
            report_parse_error(expr, &e, as_json);
            return ExitCode::from(2);
        }
    };
    let resource = match read_resource(path) {
        Ok(v) => v,
        Err(msg) => return fail(&msg, as_json),
    };
    let schema = match pick_schema(schema_name, &resource) {
        Ok(s) => s,
        Err(msg) => return fail(&msg, as_json),
    };
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
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("invalid filter: {e}"), as_json),
    }
}
