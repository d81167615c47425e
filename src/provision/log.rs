//! Provisioning logs in Microsoft Graph's `provisioningObjectSummary` shape (*List
//! provisioningObjectSummary*, <https://learn.microsoft.com/en-us/graph/api/provisioningobjectsummary-list>),
//! error codes as Entra names them (*How to download and analyze the Microsoft Entra
//! provisioning logs*, error-code table), plus CSV and JUnit renderings.

use serde::Serialize;
use serde_json::{json, Value};

/// Graph `provisioningAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Create,
    Update,
    Delete,
    Disable,
    StagedDelete,
    Other,
}

/// Graph `provisioningResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Success,
    Warning,
    Failure,
    Skipped,
}

/// Graph `provisioningStepType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StepType {
    Import,
    Scoping,
    Matching,
    Processing,
    ReferenceResolution,
    Export,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub name: String,
    pub provisioning_step_type: StepType,
    pub status: Status,
    pub description: String,
    pub details: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    pub display_name: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    pub error_code: String,
    pub reason: String,
    pub additional_details: Option<String>,
    pub error_category: String,
    pub recommended_action: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    pub status: Status,
    pub error_information: Option<ErrorInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub id: String,
    pub display_name: String,
    pub identity_type: String,
    pub details: serde_json::Map<String, Value>,
}

/// One log entry: one object action in one cycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub id: String,
    pub activity_date_time: String,
    pub tenant_id: String,
    pub job_id: String,
    pub cycle_id: String,
    pub change_id: String,
    pub provisioning_action: Action,
    pub duration_in_milliseconds: u64,
    pub initiated_by: Value,
    pub service_principal: Value,
    pub source_system: Value,
    pub target_system: Value,
    pub source_identity: Identity,
    pub target_identity: Identity,
    pub provisioning_status_info: StatusInfo,
    pub provisioning_steps: Vec<Step>,
    pub modified_properties: Vec<ModifiedProperty>,
}

impl Entry {
    pub fn status(&self) -> Status {
        self.provisioning_status_info.status
    }

    pub fn error_code(&self) -> Option<&str> {
        self.provisioning_status_info
            .error_information
            .as_ref()
            .map(|e| e.error_code.as_str())
    }
}

/// The reason text, in the shape Entra writes for a failed SCIM call.
pub fn http_reason(
    verb: &str,
    kind: &str,
    name: &str,
    status: u16,
    body: &str,
    retries: u32,
    next: &str,
) -> String {
    let phrase = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown")
        .replace(' ', "");
    format!(
        "Failed to {verb} {kind} '{name}' in customappsso; Error: StatusCode: {phrase}\n\
         Message: Processing of the HTTP request resulted in an exception. Please see the HTTP \
         response returned by the 'Response' property of this exception for details.\n\
         Web Response: {body}. This operation was retried {retries} times. It will be retried \
         again after this date: {next} UTC"
    )
}

/// What the endpoint itself said, in one line for the terminal, JUnit and HTML: `HTTP 400:
/// <its detail>` (the SCIM error's `detail`, else the body's start), or the transport
/// error; an excerpt ([`TEXT`](crate::entra::excerpt::TEXT) bytes) scrubbed of `secrets`
/// before the cut.
pub fn endpoint_said(
    status: Option<u16>,
    detail: Option<&str>,
    body: &str,
    secrets: &crate::entra::secrets::Scrubber,
) -> String {
    let one_line = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let detail = crate::entra::excerpt::text(secrets, &one_line(detail.unwrap_or(body)));
    match status {
        Some(s) if detail.is_empty() => format!("HTTP {s}"),
        Some(s) => format!("HTTP {s}: {detail}"),
        None => detail,
    }
}

pub fn error(code: &str, reason: String) -> ErrorInfo {
    ErrorInfo {
        error_code: code.to_owned(),
        reason,
        additional_details: None,
        error_category: "nonServiceFailure".to_owned(),
        recommended_action: None,
    }
}

/// The fixed systems of every entry.
pub fn systems(app: &str) -> (Value, Value, Value, Value) {
    (
        json!({"id": "", "displayName": "Azure AD Provisioning Service", "initiatorType": "system"}),
        json!({"id": "scimock-service-principal", "displayName": app}),
        json!({"id": "scimock-source", "displayName": "Azure Active Directory", "details": {}}),
        json!({"id": "scimock-target", "displayName": app,
               "details": {"ApplicationId": "scimock-application", "ServicePrincipalId": "scimock-service-principal",
                           "ServicePrincipalDisplayName": app}}),
    )
}

/// One CSV field (RFC 4180 quoting), never read as a formula by a spreadsheet
/// ([`crate::entra::secrets::csv_cell`]).
fn csv_field(s: &str) -> String {
    let s = crate::entra::secrets::csv_cell(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}

pub(crate) fn action_name(a: Action) -> &'static str {
    match a {
        Action::Create => "Create",
        Action::Update => "Update",
        Action::Delete => "Delete",
        Action::Disable => "Disable",
        Action::StagedDelete => "StagedDelete",
        Action::Other => "Other",
    }
}

