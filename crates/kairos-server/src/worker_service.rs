//! The worker-facing gRPC service (`kairos.v1.Worker`). Every node serves it; only
//! the leader answers, after its scheduler is ready. Handing out a task is a Raft
//! command (queued -> running with a fresh attempt token); heartbeats only touch
//! the leader's lease table.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kairos_dag::lifecycle::{Actor, TaskInstanceState};
use kairos_proto::v1::worker_server::Worker;
use kairos_proto::v1::{
    Assignment, FetchFilesReply, FetchFilesRequest, GetVariableReply, GetVariableRequest,
    HeartbeatReply, HeartbeatRequest, PollReply, PollRequest, PullXComReply, PullXComRequest,
    PushXComRequest, RegisterReply, RegisterRequest, ReportFinishedRequest, ReportReply,
    ReportStartedRequest, RunStateReply, RunStateRequest, TaskInstanceId, TriggerRunReply,
    TriggerRunRequest,
};
use kairos_raft::ProposeError;
use kairos_state::{Command, CommandResult, Outcome, RejectionKind, TaskInstanceKey};
use tonic::{Request, Response, Status};

use crate::leader::Leader;
use crate::leader::workers::WorkerInfo;

/// The longest a poll waits for work.
const MAX_POLL_WAIT: Duration = Duration::from_secs(30);

pub struct WorkerService {
    s: Arc<Leader>,
    /// Decrypts Variables stored encrypted, for `var.value` in templates.
    variables_key: Option<crate::secrets::VariableKey>,
    /// Each version's DAG without its tasks, as JSON: built once, sent with every
    /// assignment (versions are immutable, so the cache never goes stale).
    dag_shells: std::sync::Mutex<HashMap<(String, u32), Arc<str>>>,
}

