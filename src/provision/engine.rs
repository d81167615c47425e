//! The cycle context shared by the user and group passes: HTTP calls with 429 handling,
//! mapping evaluation, change detection, log-entry building, escrow bookkeeping and the
//! quarantine verdict (entra-engine §4.7).

use std::sync::Arc;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;

use super::config::{AppConfig, MappingSource};
use super::log::{
    self, Action, Entry, ErrorInfo, Identity, ModifiedProperty, Status, Step, StepType,
};
use super::state::{Escrow, Quarantine, State};
use super::sync::{list_hits, resource_id, Verdict};
use super::target::{Request, Response, Target};
use super::wire::Change;
use super::workers::Throttle;
use super::{CycleReport, Journal, Knobs, Stats};
use crate::clock::{Clock, IdGenerator};
use crate::entra::{consequence, TransportError};

/// A failed call, with what the log needs.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) code: String,
    pub(crate) status: Option<u16>,
    /// The answer's text (an excerpt, [`Response::text`]) or what went wrong.
    pub(crate) body: String,
    /// The SCIM error's `detail` (RFC 7644 §3.12), taken from the whole answer (the body's
    /// excerpt may end before it); the log keeps an excerpt of it
    /// ([`log::endpoint_said`]).
    pub(crate) detail: Option<String>,
}

impl Failure {
    pub(crate) fn engine(condition: &str, body: impl Into<String>) -> Failure {
        Failure {
            code: format!("{}{condition}", consequence::SCIM_CONNECTOR),
            status: None,
            body: body.into(),
            detail: None,
        }
    }
}

/// An object's log entry under construction.
#[derive(Debug)]
pub(crate) struct Draft {
    pub(crate) kind: &'static str,
    pub(crate) source_id: String,
    pub(crate) name: String,
    pub(crate) target_id: String,
    pub(crate) steps: Vec<Step>,
    pub(crate) props: Vec<ModifiedProperty>,
}

impl Draft {
    pub(crate) fn new(kind: &'static str, source_id: &str, name: &str) -> Draft {
        Draft {
            kind,
            source_id: source_id.to_owned(),
            name: name.to_owned(),
            target_id: String::new(),
            steps: Vec::new(),
            props: Vec::new(),
        }
    }

    pub(crate) fn step(&mut self, name: &str, ty: StepType, status: Status, description: String) {
        self.steps.push(Step {
            name: name.to_owned(),
            provisioning_step_type: ty,
            status,
            description,
            details: Map::new(),
        });
    }

    pub(crate) fn step_with(
        &mut self,
        name: &str,
        ty: StepType,
        status: Status,
        description: String,
        details: Map<String, Value>,
    ) {
        self.step(name, ty, status, description);
        if let Some(s) = self.steps.last_mut() {
            s.details = details;
        }
    }

    pub(crate) fn import(&mut self, change: &str) {
        let d = format!(
            "Received {} '{}' change of type ({change}) from Azure Active Directory",
            self.kind, self.name
        );
        self.step(
            &format!("EntryImport{change}"),
            StepType::Import,
            Status::Success,
            d,
        );
    }

    pub(crate) fn changes(&mut self, changes: &[Change]) {
        for c in changes {
            self.props.push(ModifiedProperty {
                display_name: c.path.clone(),
                old_value: c.old.as_ref().map(text),
                new_value: Some(text(&c.new)),
            });
        }
    }
}

/// A JSON value as the log writes it: strings bare, booleans `True`/`False`.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// Everything one cycle works on.
pub(crate) struct Cycle<'a> {
    pub(crate) config: &'a AppConfig,
    pub(crate) knobs: &'a Knobs,
    pub(crate) clock: &'a Arc<dyn Clock>,
    pub(crate) ids: &'a Arc<dyn IdGenerator>,
    pub(crate) target: &'a Target,
    pub(crate) throttle: &'a Throttle,
    /// Where each link change goes as its answer arrives ([`super::Engine::with_journal`]).
    pub(crate) journal: Option<&'a Journal>,
    pub(crate) state: &'a mut State,
    pub(crate) cycle_id: String,
    pub(crate) initial: bool,
    /// A pass worker: entries go to `pending` (ids handed out when merged, in order).
    pub(crate) worker: bool,
    /// A worker's entries, each with whether the report keeps it.
    pub(crate) pending: Vec<(Entry, bool)>,
    pub(crate) entries: Vec<Entry>,
    pub(crate) requests: Vec<Request>,
    /// Requests sent, recorded or not.
    pub(crate) sent: u64,
    /// Requests that got an HTTP answer, and those of them answered 404.
    pub(crate) answered: u64,
    pub(crate) not_found: u64,
    pub(crate) stats: Stats,
    pub(crate) successes: u64,
    pub(crate) failures: u64,
    pub(crate) reference_failures: u64,
    pub(crate) credential_failure: bool,
    pub(crate) staged: bool,
    pub(crate) seed: u64,
    /// Process every object, changed or not (provisioning on demand re-evaluates the one
    /// user it is given, reading the target back).
    pub(crate) process_all: bool,
}

