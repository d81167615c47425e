//! The [`Fuzzer`]: runs cases (a generated sequence each) against the endpoint and a
//! fresh model in lock-step, within the run's budgets (cases, steps, time) and its rate;
//! on the first divergence shrinks the sequence, replays the minimal one to confirm it,
//! and turns it into a scenario. Every run of a sequence deletes what it created on the
//! endpoint (best effort), so shrinking's many re-runs leave nothing behind.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::generate::{case_seed, sequence, Kind, Step};
use super::judge::{judge, split_update, tolerated_refusal, Declared, Divergence};
use super::model::{Model, Reply};
use super::render::{advance, label, render};
use super::scenario::{build, Origin, Recorded};
use super::world::{Handle, Side, World};
use super::{Found, FuzzConfig, FuzzError, FuzzReport, Phase, Progress};
use crate::entra::secrets::Scrubber;
use crate::entra::{excerpt, Client, Dialect, Outgoing, TenantUrl, TransportError};
use crate::scim::ResourceKind;

/// Runs fuzz cases against one endpoint. See the [module docs](super) for an example.
pub struct Fuzzer {
    config: FuzzConfig,
    dialects: Vec<Dialect>,
    groups: bool,
    client: Client,
    progress: Option<Progress>,
    /// When the next request may leave (the `rate` bound).
    next_send: Mutex<Option<Instant>>,
    requests: AtomicUsize,
    /// Nanoseconds spent in the model (`FuzzReport::model_ms`).
    model_ns: AtomicU64,
    /// The endpoint's `/Schemas`, fetched by the first [`Fuzzer::check`].
    declared: tokio::sync::OnceCell<Declared>,
    /// Sequences [`Fuzzer::check`] ran: each gets a tag of its own.
    checks: AtomicUsize,
    /// The run's secrets (the token, the URL's password), scrubbed from the endpoint's
    /// text before a divergence keeps an excerpt of it.
    secrets: Scrubber,
}

impl std::fmt::Debug for Fuzzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fuzzer")
            .field("client", &self.client)
            .field("seed", &self.config.seed)
            .finish_non_exhaustive()
    }
}

/// How one run of a sequence ended.
#[derive(Debug)]
struct Execution {
    divergence: Option<Divergence>,
    /// Steps that sent a request.
    sent: usize,
    /// The time budget ran out before the sequence did.
    cut: bool,
    recorded: Vec<Recorded>,
    world: World,
    cleanup_failures: usize,
    /// Refusals tolerated ([`tolerated_refusal`]), each said once.
    notes: std::collections::BTreeSet<String>,
}

/// What one request of a step came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// Nothing to send (the slot holds nothing).
    Nothing,
    Agreed,
    Diverged,
}

/// The run's tag for attempt `attempt` of the case seeded `seed`: a UUID from the seeded
/// RNG, so values are unique per attempt and the same for the same seed.
fn tag_for(seed: u64, attempt: usize) -> String {
    let mut rng = fastrand::Rng::with_seed(case_seed(seed, attempt));
    uuid::Builder::from_random_bytes(rng.u128(..).to_le_bytes())
        .into_uuid()
        .to_string()
}

impl Fuzzer {
    /// A fuzzer for `config`'s endpoint.
    pub fn new(config: FuzzConfig) -> Result<Fuzzer, FuzzError> {
        let tenant = TenantUrl::parse(&config.tenant_url)?;
        let dialects = if config.dialects.is_empty() {
            vec![tenant.dialect()]
        } else {
            config.dialects.clone()
        };
        let client = Client::new(tenant.base(), config.client.clone())
            .map_err(|e| FuzzError::Tls(e.to_string()))?;
        let secrets = Scrubber::for_run(&config.tenant_url, config.client.token.as_deref());
        Ok(Fuzzer {
            secrets,
            groups: config.profile.supports(ResourceKind::Group),
            dialects,
            config,
            client,
            progress: None,
            next_send: Mutex::new(None),
            requests: AtomicUsize::new(0),
            model_ns: AtomicU64::new(0),
            declared: tokio::sync::OnceCell::new(),
            checks: AtomicUsize::new(0),
        })
    }

