//! One evaluator per function, grouped by family: [`text`] (strings), [`logic`]
//! (conditions, conversions, flow control), [`dates`](self::date) (CDate … FormatDateTime),
//! [`multi`] (multi-valued attributes and app roles), [`random`] (Guid, RandomString),
//! [`replace`] (Replace's five modes). Decisions on every point the reference page leaves
//! UNCONFIRMED or AMBIGUOUS sit next to the function and in `docs/expressions.md`.

mod date;
pub(crate) mod diacritics;
mod logic;
mod multi;
mod random;
mod replace;
mod text;

use super::ast::Expr;
use super::eval::{fail, Evaluator, Source, R};
use super::func::Func;
use super::value::{Number, Value};

type Args = [Option<Expr>];

impl Evaluator<'_> {
    pub(crate) fn call(&mut self, func: Func, args: &Args, src: &dyn Source) -> R {
        use Func::*;
        match func {
            Append => self.append(args, src),
            AppRoleAssignmentsComplex | AssertiveAppRoleAssignmentsComplex => {
                self.app_roles_complex(func, args, src)
            }
            BitAnd => self.bit_and(args, src),
            CBool => self.cbool(args, src),
            CDate => self.cdate(args, src),
            Coalesce => self.coalesce(args, src),
            ConvertToBase64 => self.convert_to_base64(args, src),
            ConvertToUTF8Hex => self.convert_to_utf8_hex(args, src),
            Count => self.count(args, src),
            CStr => self.cstr(args, src),
            DateAdd => self.date_add(args, src),
            DateDiff => self.date_diff(args, src),
            DateFromNum => self.date_from_num(args, src),
            DefaultDomain => match &self.default_domain {
                Some(d) => Ok(Value::Str(d.clone())),
                None => fail("DefaultDomain", "the tenant has no default verified domain"),
            },
            FormatDateTime => self.format_date_time(args, src),
            Guid => Ok(self.guid()),
            IgnoreFlowIfNullOrEmpty => self.ignore_flow(args, src),
            IIF => self.iif(args, src),
            InStr => self.instr(args, src),
            IsNull => Ok(Value::Bool(self.arg(args, 0, src)?.is_null())),
            IsNullOrEmpty => Ok(Value::Bool(self.arg(args, 0, src)?.is_null_or_empty())),
            IsPresent => Ok(Value::Bool(!self.arg(args, 0, src)?.is_null_or_empty())),
            IsString => self.is_string(args, src),
            Item => self.item(args, src),
            Join => self.join(args, src),
            Left => self.left(args, src),
            Len => self.len(args, src),
            Mid => self.mid(args, src),
            NormalizeDiacritics => self.map_text(func, args, src, diacritics::normalize),
            Not => self.not(args, src),
            Now => Ok(Value::Date(self.clock.now())),
            NumFromDate => self.num_from_date(args, src),
            PCase => self.pcase(args, src),
            RandomString => self.random_string(args, src),
            // The value flows unchanged; only the provisioning log shows `[Redact]`
            // (see `Expr::redacts_log`).
            Redact => self.arg(args, 0, src),
            RemoveDuplicates => self.remove_duplicates(args, src),
            Replace => self.replace(args, src),
            SelectUniqueValue => self.select_unique_value(args, src),
            SingleAppRoleAssignment => self.single_app_role(args, src),
            Split => self.split(args, src),
            StripSpaces => self.map_text(func, args, src, |s| s.replace(' ', "")),
            Switch => self.switch(args, src),
            ToLower => self.change_case(func, args, src, false),
            ToUpper => self.change_case(func, args, src, true),
            Word => self.word(args, src),
        }
    }

    /// Slot `i`'s value; an omitted (or missing) slot is NULL.
    pub(crate) fn arg(&mut self, args: &Args, i: usize, src: &dyn Source) -> R {
        match args.get(i) {
            Some(Some(e)) => self.expr(e, src),
            _ => Ok(Value::Null),
        }
    }

    /// Whether slot `i` was written (Replace picks its mode by which slots are present).
    pub(crate) fn present(args: &Args, i: usize) -> bool {
        matches!(args.get(i), Some(Some(_)))
    }

    /// Slot `i` as one string; NULL is `None`, a multi-valued value an error.
    pub(crate) fn text_arg(
        &mut self,
        f: Func,
        args: &Args,
        i: usize,
        src: &dyn Source,
    ) -> R<Option<String>> {
        let v = self.arg(args, i, src)?;
        match v {
            Value::Null => Ok(None),
            Value::Str(s) => Ok(Some(s)),
            Value::Multi(_) => fail(
                f.name(),
                format!(
                    "`{}` must be one value, not a multi-valued attribute",
                    f.param_name(i)
                ),
            ),
            other => Ok(other.text().map(|t| t.into_owned())),
        }
    }

    /// Slot `i` as an integer (numbers and numeric strings: `3`, `"3"`); NULL is `None`.
    pub(crate) fn int_arg(
        &mut self,
        f: Func,
        args: &Args,
        i: usize,
        src: &dyn Source,
    ) -> R<Option<i64>> {
        let v = self.arg(args, i, src)?;
        if v.is_null() {
            return Ok(None);
        }
        match v.number().and_then(Number::as_i64) {
            Some(n) => Ok(Some(n)),
            None => fail(
                f.name(),
                format!(
                    "`{}` must be an integer, got {}",
                    f.param_name(i),
                    describe(&v)
                ),
            ),
        }
    }

    /// Like [`Self::int_arg`] but NULL is an error too.
    pub(crate) fn required_int(
        &mut self,
        f: Func,
        args: &Args,
        i: usize,
        src: &dyn Source,
    ) -> R<i64> {
        match self.int_arg(f, args, i, src)? {
            Some(n) => Ok(n),
            None => fail(f.name(), format!("`{}` is NULL", f.param_name(i))),
        }
    }

    /// A one-string function: NULL stays NULL.
    fn map_text(
        &mut self,
        f: Func,
        args: &Args,
        src: &dyn Source,
        op: impl Fn(&str) -> String,
    ) -> R {
        Ok(self
            .text_arg(f, args, 0, src)?
            .map_or(Value::Null, |s| Value::Str(op(&s))))
    }
}

/// A value as an error message shows it.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_owned(),
        Value::Multi(items) => format!("a multi-valued value of {} items", items.len()),
        other => format!("{:?}", other.text().unwrap_or_default()),
    }
}
