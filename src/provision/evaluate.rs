//! Evaluating a mapping set into the values one object should have, and diffing them
//! against what the target (or the last cycle) holds: the pure middle of every object's
//! sync (docs/provision.md, "One cycle", steps 3–4).

use serde_json::{Map, Value};

use super::config::{Mapping, MappingSource};
use super::engine::{Cycle, Failure};
use super::wire::{self, Change};
use crate::clock::Clock;
use crate::expr::{Evaluator, Outcome, Source, Value as ExprValue};
use crate::profile::provisioning::Apply;

impl Cycle<'_> {
    /// Evaluates the mappings that flow for a create (`creating`) or an update: NULL and
    /// IgnoreFlowIfNullOrEmpty results are not sent; "default value if null" applies only
    /// on create; reference and `members` mappings are exported separately.
    pub(crate) fn evaluate(
        &self,
        mappings: &[Mapping],
        source: &Map<String, Value>,
        creating: bool,
    ) -> Result<Vec<(String, Value)>, Failure> {
        let mut out = Vec::new();
        let clock: &dyn Clock = self.clock.as_ref();
        let mut ev = Evaluator::new().with_clock(clock).with_seed(self.seed);
        if let Some(d) = &self.knobs.default_domain {
            ev = ev.with_default_domain(d.clone());
        }
        for m in mappings {
            if m.reference || m.members || (!creating && m.apply == Apply::Creation) {
                continue;
            }
            let value = match &m.source {
                MappingSource::Direct(a) => Source::get(source, a),
                MappingSource::Constant(c) => ExprValue::Str(c.clone()),
                MappingSource::Expression(e) => match ev.eval(e, source) {
                    Ok(Outcome::Value(v)) => v,
                    Ok(Outcome::Ignore) => continue,
                    Err(e) => {
                        return Err(Failure {
                            code: "AttributeMappingEvaluationFailed".to_owned(),
                            status: None,
                            body: format!("mapping for `{}`: {e}", m.target),
                            detail: None,
                        })
                    }
                },
            };
            let json = match value {
                v if v.is_null_or_empty() => match (&m.default, creating) {
                    (Some(d), true) => Value::String(d.clone()),
                    _ => continue,
                },
                ExprValue::Multi(mut items) if single_valued(&m.target) => {
                    if items.len() > 1 {
                        // How-to "analyze the provisioning logs": a multi-valued source
                        // mapped to a single-valued target fails the object.
                        return Err(Failure {
                            code: "SchemaPropertyCanOnlyAcceptValue".to_owned(),
                            status: None,
                            body: format!(
                                "the mapping for `{}` gives {} values; the target attribute takes one",
                                m.target,
                                items.len()
                            ),
                            detail: None,
                        });
                    }
                    Value::String(items.pop().unwrap_or_default())
                }
                ExprValue::Multi(items) => {
                    Value::Array(items.into_iter().map(Value::String).collect())
                }
                v => match v.text() {
                    Some(t) => Value::String(t.into_owned()),
                    None => continue,
                },
            };
            out.push((m.target.clone(), wire::typed(m.kind, json)));
        }
        Ok(out)
    }

    /// The attributes whose value differs from `old` (case-insensitively unless the
    /// mapping is "Exact case").
    pub(crate) fn diff(
        mappings: &[Mapping],
        desired: &[(String, Value)],
        old: impl Fn(&str) -> Option<Value>,
    ) -> Vec<Change> {
        let mut out = Vec::new();
        for (path, new) in desired {
            let before = old(path);
            let exact = mappings.iter().any(|m| &m.target == path && m.case_exact);
            let same = match (&before, new) {
                (Some(Value::String(a)), Value::String(b)) if !exact => a.eq_ignore_ascii_case(b),
                (Some(a), b) => a == b,
                (None, _) => false,
            };
            if !same {
                out.push(Change {
                    path: path.clone(),
                    old: before,
                    new: new.clone(),
                });
            }
        }
        out
    }
}

/// True when the mapping target is a single value in the SCIM User or Group schema (RFC
/// 7643 §4): a core or enterprise attribute that is not multi-valued, a sub-attribute, or
/// one element's sub-attribute (`emails[type eq "work"].value`). An attribute the schemas do
/// not know (a custom extension) is not judged.
fn single_valued(target: &str) -> bool {
    use crate::filter::PatchPath;
    let Ok(path) = crate::filter::parse_path(target) else {
        return false;
    };
    let attr = match path {
        PatchPath::Value { .. } => return true,
        PatchPath::Attr(a) => a,
    };
    if attr.sub_attr.is_some() {
        return true;
    }
    [
        crate::scim::shared_user_resource(),
        crate::scim::shared_group_resource(),
    ]
    .iter()
    .find_map(|s| {
        s.resolve(attr.urn.as_deref(), &attr.name, None)
            .map(|d| !d.multi_valued)
    })
    .unwrap_or(false)
}