    /// Reports each step and shrinking re-run to `progress`.
    pub fn with_progress(mut self, progress: Progress) -> Fuzzer {
        self.progress = Some(progress);
        self
    }

    /// The dialects the cases speak, in turn.
    pub fn dialects(&self) -> &[Dialect] {
        &self.dialects
    }

    fn tick(&self, phase: Phase) {
        if let Some(p) = &self.progress {
            p(phase, self.requests.load(Ordering::Relaxed));
        }
    }

    /// Runs the cases; stops at the first divergence, shrinks it and returns it with the
    /// report. `Err` only when the endpoint cannot be fuzzed at all (unreachable,
    /// refusing the token) or stops answering.
    pub async fn run(&self) -> Result<FuzzReport, FuzzError> {
        let started = Instant::now();
        let deadline = started + self.config.time;
        let declared = self.schemas().await?;
        let mut report = FuzzReport {
            format: 1,
            tenant_url: crate::entra::secrets::without_userinfo(&self.config.tenant_url),
            seed: self.config.seed,
            dialects: self.dialects.clone(),
            cases: 0,
            steps: 0,
            requests: 0,
            duration_ms: 0,
            model_ms: 0,
            stopped: None,
            schemas_known: declared.known(),
            cleanup_failures: 0,
            notes: Vec::new(),
            divergences: Vec::new(),
        };
        let mut notes = std::collections::BTreeSet::new();
        for case in 0..self.config.cases {
            if Instant::now() >= deadline {
                report.stopped = Some(format!(
                    "the time budget ({} s) ran out after {case} case(s)",
                    self.config.time.as_secs_f64()
                ));
                break;
            }
            let seed = case_seed(self.config.seed, case);
            let dialect = self.dialects[case % self.dialects.len()];
            let steps = sequence(seed, self.config.max_steps, self.groups);
            let phase = Phase::Case {
                case,
                cases: self.config.cases,
            };
            let exec = self
                .execute(&steps, dialect, &tag_for(seed, 0), &declared, false)
                .with_phase(phase)
                .deadline(deadline)
                .go()
                .await?;
            report.cases += 1;
            report.steps += exec.sent;
            report.cleanup_failures += exec.cleanup_failures;
            notes.extend(exec.notes);
            if exec.cut {
                report.stopped = Some(format!(
                    "the time budget ({} s) ran out in case {case}",
                    self.config.time.as_secs_f64()
                ));
            }
            if let Some(first) = exec.divergence {
                let found = self
                    .shrink(case, seed, dialect, &steps, first, &declared)
                    .await;
                report.divergences.push(found);
                break;
            }
            if exec.cut {
                break;
            }
        }
        report.notes = notes.into_iter().collect();
        report.requests = self.requests.load(Ordering::Relaxed);
        report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        report.model_ms = self.model_ns.load(Ordering::Relaxed) / 1_000_000;
        Ok(report)
    }

    /// Runs `steps` once against the endpoint and a fresh model, in `dialect`, as a case
    /// runs: the first divergence, or `None`. No shrinking, no budgets (the rate still
    /// holds); what the run created on the endpoint is deleted again. For a property test
    /// over `scimock::strategies`' sequences (feature `proptest`) or a `cargo fuzz` target
    /// over arbitrary `Vec<Step>`s (feature `fuzzing`); the `scimock::strategies` module
    /// docs have an example. Each call uses a fresh tag, so calls never meet each other's
    /// objects. `Err` as for [`Fuzzer::run`].
    pub async fn check(
        &self,
        steps: &[Step],
        dialect: Dialect,
    ) -> Result<Option<Divergence>, FuzzError> {
        let declared = self.declared.get_or_try_init(|| self.schemas()).await?;
        let n = self.checks.fetch_add(1, Ordering::Relaxed);
        // Another stream of tags than the cases' (`run` uses attempts 0, 1, … of each case).
        let tag = tag_for(self.config.seed ^ 0x0063_6865_636b, n);
        let exec = self
            .execute(steps, dialect, &tag, declared, false)
            .go()
            .await?;
        Ok(exec.divergence)
    }

