//! Listing with filter, sort and paging (RFC 7644 §3.4.2.2–§3.4.2.4). `eq` on an indexed
//! attribute (alone or as one operand of a top-level `and`) narrows the candidates through
//! an index; the full filter then runs on those candidates. Any other filter scans.

use std::cmp::Ordering;

use serde_json::Value;

use super::indexes::fold;
use super::indexes::{Entry, State};
use super::{ResourceKind, Store};
use crate::filter::{AttrPath, Filter, Prefilter, Projection};
use crate::Result;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub filter: Option<&'a Filter>,
    pub sort_by: Option<&'a AttrPath>,
    pub descending: bool,
    /// 1-based; values below 1 mean 1 (RFC 7644 §3.4.2.4).
    pub start_index: u64,
    /// Maximum resources to return; 0 returns only `totalResults`.
    pub count: u64,
    /// Render group `members` (false when the client excluded them).
    pub with_members: bool,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T = Value> {
    pub resources: Vec<T>,
    pub total: u64,
    pub start_index: u64,
}

/// One resource of a [`Store::list_items`] page: the stored text when the default
/// projection would return it unchanged (a user with nothing `returned: never`), else the
/// rendered resource.
#[derive(Debug, Clone, PartialEq)]
pub enum PageItem {
    Text(bytes::Bytes),
    Value(Value),
}

/// Does the filter mention `members` anywhere (so groups must be matched with them)?
fn mentions_members(f: &Filter) -> bool {
    match f {
        Filter::Attr(e) => {
            e.path.is("members", None) || e.path.name.eq_ignore_ascii_case("members")
        }
        Filter::ValuePath(vp) | Filter::ValuePathAttr { value_path: vp, .. } => {
            vp.attr.name.eq_ignore_ascii_case("members")
        }
        Filter::Not(inner) => mentions_members(inner),
        Filter::And(fs) | Filter::Or(fs) => fs.iter().any(mentions_members),
    }
}

#[derive(Debug, PartialEq, PartialOrd)]
enum Key {
    Bool(bool),
    Num(f64),
    Str(String),
}

