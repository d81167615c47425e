//! The function table: every function of *Reference for writing expressions for attribute
//! mappings in Microsoft Entra ID*, its documented spelling, and its parameters (which
//! are required, which repeat). The parser checks calls against it; the evaluator
//! dispatches on [`Func`].

/// A function the expression language knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Func {
    Append,
    AppRoleAssignmentsComplex,
    /// Not on the reference page; documented on the attribute-mapping tutorial.
    AssertiveAppRoleAssignmentsComplex,
    BitAnd,
    CBool,
    CDate,
    Coalesce,
    ConvertToBase64,
    ConvertToUTF8Hex,
    Count,
    CStr,
    DateAdd,
    DateDiff,
    DateFromNum,
    DefaultDomain,
    FormatDateTime,
    Guid,
    IgnoreFlowIfNullOrEmpty,
    IIF,
    InStr,
    IsNull,
    IsNullOrEmpty,
    IsPresent,
    IsString,
    Item,
    Join,
    Left,
    Len,
    Mid,
    NormalizeDiacritics,
    Not,
    Now,
    NumFromDate,
    PCase,
    RandomString,
    Redact,
    RemoveDuplicates,
    Replace,
    SelectUniqueValue,
    SingleAppRoleAssignment,
    Split,
    StripSpaces,
    Switch,
    ToLower,
    ToUpper,
    Word,
}

/// How many argument slots a call may have (empty slots count: `F(a, , b)` has three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arity {
    Exactly(usize),
    Between(usize, usize),
    AtLeast(usize),
    /// `Switch`: source, default, then key/value pairs, so an even total of at least 4.
    EvenAtLeast(usize),
}

impl Arity {
    pub(crate) fn allows(self, n: usize) -> bool {
        match self {
            Arity::Exactly(k) => n == k,
            Arity::Between(a, b) => (a..=b).contains(&n),
            Arity::AtLeast(k) => n >= k,
            Arity::EvenAtLeast(k) => n >= k && n.is_multiple_of(2),
        }
    }

    pub(crate) fn describe(self) -> String {
        let plural = |k: usize| if k == 1 { "" } else { "s" };
        match self {
            Arity::Exactly(k) => format!("{k} argument{}", plural(k)),
            Arity::Between(a, b) => format!("{a} to {b} arguments"),
            Arity::AtLeast(k) => format!("at least {k} argument{}", plural(k)),
            Arity::EvenAtLeast(k) => format!("an even number of arguments, at least {k}"),
        }
    }
}

impl Func {
    /// Every function, in the reference page's (alphabetical) order.
    pub const ALL: [Func; 46] = [
        Func::Append,
        Func::AppRoleAssignmentsComplex,
        Func::AssertiveAppRoleAssignmentsComplex,
        Func::BitAnd,
        Func::CBool,
        Func::CDate,
        Func::Coalesce,
        Func::ConvertToBase64,
        Func::ConvertToUTF8Hex,
        Func::Count,
        Func::CStr,
        Func::DateAdd,
        Func::DateDiff,
        Func::DateFromNum,
        Func::DefaultDomain,
        Func::FormatDateTime,
        Func::Guid,
        Func::IgnoreFlowIfNullOrEmpty,
        Func::IIF,
        Func::InStr,
        Func::IsNull,
        Func::IsNullOrEmpty,
        Func::IsPresent,
        Func::IsString,
        Func::Item,
        Func::Join,
        Func::Left,
        Func::Len,
        Func::Mid,
        Func::NormalizeDiacritics,
        Func::Not,
        Func::Now,
        Func::NumFromDate,
        Func::PCase,
        Func::RandomString,
        Func::Redact,
        Func::RemoveDuplicates,
        Func::Replace,
        Func::SelectUniqueValue,
        Func::SingleAppRoleAssignment,
        Func::Split,
        Func::StripSpaces,
        Func::Switch,
        Func::ToLower,
        Func::ToUpper,
        Func::Word,
    ];

