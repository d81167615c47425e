//! What a filter must satisfy before it is evaluated, whatever the data: a property of
//! the filter and the schema, checked once per query.
//!
//! RFC 7644 §3.4.2.2, on `gt`/`ge`/`lt`/`le`: "Boolean and Binary attributes SHALL cause a
//! failed response (HTTP status code 400) with "scimType" of "invalidFilter"." Every
//! comparison in the tree is checked, under `and`/`or`/`not` and inside value paths, so a
//! short-circuited operand (`userName eq "nobody" and active gt true`) or a value path on
//! an attribute no resource has (`x509Certificates[value lt "x"]`) fails as `active gt
//! true` does. Also refused: ordering a complex attribute that has no `value`
//! sub-attribute (`name gt "x"`: there is no value to order), and ordering against a
//! `true`/`false` literal where no schema says what the attribute is.
//!
//! Which definition governs a path is the evaluator's rule (`eval.rs`): a sub-attribute's
//! own; for a complex attribute named alone, its `value` sub-attribute (RFC 7643 §2.4).

use super::ast::{AttrOp, AttrPath, CompValue, CompareOp, Filter};
use super::eval::{definition, EvalError, Scope};
use crate::scim::{AttrType, Attribute, ResourceSchema};

/// Checks `filter` against the resource schema it will be evaluated under (`None`: no
/// schema, so only literals can tell).
pub fn check(filter: &Filter, schema: Option<&ResourceSchema>) -> Result<(), EvalError> {
    walk(filter, Scope::Resource(schema), None)
}

/// Checks a value path's bracket filter against the multi-valued attribute it filters.
pub(crate) fn check_element(
    filter: &Filter,
    attribute: Option<&Attribute>,
) -> Result<(), EvalError> {
    let within = attribute.map(|a| AttrPath::new(&a.name, None));
    walk(filter, Scope::Element(attribute), within.as_ref())
}

/// `within`: the value path's attribute when `scope` is one element of it (for messages).
fn walk(filter: &Filter, scope: Scope<'_>, within: Option<&AttrPath>) -> Result<(), EvalError> {
    match filter {
        Filter::Attr(exp) => comparison(&exp.path, &exp.op, scope, within),
        Filter::ValuePath(vp) => {
            let element = Scope::Element(definition(&vp.attr, scope));
            walk(&vp.filter, element, Some(&vp.attr))
        }
        Filter::ValuePathAttr {
            value_path,
            sub_attr,
            op,
        } => {
            let element = Scope::Element(definition(&value_path.attr, scope));
            walk(&value_path.filter, element, Some(&value_path.attr))?;
            let sub = AttrPath::new(sub_attr, None);
            comparison(&sub, op, element, Some(&value_path.attr))
        }
        Filter::Not(inner) => walk(inner, scope, within),
        Filter::And(operands) | Filter::Or(operands) => {
            operands.iter().try_for_each(|f| walk(f, scope, within))
        }
    }
}

fn comparison(
    path: &AttrPath,
    op: &AttrOp,
    scope: Scope<'_>,
    within: Option<&AttrPath>,
) -> Result<(), EvalError> {
    let AttrOp::Compare(cmp, target) = op else {
        return Ok(());
    };
    if !matches!(
        cmp,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    ) {
        return Ok(());
    }
    let kind = match governing(path, definition(path, scope)) {
        Governs::Attribute(def) => match def.kind {
            AttrType::Boolean => Some("boolean"),
            AttrType::Binary => Some("binary"),
            AttrType::Complex => Some("complex"),
            _ => None,
        },
        Governs::ComplexWithoutValue => Some("complex"),
        Governs::Unknown => matches!(target, CompValue::Bool(_)).then_some("boolean"),
    };
    match kind {
        Some(kind) => Err(EvalError::NotOrderable {
            op: *cmp,
            kind,
            path: match within {
                Some(attr) => format!("{attr}.{path}"),
                None => path.to_string(),
            },
        }),
        None => Ok(()),
    }
}

/// What decides whether a path's values can be ordered.
enum Governs<'s> {
    Attribute(&'s Attribute),
    /// A complex attribute named alone that has no `value` sub-attribute to compare.
    ComplexWithoutValue,
    /// No schema, or a name it does not define.
    Unknown,
}

fn governing<'s>(path: &AttrPath, def: Option<&'s Attribute>) -> Governs<'s> {
    let Some(def) = def else {
        return Governs::Unknown;
    };
    match (&path.sub_attr, def.kind) {
        (Some(sub), _) => def
            .sub_attribute(sub)
            .map_or(Governs::Unknown, Governs::Attribute),
        (None, AttrType::Complex) => def
            .sub_attribute("value")
            .map_or(Governs::ComplexWithoutValue, Governs::Attribute),
        (None, _) => Governs::Attribute(def),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;
    use crate::scim::{group_resource, user_resource};

    fn verdict(src: &str, schema: Option<&ResourceSchema>) -> Result<(), String> {
        check(&parse(src).unwrap(), schema).map_err(|e| e.to_string())
    }

    #[test]
    fn ordering_a_boolean_or_binary_anywhere_in_the_tree_is_refused() {
        let users = user_resource();
        for src in [
            "active gt true",
            r#"userName eq "nobody" and active gt true"#,
            "not (active le false)",
            r#"userName pr or emails[primary ge true]"#,
            r#"x509Certificates[value lt "x"]"#,
            r#"x509Certificates lt "x""#,
            r#"emails[type eq "work"].primary gt false"#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:active lt true"#,
            r#"name gt "x""#,
        ] {
            assert!(verdict(src, Some(&users)).is_err(), "{src}");
        }
        assert_eq!(
            verdict(r#"x509Certificates[value lt "x"]"#, Some(&users)),
            Err("`lt` cannot order the binary attribute `x509Certificates.value`".to_owned())
        );
    }

    #[test]
    fn ordering_what_can_be_ordered_passes() {
        let users = user_resource();
        for src in [
            r#"userName gt "a""#,
            r#"meta.lastModified ge "2020-01-01T00:00:00Z""#,
            r#"emails gt "a""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager lt "m""#,
            "active eq true",
            r#"emails[type gt "a"]"#,
        ] {
            assert_eq!(verdict(src, Some(&users)), Ok(()), "{src}");
        }
        // Without a schema only a boolean literal tells.
        assert_eq!(verdict(r#"x509Certificates lt "x""#, None), Ok(()));
        assert!(verdict("anything gt false", None).is_err());
        // Groups have no `active`: the literal decides, as without a schema.
        assert!(verdict("active gt true", Some(&group_resource())).is_err());
        assert_eq!(
            verdict(r#"displayName gt "a""#, Some(&group_resource())),
            Ok(())
        );
    }
}