/// The sort value of `path` in `resource` (RFC 7644 §3.4.2.3): for a multi-valued
/// attribute, the `primary` element's value, else the first.
fn sort_key(resource: &Value, path: &AttrPath) -> Option<Key> {
    let get = |v: &Value, name: &str| -> Option<Value> {
        let obj = v.as_object()?;
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let container = match &path.urn {
        Some(urn) if !crate::scim::urn::is_schema_urn(urn) => return None,
        Some(urn) if !urn.to_ascii_lowercase().contains(":core:") => get(resource, urn)?,
        _ => resource.clone(),
    };
    let mut v = get(&container, &path.name)?;
    if let Value::Array(items) = &v {
        let pick = items
            .iter()
            .find(|i| i.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first())?;
        v = pick.clone();
    }
    let v = match &path.sub_attr {
        Some(sub) => get(&v, sub)?,
        None if v.is_object() => get(&v, "value")?,
        None => v,
    };
    match v {
        Value::Bool(b) => Some(Key::Bool(b)),
        Value::Number(n) => n.as_f64().map(Key::Num),
        Value::String(s) => Some(Key::Str(fold(&s))),
        _ => None,
    }
}

/// Missing values sort last in ascending order (RFC 7644 §3.4.2.3).
fn compare(a: &Option<Key>, b: &Option<Key>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

impl Store {
    /// Is the unique name ordered-indexed? When the schema makes it a case-insensitive
    /// string (RFC 7643 §4.1.1, §4.2), so ranges and its sort need no scan.
    fn name_ordered(&self, kind: ResourceKind) -> bool {
        self.schema(kind)
            .resolve(None, kind.unique_attr(), None)
            .is_some_and(|d| !d.case_exact && d.kind == crate::scim::AttrType::String)
    }

    /// Does an index narrow `filter` to its hits, so a list reads no other resource?
    pub fn answers_from_index(&self, kind: ResourceKind, filter: &Filter) -> bool {
        let state = self.read();
        state.candidates(kind, filter).is_some()
            || (self.name_ordered(kind) && state.range_candidates(kind, filter).is_some())
    }

    /// Lists `kind` resources matching `query`.
    pub fn list(&self, kind: ResourceKind, query: &Query<'_>) -> Result<Page> {
        let state = self.read();
        let (ids, total, start_index) = self.select(&state, kind, query)?;
        let resources = ids
            .into_iter()
            .map(|id| self.render(&state, kind, id, query.with_members))
            .collect();
        Ok(Page {
            resources,
            total,
            start_index,
        })
    }

    /// [`Store::list`] for a caller that will apply the default projection: users whose
    /// stored text is already that projection come back as text, unparsed.
    pub fn list_items(&self, kind: ResourceKind, query: &Query<'_>) -> Result<Page<PageItem>> {
        let state = self.read();
        let (ids, total, start_index) = self.select(&state, kind, query)?;
        let resources = ids
            .into_iter()
            .map(|id| match state.map(kind).get(id) {
                Some(e) if kind == ResourceKind::User && e.plain => PageItem::Text(e.text.clone()),
                _ => PageItem::Value(self.render(&state, kind, id, query.with_members)),
            })
            .collect();
        Ok(Page {
            resources,
            total,
            start_index,
        })
    }

    /// The ids of one page of `query`'s matches, the number of matches, and the
    /// effective `startIndex`.
    fn select<'s>(
        &self,
        state: &'s State,
        kind: ResourceKind,
        query: &Query<'_>,
    ) -> Result<(Vec<&'s String>, u64, u64)> {
        let schema = self.schema(kind);
        let need_members =
            kind == ResourceKind::Group && query.filter.is_some_and(mentions_members);
        let name_ordered = self.name_ordered(kind);
        let start = query.start_index.max(1);
        let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
        let take = usize::try_from(query.count).unwrap_or(usize::MAX);
        let sorted_by_name = query
            .sort_by
            .is_some_and(|p| p.urn.is_none() && p.is(kind.unique_attr(), None));
        if name_ordered && sorted_by_name && query.filter.is_none() {
            // Every resource has its unique name (it is required), so the index order is
            // the sort: the page is read off it without looking at the other resources.
            let total = state.map(kind).len() as u64;
            let by_name = state.ids_by_name(kind);
            let page = if query.descending {
                by_name.rev().skip(skip).take(take).collect()
            } else {
                by_name.skip(skip).take(take).collect()
            };
            return Ok((page, total, start));
        }
        let indexed = query.filter.and_then(|f| {
            state.candidates(kind, f).or_else(|| {
                name_ordered
                    .then(|| state.range_candidates(kind, f))
                    .flatten()
            })
        });
        let map = state.map(kind);
        let entries: Vec<(&String, &Entry)> = match indexed {
            Some(candidates) => {
                let mut v: Vec<(&String, &Entry)> = candidates
                    .iter()
                    .filter_map(|id| map.get_key_value(id))
                    .collect();
                v.sort_by(|a, b| a.0.cmp(b.0));
                v
            }
            None => map.iter().collect(),
        };
        let mut matched = Vec::with_capacity(entries.len().min(1024));
        match query.filter {
            None => matched.extend(entries),
            Some(f) => {
                // RFC 7644 §3.4.2.2: a filter that can never apply (ordering a boolean)
                // fails whatever the resources hold, checked once before the scan.
                crate::filter::check(f, Some(schema))?;
                // Each resource is parsed down to what the filter reads (goal: no full
                // parse per row of a scan); the evaluator sees every member it can reach.
                let projection = Projection::of(f, Some(schema));
                // Rendered members are not in the text, so the text check would miss them.
                // Building the check costs tens of µs: worth it for a scan, not for the few
                // hits of an index.
                let prefilter = (!need_members && entries.len() > 64).then(|| Prefilter::of(f));
                for (id, entry) in entries {
                    if prefilter
                        .as_ref()
                        .is_some_and(|p| !p.may_match(&entry.text))
                    {
                        continue;
                    }
                    let resource = entry.project(&projection);
                    let resource = if need_members {
                        self.render_value(state, kind, id, resource, true)
                    } else {
                        resource
                    };
                    if crate::filter::matches_checked(f, &resource, Some(schema))? {
                        matched.push((id, entry));
                    }
                }
            }
        }
        let total = matched.len() as u64;
        if let Some(path) = query.sort_by {
            let projection = Projection::of_path(path, None);
            let mut keyed: Vec<(Option<Key>, &String)> = matched
                .into_iter()
                .map(|(id, entry)| (sort_key(&entry.project(&projection), path), id))
                .collect();
            // Ties keep id order (the order `matched` is in), as a stable sort would.
            let order = |a: &(Option<Key>, &String), b: &(Option<Key>, &String)| {
                let o = compare(&a.0, &b.0);
                let o = if query.descending { o.reverse() } else { o };
                o.then_with(|| a.1.cmp(b.1))
            };
            // Only the first `skip + take` places matter: a partial sort (top-k) first
            // when they are few.
            let needed = skip.saturating_add(take);
            if needed < keyed.len() / 2 {
                keyed.select_nth_unstable_by(needed, order);
                keyed.truncate(needed);
            }
            keyed.sort_unstable_by(order);
            let page = keyed.into_iter().map(|(_, id)| id).skip(skip).take(take);
            return Ok((page.collect(), total, start));
        }
        let page = matched
            .into_iter()
            .map(|(id, _)| id)
            .skip(skip)
            .take(take)
            .collect();
        Ok((page, total, start))
    }
}