    /// The documented spelling, which is also the canonical form.
    pub fn name(self) -> &'static str {
        self.signature().0
    }

    /// Looks a name up ignoring ASCII case: the reference page itself writes `switch(…)`
    /// in lower case, so Entra's parser is taken to be case-insensitive for function names
    /// (decision for the page's AMBIGUOUS point; `docs/expressions.md`).
    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// The parameter names as the reference page's tables give them; for a repeating
    /// function the last name repeats.
    pub fn params(self) -> &'static [&'static str] {
        self.signature().1
    }

    pub(crate) fn arity(self) -> Arity {
        self.signature().2
    }

    /// Whether a call may have `n` argument slots (empty slots count).
    pub fn accepts(self, n: usize) -> bool {
        self.arity().allows(n)
    }

    /// The fewest slots a call has.
    pub fn min_args(self) -> usize {
        match self.arity() {
            Arity::Exactly(k)
            | Arity::Between(k, _)
            | Arity::AtLeast(k)
            | Arity::EvenAtLeast(k) => k,
        }
    }

    /// Whether slot `index` of an `n`-slot call may be left empty.
    pub fn slot_optional(self, index: usize, n: usize) -> bool {
        self.optional(index, n)
    }

    /// Whether the slot `index` of a call with `n` slots may be left empty.
    pub(crate) fn optional(self, index: usize, n: usize) -> bool {
        match self {
            Func::Replace => index >= 1,
            Func::Switch => index == 1,
            // The 4-slot form's dateTimeStyles; the 3-slot form has no optional slot.
            Func::FormatDateTime => n == 4 && index == 1,
            Func::InStr => index >= 2,
            Func::RandomString => index == 5,
            Func::PCase | Func::ToLower | Func::ToUpper => index == 1,
            Func::Coalesce => n >= 2 && index + 1 == n,
            _ => false,
        }
    }

    /// The name of slot `index`, for error messages.
    pub(crate) fn param_name(self, index: usize) -> &'static str {
        let params = self.params();
        if self == Func::Switch && index >= 2 {
            return if index.is_multiple_of(2) {
                "key"
            } else {
                "value"
            };
        }
        if self == Func::FormatDateTime && params.len() == 4 {
            return params.get(index).copied().unwrap_or("argument");
        }
        params
            .get(index)
            .or(params.last())
            .copied()
            .unwrap_or("argument")
    }

    fn signature(self) -> (&'static str, &'static [&'static str], Arity) {
        use Arity::*;
        match self {
            Func::Append => ("Append", &["source", "suffix"], Exactly(2)),
            Func::AppRoleAssignmentsComplex => (
                "AppRoleAssignmentsComplex",
                &["appRoleAssignments"],
                Exactly(1),
            ),
            Func::AssertiveAppRoleAssignmentsComplex => (
                "AssertiveAppRoleAssignmentsComplex",
                &["appRoleAssignments"],
                Exactly(1),
            ),
            Func::BitAnd => ("BitAnd", &["value1", "value2"], Exactly(2)),
            Func::CBool => ("CBool", &["expression"], Exactly(1)),
            Func::CDate => ("CDate", &["expression"], Exactly(1)),
            Func::Coalesce => ("Coalesce", &["source"], AtLeast(1)),
            Func::ConvertToBase64 => ("ConvertToBase64", &["source"], Exactly(1)),
            Func::ConvertToUTF8Hex => ("ConvertToUTF8Hex", &["source"], Exactly(1)),
            Func::Count => ("Count", &["attribute"], Exactly(1)),
            Func::CStr => ("CStr", &["value"], Exactly(1)),
            Func::DateAdd => ("DateAdd", &["interval", "value", "dateTime"], Exactly(3)),
            Func::DateDiff => ("DateDiff", &["interval", "date1", "date2"], Exactly(3)),
            Func::DateFromNum => ("DateFromNum", &["value"], Exactly(1)),
            Func::DefaultDomain => ("DefaultDomain", &[], Exactly(0)),
            Func::FormatDateTime => (
                "FormatDateTime",
                &["source", "dateTimeStyles", "inputFormat", "outputFormat"],
                Between(3, 4),
            ),
            Func::Guid => ("Guid", &[], Exactly(0)),
            Func::IgnoreFlowIfNullOrEmpty => {
                ("IgnoreFlowIfNullOrEmpty", &["expression"], Exactly(1))
            }
            Func::IIF => (
                "IIF",
                &["condition", "valueIfTrue", "valueIfFalse"],
                Exactly(3),
            ),
            Func::InStr => (
                "InStr",
                &["value1", "value2", "start", "compareType"],
                Between(2, 4),
            ),
            Func::IsNull => ("IsNull", &["expression"], Exactly(1)),
            Func::IsNullOrEmpty => ("IsNullOrEmpty", &["expression"], Exactly(1)),
            Func::IsPresent => ("IsPresent", &["expression"], Exactly(1)),
            Func::IsString => ("IsString", &["expression"], Exactly(1)),
            Func::Item => ("Item", &["attribute", "index"], Exactly(2)),
            Func::Join => ("Join", &["separator", "source"], AtLeast(2)),
            Func::Left => ("Left", &["string", "numChars"], Exactly(2)),
            Func::Len => ("Len", &["string"], Exactly(1)),
            Func::Mid => ("Mid", &["source", "start", "length"], Exactly(3)),
            Func::NormalizeDiacritics => ("NormalizeDiacritics", &["source"], Exactly(1)),
            Func::Not => ("Not", &["source"], Exactly(1)),
            Func::Now => ("Now", &[], Exactly(0)),
            Func::NumFromDate => ("NumFromDate", &["value"], Exactly(1)),
            Func::PCase => ("PCase", &["source", "wordSeparators"], Between(1, 2)),
            Func::RandomString => (
                "RandomString",
                &[
                    "length",
                    "minimumNumbers",
                    "minimumSpecialCharacters",
                    "minimumCapital",
                    "minimumLowerCase",
                    "charactersToAvoid",
                ],
                Between(5, 6),
            ),
            Func::Redact => ("Redact", &["value"], Exactly(1)),
            Func::RemoveDuplicates => ("RemoveDuplicates", &["attribute"], Exactly(1)),
            Func::Replace => (
                "Replace",
                &[
                    "source",
                    "oldValue",
                    "regexPattern",
                    "regexGroupName",
                    "replacementValue",
                    "replacementAttributeName",
                    "template",
                ],
                Exactly(7),
            ),
            Func::SelectUniqueValue => ("SelectUniqueValue", &["uniqueValueRule"], AtLeast(2)),
            Func::SingleAppRoleAssignment => (
                "SingleAppRoleAssignment",
                &["appRoleAssignments"],
                Exactly(1),
            ),
            Func::Split => ("Split", &["source", "delimiter"], Exactly(2)),
            Func::StripSpaces => ("StripSpaces", &["source"], Exactly(1)),
            Func::Switch => ("Switch", &["source", "defaultValue"], EvenAtLeast(4)),
            Func::ToLower => ("ToLower", &["source", "culture"], Between(1, 2)),
            Func::ToUpper => ("ToUpper", &["source", "culture"], Between(1, 2)),
            Func::Word => ("Word", &["string", "wordNumber", "delimiters"], Exactly(3)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_is_found_by_its_name_in_any_case() {
        for f in Func::ALL {
            assert_eq!(Func::from_name(f.name()), Some(f));
            assert_eq!(Func::from_name(&f.name().to_lowercase()), Some(f));
        }
        assert_eq!(Func::from_name("NormalizeDiacriticsByCulture"), None);
    }

    #[test]
    fn switch_needs_an_even_count_of_at_least_four() {
        let a = Func::Switch.arity();
        assert!(!a.allows(3) && a.allows(4) && !a.allows(5) && a.allows(6));
    }
}
