//! The expression AST and its canonical text form.
//!
//! `Display` prints the canonical form: function names in their documented spelling,
//! `", "` between argument slots (an omitted slot prints as nothing, so
//! `Replace([mail], "@contoso.com", , , "", , )`), strings with `\\` and `\"` escaped,
//! number literals exactly as written, hex as `&H` with upper-case digits, comparison
//! operators with one space each side. Hence `parse(display(e)) == e` for every tree the
//! parser can build.

use std::fmt::{self, Display, Formatter, Write as _};

use super::func::Func;

/// A comparison inside a condition: `[country]="USA"`, `DateDiff(…) > 5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    /// Every operator, for generators and tables.
    pub const ALL: [CompareOp; 6] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Gt,
        CompareOp::Ge,
    ];

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    pub(crate) fn from_str(s: &str) -> Option<CompareOp> {
        CompareOp::ALL.iter().copied().find(|op| op.as_str() == s)
    }
}

/// The bare constants the reference page's examples use (`InStr(…, vbBinaryCompare)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Constant {
    /// VBA's ordinal (case-sensitive) comparison, value 0.
    VbBinaryCompare,
    /// VBA's case-insensitive comparison, value 1.
    VbTextCompare,
}

impl Constant {
    /// Every constant.
    pub const ALL: [Constant; 2] = [Constant::VbBinaryCompare, Constant::VbTextCompare];

    /// The canonical spelling.
    pub fn name(self) -> &'static str {
        match self {
            Constant::VbBinaryCompare => "vbBinaryCompare",
            Constant::VbTextCompare => "vbTextCompare",
        }
    }

    /// Looks a name up ignoring ASCII case, like function names.
    pub fn from_name(name: &str) -> Option<Constant> {
        Constant::ALL
            .iter()
            .copied()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

/// One node of an expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// `[name]`: a source attribute (absent ⇒ NULL).
    Attribute(String),
    /// `"…"`, decoded.
    Str(String),
    /// A number literal exactly as written (`-10`, `42568.75`); validated by the parser.
    Number(String),
    /// `&HF7`: a VB hex literal.
    Hex(u64),
    /// A bare constant such as `vbBinaryCompare`.
    Constant(Constant),
    /// `Name(slot, slot, …)`; `None` is an omitted slot.
    Call { func: Func, args: Vec<Option<Expr>> },
    /// `left op right`; operands are never comparisons themselves.
    Compare {
        op: CompareOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
}

impl Expr {
    /// A call with every slot filled.
    pub fn call(func: Func, args: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::Call {
            func,
            args: args.into_iter().map(Some).collect(),
        }
    }

    /// `[name]`.
    pub fn attr(name: &str) -> Expr {
        Expr::Attribute(name.to_owned())
    }

    /// `"text"`.
    pub fn str(text: &str) -> Expr {
        Expr::Str(text.to_owned())
    }

    /// The source attributes this expression reads, in first-use order, without repeats.
    pub fn attributes(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_attributes(&mut out);
        out
    }

    fn collect_attributes<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Attribute(name) => {
                if !out.contains(&name.as_str()) {
                    out.push(name);
                }
            }
            Expr::Call { args, .. } => {
                for arg in args.iter().flatten() {
                    arg.collect_attributes(out);
                }
            }
            Expr::Compare { left, right, .. } => {
                left.collect_attributes(out);
                right.collect_attributes(out);
            }
            Expr::Str(_) | Expr::Number(_) | Expr::Hex(_) | Expr::Constant(_) => {}
        }
    }
}

/// Writes `text` as a string constant: `\` and `"` get a backslash, nothing else does.
pub(crate) fn write_string(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        if c == '\\' || c == '"' {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Attribute(name) => write!(f, "[{name}]"),
            Expr::Str(text) => write_string(f, text),
            Expr::Number(text) => f.write_str(text),
            Expr::Hex(n) => write!(f, "&H{n:X}"),
            Expr::Constant(c) => f.write_str(c.name()),
            Expr::Call { func, args } => {
                f.write_str(func.name())?;
                f.write_char('(')?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if let Some(arg) = arg {
                        write!(f, "{arg}")?;
                    }
                }
                f.write_char(')')
            }
            Expr::Compare { op, left, right } => write!(f, "{left} {} {right}", op.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_omitted_slots_as_nothing_between_commas() {
        let e = Expr::Call {
            func: Func::Replace,
            args: vec![
                Some(Expr::attr("mail")),
                Some(Expr::str("@contoso.com")),
                None,
                None,
                Some(Expr::str("")),
                None,
                None,
            ],
        };
        assert_eq!(
            e.to_string(),
            r#"Replace([mail], "@contoso.com", , , "", , )"#
        );
    }

    #[test]
    fn escapes_only_backslash_and_quote() {
        assert_eq!(Expr::str("a\\b\"c\n").to_string(), "\"a\\\\b\\\"c\n\"");
        assert_eq!(Expr::Hex(247).to_string(), "&HF7");
    }

    #[test]
    fn lists_attributes_once_in_order() {
        let e = Expr::call(
            Func::Join,
            [
                Expr::str(" "),
                Expr::attr("b"),
                Expr::attr("a"),
                Expr::attr("b"),
            ],
        );
        assert_eq!(e.attributes(), vec!["b", "a"]);
    }
}
