//! Indexes of the profile's matching attributes (rows with `filter = true`): the value
//! paths Entra queries by (`emails[type eq "work"].value`, `externalId`, a custom extension
//! attribute) answered from an index instead of a scan, as the built-in `userName` and
//! `displayName` indexes answer theirs (docs/entra.md §2.2).

use serde_json::Value;

use super::indexes::{fold, ValueIds};
use super::ResourceKind;
use crate::filter::{AttrOp, CompValue, CompareOp, Filter};
use crate::scim::attr_of as get_ci;

/// An index of one matching attribute (a profile row with `filter = true`) for `eq`
/// filters: folded value → ids. It only proposes candidates; the query still runs the
/// whole filter on them, so folding case here is safe whatever the attribute's `caseExact`.
#[derive(Debug, Clone)]
pub(crate) struct MatchIndex {
    pub(super) kind: ResourceKind,
    pub(super) urn: Option<String>,
    pub(super) attr: String,
    /// `type eq "…"` of a value path such as `emails[type eq "work"].value`.
    pub(super) type_eq: Option<String>,
    pub(super) sub: Option<String>,
    pub(super) values: ValueIds,
}

pub(super) fn same(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

/// `type eq "X"` as the only term of a value filter.
pub(super) fn type_eq(filter: &Filter) -> Option<&str> {
    match filter {
        Filter::Attr(e) if e.path.is("type", None) => match &e.op {
            AttrOp::Compare(CompareOp::Eq, CompValue::String(t)) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

impl MatchIndex {
    /// An index for a mapping path, or `None` for paths the built-in indexes already cover
    /// (`id`, `userName`, `displayName`, `externalId`) or that are not of the indexable
    /// shapes `attr`, `attr.sub`, `urn:…:attr` and `attr[type eq "X"].sub`.
    pub(crate) fn for_path(kind: ResourceKind, path: &str) -> Option<MatchIndex> {
        use crate::filter::PatchPath;
        let (urn, attr, type_eq, sub) = match crate::filter::parse_path(path).ok()? {
            PatchPath::Attr(p) => (p.urn, p.name, None, p.sub_attr),
            PatchPath::Value {
                value_path,
                sub_attr,
            } => {
                let t = type_eq(&value_path.filter)?.to_owned();
                (value_path.attr.urn, value_path.attr.name, Some(t), sub_attr)
            }
        };
        let builtin = ["id", "userName", "displayName", "externalId"];
        if urn.is_none() && sub.is_none() && builtin.iter().any(|b| b.eq_ignore_ascii_case(&attr)) {
            return None;
        }
        Some(MatchIndex {
            kind,
            urn,
            attr,
            type_eq,
            sub,
            values: ValueIds::default(),
        })
    }

    pub(super) fn keys(&self, resource: &Value) -> Vec<String> {
        let container = match &self.urn {
            Some(u) => get_ci(resource, u),
            None => Some(resource),
        };
        let Some(v) = container.and_then(|c| get_ci(c, &self.attr)) else {
            return Vec::new();
        };
        let items: &[Value] = match v {
            Value::Array(items) => items,
            other => std::slice::from_ref(other),
        };
        let mut out = Vec::new();
        for item in items {
            if let Some(t) = &self.type_eq {
                let matches = get_ci(item, "type")
                    .and_then(Value::as_str)
                    .is_some_and(|x| x.eq_ignore_ascii_case(t));
                if !matches {
                    continue;
                }
            }
            let value = match &self.sub {
                Some(s) => get_ci(item, s),
                None => Some(item),
            };
            if let Some(text) = value.and_then(Value::as_str) {
                out.push(fold(text));
            }
        }
        out
    }
}
