//! The source directory: users, groups and app-role assignments in Microsoft Graph's own
//! JSON shapes (`user`, `group`, `appRoleAssignment`), and the source attributes the
//! provisioning engine exposes for them (entra-engine §2.4: AAD-Graph-style names such as
//! `objectId`, `telephoneNumber`, `physicalDeliveryOfficeName`, plus the computed
//! `IsSoftDeleted`). The format is documented field by field in `docs/provision.md`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Map, Value};

/// Why a directory file does not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("directory JSON: {0}")]
    Json(String),
    #[error("directory: {0}")]
    Shape(String),
}

/// A Graph `user` object, kept whole: every property can be a mapping source.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub raw: Map<String, Value>,
}

impl User {
    /// `deletedDateTime` set: soft-deleted (in the recycle bin).
    pub fn soft_deleted(&self) -> bool {
        self.raw
            .get("deletedDateTime")
            .is_some_and(|v| !v.is_null())
    }

    /// `accountEnabled` is not `false` (absent counts as enabled, as Graph's default).
    pub fn enabled(&self) -> bool {
        !matches!(self.raw.get("accountEnabled"), Some(Value::Bool(false)))
            && !matches!(self.raw.get("accountEnabled"), Some(Value::String(s)) if s.eq_ignore_ascii_case("false"))
    }

    /// The display form used in log descriptions: the UPN, else the id.
    pub fn display(&self) -> String {
        text(&self.raw, "userPrincipalName").unwrap_or_else(|| self.id.clone())
    }

    /// `manager: {"id": …}` (or a bare id string).
    pub fn manager(&self) -> Option<String> {
        match self.raw.get("manager")? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Object(m) => text(m, "id"),
            _ => None,
        }
    }
}

/// A Graph `group` with its direct members (user or group ids).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub raw: Map<String, Value>,
    pub members: Vec<String>,
}

impl Group {
    pub fn display(&self) -> String {
        text(&self.raw, "displayName").unwrap_or_else(|| self.id.clone())
    }
}

/// A Graph `appRoleAssignment` to the app.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub principal_id: String,
    #[serde(default = "user_type")]
    pub principal_type: String,
    #[serde(default)]
    pub app_role_id: Option<String>,
}

fn user_type() -> String {
    "User".to_owned()
}

/// A directory snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub assignments: Vec<Assignment>,
}

impl Directory {
    /// Loads `{"users": […], "groups": […], "assignments": […]}` or a Graph export
    /// `{"value": […]}` (objects with `"@odata.type": "#microsoft.graph.group"` or a
    /// `members`/`securityEnabled` property are groups, the rest users).
    pub fn from_json(text: &str) -> Result<Directory, DirectoryError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| DirectoryError::Json(e.to_string()))?;
        Directory::from_owned(v)
    }

    pub fn from_value(v: &Value) -> Result<Directory, DirectoryError> {
        Directory::from_owned(v.clone())
    }

    /// Builds the directory by moving the parsed objects in (a 100,000-user file is not
    /// copied again).
    fn from_owned(v: Value) -> Result<Directory, DirectoryError> {
        let Value::Object(mut top) = v else {
            return Err(DirectoryError::Shape(
                "the file must hold a JSON object".into(),
            ));
        };
        let mut dir = Directory::default();
        let mut list = |key: &str| -> Result<Vec<Value>, DirectoryError> {
            match top.remove(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(a)) => Ok(a),
                Some(_) => Err(DirectoryError::Shape(format!("`{key}` must be an array"))),
            }
        };
        for item in list("value")? {
            if is_group(&item) {
                dir.groups.push(group(item)?);
            } else {
                dir.users.push(user(item)?);
            }
        }
        for item in list("users")? {
            dir.users.push(user(item)?);
        }
        for item in list("groups")? {
            dir.groups.push(group(item)?);
        }
        for item in list("assignments")? {
            let a: Assignment = serde_json::from_value(item)
                .map_err(|e| DirectoryError::Shape(format!("assignment: {e}")))?;
            dir.assignments.push(a);
        }
        let mut seen = BTreeSet::new();
        for id in dir
            .users
            .iter()
            .map(|u| &u.id)
            .chain(dir.groups.iter().map(|g| &g.id))
        {
            if !seen.insert(id.clone()) {
                return Err(DirectoryError::Shape(format!("id `{id}` appears twice")));
            }
        }
        Ok(dir)
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Users assigned to the app: directly, or as direct members of an assigned group
    /// (no nested expansion: *Understand how Application Provisioning in Microsoft Entra
    /// ID works*, "only direct members").
    pub fn assigned_users(&self) -> BTreeSet<String> {
        let groups: BTreeMap<&str, &Group> =
            self.groups.iter().map(|g| (g.id.as_str(), g)).collect();
        let mut out = BTreeSet::new();
        for a in &self.assignments {
            if a.principal_type.eq_ignore_ascii_case("Group") {
                if let Some(g) = groups.get(a.principal_id.as_str()) {
                    out.extend(g.members.iter().cloned());
                }
            } else {
                out.insert(a.principal_id.clone());
            }
        }
        out
    }

    /// Groups assigned to the app.
    pub fn assigned_groups(&self) -> BTreeSet<String> {
        self.assignments
            .iter()
            .filter(|a| a.principal_type.eq_ignore_ascii_case("Group"))
            .map(|a| a.principal_id.clone())
            .collect()
    }
}

