//! Microsoft Entra ID's attribute-mapping expression language (*Reference for writing
//! expressions for attribute mappings in Microsoft Entra ID*,
//! <https://learn.microsoft.com/en-us/entra/identity/app-provisioning/functions-for-customizing-application-data>):
//! a lexer that never fails, a recursive-descent parser that checks function names and
//! arity, an AST whose `Display` is the canonical form, and an evaluator for every
//! function on the page with typed values, Entra's null rules, and an injectable clock,
//! RNG and uniqueness check.
//!
//! Scoping filters, the other rule language of a mapping, live in [`crate::scope`].
//! The decisions taken where the page is silent or contradicts itself are listed in
//! `docs/expressions.md`.
//!
//! ```
//! use scimock::expr::{self, Evaluator, Outcome, Value};
//! let e = expr::parse(r#"join(" ", [givenName], [surname])"#).unwrap();
//! assert_eq!(e.to_string(), r#"Join(" ", [givenName], [surname])"#);
//! let user = serde_json::json!({"givenName": "John", "surname": "Doe"});
//! let out = Evaluator::new().eval(&e, &user).unwrap();
//! assert_eq!(out, Outcome::Value(Value::str("John Doe")));
//! ```

mod ast;
pub(crate) mod dates;
mod dotnet_format;
mod error;
mod eval;
mod func;
mod functions;
mod lexer;
mod parser;
pub(crate) mod regex;
mod value;

pub use ast::{CompareOp, Constant, Expr};
pub use error::{EvalError, ParseError, ParseErrorKind};
pub use eval::{Evaluator, NoSource, NullComparison, Outcome, Source, Uniqueness, MAX_VALUE_LEN};
pub use func::Func;
pub use parser::{parse, MAX_DEPTH, MAX_LEN};
pub use value::{bool_text, Number, Value};

impl Expr {
    /// Whether the provisioning log shows this mapping's value as `[Redact]`: true when a
    /// `Redact` call appears anywhere in it (the value itself still flows).
    pub fn redacts_log(&self) -> bool {
        self.calls(Func::Redact)
    }

    /// Whether `func` is called anywhere in the expression.
    pub fn calls(&self, func: Func) -> bool {
        match self {
            Expr::Call { func: f, args } => {
                *f == func || args.iter().flatten().any(|a| a.calls(func))
            }
            Expr::Compare { left, right, .. } => left.calls(func) || right.calls(func),
            _ => false,
        }
    }

    /// Refuses what a SCIM app's mapping cannot use: `SelectUniqueValue` is supported only
    /// for Workday/SuccessFactors to Active Directory and API-driven inbound provisioning
    /// (Microsoft Learn "Reference for writing expressions for attribute mappings in
    /// Microsoft Entra Application Provisioning", SelectUniqueValue).
    pub fn check_for_scim_app(&self) -> Result<(), &'static str> {
        if self.calls(Func::SelectUniqueValue) {
            return Err("SelectUniqueValue is supported only for Workday/SuccessFactors to Active Directory and API-driven inbound provisioning, not in a SCIM app's mappings");
        }
        Ok(())
    }
}
