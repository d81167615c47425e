//! Building a resource type's [`ResourceSchema`] from a profile: the RFC 7643 §8.7.1 schemas
//! as the base, `[[schemas]]` entries merged over them (or added), and the `required`
//! flags of the mapping rows copied onto the attributes they name.

use crate::filter::{self, PatchPath};
use crate::scim::urn;
use crate::scim::ResourceKind;
use crate::scim::{core_group, core_user, enterprise_user, Attribute, ResourceSchema, Schema};

use super::{AttributeSpec, ProfileSpec, SchemaSpec};

/// The RFC schema with this URN, if it is one of the three the crate embeds.
fn rfc_schema(id: &str) -> Option<Schema> {
    [core_user(), core_group(), enterprise_user()]
        .into_iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
}

/// A new attribute from a spec; `type` is required.
fn new_attribute(spec: &AttributeSpec, at: &str) -> Result<Attribute, String> {
    let kind = spec.kind.ok_or_else(|| {
        format!(
            "attribute `{at}{}` is new here, so it needs a `type`",
            spec.name
        )
    })?;
    let mut attr = Attribute {
        name: spec.name.clone(),
        kind,
        multi_valued: false,
        description: None,
        required: false,
        case_exact: false,
        mutability: Default::default(),
        returned: Default::default(),
        uniqueness: Default::default(),
        canonical_values: Vec::new(),
        reference_types: Vec::new(),
        sub_attributes: Vec::new(),
    };
    merge_attribute(&mut attr, spec, at)?;
    Ok(attr)
}

/// Overrides the keys `spec` gives; sub-attributes merge by name the same way.
fn merge_attribute(attr: &mut Attribute, spec: &AttributeSpec, at: &str) -> Result<(), String> {
    if let Some(k) = spec.kind {
        attr.kind = k;
    }
    if let Some(v) = spec.multi_valued {
        attr.multi_valued = v;
    }
    if let Some(v) = &spec.description {
        attr.description = Some(v.clone());
    }
    if let Some(v) = spec.required {
        attr.required = v;
    }
    if let Some(v) = spec.case_exact {
        attr.case_exact = v;
    }
    if let Some(v) = spec.mutability {
        attr.mutability = v;
    }
    if let Some(v) = spec.returned {
        attr.returned = v;
    }
    if let Some(v) = spec.uniqueness {
        attr.uniqueness = v;
    }
    if let Some(v) = &spec.canonical_values {
        attr.canonical_values = v.clone();
    }
    if let Some(v) = &spec.reference_types {
        attr.reference_types = v.clone();
    }
    let inner = format!("{at}{}.", attr.name);
    merge_attributes(&mut attr.sub_attributes, &spec.sub_attributes, &inner)
}

fn merge_attributes(
    attrs: &mut Vec<Attribute>,
    specs: &[AttributeSpec],
    at: &str,
) -> Result<(), String> {
    for spec in specs {
        match attrs
            .iter_mut()
            .find(|a| a.name.eq_ignore_ascii_case(&spec.name))
        {
            Some(existing) => merge_attribute(existing, spec, at)?,
            None => attrs.push(new_attribute(spec, at)?),
        }
    }
    Ok(())
}

/// The schema `id`: the RFC one if there is one, with every `[[schemas]]` entry of that id
/// merged over it.
fn schema(specs: &[SchemaSpec], id: &str) -> Result<Schema, String> {
    let mut out = rfc_schema(id);
    for spec in specs.iter().filter(|s| s.id.eq_ignore_ascii_case(id)) {
        let s = out.get_or_insert_with(|| Schema {
            schemas: vec![urn::SCHEMA.to_owned()],
            id: spec.id.clone(),
            name: None,
            description: None,
            attributes: Vec::new(),
            meta: None,
        });
        if spec.name.is_some() {
            s.name.clone_from(&spec.name);
        }
        if spec.description.is_some() {
            s.description.clone_from(&spec.description);
        }
        merge_attributes(&mut s.attributes, &spec.attributes, "")?;
    }
    out.ok_or_else(|| {
        format!("schema `{id}` is neither an RFC schema nor defined under [[schemas]]")
    })
}

