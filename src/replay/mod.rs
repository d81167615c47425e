//! The Entra stand-in: replays recorded Entra request sequences against any SCIM endpoint,
//! checks every answer, and reports what Entra would make of it.
//!
//! Owns the sequence format (`scenario`), the runner (`runner`: order, concurrency,
//! substitution, captures, cleanup), the result model (`result`), the checks (`check`:
//! expectations plus the compliance pitfalls of docs/entra.md §2 and §3.6) and the reports
//! ([`report`]). The HTTP client, the tenant URL, the dialect, the 429 policy, the status
//! consequences and the secret policy are the Entra spine's ([`crate::entra`]).
//!
//! # Sequence format (`testdata/azure/<scenario>.json`)
//!
//! One JSON object per file. Unknown fields are errors, so a typo cannot silently disable
//! a check.
//!
//! | field | type | default | meaning |
//! |---|---|---|---|
//! | `name` | string | file stem | scenario name, unique |
//! | `description` | string | `""` | what it exercises |
//! | `note` | string | `""` | the reference section it pins (`docs/entra.md §1.0`) |
//! | `source` | string | `""` | the public source of its shapes (Microsoft page title, RFC section, `owner/repo#issue`) |
//! | `rows` | array of string | `[]` | rows of the December 2026 shape audit it covers (`"B3"`) |
//! | `profile` | string | none | vendor profile it is recorded for; runs only with `--profile` that id |
//! | `dialects` | array of `"legacy"` / `"aadOptscim062020"` | both | dialects it runs in |
//! | `requires` | array of string | `[]` | capabilities needed ([`capability`]: `"groups"`, `"custom-extension"`, `"adscim-group"`, …); skipped otherwise, saying who declares nothing and the flag that forces it |
//! | `vars` | object string → string | `{}` | variables set at start, in file order; may use generators and earlier vars |
//! | `steps` | array of step | required, non-empty | requests in Entra's order |
//!
//! A **step**:
//!
//! | field | type | default | meaning |
//! |---|---|---|---|
//! | `name` | string | required | unique within the scenario (per dialect) |
//! | `note` | string | `""` | reference section or remark |
//! | `dialect` | `"legacy"` / `"aadOptscim062020"` | every dialect | run only in this dialect |
//! | `request.method` | string | required | HTTP method |
//! | `request.path` | string | required | path relative to the tenant URL, starting with `/` |
//! | `request.query` | object string → string | `{}` | query parameters, sent form-encoded as Entra does (`+` for space, `%22` for `"`) |
//! | `request.headers` | object string → string | `{}` | extra headers (`Authorization`, and with a body `Content-Type: application/scim+json; charset=utf-8` as the live service sends it, are added) |
//! | `request.raw_quotes` | bool | `false` | send `"` in the query unencoded, as the SCIM Validator does |
//! | `request.body` | JSON | none | request body |
//! | `expect.status` | number or array of numbers | any 2xx | acceptable statuses |
//! | `expect.headers` | object string → string | `{}` | headers that must be present (case-insensitive prefix match) |
//! | `expect.body` | JSON | none | subset the body must contain: objects need at least these keys, arrays the same length element by element, scalars equality |
//! | `expect.ignore` | array of JSON pointers | `[]` | removed from both sides before comparing |
//! | `expect.exists` | array of JSON pointers | `[]` | must be present and non-null |
//! | `expect.absent` | array of JSON pointers | `[]` | must not be present |
//! | `expect.empty` | array of JSON pointers | `[]` | must be absent, `null`, `""`, `[]` or `{}` (RFC 7643 §2.5) |
//! | `capture` | object name → pointer | `{}` | take `/id` (a JSON pointer into the body) or `header:Location` into `${name}` |
//! | `consequence` | string | built in | what Entra does when this step fails |
//! | `cleanup` | string | none | path to `DELETE` at scenario end if this step succeeded (best effort) |
//! | `advisory` | bool | `false` | Entra tolerates the difference or its behaviour is unconfirmed: failures become warnings and the scenario stops there without failing |
//!
//! **Substitution**: every string in `path`, `query`, `headers`, `body`, `expect.body`,
//! `expect.headers` and `cleanup` may hold `${name}` (a var or capture), `${uuid}` (a fresh
//! UUID v4), `${random_upn}` (a fresh `Test_User_<uuid>@testuser.com`), `${dialect}`, or a
//! run-wide variable: `${match_attr}` (the matching attribute, `userName` unless a profile
//! says otherwise), `${required_attrs}`, `${profile_extension}`, taken from `--profile`
//! by [`Profile::run_vars`](crate::profile::Profile::run_vars), and `${custom_extension}`,
//! `${custom_attribute}`, `${custom_multi_extension}`, `${custom_multi_attribute}` (the
//! custom extension the profile or `/Schemas` declares, or Microsoft's example names:
//! [`capability`]); `$${` is a literal `${`.
//! A missing variable fails the step with a `capture` finding.
//!
//! **Flow**: steps run in order; after the first failed step the rest of that scenario is
//! skipped, other scenarios still run. Cleanup requests run last, newest first, and never
//! fail a scenario.
//!
//! # Built-in checks (besides `expect`)
//!
//! - `content-type`: a body must be `application/scim+json`; `application/json` fails a
//!   success answer (the SCIM Validator refuses it) and warns on an error answer.
//! - `json`: a body must parse as JSON (Entra: *ServiceIncompatible*).
//! - `list-response`: answers to `GET /Users`, `/Groups` and filter queries must be a
//!   ListResponse with a numeric `totalResults` and a `Resources` array when non-empty
//!   (RFC 7644 §3.4.2 lets it be left out when `totalResults` is 0).
//! - `duplicate-match`: a matching query (one `eq` on any attribute: `userName`, `externalId`,
//!   `emails[type eq "work"].value`, a custom extension attribute) that returns more than one
//!   resource (Entra: *DuplicateTargetEntries*, the object is skipped).
//! - `error-body`: an error body whose `status` is a number, missing or different (warning:
//!   Entra reads the HTTP status).
//! - `rate-limit`: a 429 that was retried after its `Retry-After` (warning; bounded by
//!   `--retries-on-429` and `--max-retry-after`).
//! - `id-changed`: `/Users/{id}` or `/Groups/{id}` answering with another `id`.
//! - `group-patch-body`: a group PATCH answering 200 with the full member list (warning).
//! - `read-back`: after every 2xx `POST`, `PUT` or `PATCH` of a user or group, the resource is
//!   read back and every attribute, element or member that was not stored as sent is a
//!   failure (Entra sends it again each time it processes the object), with the
//!   normalisations RFC 7643/7644 allow (case, `"True"` for `true`, a bare reference for
//!   `{"value": …}`, `""` as clearing, server-assigned `id`/`meta`); a resource that cannot be
//!   read back is a warning. The scenario goes on after such a step (each other gap is
//!   found too) and fails at its end. `RunnerConfig::read_back` makes them warnings
//!   (validate's choice) or turns them off.
//!
//! # Report JSON (format 1)
//!
//! `{format: 1, tenant_url, duration_ms, unreachable, summary: {scenarios, passed, failed,
//! skipped, steps, steps_failed, warnings}, scenarios: [{name, dialect, description, note,
//! outcome: "passed"|"failed"|"skipped", skipped_because?, duration_ms, cleanup: [{target,
//! status?, error?}], steps: [{name, note, outcome, duration_ms, request?: {method, target,
//! body?}, response?: {status, content_type?, body?}, findings: [{severity:
//! "failure"|"warning", check, message, consequence}]}]}]}`. New fields may be added;
//! existing ones keep their meaning while `format` stays 1.