fn is_group(v: &Value) -> bool {
    let odata = v.get("@odata.type").and_then(Value::as_str).unwrap_or("");
    odata.eq_ignore_ascii_case("#microsoft.graph.group")
        || (odata.is_empty() && (v.get("members").is_some() || v.get("securityEnabled").is_some()))
}

fn object(v: Value, what: &str) -> Result<(String, Map<String, Value>), DirectoryError> {
    let Value::Object(m) = v else {
        return Err(DirectoryError::Shape(format!(
            "each {what} must be an object"
        )));
    };
    let id =
        text(&m, "id").ok_or_else(|| DirectoryError::Shape(format!("a {what} without `id`")))?;
    Ok((id, m))
}

fn user(v: Value) -> Result<User, DirectoryError> {
    let (id, raw) = object(v, "user")?;
    Ok(User { id, raw })
}

fn group(v: Value) -> Result<Group, DirectoryError> {
    let (id, mut raw) = object(v, "group")?;
    let members = match raw.remove("members") {
        Some(Value::Array(a)) => a
            .into_iter()
            .filter_map(|m| match m {
                Value::String(s) => Some(s),
                Value::Object(o) => text(&o, "id"),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Group { id, raw, members })
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    match m.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bool_text(b: bool) -> Value {
    Value::String(if b { "True" } else { "False" }.to_owned())
}

/// Graph property → the engine's source-attribute name, where they differ (§2.4).
const RENAMES: [(&str, &str); 5] = [
    ("id", "objectId"),
    ("mobilePhone", "mobile"),
    ("faxNumber", "facsimileTelephoneNumber"),
    ("officeLocation", "physicalDeliveryOfficeName"),
    (
        "onPremisesSecurityIdentifier",
        "onPremisesSecurityIdentifier",
    ),
];

/// The user's source attributes as mappings and scoping filters read them. Booleans
/// become `"True"`/`"False"`; `IsSoftDeleted` is the computed flag (unassigned, out of
/// scope, soft-deleted or disabled), passed in because scope is decided elsewhere.
/// `alias_theirdomain.com#EXT#@yourdomain.onmicrosoft.com` → `alias@theirdomain.com`;
/// `None` for a UPN that is not a guest's.
pub(crate) fn guest_upn(upn: &str) -> Option<String> {
    let at = upn.to_ascii_lowercase().find("#ext#")?;
    let own = &upn[..at];
    let (alias, domain) = own.rsplit_once('_')?;
    (!alias.is_empty() && !domain.is_empty()).then(|| format!("{alias}@{domain}"))
}

pub(crate) fn user_source(u: &User, is_soft_deleted: bool) -> Map<String, Value> {
    let mut s = Map::new();
    for (k, v) in &u.raw {
        match v {
            Value::String(_) | Value::Number(_) => {
                s.insert(k.clone(), v.clone());
            }
            Value::Bool(b) => {
                s.insert(k.clone(), bool_text(*b));
            }
            Value::Array(a) if a.iter().all(Value::is_string) => {
                s.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    for (graph, engine) in RENAMES {
        if let Some(v) = s.remove(graph) {
            s.insert(engine.to_owned(), v);
        }
    }
    s.insert("objectId".into(), Value::String(u.id.clone()));
    // B2B guests: the engine's `userPrincipalName` is the guest's own `alias@theirdomain`
    // (the `#EXT#@yourdomain` suffix stripped, the last `_` back to `@`), and
    // `originalUserPrincipalName` is the full UPN (Microsoft Learn "How Application
    // Provisioning works in Microsoft Entra ID", B2B users).
    if let Some(Value::String(upn)) = u.raw.get("userPrincipalName") {
        s.entry("originalUserPrincipalName")
            .or_insert_with(|| Value::String(upn.clone()));
        if let Some(own) = guest_upn(upn) {
            s.insert("userPrincipalName".into(), Value::String(own));
        }
    }
    if let Some(Value::String(p)) = u
        .raw
        .get("businessPhones")
        .and_then(|v| v.as_array())
        .and_then(|a| a.first())
    {
        s.insert("telephoneNumber".into(), Value::String(p.clone()));
    }
    if let Some(m) = u.manager() {
        s.insert("manager".into(), Value::String(m));
    }
    if let Some(Value::Object(ext)) = u.raw.get("onPremisesExtensionAttributes") {
        for (k, v) in ext {
            if let Value::String(t) = v {
                s.insert(k.clone(), Value::String(t.clone()));
            }
        }
    }
    s.insert("accountEnabled".into(), bool_text(u.enabled()));
    s.insert("IsSoftDeleted".into(), bool_text(is_soft_deleted));
    s
}

/// The group's source attributes (`objectId`, `displayName`, `mailNickname`, …).
pub(crate) fn group_source(g: &Group) -> Map<String, Value> {
    let mut s = Map::new();
    for (k, v) in &g.raw {
        match v {
            Value::String(_) | Value::Number(_) => {
                s.insert(k.clone(), v.clone());
            }
            Value::Bool(b) => {
                s.insert(k.clone(), bool_text(*b));
            }
            _ => {}
        }
    }
    s.remove("id");
    s.insert("objectId".into(), Value::String(g.id.clone()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guests_upn_is_its_own_and_the_full_one_is_the_original() {
        assert_eq!(
            guest_upn("ada_contoso.com#EXT#@fabrikam.onmicrosoft.com").as_deref(),
            Some("ada@contoso.com")
        );
        assert_eq!(guest_upn("ada@fabrikam.com"), None);
        assert_eq!(guest_upn("#EXT#@x"), None);
        let dir = Directory::from_value(&serde_json::json!({"users": [{"id": "g1",
            "userPrincipalName": "first_last_contoso.com#EXT#@fabrikam.onmicrosoft.com"}]}))
        .unwrap();
        let s = user_source(&dir.users[0], false);
        assert_eq!(s["userPrincipalName"], "first_last@contoso.com");
        assert_eq!(
            s["originalUserPrincipalName"],
            "first_last_contoso.com#EXT#@fabrikam.onmicrosoft.com"
        );
    }
    use serde_json::json;

    #[test]
    fn a_graph_export_loads_users_and_groups() {
        let d = Directory::from_value(&json!({"value": [
            {"id": "u1", "userPrincipalName": "a@x"},
            {"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "G"}
        ]}))
        .unwrap();
        assert_eq!(d.users.len(), 1);
        assert_eq!(d.groups.len(), 1);
    }

    #[test]
    fn group_assignment_assigns_direct_members_only() {
        let d = Directory::from_value(&json!({
            "users": [{"id": "u1"}, {"id": "u2"}],
            "groups": [{"id": "g1", "members": ["u1", {"id": "g2"}]}, {"id": "g2", "members": ["u2"]}],
            "assignments": [{"principalId": "g1", "principalType": "Group"}]
        }))
        .unwrap();
        let a = d.assigned_users();
        assert!(a.contains("u1"));
        assert!(!a.contains("u2"));
    }

    #[test]
    fn source_attributes_use_engine_names() {
        let d = Directory::from_value(&json!({"users": [{"id": "u1", "businessPhones": ["+1 5"],
            "mobilePhone": "7", "officeLocation": "B1", "accountEnabled": false,
            "manager": {"id": "u9"}, "onPremisesExtensionAttributes": {"extensionAttribute1": "e"}}]}))
        .unwrap();
        let s = user_source(&d.users[0], true);
        assert_eq!(s["objectId"], "u1");
        assert_eq!(s["telephoneNumber"], "+1 5");
        assert_eq!(s["mobile"], "7");
        assert_eq!(s["physicalDeliveryOfficeName"], "B1");
        assert_eq!(s["accountEnabled"], "False");
        assert_eq!(s["manager"], "u9");
        assert_eq!(s["extensionAttribute1"], "e");
        assert_eq!(s["IsSoftDeleted"], "True");
    }

    #[test]
    fn duplicate_ids_and_bad_shapes_are_errors_not_panics() {
        assert!(Directory::from_json(r#"{"users":[{"id":"a"},{"id":"a"}]}"#).is_err());
        assert!(Directory::from_json(r#"{"users":{}}"#).is_err());
        assert!(Directory::from_json(r#"{"users":[{"upn":"x"}]}"#).is_err());
        assert!(Directory::from_json("[1]").is_err());
        assert!(Directory::from_json("{").is_err());
    }
}
