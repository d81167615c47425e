//! What Entra does with an answer: the one table from HTTP status to the provisioning-log
//! error code, whether the job is quarantined at once, and the consequence in words. Replay
//! and validate print the words; provision writes the codes into its logs and decides
//! quarantine from the same rows.

/// The public pages the consequences cite.
pub mod source {
    /// learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
    pub const SCIM_TUTORIAL: &str = "Microsoft Learn \"Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID\"";
    /// learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-quarantine-status
    pub const QUARANTINE: &str =
        "Microsoft Learn \"Application provisioning in quarantine status\"";
    /// learn.microsoft.com/entra/identity/monitoring-health/howto-analyze-provisioning-logs
    pub const LOGS: &str =
        "Microsoft Learn \"How to analyze the Microsoft Entra provisioning logs\" (error codes)";
    /// learn.microsoft.com/entra/identity/app-provisioning/how-provisioning-works
    pub const HOW_IT_WORKS: &str =
        "Microsoft Learn \"How Application Provisioning works in Microsoft Entra ID\"";
    /// learn.microsoft.com/entra/identity/app-provisioning/scim-validator-tutorial
    pub const VALIDATOR: &str = "Microsoft Learn \"Tutorial: Validate a SCIM endpoint\"";
    /// learn.microsoft.com/answers/questions/2284725
    pub const RETRY_AFTER: &str =
        "Microsoft Q&A 2284725 (Retry-After honoured, failed requests retried)";
    /// learn.microsoft.com/answers/questions/1151866
    pub const TIMEOUT: &str = "Microsoft Q&A 1151866 (answers expected within 60 s)";
}

/// The connector name Entra prefixes SCIM error codes with.
pub const SCIM_CONNECTOR: &str = "SystemForCrossDomainIdentityManagement";

/// The condition part of the provisioning-log error code for an HTTP status (the codes of
/// *How to analyze the Microsoft Entra provisioning logs*; 409 and 400 are in Microsoft's
/// examples, the others follow the code names).
pub fn condition(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "InsufficientRights",
        404 => "InvalidAnchor",
        405 => "MethodNotAllowed",
        409 => "EntryConflict",
        422 => "UnprocessableEntity",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        501 => "NotImplemented",
        _ => "WebExceptionProtocolError",
    }
}

/// The whole error code: `SystemForCrossDomainIdentityManagement<condition>`.
pub fn error_code(status: u16) -> String {
    format!("{SCIM_CONNECTOR}{}", condition(status))
}

/// The code for an exchange that got no HTTP answer: a timeout, or anything else
/// (refused, reset, TLS, a body over the limit).
pub fn transport_code(timed_out: bool) -> String {
    let condition = if timed_out {
        "Timeout"
    } else {
        "WebExceptionProtocolError"
    };
    format!("{SCIM_CONNECTOR}{condition}")
}

/// True for statuses that quarantine the job at once, whatever the counts: the endpoint
/// refused the credentials (`EncounteredQuarantineException`, *Application provisioning in
/// quarantine status*).
pub fn quarantines_at_once(status: u16) -> bool {
    matches!(status, 401 | 403)
}

/// What Entra does when a request gets `status` instead of what it expected. Immediate
/// quarantine (credentials, SCIM compliance) is named as such; other failures count toward
/// escrow, which starts only at thousands of failures per cycle, so no CI-sized run reaches
/// it (*Application provisioning in quarantine status*).
pub fn of_status(method: &str, path: &str, filter: Option<&str>, status: u16) -> String {
    use source::{HOW_IT_WORKS, LOGS, QUARANTINE, RETRY_AFTER, SCIM_TUTORIAL};
    let is_query = method == "GET" && filter.is_some();
    match status {
        401 | 403 => format!("Entra logs Unauthorized/InsufficientRights; credential failures quarantine the job at once (EncounteredQuarantineException; {QUARANTINE})"),
        404 if is_query => format!("Test Connection fails and the job is quarantined as a SCIM compliance failure: a query with no match must be 200 with totalResults 0 ({SCIM_TUTORIAL}; {QUARANTINE})"),
        404 if method == "POST" => format!("Entra fails the object, retries the create next cycle, and counts it toward escrow ({HOW_IT_WORKS})"),
        404 => format!("Entra fails the object with InvalidAnchor: the user or group it created or matched no longer exists ({LOGS})"),
        405 | 501 => format!("Entra logs MethodNotAllowed/NotImplemented; the operation never succeeds ({LOGS})"),
        // Microsoft's wording: failed operations are retried in the next cycle ([HOW]); the
        // code is EntryConflict ([LOGS]). No page says Entra then matches instead.
        409 if method == "POST" => format!("Entra logs EntryConflict, fails the object and retries the create in the next cycle ({LOGS}: EntryConflict; {HOW_IT_WORKS}: failed operations are retried in the next cycle)"),
        409 => format!("Entra logs EntryConflict, fails the object and retries it in the next cycle ({LOGS}: EntryConflict; {HOW_IT_WORKS}: failed operations are retried in the next cycle)"),
        412 => format!("Entra does not send If-Match; a 412 fails every update ({SCIM_TUTORIAL})"),
        400 if method == "PATCH" => format!("Entra fails the object and resends it each cycle (counted toward escrow); the change never reaches the app ({HOW_IT_WORKS})"),
        400 if method == "POST" && path.starts_with("/Groups") => format!("Entra fails the group and retries next cycle; its memberships are never provisioned ({HOW_IT_WORKS})"),
        400 => format!("Entra fails the object and retries it next cycle; the failure counts toward escrow ({HOW_IT_WORKS})"),
        429 => format!("Entra pauses for Retry-After and retries the failed requests; this 429 outlasted the retries ({RETRY_AFTER})"),
        500..=599 => format!("Entra logs InternalServerError, fails the object and retries later; the failure counts toward escrow, which starts at 5,000 failures and 40 % of a cycle ({QUARANTINE})"),
        _ if method == "GET" && (200..300).contains(&status) => format!("Entra cannot rely on the answer to match users or groups ({HOW_IT_WORKS}: matching users between the source and target systems)"),
        _ => format!("Entra fails the object and retries it next cycle ({HOW_IT_WORKS})"),
    }
}

