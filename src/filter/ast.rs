//! The filter AST (RFC 7644 §3.4.2.2) and its canonical text form.
//!
//! `Display` prints the canonical form: lowercase operators and keywords, one space between
//! tokens, strings as JSON, `not (…)` with a space, and only the parentheses the tree
//! needs. `and`/`or` are n-ary: `a or b or c` is one `Or` of three operands, while
//! `(a or b) or c` keeps its group as a nested `Or` and prints it back with parentheses.
//! Hence `parse(display(f)) == f` for every tree the parser can build.

use std::fmt::{self, Display, Formatter, Write as _};

/// `attrPath = [URI ":"] ATTRNAME *1subAttr`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN qualifier, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub urn: Option<String>,
    /// The attribute name as written (names compare case-insensitively; RFC 7643 §2.1).
    pub name: String,
    /// The sub-attribute after `.`, as written.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// An unqualified path `name` or `name.sub`.
    pub fn new(name: &str, sub_attr: Option<&str>) -> Self {
        AttrPath {
            urn: None,
            name: name.to_owned(),
            sub_attr: sub_attr.map(str::to_owned),
        }
    }

    /// True when this path names `name` (and `sub`, if given), ignoring ASCII case and
    /// ignoring the URN qualifier.
    pub fn is(&self, name: &str, sub: Option<&str>) -> bool {
        self.name.eq_ignore_ascii_case(name)
            && match (&self.sub_attr, sub) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
    }
}

/// `compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    /// Every operator, for generators and tables.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The lowercase keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator for a keyword, ignoring ASCII case.
    pub fn from_keyword(word: &str) -> Option<CompareOp> {
        CompareOp::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

/// `compValue = false / null / true / number / string`
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
}

/// `attrExp = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)`, minus the path.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrOp {
    Present,
    Compare(CompareOp, CompValue),
}

/// `attrExp`
#[derive(Debug, Clone, PartialEq)]
pub struct AttrExp {
    pub path: AttrPath,
    pub op: AttrOp,
}

/// `valuePath = attrPath "[" valFilter "]"`
#[derive(Debug, Clone, PartialEq)]
pub struct ValuePath {
    pub attr: AttrPath,
    pub filter: Box<Filter>,
}

/// `FILTER = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"`
///
/// Grouping parentheses leave no node of their own; precedence is in the tree's shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Attr(AttrExp),
    ValuePath(ValuePath),
    /// `emails[type eq "work"].value eq "x"`: not in the RFC 7644 filter ABNF, but Entra
    /// documents it for matching on a multi-valued attribute (entra-provisioning.md §2.2).
    /// True when one element matches the bracket filter *and* its `sub_attr` satisfies `op`.
    ValuePathAttr {
        value_path: ValuePath,
        sub_attr: String,
        op: AttrOp,
    },
    Not(Box<Filter>),
    /// Two or more operands joined by `and`. A parenthesized `and` operand stays a nested
    /// node, so the tree says exactly what the text grouped.
    And(Vec<Filter>),
    /// Two or more operands joined by `or`.
    Or(Vec<Filter>),
}

/// A PATCH operation's target (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    Attr(AttrPath),
    Value {
        value_path: ValuePath,
        sub_attr: Option<String>,
    },
}

impl Filter {
    /// `left and right`
    pub fn and(left: Filter, right: Filter) -> Filter {
        Filter::And(vec![left, right])
    }

    /// `left or right`
    pub fn or(left: Filter, right: Filter) -> Filter {
        Filter::Or(vec![left, right])
    }

    /// `not (inner)`
    pub fn negate(inner: Filter) -> Filter {
        Filter::Not(Box::new(inner))
    }

    /// `path op value`
    pub fn compare(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
        Filter::Attr(AttrExp {
            path,
            op: AttrOp::Compare(op, value),
        })
    }

    /// `path pr`
    pub fn present(path: AttrPath) -> Filter {
        Filter::Attr(AttrExp {
            path,
            op: AttrOp::Present,
        })
    }

    /// Nesting depth: 1 for a leaf; each `and`/`or`/`not`/`[...]` adds one.
    pub fn depth(&self) -> usize {
        match self {
            Filter::Attr(_) => 1,
            Filter::ValuePath(vp) | Filter::ValuePathAttr { value_path: vp, .. } => {
                1 + vp.filter.depth()
            }
            Filter::Not(f) => 1 + f.depth(),
            Filter::And(ops) | Filter::Or(ops) => {
                1 + ops.iter().map(Filter::depth).max().unwrap_or(0)
            }
        }
    }
}

impl Display for AttrPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            f.write_str(urn)?;
            f.write_char(':')?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            f.write_char('.')?;
            f.write_str(sub)?;
        }
        Ok(())
    }
}

impl Display for CompareOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Display for CompValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            // serde_json writes a JSON string literal with the escapes the lexer reads back.
            CompValue::String(s) => f.write_str(&serde_json::Value::String(s.clone()).to_string()),
        }
    }
}

impl Display for AttrOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            AttrOp::Present => f.write_str("pr"),
            AttrOp::Compare(op, value) => write!(f, "{op} {value}"),
        }
    }
}

impl Display for AttrExp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path, self.op)
    }
}

impl Display for ValuePath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.attr, self.filter)
    }
}

/// Binding strength, loosest first: `or` < `and` < `not`/atoms.
fn precedence(f: &Filter) -> u8 {
    match f {
        Filter::Or(..) => 0,
        Filter::And(..) => 1,
        _ => 2,
    }
}

impl Display for Filter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Attr(exp) => write!(f, "{exp}"),
            Filter::ValuePath(vp) => write!(f, "{vp}"),
            Filter::ValuePathAttr {
                value_path,
                sub_attr,
                op,
            } => write!(f, "{value_path}.{sub_attr} {op}"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::And(operands) | Filter::Or(operands) => {
                let (me, word) = match self {
                    Filter::And(..) => (1, " and "),
                    _ => (0, " or "),
                };
                for (i, operand) in operands.iter().enumerate() {
                    if i > 0 {
                        f.write_str(word)?;
                    }
                    // A same-precedence operand is a group the text wrote; keep it.
                    if precedence(operand) <= me {
                        write!(f, "({operand})")?;
                    } else {
                        write!(f, "{operand}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl Display for PatchPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attr(p) => write!(f, "{p}"),
            PatchPath::Value {
                value_path,
                sub_attr,
            } => {
                write!(f, "{value_path}")?;
                if let Some(sub) = sub_attr {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}