    /// Adds the time since `since` to the model's share.
    fn model_time(&self, since: Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.model_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The endpoint's `/Schemas`, which says which attributes it keeps.
    async fn schemas(&self) -> Result<Declared, FuzzError> {
        let answer = self
            .client
            .send(Outgoing::new("GET", "/Schemas", None))
            .await
            .map_err(FuzzError::Unreachable)?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        match answer.status {
            401 | 403 => Err(FuzzError::Unauthorized(answer.status)),
            200..=299 => Ok(answer
                .json()
                .map(|j| Declared::from_schemas(&j))
                .unwrap_or_default()),
            _ => Ok(Declared::default()),
        }
    }

    /// Waits for the rate's next slot.
    async fn pace(&self) {
        if !(self.config.rate > 0.0 && self.config.rate.is_finite()) {
            return;
        }
        let interval = Duration::from_secs_f64(1.0 / self.config.rate);
        let wait = {
            let mut next = self.next_send.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + interval);
            at - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends one request to the endpoint, paced, retrying a 429 after its `Retry-After`.
    async fn send(
        &self,
        method: &str,
        target: &str,
        body: Option<&Value>,
    ) -> Result<Reply, TransportError> {
        let mut attempt = 0;
        loop {
            self.pace().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let answer = self
                .client
                .send(Outgoing::new(method, target, body))
                .await?;
            if answer.status == 429 {
                attempt += 1;
                if let Some(wait) = self.config.retry.wait(attempt, answer.retry_after()) {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Ok(Reply {
                status: answer.status,
                json: answer.json(),
            });
        }
    }

    fn execute<'a>(
        &'a self,
        steps: &'a [Step],
        dialect: Dialect,
        tag: &'a str,
        declared: &'a Declared,
        record: bool,
    ) -> Run<'a> {
        Run {
            fuzzer: self,
            steps,
            dialect,
            tag,
            declared,
            record,
            phase: None,
            deadline: None,
        }
    }

    /// Shrinks the sequence that diverged at `first`, confirms the minimal one and
    /// builds its scenario.
    async fn shrink(
        &self,
        case: usize,
        seed: u64,
        dialect: Dialect,
        steps: &[Step],
        first: Divergence,
        declared: &Declared,
    ) -> Found {
        let prefix: Vec<Step> = steps[..=first.step.min(steps.len() - 1)].to_vec();
        // The same divergence, not just the same kind (`Divergence::signature`).
        let want = &first.signature();
        let max = self.config.max_shrink_runs;
        let until = Instant::now() + self.config.shrink_time;
        let mut attempt = 0usize;
        let (minimal, runs) = super::shrink::minimize(
            prefix.clone(),
            |candidate: Vec<Step>| {
                attempt += 1;
                let tag = tag_for(seed, attempt);
                self.tick(Phase::Shrink { run: attempt, max });
                async move {
                    if Instant::now() >= until {
                        return false;
                    }
                    let run = self.execute(&candidate, dialect, &tag, declared, false);
                    matches!(run.go().await, Ok(e) if e.divergence.as_ref().is_some_and(|d| d.signature() == *want))
                }
            },
            max,
        )
        .await;
        let tag = tag_for(seed, runs + 1);
        let confirm = self
            .execute(&minimal, dialect, &tag, declared, true)
            .go()
            .await;
        let (confirmed, divergence, recorded, world) = match confirm {
            Ok(e) => (
                e.divergence
                    .as_ref()
                    .is_some_and(|d| d.signature() == *want),
                e.divergence.unwrap_or_else(|| first.clone()),
                e.recorded,
                e.world,
            ),
            Err(_) => (false, first.clone(), Vec::new(), World::default()),
        };
        let origin = Origin {
            seed: self.config.seed,
            case,
            dialect,
            divergence: &divergence,
        };
        let scenario = build(origin, &recorded, &tag, &world, declared);
        Found {
            case,
            case_seed: seed,
            dialect,
            divergence: first,
            original_len: prefix.len(),
            minimal_labels: minimal.iter().map(Step::label).collect(),
            minimal,
            shrink_runs: runs,
            confirmed,
            scenario,
        }
    }
}

/// One run of a sequence, configured.
struct Run<'a> {
    fuzzer: &'a Fuzzer,
    steps: &'a [Step],
    dialect: Dialect,
    tag: &'a str,
    declared: &'a Declared,
    /// Keep each step as a scenario writes it.
    record: bool,
    phase: Option<Phase>,
    deadline: Option<Instant>,
}

impl Run<'_> {
    fn with_phase(mut self, phase: Phase) -> Self {
        self.phase = Some(phase);
        self
    }