/// Marks the attribute a required mapping row names as `required`, so `/Schemas` says so
/// truly for a schema-driven client (RFC 7643 §7 `required`):
/// - `name.givenName` marks `givenName` and its parent `name` (a body without `name`
///   cannot carry the required sub-attribute);
/// - `emails[type eq "work"].value` marks `emails` and its `value`, and says in the
///   description which element the rule asks for: the schema cannot say "the work one".
fn mark_required(rs: &mut ResourceSchema, path: &str) -> Result<(), String> {
    let parsed = filter::parse_path(path).map_err(|e| format!("mapping path `{path}`: {e}"))?;
    let (attr_path, sub, value_path) = match &parsed {
        PatchPath::Attr(p) => (p, p.sub_attr.as_deref(), false),
        PatchPath::Value {
            value_path,
            sub_attr,
        } => (&value_path.attr, sub_attr.as_deref(), true),
    };
    let schema = match attr_path.urn.as_deref() {
        Some(u) if !u.eq_ignore_ascii_case(&rs.core.id) => rs
            .extensions
            .iter_mut()
            .map(|(s, _)| s)
            .find(|s| s.id.eq_ignore_ascii_case(u)),
        _ => Some(&mut rs.core),
    };
    let top = schema.and_then(|s| {
        s.attributes
            .iter_mut()
            .find(|a| a.name.eq_ignore_ascii_case(&attr_path.name))
    });
    // Common attributes (externalId) are not in the schema listing (RFC 7643 §8.7.1).
    let Some(top) = top else {
        return Ok(());
    };
    top.required = true;
    if let Some(sub) = sub.and_then(|s| {
        top.sub_attributes
            .iter_mut()
            .find(|a| a.name.eq_ignore_ascii_case(s))
    }) {
        sub.required = true;
    }
    if value_path {
        let rule = format!("This profile requires a value at `{path}`.");
        top.description = Some(match top.description.take() {
            Some(d) if !d.is_empty() => format!("{d} {rule}"),
            _ => rule,
        });
    }
    Ok(())
}

/// The resource schema of `kind` under `spec`.
pub(super) fn resource_schema(
    spec: &ProfileSpec,
    kind: ResourceKind,
) -> Result<ResourceSchema, String> {
    let (core_id, rs_spec, default_ext) = match kind {
        ResourceKind::User => (
            urn::USER,
            Some(&spec.users),
            vec![urn::ENTERPRISE_USER.to_owned()],
        ),
        ResourceKind::Group => (urn::GROUP, spec.groups.as_ref(), Vec::new()),
    };
    let ext_ids = rs_spec
        .and_then(|r| r.extensions.clone())
        .unwrap_or(default_ext);
    let mut rs = ResourceSchema {
        core: schema(&spec.schemas, core_id)?,
        extensions: ext_ids
            .iter()
            .map(|id| schema(&spec.schemas, id).map(|s| (s, false)))
            .collect::<Result<_, _>>()?,
    };
    for row in rs_spec.map(|r| r.mapping.as_slice()).unwrap_or_default() {
        if row.required {
            mark_required(&mut rs, &row.path)?;
        }
    }
    Ok(rs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::AttrType;

    #[test]
    fn overrides_keep_the_rfc_definition_and_additions_need_a_type() {
        let spec: ProfileSpec = toml::from_str(
            r#"
            id = "t"
            name = "T"
            source = "test"
            [[users.mapping]]
            path = "name.givenName"
            type = "String"
            required = true
            [[schemas]]
            id = "urn:ietf:params:scim:schemas:core:2.0:User"
            [[schemas.attributes]]
            name = "userName"
            caseExact = true
            [[schemas.attributes]]
            name = "badge"
            type = "integer"
            "#,
        )
        .unwrap();
        let rs = resource_schema(&spec, ResourceKind::User).unwrap();
        let user_name = rs.core.attribute("userName").unwrap();
        assert!(user_name.case_exact && user_name.required);
        assert_eq!(rs.core.attribute("badge").unwrap().kind, AttrType::Integer);
        assert!(
            rs.resolve(None, "name", Some("givenName"))
                .unwrap()
                .required
        );
        // row G1 / issue 12 deliverable 8: the parent of a required sub-attribute is
        // required too, or a schema-driven client leaves `name` out.
        assert!(rs.resolve(None, "name", None).unwrap().required);
        let mut bad = spec.clone();
        bad.schemas[0].attributes[1].kind = None;
        assert!(resource_schema(&bad, ResourceKind::User)
            .unwrap_err()
            .contains("needs a `type`"));
    }
}