impl std::fmt::Debug for Cycle<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cycle")
            .field("cycle_id", &self.cycle_id)
            .finish_non_exhaustive()
    }
}

impl Cycle<'_> {
    pub(crate) fn now(&self) -> String {
        self.clock.now().format(&Rfc3339).unwrap_or_default()
    }

    pub(crate) fn app(&self) -> &str {
        &self.knobs.app_name
    }

    /// One request; 429 answers are retried after `Retry-After` (capped) up to the knob's
    /// count, then fail; the wait holds back every worker of the cycle, not just this one.
    /// Any non-2xx answer is a [`Failure`] carrying Entra's code ([`Cycle::judge`] decides,
    /// this sends and waits).
    pub(crate) async fn call(&mut self, req: Request) -> Result<Response, Failure> {
        let mut throttled = 0;
        loop {
            if let Some(why) = self.throttle.stopped() {
                return Err(Failure::engine("Timeout", format!("not sent: {why}")));
            }
            self.throttle.wait().await;
            self.sent += 1;
            if self.knobs.record_requests {
                self.requests.push(req.clone());
            }
            let answer = self.target.send(&req).await;
            let timed_out = matches!(&answer, Err(e) if e.is_timeout());
            self.throttle
                .observe(timed_out, self.knobs.max_timeouts, || {
                    answer
                        .as_ref()
                        .err()
                        .map(|e| crate::entra::excerpt::text(self.target.secrets(), &e.to_string()))
                        .unwrap_or_default()
                });
            let r = match answer {
                Ok(r) => r,
                Err(e) => return Err(transport_failure(&e, self.target.secrets())),
            };
            self.answered += 1;
            if r.status == 404 {
                self.not_found += 1;
            }
            match self.judge(r, &mut throttled) {
                Verdict::Answer(a) => return a,
                Verdict::Retry(wait) => self.throttle.pause(wait),
            }
        }
    }

    /// Entra's Test Connection query, which it also sends at the start of provisioning
    /// activity (docs/entra.md §1.0): the configured matching attribute equal to a random
    /// GUID (from the cycle's seed, so runs repeat). The answer must be a 2xx SCIM
    /// ListResponse; a match is not an error.
    pub(crate) async fn test_connection(&mut self) -> Result<(), Failure> {
        let attr = self
            .config
            .users
            .matching()
            .first()
            .map(|m| m.target.clone())
            .unwrap_or_else(|| "userName".into());
        let guid = uuid::Uuid::from_u128(u128::from(self.seed) + 1).to_string();
        let query = crate::entra::wire::filter_query(&attr, &guid);
        let r = self.call(Request::get(format!("/Users?{query}"))).await?;
        list_hits(&r).map(|_| ())
    }

    /// Records a finished entry.
    pub(crate) fn finish(
        &mut self,
        d: Draft,
        action: Action,
        status: Status,
        error: Option<ErrorInfo>,
    ) {
        let (initiated_by, service_principal, source_system, target_system) =
            log::systems(self.app());
        let mut d = d;
        self.redact(&mut d);
        // The entry is what every report writes: what the endpoint gave is kept as an
        // excerpt, as the reason is: the id it assigned (1,000 bytes), and property values
        // (64 KiB, the bound of a body: a group's members are the ids it assigned, and a
        // large group's list is long for good reason).
        let secrets = self.target.secrets();
        let target_id = crate::entra::excerpt::text(secrets, &d.target_id);
        for p in &mut d.props {
            for value in [&mut p.old_value, &mut p.new_value].into_iter().flatten() {
                if value.len() > crate::entra::excerpt::BODY {
                    *value =
                        crate::entra::excerpt::bounded(secrets, value, crate::entra::excerpt::BODY);
                }
            }
        }
        let now = self.now();
        let deferred = self.worker;
        let mut entry = Entry {
            id: String::new(),
            activity_date_time: now,
            tenant_id: self.knobs.tenant_id.clone(),
            job_id: format!("scim.{}", self.knobs.tenant_id.replace('-', "")),
            cycle_id: self.cycle_id.clone(),
            change_id: String::new(),
            provisioning_action: action,
            duration_in_milliseconds: 0,
            initiated_by,
            service_principal,
            source_system,
            target_system,
            source_identity: Identity {
                id: d.source_id.clone(),
                display_name: d.name.clone(),
                identity_type: d.kind.to_owned(),
                details: Map::new(),
            },
            target_identity: Identity {
                id: target_id,
                display_name: if d.target_id.is_empty() {
                    String::new()
                } else {
                    d.name.clone()
                },
                identity_type: d.kind.to_owned(),
                details: Map::new(),
            },
            provisioning_status_info: log::StatusInfo {
                status,
                error_information: error,
            },
            provisioning_steps: d.steps,
            modified_properties: d.props,
        };
        let st = &mut self.stats;
        st.processed += 1;
        match (action, status) {
            (_, Status::Failure) => st.failed += 1,
            (Action::StagedDelete, _) => st.staged += 1,
            (_, Status::Skipped) => st.skipped += 1,
            (Action::Create, _) => st.created += 1,
            (Action::Update, _) => st.updated += 1,
            (Action::Disable, _) => st.disabled += 1,
            (Action::Delete, _) => st.deleted += 1,
            (Action::Other, _) => st.skipped += 1,
        }
        if status == Status::Success {
            self.successes += 1;
        }
        let keep = self.knobs.keep_entries || status == Status::Failure;
        if deferred {
            self.pending.push((entry, keep));
        } else {
            entry.id = self.ids.next_id();
            entry.change_id = self.ids.next_id();
            if keep {
                self.entries.push(entry);
            }
        }
    }

    /// A mapping whose expression calls `Redact()` shows `[Redact]` in the provisioning log
    /// instead of its values; the value itself still flows to the target (Microsoft Learn
    /// "Reference for writing expressions for attribute mappings", Redact).
    fn redact(&self, d: &mut Draft) {
        let objects = [Some(&self.config.users), self.config.groups.as_ref()];
        let redacted = |path: &str| {
            objects.iter().flatten().any(|o| {
                o.mappings.iter().any(|m| {
                    m.target.eq_ignore_ascii_case(path)
                        && matches!(&m.source, MappingSource::Expression(e) if e.redacts_log())
                })
            })
        };
        for p in &mut d.props {
            if redacted(&p.display_name) {
                let shown = |v: &mut Option<String>| {
                    if v.is_some() {
                        *v = Some("[Redact]".to_owned());
                    }
                };
                shown(&mut p.old_value);
                shown(&mut p.new_value);
            }
        }
    }

    /// Takes a create's answer: the new id recorded on the draft with every created value
    /// as a modified property, or (no [`resource_id`] in the answer, RFC 7644 §3.3
    /// requires one) the create logged as failed and `None`.
    pub(crate) fn created(
        &mut self,
        mut d: Draft,
        answer: &Response,
        created: &[(String, Value)],
    ) -> Option<Draft> {
        let Some(id) = resource_id(&answer.json) else {
            let f = Failure::engine(
                "ServiceIncompatible",
                format!("the create answer has no id: {}", answer.text),
            );
            self.fail(d, Action::Create, "EntryExportAdd", "create", f, false);
            return None;
        };
        d.target_id = id.to_owned();
        let changes: Vec<Change> = created
            .iter()
            .map(|(p, v)| Change {
                path: p.clone(),
                old: None,
                new: v.clone(),
            })
            .collect();
        d.changes(&changes);
        Some(d)
    }

    /// A failed match (the GET by matching attribute that precedes a create).
    pub(crate) fn match_failed(&mut self, d: Draft, f: Failure) {
        self.fail(
            d,
            Action::Create,
            "EntrySynchronizationAdd",
            "match",
            f,
            false,
        );
    }

    /// A failed export: the step, the entry, the escrow.
    pub(crate) fn fail(
        &mut self,
        mut d: Draft,
        action: Action,
        step: &str,
        verb: &str,
        f: Failure,
        reference: bool,
    ) {
        let desc = format!("Failed to {verb} {} '{}' in {}", d.kind, d.name, self.app());
        let ty = if reference {
            StepType::ReferenceResolution
        } else {
            StepType::Export
        };
        d.step(step, ty, Status::Failure, desc);
        let retries = self.escrow(&d.source_id, &f.code);
        let next = self.retry_after(retries);
        let reason = match f.status {
            Some(status) => log::http_reason(verb, d.kind, &d.name, status, &f.body, retries, &next),
            None => format!("{}. This operation was retried {retries} times. It will be retried again after this date: {next} UTC", f.body),
        };
        if reference {
            self.reference_failures += 1;
        } else {
            self.failures += 1;
        }
        let mut error = log::error(&f.code, reason);
        error.additional_details = Some(log::endpoint_said(
            f.status,
            f.detail.as_deref(),
            &f.body,
            self.target.secrets(),
        ));
        self.finish(d, action, Status::Failure, Some(error));
    }

    /// Records an escrow; returns how many times the object was retried before.
    fn escrow(&mut self, source_id: &str, code: &str) -> u32 {
        let now = self.now();
        let e = self
            .state
            .escrows
            .entry(source_id.to_owned())
            .or_insert(Escrow {
                error_code: code.to_owned(),
                retries: 0,
                first_failure: now,
            });
        let retries = e.retries;
        e.retries += 1;
        e.error_code = code.to_owned();
        retries
    }

    pub(crate) fn succeeded(&mut self, source_id: &str) {
        self.state.escrows.remove(source_id);
    }

    /// +6 h, +12 h, +24 h after the first failure, then every 24 h (*Quarantine status in
    /// Microsoft Entra Application Provisioning*).
    fn retry_after(&self, retries: u32) -> String {
        let hours = match retries {
            0 => 6,
            1 => 12,
            _ => 24,
        };
        (self.clock.now() + time::Duration::hours(hours))
            .format(&Rfc3339)
            .unwrap_or_default()
    }

    /// The job's verdict after the cycle (entra-engine §4.6, §4.7).
    pub(crate) fn verdict(&mut self, processed: u64) -> (Option<Quarantine>, bool) {
        let r = &self.knobs.escrow;
        let f = self.failures;
        let total = f + self.reference_failures;
        let now = self.now();
        let q = |reason: &str, rule: String| Quarantine {
            reason: reason.to_owned(),
            rule,
            current_began: now.clone(),
        };
        let escrow_rule = if total > r.cap {
            Some(q(
                "EncounteredTotalEscrowThreshold",
                format!(
                    "{total} failures incl. reference failures exceed the cap of {}",
                    r.cap
                ),
            ))
        } else if f >= r.base && f > r.total {
            Some(q(
                "EncounteredTotalEscrowThreshold",
                format!("{f} failures exceed {}", r.total),
            ))
        } else if f >= r.base && processed > 0 && (f as f64) / (processed as f64) > r.proportion {
            Some(q(
                "EncounteredEscrowProportionThreshold",
                format!(
                    "{f} of {processed} events failed, more than {:.0} %",
                    r.proportion * 100.0
                ),
            ))
        } else {
            None
        };
        if self.credential_failure {
            return (
                Some(q(
                    "EncounteredQuarantineException",
                    "the endpoint refused the credentials (HTTP 401/403)".into(),
                )),
                false,
            );
        }
        if self.staged {
            return (
                Some(q(
                    "TooManyDeletes",
                    format!(
                        "more deletions than the threshold of {}",
                        self.config.spec.deletion_threshold.unwrap_or(0)
                    ),
                )),
                false,
            );
        }
        match escrow_rule {
            // During the initial cycle the engine prunes escrows instead (escrowsPruned).
            Some(_) if self.initial => {
                self.state.escrows.clear();
                (None, true)
            }
            other => (other, false),
        }
    }

    pub(crate) fn report(
        self,
        quarantine: Option<Quarantine>,
        escrows_pruned: bool,
    ) -> CycleReport {
        let stats = self.stats;
        CycleReport {
            stopped: self.throttle.stopped().map(str::to_owned),
            unreachable: false,
            cycle_id: self.cycle_id,
            initial: self.initial,
            entries: self.entries,
            requests: self.requests,
            sent: self.sent,
            answered: self.answered,
            not_found: self.not_found,
            stats,
            quarantine,
            escrows_pruned,
        }
    }
}

/// A request that got no answer. Its message names the URI, which may hold an id the
/// endpoint gave: an excerpt.
fn transport_failure(e: &TransportError, secrets: &crate::entra::secrets::Scrubber) -> Failure {
    Failure {
        code: consequence::transport_code(e.is_timeout()),
        status: None,
        body: crate::entra::excerpt::text(secrets, &e.to_string()),
        detail: None,
    }
}