    fn deadline(mut self, at: Instant) -> Self {
        self.deadline = Some(at);
        self
    }

    /// Runs the steps against the endpoint and a fresh model until the first divergence,
    /// then deletes what the endpoint created.
    async fn go(self) -> Result<Execution, FuzzError> {
        let f = self.fuzzer;
        let started = Instant::now();
        let model = Model::new(&f.config.profile).map_err(|e| FuzzError::Model(e.to_string()))?;
        f.model_time(started);
        let mut exec = Execution {
            divergence: None,
            sent: 0,
            cut: false,
            recorded: Vec::new(),
            world: World::default(),
            cleanup_failures: 0,
            notes: Default::default(),
        };
        let mut result = Ok(());
        for (index, step) in self.steps.iter().enumerate() {
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                exec.cut = true;
                break;
            }
            if let Some(phase) = self.phase {
                f.tick(phase);
            }
            match self.step(index, step, &model, &mut exec).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => {
                    result = Err(FuzzError::Transport(e));
                    break;
                }
            }
        }
        for (kind, id) in exec.world.cleanup() {
            let target = crate::entra::wire::resource_path(kind.collection(), &id);
            match f.send("DELETE", &target, None).await {
                Ok(r) if (200..300).contains(&r.status) || r.status == 404 => {}
                _ => exec.cleanup_failures += 1,
            }
        }
        result.map(|()| exec)
    }

    /// Runs one step (an update of declared and undeclared attributes as two requests:
    /// [`split_update`]); `Ok(true)` when it diverged.
    async fn step(
        &self,
        index: usize,
        step: &Step,
        model: &Model,
        exec: &mut Execution,
    ) -> Result<bool, TransportError> {
        let mut sent = false;
        for part in split_update(step, self.declared) {
            match self.request(index, &part, model, exec).await? {
                Sent::Nothing => {}
                Sent::Agreed => sent = true,
                Sent::Diverged => {
                    exec.sent += 1;
                    return Ok(true);
                }
            }
        }
        exec.sent += usize::from(sent);
        Ok(false)
    }

    /// Sends one request of step `index` to the endpoint and the model, and judges it.
    async fn request(
        &self,
        index: usize,
        step: &Step,
        model: &Model,
        exec: &mut Execution,
    ) -> Result<Sent, TransportError> {
        let world = &mut exec.world;
        let (tag, dialect) = (self.tag, self.dialect);
        let (Some(e_req), Some(m_req)) = (
            render(step, world, Side::Endpoint, tag, dialect),
            render(step, world, Side::Model, tag, dialect),
        ) else {
            return Ok(Sent::Nothing);
        };
        let t_req = self
            .record
            .then(|| render(step, world, Side::Template, tag, dialect))
            .flatten()
            .map(|r| (label(step, world), r));
        let e = self
            .fuzzer
            .send(e_req.method, &e_req.target(), e_req.body.as_ref())
            .await?;
        if let Step::Update { slot, .. } = step {
            let live = world.live(Kind::User, *slot);
            if let Some(note) = tolerated_refusal(step, &e, live, self.declared) {
                // Not recorded either: a replay need not send what the endpoint refused.
                exec.notes.insert(note);
                return Ok(Sent::Agreed);
            }
        }
        let started = Instant::now();
        let m = model.send(m_req.method, &m_req.target(), m_req.body.as_ref());
        self.fuzzer.model_time(started);
        let verdict = judge(step, &e, &m, world, self.declared);
        let ok = |r: &Reply| (200..300).contains(&r.status);
        let id_of = |r: &Reply| {
            r.json
                .as_ref()
                .and_then(|j| j.get("id"))
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
        };
        let mut capture = None;
        if e_req.method == "POST" {
            let (kind, slot) = match step {
                Step::CreateGroup { slot, .. } => (Kind::Group, Some(*slot)),
                Step::CreateUser { slot, .. } => (Kind::User, Some(*slot)),
                _ => (Kind::User, None),
            };
            match (id_of(&e), id_of(&m)) {
                (Some(endpoint), Some(model_id)) if ok(&e) && ok(&m) => {
                    let var = match slot {
                        Some(s) => world.var(kind, s),
                        None => format!("clash{index}"),
                    };
                    let handle = Handle {
                        endpoint,
                        model: model_id,
                        var: var.clone(),
                    };
                    match (step, slot) {
                        (Step::CreateUser { user, .. }, Some(s)) => {
                            world.created(kind, s, handle);
                            world.users.insert(Kind::User.slot(s), user.clone());
                            world.active.insert(Kind::User.slot(s), true);
                        }
                        (Step::CreateGroup { name, .. }, Some(s)) => {
                            world.created(kind, s, handle);
                            world.groups.insert(Kind::Group.slot(s), name.clone());
                        }
                        _ => world.extra(kind, handle),
                    }
                    capture = Some(var);
                }
                // Created on the endpoint alone: not the model's, but still deleted.
                (Some(endpoint), _) if ok(&e) => world.orphan(kind, endpoint),
                _ => {}
            }
        } else if ok(&m) && verdict.is_none() {
            advance(step, world);
        }
        if let Some((label, request)) = t_req {
            exec.recorded.push(Recorded {
                label,
                request,
                model: m.clone(),
                capture,
            });
        }
        if let Some((kind, detail)) = verdict {
            exec.divergence = Some(Divergence {
                kind,
                step: index,
                label: step.label(),
                // The endpoint's ids and text, as every report keeps them: scrubbed, then
                // an excerpt (`entra::excerpt`).
                request: excerpt::text(&self.fuzzer.secrets, &e_req.line()),
                endpoint_status: e.status,
                model_status: m.status,
                detail: excerpt::bounded(&self.fuzzer.secrets, &detail, excerpt::BODY),
            });
            return Ok(Sent::Diverged);
        }
        Ok(Sent::Agreed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::json;
    use wiremock::{matchers::any, Mock, MockServer, Request, Respond, ResponseTemplate};

    use super::*;
    use crate::entra::wire::ENTERPRISE_USER;
    use crate::fuzz::generate::{Attr, UserValues};

    /// One user's endpoint like the SCIMMY wrapper: `/Schemas` without the enterprise
    /// extension, the extension dropped at create, a PATCH naming it refused with 400
    /// `Invalid path`, other simple paths replaced.
    struct Peer(Arc<Mutex<Value>>);

    impl Respond for Peer {
        fn respond(&self, r: &Request) -> ResponseTemplate {
            let mut user = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            let sub = |name: &str| json!({"name": name});
            match (r.method.as_str(), r.url.path()) {
                ("GET", "/scim/v2/Schemas") => ResponseTemplate::new(200).set_body_json(json!({
                    "Resources": [{"id": crate::scim::urn::USER, "attributes": [
                        sub("userName"), sub("active"), sub("displayName"), sub("title"),
                        {"name": "name", "subAttributes": [sub("givenName"), sub("familyName"), sub("formatted")]},
                        {"name": "emails", "subAttributes": [sub("type"), sub("value"), sub("primary")]},
                    ]}]
                })),
                ("POST", "/scim/v2/Users") => {
                    let mut created = body;
                    if let Some(map) = created.as_object_mut() {
                        map.remove(ENTERPRISE_USER);
                        map.insert("id".into(), json!("e1"));
                    }
                    *user = created.clone();
                    ResponseTemplate::new(201).set_body_json(created)
                }
                ("PATCH", "/scim/v2/Users/e1") if body.to_string().contains(ENTERPRISE_USER) => {
                    ResponseTemplate::new(400).set_body_json(json!({"detail": "Invalid path"}))
                }
                ("PATCH", "/scim/v2/Users/e1") => {
                    for op in body["Operations"].as_array().into_iter().flatten() {
                        if let (Some(path), Some(value)) = (op["path"].as_str(), op.get("value")) {
                            user[path] = value.clone();
                        }
                    }
                    ResponseTemplate::new(200).set_body_json(user.clone())
                }
                ("GET", "/scim/v2/Users/e1") => ResponseTemplate::new(200).set_body_json(user.clone()),
                ("DELETE", _) => ResponseTemplate::new(204),
                _ => ResponseTemplate::new(404),
            }
        }
    }

    #[tokio::test]
    async fn a_refused_update_of_undeclared_attributes_changes_neither_the_model_nor_entras_view() {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(Peer(Arc::default()))
            .mount(&server)
            .await;
        let mut config = FuzzConfig::new(format!("{}/scim/v2", server.uri()));
        config.rate = 0.0;
        let fuzzer = Fuzzer::new(config).unwrap();
        let declared = fuzzer.schemas().await.unwrap();
        assert!(declared.known());
        let user = UserValues {
            user_name: "ada~1".into(),
            external_id: "x~2".into(),
            email: "ada~3".into(),
            display_name: "Ada".into(),
            given_name: "A".into(),
            family_name: "L".into(),
            title: "T0".into(),
            department: "D0".into(),
        };
        let steps = [
            Step::CreateUser { slot: 0, user },
            Step::Update {
                slot: 0,
                changes: vec![(Attr::Title, "T1".into()), (Attr::Department, "D1".into())],
            },
            Step::Read {
                kind: Kind::User,
                slot: 0,
            },
        ];
        let exec = fuzzer
            .execute(&steps, Dialect::Legacy, "tag", &declared, true)
            .go()
            .await
            .unwrap();
        assert_eq!(exec.divergence, None);
        assert_eq!(exec.sent, 3);
        // The title went in a PATCH of its own and was judged; the department's PATCH
        // was refused, tolerated, said once, and is not in the scenario.
        let notes: Vec<&String> = exec.notes.iter().collect();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains(":department answered 400"), "{notes:?}");
        let labels: Vec<&str> = exec.recorded.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            ["create user 0", "update user 0 (title)", "read user 0"]
        );
        // The model holds the title but still the department of the create, as does
        // Entra's view of the user.
        let read = exec.recorded[2].model.json.clone().unwrap_or_default();
        assert_eq!(read["title"], "T1");
        assert_eq!(read[ENTERPRISE_USER]["department"], "D0");
        let held = &exec.world.users[&0];
        assert_eq!(
            (held.title.as_str(), held.department.as_str()),
            ("T1", "D0")
        );
        let requests = server.received_requests().await.unwrap_or_default();
        let patches = requests.iter().filter(|r| r.method.as_str() == "PATCH");
        assert_eq!(patches.count(), 2);
    }
}