/// `(consequence, source)`: a consequence ending in a parenthesis that names a source
/// ([`names_a_source`]) cites it there. A trailing parenthesis that names none is a remark
/// and stays part of the text ("Entra fails the create (or, where …, re-PATCHes …)").
pub fn split_source(consequence: &str) -> (&str, Option<&str>) {
    let trimmed = consequence.trim_end();
    if !trimmed.ends_with(')') {
        return (consequence, None);
    }
    let mut depth = 0usize;
    for (i, c) in trimmed.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let text = trimmed.get(..i).unwrap_or("").trim_end();
                    let source = trimmed.get(i + 1..trimmed.len() - 1).unwrap_or("");
                    if text.is_empty() || !names_a_source(source) {
                        return (consequence, None);
                    }
                    return (text, Some(source));
                }
            }
            _ => {}
        }
    }
    (consequence, None)
}

/// True when `text` names a public source: a Microsoft page or answer (Microsoft Learn,
/// Microsoft Q&A, MicrosoftDocs), an RFC, a URL, a section of docs/entra.md (`§`, a
/// `docs/` file) or a GitHub `owner/repo` (AzureAD/SCIMReferenceCode, `owner/repo#123`).
pub fn names_a_source(text: &str) -> bool {
    const MARKS: [&str; 8] = [
        "Microsoft",
        "RFC",
        "Learn",
        "http://",
        "https://",
        "§",
        "docs/",
        "AzureAD/",
    ];
    let repo_issue = text.split_whitespace().any(|word| {
        word.split_once('/').is_some_and(|(owner, rest)| {
            !owner.is_empty()
                && rest.split_once('#').is_some_and(|(repo, n)| {
                    !repo.is_empty() && n.starts_with(|c: char| c.is_ascii_digit())
                })
        })
    });
    repo_issue || MARKS.iter().any(|m| text.contains(m))
}

/// What Entra does when a request gets no answer at all.
pub fn of_transport() -> String {
    format!(
        "Entra logs Timeout or WebExceptionProtocolError, fails the object and retries later; it expects answers within 60 s ({})",
        source::TIMEOUT
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's texts, like every scenario's, end with the public page they rest on.
    #[test]
    fn every_status_text_names_its_source() {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            for (path, filter) in [("/Users", Some("userName eq \"a\"")), ("/Groups/1", None)] {
                for status in 200..=599 {
                    let text = of_status(method, path, filter, status);
                    assert!(
                        split_source(&text).1.is_some(),
                        "{method} {path} {status}: {text}"
                    );
                }
            }
        }
    }

    #[test]
    fn error_codes_follow_the_connector_pattern() {
        assert_eq!(
            error_code(409),
            "SystemForCrossDomainIdentityManagementEntryConflict"
        );
        assert_eq!(condition(429), "TooManyRequests");
        assert_eq!(condition(502), "WebExceptionProtocolError");
        assert_eq!(
            transport_code(true),
            "SystemForCrossDomainIdentityManagementTimeout"
        );
    }

    /// Issue #29: a 409 on a create is logged EntryConflict and the create is retried in the
    /// next cycle; Entra does not fall back to matching the object it conflicts with.
    #[test]
    fn a_409_on_create_is_retried_next_cycle_not_matched() {
        for path in ["/Users", "/Groups"] {
            let c = of_status("POST", path, None, 409);
            assert!(c.contains("EntryConflict"), "{c}");
            assert!(c.contains("retries the create in the next cycle"), "{c}");
            assert!(!c.to_ascii_lowercase().contains("match"), "{c}");
            assert!(c.contains(source::LOGS), "{c}");
            assert!(c.contains(source::HOW_IT_WORKS), "{c}");
        }
    }

    #[test]
    fn only_credential_failures_quarantine_at_once() {
        let at_once: Vec<u16> = (100..600).filter(|s| quarantines_at_once(*s)).collect();
        assert_eq!(at_once, [401, 403]);
        assert!(of_status("GET", "/Users", None, 401).contains("quarantine the job at once"));
    }
}