pub(crate) fn status_name(s: Status) -> &'static str {
    match s {
        Status::Success => "Success",
        Status::Warning => "Warning",
        Status::Failure => "Failure",
        Status::Skipped => "Skipped",
    }
}

/// The portal's `ProvisioningLogs` CSV (column headers are not documented; these are
/// the Graph property names). Steps and modified properties are joined into one column
/// each (the portal splits them into two more files keyed by change id).
pub fn csv(entries: &[Entry]) -> String {
    let mut out = String::from(
        "changeId,cycleId,activityDateTime,action,status,identityType,sourceId,sourceDisplayName,targetId,errorCode,reason,steps,modifiedProperties\n",
    );
    for e in entries {
        let (code, reason) = match &e.provisioning_status_info.error_information {
            Some(i) => (i.error_code.as_str(), i.reason.as_str()),
            None => ("", ""),
        };
        let steps: Vec<String> = e
            .provisioning_steps
            .iter()
            .map(|s| format!("{}:{}", s.name, status_name(s.status)))
            .collect();
        let props: Vec<String> = e
            .modified_properties
            .iter()
            .map(|p| {
                format!(
                    "{}={}",
                    p.display_name,
                    p.new_value.as_deref().unwrap_or("")
                )
            })
            .collect();
        let row = [
            e.change_id.as_str(),
            &e.cycle_id,
            &e.activity_date_time,
            action_name(e.provisioning_action),
            status_name(e.status()),
            &e.source_identity.identity_type,
            &e.source_identity.id,
            &e.source_identity.display_name,
            &e.target_identity.id,
            code,
            reason,
            &steps.join(";"),
            &props.join(";"),
        ];
        let line: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// The names of the portal's three-file CSV download, in the order [`portal_csv`] returns
/// them (*How to download and analyze the Microsoft Entra provisioning logs*).
pub const PORTAL_CSV_FILES: [&str; 3] = [
    "ProvisioningLogs.csv",
    "ProvisioningLogs_ProvisioningSteps.csv",
    "ProvisioningLogs_ModifiedProperties.csv",
];

fn csv_rows(header: &str, rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = format!("{header}\n");
    for row in rows {
        let line: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

fn name_of(v: &Value) -> String {
    v.get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The portal's CSV download as three files joined on the change id: the entries
/// without steps and modified properties, one row per step, one row per modified
/// property. Microsoft names the files but not their columns: the headers are the Graph
/// property names (dotted for nested ones), as in [`csv`].
pub fn portal_csv(entries: &[Entry]) -> [(&'static str, String); 3] {
    let logs = csv_rows(
        "changeId,id,cycleId,jobId,tenantId,activityDateTime,durationInMilliseconds,provisioningAction,status,errorCode,errorCategory,reason,initiatedBy.displayName,servicePrincipal.id,servicePrincipal.displayName,sourceSystem.displayName,targetSystem.displayName,sourceIdentity.identityType,sourceIdentity.id,sourceIdentity.displayName,targetIdentity.identityType,targetIdentity.id,targetIdentity.displayName",
        entries.iter().map(|e| {
            let info = e.provisioning_status_info.error_information.as_ref();
            vec![
                e.change_id.clone(),
                e.id.clone(),
                e.cycle_id.clone(),
                e.job_id.clone(),
                e.tenant_id.clone(),
                e.activity_date_time.clone(),
                e.duration_in_milliseconds.to_string(),
                action_name(e.provisioning_action).to_owned(),
                status_name(e.status()).to_owned(),
                info.map(|i| i.error_code.clone()).unwrap_or_default(),
                info.map(|i| i.error_category.clone()).unwrap_or_default(),
                info.map(|i| i.reason.clone()).unwrap_or_default(),
                name_of(&e.initiated_by),
                e.service_principal
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                name_of(&e.service_principal),
                name_of(&e.source_system),
                name_of(&e.target_system),
                e.source_identity.identity_type.clone(),
                e.source_identity.id.clone(),
                e.source_identity.display_name.clone(),
                e.target_identity.identity_type.clone(),
                e.target_identity.id.clone(),
                e.target_identity.display_name.clone(),
            ]
        }),
    );
    let steps = csv_rows(
        "changeId,stepIndex,name,provisioningStepType,status,description,details",
        entries.iter().flat_map(|e| {
            e.provisioning_steps.iter().enumerate().map(|(i, s)| {
                let ty = serde_json::to_value(s.provisioning_step_type)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let details = if s.details.is_empty() {
                    String::new()
                } else {
                    Value::Object(s.details.clone()).to_string()
                };
                vec![
                    e.change_id.clone(),
                    (i + 1).to_string(),
                    s.name.clone(),
                    ty,
                    status_name(s.status).to_owned(),
                    s.description.clone(),
                    details,
                ]
            })
        }),
    );
    let props = csv_rows(
        "changeId,displayName,oldValue,newValue",
        entries.iter().flat_map(|e| {
            e.modified_properties.iter().map(|p| {
                vec![
                    e.change_id.clone(),
                    p.display_name.clone(),
                    p.old_value.clone().unwrap_or_default(),
                    p.new_value.clone().unwrap_or_default(),
                ]
            })
        }),
    );
    [
        (PORTAL_CSV_FILES[0], logs),
        (PORTAL_CSV_FILES[1], steps),
        (PORTAL_CSV_FILES[2], props),
    ]
}

/// JUnit XML (the spine's one writer): one testcase per entry; failures are `<failure>`,
/// skips `<skipped>`.
pub fn junit(entries: &[Entry]) -> String {
    use crate::entra::junit::{Case, CaseOutcome, Suite};
    let cases = entries
        .iter()
        .map(|e| {
            let name = format!(
                "{} {} {} '{}'",
                action_name(e.provisioning_action),
                e.source_identity.identity_type,
                e.source_identity.id,
                e.source_identity.display_name
            );
            let outcome = match (&e.provisioning_status_info.error_information, e.status()) {
                (Some(i), Status::Failure) => CaseOutcome::Failed {
                    kind: i.error_code.clone(),
                    message: match &i.additional_details {
                        Some(said) => format!("{}: {said}", i.error_code),
                        None => i.error_code.clone(),
                    },
                    text: i.reason.clone(),
                },
                (_, Status::Skipped) => CaseOutcome::Skipped {
                    message: String::new(),
                },
                _ => CaseOutcome::Passed,
            };
            Case {
                name,
                // Stable from run to run (CI history keys tests by class and name): the
                // object kind, not the random cycle id.
                classname: format!("provision.{}", e.source_identity.identity_type),
                time_ms: None,
                outcome,
                output: None,
            }
        })
        .collect();
    crate::entra::junit::write(
        "scimock provision",
        None,
        &[Suite {
            name: "scimock provision".into(),
            time_ms: None,
            cases,
        }],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(change: &str, steps: usize, props: usize) -> Entry {
        let (initiated_by, service_principal, source_system, target_system) =
            systems("customappsso");
        let identity = |id: &str| Identity {
            id: id.to_owned(),
            display_name: "Ada, Lovelace".to_owned(),
            identity_type: "User".to_owned(),
            details: serde_json::Map::new(),
        };
        Entry {
            id: format!("id-{change}"),
            activity_date_time: "2026-01-05T09:00:00Z".to_owned(),
            tenant_id: "t".to_owned(),
            job_id: "scim.t".to_owned(),
            cycle_id: "c1".to_owned(),
            change_id: change.to_owned(),
            provisioning_action: Action::Update,
            duration_in_milliseconds: 0,
            initiated_by,
            service_principal,
            source_system,
            target_system,
            source_identity: identity("s1"),
            target_identity: identity("t1"),
            provisioning_status_info: StatusInfo {
                status: Status::Failure,
                error_information: Some(error("Code", "line one\nline \"two\"".to_owned())),
            },
            provisioning_steps: (0..steps)
                .map(|i| Step {
                    name: format!("Step{i}"),
                    provisioning_step_type: StepType::Export,
                    status: Status::Success,
                    description: "d".to_owned(),
                    details: serde_json::Map::new(),
                })
                .collect(),
            modified_properties: (0..props)
                .map(|i| ModifiedProperty {
                    display_name: format!("attr{i}"),
                    old_value: None,
                    new_value: Some("x".to_owned()),
                })
                .collect(),
        }
    }

    #[test]
    fn the_portal_download_is_three_files_joined_on_the_change_id() {
        let files = portal_csv(&[entry("ch1", 3, 2), entry("ch2", 1, 0)]);
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, PORTAL_CSV_FILES);
        let (logs, steps, props) = (&files[0].1, &files[1].1, &files[2].1);
        // Header + one row per entry; the quoted reason spans two lines.
        assert!(logs.starts_with("changeId,id,cycleId,"));
        assert!(!logs.lines().next().unwrap().contains("steps"));
        assert!(logs.contains("ch1,id-ch1,c1,"));
        assert!(logs.contains("\"line one\nline \"\"two\"\"\""), "{logs}");
        assert!(logs.contains(",\"Ada, Lovelace\","), "{logs}");
        let step_rows: Vec<&str> = steps.lines().skip(1).collect();
        assert_eq!(step_rows.len(), 4);
        assert!(
            step_rows[0].starts_with("ch1,1,Step0,export,Success,"),
            "{steps}"
        );
        assert!(step_rows[3].starts_with("ch2,1,Step0,"), "{steps}");
        let prop_rows: Vec<&str> = props.lines().skip(1).collect();
        assert_eq!(prop_rows, ["ch1,attr0,,x", "ch1,attr1,,x"]);
    }

    #[test]
    fn csv_quotes_fields_with_commas_and_quotes() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