impl WorkerService {
    pub fn new(
        s: Arc<Leader>,
        variables_key: Option<crate::secrets::VariableKey>,
    ) -> WorkerService {
        WorkerService {
            s,
            variables_key,
            dag_shells: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The DAG of `version` with its task list emptied, as JSON.
    fn dag_shell(&self, dag: &kairos_dag::model::Dag, version: u32) -> Option<Arc<str>> {
        let key = (dag.dag_id.clone(), version);
        let mut cache = match self.dag_shells.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        if let Some(json) = cache.get(&key) {
            return Some(json.clone());
        }
        let mut value = serde_json::to_value(dag).ok()?;
        if let Some(map) = value.as_object_mut() {
            map.insert("tasks".into(), serde_json::Value::Array(Vec::new()));
        }
        let json: Arc<str> = Arc::from(value.to_string());
        if cache.len() > 4096 {
            cache.clear();
        }
        cache.insert(key, json.clone());
        Some(json)
    }

    /// Refuses calls on a node that is not the ready leader, naming the leader.
    fn check_leader(&self) -> Result<(), Status> {
        if self.s.is_leading() {
            return Ok(());
        }
        let mut status = Status::unavailable(match self.s.leader_addr() {
            Some(addr) => format!("this node is not the leader; the leader is {addr}"),
            None => "this node is not the leader and no leader is known yet; retry".to_string(),
        });
        if let Some(addr) = self.s.leader_addr() {
            if let Ok(value) = addr.parse() {
                status.metadata_mut().insert("kairos-leader", value);
            }
        }
        Err(status)
    }

    fn known_worker(&self, id: &str) -> Result<WorkerInfo, Status> {
        self.s.with_workers(|w| w.touch(id)).ok_or_else(|| {
            Status::failed_precondition(format!(
                "worker `{id}` is not registered with this leader; call Register first"
            ))
        })
    }

    async fn propose(&self, commands: Vec<Command>) -> Result<Vec<CommandResult>, Status> {
        match self.s.node.proposer.propose(commands).await {
            Ok(committed) => Ok(committed.results),
            Err(e) => Err(self.propose_error(e)),
        }
    }

    fn propose_error(&self, error: ProposeError) -> Status {
        match error {
            ProposeError::NotLeader { .. } => self
                .check_leader()
                .err()
                .unwrap_or_else(|| Status::unavailable("leadership changed; retry")),
            e => Status::unavailable(format!("{e}; retry")),
        }
    }

    /// Everything a worker needs to run an attempt.
    fn assignment(&self, ti: &TaskInstanceKey, attempt: &str) -> Option<Assignment> {
        let store = &self.s.node.store;
        let record = store.task_instance(ti).ok()??;
        let run = store.run(&ti.dag_id, &ti.run_id).ok()??;
        let (version, task) = store
            .version_task(&ti.dag_id, run.version, &ti.task_id)
            .ok()??;
        Some(Assignment {
            ti: Some(ti.into()),
            attempt: attempt.to_string(),
            try_number: record.try_number,
            version: run.version,
            task_json: serde_json::to_string(&task).ok()?,
            run_json: serde_json::to_string(&run.facts()).ok()?,
            files: version.content.files.clone().into_iter().collect(),
            dag_json: self
                .dag_shell(&version.content.dag, run.version)?
                .to_string(),
            map_element_json: record
                .map_element
                .as_ref()
                .and_then(|e| serde_json::to_string(e).ok())
                .unwrap_or_default(),
        })
    }
}

/// A worker's log URL: `http(s)://HOST:PORT` and nothing more (no path, no query,
/// no credentials), since the API fetches from it; empty when it serves none.
fn checked_log_url(text: &str) -> Result<String, Status> {
    if text.is_empty() {
        return Ok(String::new());
    }
    let bad = || {
        Status::invalid_argument(format!(
            "log_url {text:?} must be http://HOST:PORT or https://HOST:PORT"
        ))
    };
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or_else(bad)?;
    let ok = rest.contains(':')
        && !rest.contains(['/', '?', '#', '@', ' '])
        && rest
            .rsplit(':')
            .next()
            .is_some_and(|p| p.parse::<u16>().is_ok());
    if ok { Ok(text.to_string()) } else { Err(bad()) }
}

/// An RFC 3339 time, or `None` for an empty field.
fn parse_time(field: &str, text: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, Status> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| Some(t.with_timezone(&chrono::Utc)))
        .map_err(|e| {
            Status::invalid_argument(format!(
                "{field} {text:?} is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z): {e}"
            ))
        })
}

/// The task instance a request names.
fn key_of(id: Option<TaskInstanceId>) -> Result<TaskInstanceKey, Status> {
    id.map(TaskInstanceKey::from)
        .ok_or_else(|| Status::invalid_argument("the task instance id is missing"))
}

fn reply(result: &CommandResult) -> ReportReply {
    match result {
        Ok(Outcome::TaskState { state, .. }) | Ok(Outcome::AlreadyRecorded { state }) => {
            ReportReply {
                accepted: true,
                outcome: state.as_str().to_string(),
                message: String::new(),
            }
        }
        Ok(other) => ReportReply {
            accepted: true,
            outcome: format!("{other:?}"),
            message: String::new(),
        },
        Err(rejection) => ReportReply {
            accepted: false,
            outcome: serde_json::to_value(rejection.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            message: rejection.message.clone(),
        },
    }
}

#[tonic::async_trait]
impl Worker for WorkerService {
    async fn register(
        &self,
        request: Request<RegisterRequest>,
    ) -> Result<Response<RegisterReply>, Status> {
        self.check_leader()?;
        let r = request.into_inner();
        if r.worker_id.is_empty() || r.queues.is_empty() || r.slots == 0 {
            return Err(Status::invalid_argument(
                "a worker needs an id, at least one queue and at least one slot",
            ));
        }
        tracing::info!(worker = %r.worker_id, queues = ?r.queues, slots = r.slots, "worker registered");
        let log_url = checked_log_url(&r.log_url)?;
        self.s.with_workers(|w| {
            w.register(
                r.worker_id.clone(),
                WorkerInfo {
                    queues: r.queues,
                    slots: r.slots,
                    environments: r.environments,
                    labels: r.labels.into_iter().collect(),
                    log_url,
                    last_seen: Instant::now(),
                },
            )
        });
        Ok(Response::new(RegisterReply {
            lease_ms: self.s.settings.lease.as_millis() as u32,
            heartbeat_ms: self.s.settings.heartbeat.as_millis() as u32,
        }))
    }

    async fn poll(&self, request: Request<PollRequest>) -> Result<Response<PollReply>, Status> {
        self.check_leader()?;
        // Lost assignments are sent again from the lease table: only a leader a
        // quorum follows may do that (an isolated one may hold expired leases).
        self.s
            .confirm_leadership()
            .await
            .map_err(Status::unavailable)?;
        let r = request.into_inner();
        let worker = self.known_worker(&r.worker_id)?;
        let deadline =
            Instant::now() + Duration::from_millis(u64::from(r.wait_ms)).min(MAX_POLL_WAIT);
        let lease = self.s.settings.lease;
        // Attempts handed to this worker whose reply it never got (a failover, a
        // lost connection) are sent again rather than left to expire.
        // The lease table knows who holds what (re-armed from the state by every new
        // leader), so this costs no read of the store.
        let known: HashSet<&str> = r.known_attempts.iter().map(String::as_str).collect();
        let lost: Vec<Assignment> = self
            .s
            .with_leases(|l| l.held_by(&r.worker_id))
            .into_iter()
            .filter(|(attempt, _)| !known.contains(attempt.as_str()))
            .filter_map(|(attempt, ti)| self.assignment(&ti, &attempt))
            .collect();
        if !lost.is_empty() {
            return Ok(Response::new(PollReply { tasks: lost }));
        }
        let mut applied = self.s.node.applied.clone();
        let free = r.free_slots as usize;
        if free == 0 {
            tokio::time::sleep_until(deadline.into()).await;
            return Ok(Response::new(PollReply { tasks: vec![] }));
        }
        loop {
            applied.borrow_and_update();
            let mut picks: Vec<TaskInstanceKey> = Vec::new();
            for queue in &worker.queues {
                let queued = self
                    .s
                    .node
                    .store
                    .queued(queue, free * 2)
                    .map_err(|e| Status::internal(e.to_string()))?;
                let mut claimed = match self.s.in_flight.lock() {
                    Ok(c) => c,
                    Err(p) => p.into_inner(),
                };
                for ti in queued {
                    if picks.len() >= free {
                        break;
                    }
                    if claimed.insert(ti.clone()) {
                        picks.push(ti);
                    }
                }
            }
            if !picks.is_empty() {
                let commands = picks
                    .iter()
                    .map(|ti| Command::Dispatch {
                        ti: ti.clone(),
                        worker: r.worker_id.clone(),
                        log_url: (!worker.log_url.is_empty()).then(|| worker.log_url.clone()),
                    })
                    .collect();
                // Proposing, releasing the claims and granting the leases run in a
                // task of their own: if the worker gives up on this call (its
                // deadline) while the proposal commits, the claims are still
                // released and the attempts still leased, so the next poll hands
                // them back instead of leaving them running with nobody.
                let (s, worker) = (self.s.clone(), r.worker_id.clone());
                let dispatched = tokio::spawn(async move {
                    let results = s.node.proposer.propose(commands).await;
                    if let Ok(mut claimed) = s.in_flight.lock() {
                        for ti in &picks {
                            claimed.remove(ti);
                        }
                    }
                    let mut granted = Vec::new();
                    for (ti, result) in picks.iter().zip(results?.results) {
                        if let Ok(Outcome::TaskState {
                            attempt: Some(attempt),
                            ..
                        }) = result
                        {
                            s.with_leases(|l| {
                                l.grant(
                                    attempt.clone(),
                                    ti.clone(),
                                    Some(worker.clone()),
                                    Instant::now() + lease,
                                )
                            });
                            granted.push((ti.clone(), attempt));
                        }
                    }
                    Ok::<_, ProposeError>(granted)
                })
                .await
                .map_err(|e| Status::internal(e.to_string()))?
                .map_err(|e| self.propose_error(e))?;
                let tasks: Vec<Assignment> = dispatched
                    .iter()
                    .filter_map(|(ti, attempt)| self.assignment(ti, attempt))
                    .collect();
                if !tasks.is_empty() {
                    return Ok(Response::new(PollReply { tasks }));
                }
                continue;
            }
            tokio::select! {
                changed = applied.changed() => {
                    if changed.is_err() {
                        return Err(Status::unavailable("the node is stopping"));
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    return Ok(Response::new(PollReply { tasks: vec![] }));
                }
            }
            self.check_leader()?;
        }
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatReply>, Status> {
        self.check_leader()?;
        // Renewing a lease is a promise that no one else will run the attempt:
        // only a leader a quorum still follows may make it.
        self.s
            .confirm_leadership()
            .await
            .map_err(Status::unavailable)?;
        let r = request.into_inner();
        self.known_worker(&r.worker_id)?;
        let lease = self.s.settings.lease;
        let cancel = self
            .s
            .with_leases(|l| l.renew(&r.worker_id, &r.attempts, lease));
        Ok(Response::new(HeartbeatReply { cancel }))
    }

    async fn report_started(
        &self,
        request: Request<ReportStartedRequest>,
    ) -> Result<Response<ReportReply>, Status> {
        self.check_leader()?;
        self.s
            .confirm_leadership()
            .await
            .map_err(Status::unavailable)?;
        let r = request.into_inner();
        self.known_worker(&r.worker_id)?;
        let lease = self.s.settings.lease;
        let cancel = self
            .s
            .with_leases(|l| l.renew(&r.worker_id, std::slice::from_ref(&r.attempt), lease));
        Ok(Response::new(ReportReply {
            accepted: cancel.is_empty(),
            outcome: if cancel.is_empty() {
                "running"
            } else {
                "cancel"
            }
            .to_string(),
            message: String::new(),
        }))
    }

    async fn report_finished(
        &self,
        request: Request<ReportFinishedRequest>,
    ) -> Result<Response<ReportReply>, Status> {
        self.check_leader()?;
        let r = request.into_inner();
        let ti = key_of(r.ti)?;
        let state = TaskInstanceState::parse(&r.state).ok_or_else(|| {
            Status::invalid_argument(format!(
                "`{}` is not a state a worker reports; use success, failed, skipped, up_for_retry or up_for_reschedule",
                r.state
            ))
        })?;
        let mut xcoms = Vec::with_capacity(r.xcoms.len());
        for x in r.xcoms {
            let value = serde_json::from_str(&x.value_json).map_err(|e| {
                Status::invalid_argument(format!("XCom `{}` is not JSON: {e}", x.key))
            })?;
            xcoms.push((x.key, value));
        }
        let command = Command::FinishAttempt {
            ti: ti.clone(),
            attempt: r.attempt.clone(),
            actor: Actor::Worker,
            state,
            reason: (!r.reason.is_empty()).then_some(r.reason),
            xcoms,
            log_tail: (!r.log_tail.is_empty()).then_some(r.log_tail),
            follow: r.has_follow.then_some(r.follow),
            reschedule_at: (r.reschedule_at_ms > 0)
                .then(|| chrono::DateTime::from_timestamp_millis(r.reschedule_at_ms))
                .flatten(),
        };
        let results = self.propose(vec![command]).await?;
        let Some(result) = results.first() else {
            return Err(Status::internal("no result for the report"));
        };
        match result {
            Err(rejection) if rejection.kind == RejectionKind::StaleAttempt => {
                tracing::warn!(attempt = %r.attempt, worker = %r.worker_id, "stale report refused: {}", rejection.message);
                self.s.with_leases(|l| l.remove(&r.attempt));
            }
            Err(rejection) => {
                tracing::warn!(attempt = %r.attempt, "report refused: {}", rejection.message)
            }
            Ok(_) => self.s.with_leases(|l| l.remove(&r.attempt)),
        }
        Ok(Response::new(reply(result)))
    }

    async fn push_x_com(
        &self,
        request: Request<PushXComRequest>,
    ) -> Result<Response<ReportReply>, Status> {
        self.check_leader()?;
        let r = request.into_inner();
        let ti = key_of(r.ti)?;
        let xcom = r
            .xcom
            .ok_or_else(|| Status::invalid_argument("the XCom is missing"))?;
        let value = serde_json::from_str(&xcom.value_json).map_err(|e| {
            Status::invalid_argument(format!("XCom `{}` is not JSON: {e}", xcom.key))
        })?;
        let results = self
            .propose(vec![Command::PushXCom {
                ti,
                key: xcom.key,
                value,
                attempt: r.attempt,
            }])
            .await?;
        let result = results
            .first()
            .ok_or_else(|| Status::internal("no result for the XCom"))?;
        Ok(Response::new(reply(result)))
    }

    async fn pull_x_com(
        &self,
        request: Request<PullXComRequest>,
    ) -> Result<Response<PullXComReply>, Status> {
        let r = request.into_inner();
        let ti = key_of(r.ti)?;
        let xcoms = self
            .s
            .node
            .store
            .xcoms(&ti.dag_id, &ti.run_id, Some(&ti.task_id))
            .map_err(|e| Status::internal(e.to_string()))?;
        let mut mapped: Vec<&kairos_state::records::XComRecord> = xcoms
            .iter()
            .filter(|x| x.key == r.key && x.map_index >= 0)
            .collect();
        let found = xcoms
            .iter()
            .find(|x| x.key == r.key && x.map_index == ti.map_index)
            .cloned();
        if found.is_none() && ti.map_index == -1 && !mapped.is_empty() {
            mapped.sort_by_key(|x| x.map_index);
            let values: Vec<&serde_json::Value> = mapped.iter().map(|x| &x.value).collect();
            return Ok(Response::new(PullXComReply {
                found: true,
                value_json: serde_json::to_string(&values)
                    .map_err(|e| Status::internal(e.to_string()))?,
            }));
        }
        Ok(Response::new(match found {
            Some(x) => PullXComReply {
                found: true,
                value_json: x.value.to_string(),
            },
            None => PullXComReply {
                found: false,
                value_json: String::new(),
            },
        }))
    }

    async fn get_variable(
        &self,
        request: Request<GetVariableRequest>,
    ) -> Result<Response<GetVariableReply>, Status> {
        let key = request.into_inner().key;
        let variable = self
            .s
            .node
            .store
            .variable(&key)
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(match variable {
            Some(v) if v.encrypted => match &self.variables_key {
                Some(k) => GetVariableReply {
                    found: true,
                    value: k
                        .open(&key, &v.value)
                        .map_err(Status::failed_precondition)?,
                },
                None => {
                    return Err(Status::failed_precondition(format!(
                        "variable `{key}` is stored encrypted and this server has no variables_key_file to read it"
                    )));
                }
            },
            Some(v) => GetVariableReply {
                found: true,
                value: v.value,
            },
            None => GetVariableReply {
                found: false,
                value: String::new(),
            },
        }))
    }

    async fn trigger_run(
        &self,
        request: Request<TriggerRunRequest>,
    ) -> Result<Response<TriggerRunReply>, Status> {
        self.check_leader()?;
        let r = request.into_inner();
        let conf: std::collections::BTreeMap<String, serde_json::Value> =
            if r.conf_json.trim().is_empty() {
                Default::default()
            } else {
                serde_json::from_str(&r.conf_json).map_err(|e| {
                    Status::invalid_argument(format!("conf must be a JSON object: {e}"))
                })?
            };
        let logical_date = parse_time("logical_date", &r.logical_date)?;
        // Airflow names a manual run after its logical date, or the time of the trigger.
        let run_id = if r.run_id.is_empty() {
            format!(
                "manual__{}",
                kairos_dag::lifecycle::python_isoformat(
                    logical_date.unwrap_or_else(chrono::Utc::now)
                )
            )
        } else {
            r.run_id.clone()
        };
        let create = Command::CreateDagRun {
            dag_id: r.dag_id.clone(),
            run_id: run_id.clone(),
            run_type: kairos_dag::lifecycle::RunType::Manual,
            version: None,
            logical_date,
            data_interval_start: logical_date,
            data_interval_end: logical_date,
            run_after: None,
            conf,
            triggered_by: if r.triggered_by.is_empty() {
                "trigger_dag_run".to_string()
            } else {
                r.triggered_by.clone()
            },
        };
        let results = self.propose(vec![create]).await?;
        match results.into_iter().next() {
            Some(Ok(_)) => Ok(Response::new(TriggerRunReply {
                run_id,
                created: true,
                reset: false,
                existing_triggered_by: String::new(),
            })),
            Some(Err(rejection)) if rejection.kind == RejectionKind::AlreadyExists => {
                let existing_triggered_by = self
                    .s
                    .node
                    .store
                    .run(&r.dag_id, &run_id)
                    .map_err(|e| Status::internal(e.to_string()))?
                    .map(|run| run.triggered_by)
                    .unwrap_or_default();
                let ours = !r.triggered_by.is_empty() && existing_triggered_by == r.triggered_by;
                if !r.reset_dag_run || ours {
                    return Ok(Response::new(TriggerRunReply {
                        run_id,
                        created: false,
                        reset: false,
                        existing_triggered_by,
                    }));
                }
                let task_ids = self
                    .s
                    .node
                    .store
                    .task_instances(&r.dag_id, &run_id)
                    .map_err(|e| Status::internal(e.to_string()))?
                    .into_iter()
                    .map(|t| t.task_id)
                    .collect();
                let cleared = self
                    .propose(vec![Command::ClearTaskInstances {
                        dag_id: r.dag_id.clone(),
                        run_id: run_id.clone(),
                        task_ids,
                    }])
                    .await?;
                match cleared.into_iter().next() {
                    Some(Ok(_)) => Ok(Response::new(TriggerRunReply {
                        run_id,
                        created: false,
                        reset: true,
                        existing_triggered_by,
                    })),
                    Some(Err(rejection)) => Err(Status::failed_precondition(rejection.message)),
                    None => Err(Status::internal("no result for the clear")),
                }
            }
            Some(Err(rejection)) => Err(Status::failed_precondition(rejection.message)),
            None => Err(Status::internal("no result for the trigger")),
        }
    }

    async fn run_state(
        &self,
        request: Request<RunStateRequest>,
    ) -> Result<Response<RunStateReply>, Status> {
        let r = request.into_inner();
        let store = &self.s.node.store;
        let internal = |e: kairos_state::StoreError| Status::internal(e.to_string());
        let mut reply = RunStateReply {
            dag_found: store.dag(&r.dag_id).map_err(internal)?.is_some(),
            ..RunStateReply::default()
        };
        let run = if !r.run_id.is_empty() {
            store.run(&r.dag_id, &r.run_id).map_err(internal)?
        } else {
            match parse_time("logical_date", &r.logical_date)? {
                Some(at) => store.run_at(&r.dag_id, at).map_err(internal)?,
                None => {
                    return Err(Status::invalid_argument(
                        "name the run by run_id or logical_date",
                    ));
                }
            }
        };
        let Some(run) = run else {
            return Ok(Response::new(reply));
        };
        reply.run_found = true;
        reply.state = run.state.as_str().to_string();
        let wanted: HashSet<&str> = r.task_ids.iter().map(String::as_str).collect();
        for ti in store
            .task_instances(&r.dag_id, &run.run_id)
            .map_err(internal)?
        {
            if ti.map_index == -1 && (wanted.is_empty() || wanted.contains(ti.task_id.as_str())) {
                reply
                    .task_states
                    .insert(ti.task_id.clone(), ti.state.as_str().to_string());
            }
        }
        reply.run_id = run.run_id;
        Ok(Response::new(reply))
    }

    async fn fetch_files(
        &self,
        request: Request<FetchFilesRequest>,
    ) -> Result<Response<FetchFilesReply>, Status> {
        let mut files = std::collections::HashMap::new();
        for hash in request.into_inner().hashes {
            if let Some(text) = self
                .s
                .node
                .store
                .file(&hash)
                .map_err(|e| Status::internal(e.to_string()))?
            {
                files.insert(hash, text);
            }
        }
        Ok(Response::new(FetchFilesReply { files }))
    }
}
