//! RFC 7644 §3.4.2.2 filters: a lexer that never fails, a recursive-descent parser with
//! one function per ABNF rule, an AST whose `Display` is the canonical form, and an
//! evaluator over `serde_json::Value` resources guided by RFC 7643 schema knowledge, with
//! the checks a filter must pass against a schema before it is evaluated ([`check`]).
//!
//! The PATCH path grammar (RFC 7644 §3.5.2) lives here too ([`parse_path`]) because it is
//! built from the same `attrPath` and `valuePath` rules; `patch/` only consumes it.
//!
//! ```
//! let f = scimock::filter::parse(r#"userName Eq "bjensen" AND not (active eq false)"#).unwrap();
//! assert_eq!(f.to_string(), r#"userName eq "bjensen" and not (active eq false)"#);
//! ```

mod ast;
mod check;
mod error;
mod eval;
mod lexer;
mod parser;
mod project;
mod uri;

pub use ast::{AttrExp, AttrOp, AttrPath, CompValue, CompareOp, Filter, PatchPath, ValuePath};
pub use check::check;
pub(crate) use check::check_element;
pub use error::{ParseError, ParseErrorKind};
pub use eval::{matches, EvalError};
pub(crate) use eval::{matches_checked, matches_element};
pub use parser::{parse, parse_path, MAX_DEPTH, MAX_LEN};
pub use project::{Prefilter, Projection};