pub mod capability;
pub(crate) mod check;
mod config;
pub mod detail;
mod policy;
mod readback;
pub mod report;
pub(crate) mod result;
pub(crate) mod runner;
pub(crate) mod scenario;
mod step;

pub use capability::{
    ADSCIM_GROUP_CAPABILITY, CUSTOM_EXTENSION, CUSTOM_MULTI_VALUED, ENTRA_QUIRKS, RAW_QUOTES,
};
pub use check::{Finding, Severity};
/// Read-back's normalisations, for `scimock fuzz`'s comparison of two resources.
#[cfg(feature = "endpoint-fuzz")]
pub(crate) use readback::{check as read_back_check, expectations as read_back_expectations};
pub use result::{
    CleanupResult, Outcome, ReceivedResponse, Report, ScenarioResult, SentRequest, StepResult,
    Summary,
};
pub use runner::{ReadBack, Runner, RunnerConfig, RunnerError};
pub use scenario::{Scenario, ScenarioError, Step};

/// The scenarios shipped in `testdata/azure/`, compiled into the binary so
/// `scimock replay` works from any directory.
pub fn builtin_scenarios() -> Result<Vec<Scenario>, ScenarioError> {
    static DIR: include_dir::Dir<'_> =
        include_dir::include_dir!("$CARGO_MANIFEST_DIR/testdata/azure");
    let mut files: Vec<_> = DIR
        .files()
        .filter(|f| f.path().extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort_by_key(|f| f.path());
    files
        .into_iter()
        .map(|f| {
            let stem = f
                .path()
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("scenario");
            let text = f.contents_utf8().unwrap_or("");
            Scenario::from_json(text, stem)
        })
        .collect()
}
