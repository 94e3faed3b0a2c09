//! `kairos worker`: register with the leader, long-poll for attempts while slots are
//! free, run each in its own process, spool its result to disk, and report it until
//! the cluster acknowledges. Heartbeats renew the leases of everything it holds and
//! bring back cancellations. SIGTERM drains: no new attempts, running ones finish,
//! results are delivered, then the worker exits.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kairos_proto::v1::{Assignment, HeartbeatRequest, PollRequest, RegisterRequest};
use tokio::sync::{Notify, watch};

use crate::config::WorkerConfig;
use crate::conn::{CallError, Conn, TRY_CAP};
use crate::context::Attempt;
use crate::files::FileCache;
use crate::logs;
use crate::operators::{self, Ctx, Report};
use crate::process;
use crate::scratch::Scratch;
use crate::spool::{Finished, Spool};
use kairos_dag::identity::TaskInstanceKey;

/// The runner script Python callables run through.
const RUNNER: &str = include_str!("runner.py");
/// How long one poll waits on the leader for work.
const POLL_WAIT: Duration = Duration::from_secs(5);
/// The reason reported when the cluster rejected an attempt's real result.
const UNDELIVERABLE: &str =
    "the worker's result was rejected by the cluster (too large or malformed); see the log tail";
/// How long a draining worker keeps trying to deliver its last results.
const DRAIN_DELIVERY: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("{0}")]
    Setup(String),
    #[error(
        "the cluster refused this worker: {0}\n  (check --token-file against the servers' worker_token_file)"
    )]
    Refused(String),
}

struct Agent {
    config: WorkerConfig,
    conn: Arc<Conn>,
    spool: Spool,
    /// Attempts' working directories, reused.
    scratch: Scratch,
    files: FileCache,
    runner: PathBuf,
    log_url: String,
    registered: AtomicBool,
    heartbeat_ms: AtomicU64,
    /// The leases' length, as the leader said at registration.
    lease_ms: AtomicU64,
    /// When a confirmed leader last renewed this worker's leases (the time the
    /// renewing call was sent, so never later than the renewal itself).
    renewed: Mutex<std::time::Instant>,
    /// Running attempts by token, each with the sender that cancels it.
    running: Mutex<HashMap<String, watch::Sender<bool>>>,
    /// Set when the cluster refused the token: every loop stops.
    refused: Mutex<Option<String>>,
    /// A slot was freed or a result spooled.
    changed: Notify,
    /// `--attempt-log`: this worker's own record of what it ran.
    attempt_log: Option<crate::attempt_log::AttemptLog>,
}

impl Agent {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<bool>>> {
        match self.running.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        }
    }

    fn refuse(&self, why: String) {
        if let Ok(mut r) = self.refused.lock() {
            r.get_or_insert(why);
        }
        self.changed.notify_waiters();
    }

    fn refusal(&self) -> Option<String> {
        self.refused.lock().ok().and_then(|r| r.clone())
    }

    /// Attempts this worker runs or holds results for.
    /// Notes a renewal by a confirmed leader (at `at`, when the call was sent).
    fn set_renewed(&self, at: std::time::Instant) {
        match self.renewed.lock() {
            Ok(mut r) => *r = (*r).max(at),
            Err(p) => {
                let mut r = p.into_inner();
                *r = (*r).max(at);
            }
        }
    }

    fn known(&self) -> HashSet<String> {
        let mut known: HashSet<String> = self.running().keys().cloned().collect();
        known.extend(self.spool.attempts());
        known
    }

    /// Registers with the current leader unless already registered with it.
    async fn ensure_registered(&self) -> Result<(), CallError> {
        if self.registered.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut environments: Vec<String> = self.config.envs.keys().cloned().collect();
        if !environments.iter().any(|e| e == "python3") {
            environments.push("python3".into());
        }
        let request = RegisterRequest {
            worker_id: self.config.worker_id.clone(),
            queues: self.config.queues.clone(),
            slots: self.config.slots,
            labels: HashMap::new(),
            environments,
            log_url: self.log_url.clone(),
        };
        let reply = self
            .conn
            .call_with(Duration::from_secs(30), TRY_CAP, |mut c| {
                let request = request.clone();
                async move { c.register(request).await }
            })
            .await?;
        self.heartbeat_ms
            .store(u64::from(reply.heartbeat_ms.max(100)), Ordering::SeqCst);
        self.lease_ms
            .store(u64::from(reply.lease_ms.max(1_000)), Ordering::SeqCst);
        let lease = Duration::from_millis(u64::from(reply.lease_ms));
        let heartbeat = Duration::from_millis(u64::from(reply.heartbeat_ms));
        if fence_after(lease, self.config.kill_grace).is_none_or(|after| after < 2 * heartbeat) {
            tracing::warn!(
                lease_ms = reply.lease_ms,
                heartbeat_ms = reply.heartbeat_ms,
                kill_grace_ms = self.config.kill_grace.as_millis() as u64,
                "the cluster's lease leaves too little room for kill grace and two heartbeats: this worker stops its attempts whenever a heartbeat is late; lower --kill-grace-secs or raise the servers' worker_lease_ms"
            );
        }
        self.registered.store(true, Ordering::SeqCst);
        tracing::info!(leader = %self.conn.current(), worker = %self.config.worker_id, "registered");
        Ok(())
    }

    /// Reacts to a failed call: re-register next time, stop on refusal.
    fn failed(&self, what: &str, error: CallError) {
        match error {
            CallError::NotRegistered => self.registered.store(false, Ordering::SeqCst),
            CallError::Unauthenticated(why) => self.refuse(why),
            other => tracing::warn!("{what}: {other}"),
        }
    }
}

/// Runs the worker until SIGTERM/SIGINT (then drains) or until the cluster refuses it.
pub async fn run(config: WorkerConfig) -> Result<(), WorkerError> {
    let setup = |what: &str, e: std::io::Error| WorkerError::Setup(format!("{what}: {e}"));
    for dir in [
        config.data_dir.clone(),
        config.log_dir(),
        config.attempts_dir(),
    ] {
        std::fs::create_dir_all(&dir).map_err(|e| setup(&dir.display().to_string(), e))?;
    }
    let spool = Spool::open(&config.spool_dir()).map_err(|e| setup("the spool directory", e))?;
    let files = FileCache::open(&config.files_dir()).map_err(|e| setup("the file cache", e))?;
    // Process groups left by an earlier life of this worker (killed with -9) are
    // stopped before anything runs: the cluster may hand those attempts back.
    if let Ok(entries) = std::fs::read_dir(config.attempts_dir()) {
        for entry in entries.flatten() {
            if entry.path().extension().and_then(|e| e.to_str()) == Some("pgid") {
                process::kill_recorded_group(&entry.path());
            }
        }
    }
    // Then their directories go: the pool starts empty.
    let attempts = config.attempts_dir();
    std::fs::remove_dir_all(&attempts)
        .and_then(|()| std::fs::create_dir_all(&attempts))
        .map_err(|e| setup("emptying the attempts directory", e))?;
    let scratch = Scratch::new(&attempts);
    let runner = config.data_dir.join("runner.py");
    std::fs::write(&runner, RUNNER).map_err(|e| setup("writing the Python runner", e))?;

    let listener = tokio::net::TcpListener::bind(&config.http_addr)
        .await
        .map_err(|e| setup(&format!("cannot listen on {}", config.http_addr), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| setup("the log server's address", e))?;
    let log_url = config
        .advertise_http
        .clone()
        .map(|a| format!("http://{a}"))
        .unwrap_or_else(|| format!("http://{local}"));
    let app = logs::router(config.log_dir());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the log server stopped: {e}");
        }
    });

    let conn = Conn::new(
        config.servers.clone(),
        config.token.as_deref(),
        config.tls_ca.as_deref(),
    )
    .map_err(WorkerError::Setup)?;
    tracing::info!(
        worker = %config.worker_id,
        queues = ?config.queues,
        slots = config.slots,
        logs = %log_url,
        "kairos worker starting"
    );
    let attempt_log = match &config.attempt_log {
        Some(path) => Some(crate::attempt_log::AttemptLog::open(path).map_err(|e| {
            WorkerError::Setup(format!(
                "cannot open the attempt log {}: {e}",
                path.display()
            ))
        })?),
        None => None,
    };
    let agent = Arc::new(Agent {
        conn: Arc::new(conn),
        spool,
        scratch,
        files,
        runner,
        log_url,
        registered: AtomicBool::new(false),
        heartbeat_ms: AtomicU64::new(3000),
        lease_ms: AtomicU64::new(30_000),
        renewed: Mutex::new(std::time::Instant::now()),
        running: Mutex::new(HashMap::new()),
        refused: Mutex::new(None),
        changed: Notify::new(),
        attempt_log,
        config,
    });

    // Register first: a wrong token ends the worker here with a clear message.
    let mut backoff = Duration::from_millis(200);
    loop {
        match agent.ensure_registered().await {
            Ok(()) => break,
            Err(CallError::Unauthenticated(why)) => return Err(WorkerError::Refused(why)),
            Err(e) => {
                tracing::warn!("cannot register yet: {e}; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }

    let (drain_tx, drain) = watch::channel(false);
    tokio::spawn(on_signal(drain_tx));
    let heartbeats = tokio::spawn(heartbeat_loop(agent.clone()));
    let fencing = tokio::spawn(fence_loop(agent.clone()));
    let reporter = tokio::spawn(report_loop(agent.clone()));

    poll_loop(&agent, drain.clone()).await;
    if let Some(why) = agent.refusal() {
        return Err(WorkerError::Refused(why));
    }
    tracing::info!(
        running = agent.running().len(),
        "draining: no new attempts; waiting for running ones"
    );
    while !agent.running().is_empty() {
        let changed = agent.changed.notified();
        if agent.running().is_empty() {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), changed).await;
    }
    let deadline = tokio::time::Instant::now() + DRAIN_DELIVERY;
    while !agent.spool.is_empty() && tokio::time::Instant::now() < deadline {
        agent.changed.notify_waiters();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left = agent.spool.len();
    if left > 0 {
        tracing::warn!(
            left,
            "stopping with undelivered results; they stay spooled and are sent on the next start"
        );
    }
    heartbeats.abort();
    fencing.abort();
    reporter.abort();
    tracing::info!("drained; stopping");
    Ok(())
}

async fn on_signal(drain: watch::Sender<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    tracing::info!("SIGTERM: draining");
    let _ = drain.send(true);
}

async fn poll_loop(agent: &Arc<Agent>, mut drain: watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if *drain.borrow() || agent.refusal().is_some() {
            return;
        }
        let free =
            agent.config.slots as usize - agent.running().len().min(agent.config.slots as usize);
        if free == 0 {
            let changed = agent.changed.notified();
            if agent.running().len() >= agent.config.slots as usize {
                tokio::select! {
                    _ = changed => {}
                    _ = drain.changed() => {}
                }
            }
            continue;
        }
        if let Err(e) = agent.ensure_registered().await {
            agent.failed("register", e);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
            continue;
        }
        let request = PollRequest {
            worker_id: agent.config.worker_id.clone(),
            free_slots: free as u32,
            wait_ms: POLL_WAIT.as_millis() as u32,
            known_attempts: agent.known().into_iter().collect(),
        };
        let polled = agent
            .conn
            .call_with(
                Duration::from_secs(10),
                POLL_WAIT + Duration::from_secs(5),
                |mut c| {
                    let mut request = tonic::Request::new(request.clone());
                    request.set_timeout(POLL_WAIT + Duration::from_secs(5));
                    async move { c.poll(request).await }
                },
            )
            .await;
        match polled {
            Ok(reply) => {
                backoff = Duration::from_millis(100);
                let known = agent.known();
                for assignment in reply.tasks {
                    if !known.contains(&assignment.attempt) {
                        start(agent, assignment);
                    }
                }
            }
            // A new leader does not know this worker yet: register with it and
            // poll again at once (it may already hold work for us).
            Err(CallError::NotRegistered) => agent.failed("poll", CallError::NotRegistered),
            Err(e) => {
                agent.failed("poll", e);
                // At most a second: a failover takes about that long, and every
                // moment more here is a moment the new leader has work and no taker.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Starts one attempt in the background.
fn start(agent: &Arc<Agent>, assignment: Assignment) {
    let (cancel_tx, cancel) = watch::channel(false);
    agent
        .running()
        .insert(assignment.attempt.clone(), cancel_tx);
    let agent = agent.clone();
    tokio::spawn(async move {
        let token = assignment.attempt.clone();
        let ti = assignment
            .ti
            .as_ref()
            .map(TaskInstanceKey::from)
            .unwrap_or_else(unknown_ti);
        let task = tokio::spawn({
            let agent = agent.clone();
            let assignment = assignment.clone();
            async move { run_attempt(&agent, &assignment, cancel).await }
        });
        // A bug that panics in an operator still ends the attempt (failed) and frees
        // its slot.
        let finished = task.await.unwrap_or_else(|e| Finished {
            ti,
            attempt: token.clone(),
            state: "failed".into(),
            reason: Some(format!("the worker hit a bug running this attempt: {e}")),
            xcoms: Vec::new(),
            log_tail: String::new(),
            follow: None,
            reschedule_at_ms: None,
        });
        // The attempt stays `running` (so heartbeats keep its lease and polls do not
        // hand it back) until its result is on disk.
        let mut backoff = Duration::from_millis(200);
        while let Err(e) = agent.spool.put(&finished) {
            tracing::error!(attempt = %token, "cannot spool the result, retrying: {e}");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
        agent.running().remove(&token);
        agent.changed.notify_waiters();
    });
}

async fn run_attempt(
    agent: &Agent,
    assignment: &Assignment,
    cancel: watch::Receiver<bool>,
) -> Finished {
    let ti = assignment
        .ti
        .as_ref()
        .map(TaskInstanceKey::from)
        .unwrap_or_else(unknown_ti);
    let log = logs::log_path(&agent.config.log_dir(), &ti, assignment.try_number);
    if let Some(parent) = log.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    // A directory of its own, emptied and handed back when this function ends.
    // What an earlier life of this worker left running was stopped at start.
    let scratch = agent.scratch.take();
    let report = match (Attempt::decode(assignment), &scratch) {
        (Err(e), _) => Report::failed(e),
        (_, Err(e)) => Report::failed(format!("cannot create the attempt's directory: {e}")),
        (Ok(attempt), Ok(scratch)) => {
            logs::note(
                &log,
                &format!(
                    "{ti} try {} (attempt {}) on worker {}",
                    attempt.try_number, attempt.token, agent.config.worker_id
                ),
            );
            record(agent, assignment, &ti, "start", None, None);
            let ctx = Ctx {
                attempt: &attempt,
                conn: agent.conn.clone(),
                files: &agent.files,
                config: &agent.config,
                xcom_file: scratch.dir.join("xcom.jsonl"),
                workdir: scratch.dir.clone(),
                log: log.clone(),
                cancel,
                runner: agent.runner.clone(),
                pgid_file: scratch.pgid_file.clone(),
            };
            operators::run(&ctx).await
        }
    };
    logs::note(
        &log,
        &format!(
            "finished: {}{}",
            report.state,
            report
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
    );
    drop(scratch);
    let return_value = report
        .xcoms
        .iter()
        .find(|(k, _)| k == "return_value")
        .map(|(_, v)| v.clone());
    record(
        agent,
        assignment,
        &ti,
        "end",
        Some(report.state.to_string()),
        return_value,
    );
    Finished {
        ti,
        attempt: assignment.attempt.clone(),
        state: report.state.to_string(),
        reason: report.reason,
        xcoms: report.xcoms,
        log_tail: logs::tail(&log),
        follow: report.follow,
        reschedule_at_ms: report.reschedule_at_ms,
    }
}

/// Appends to the attempt log, when there is one.
fn record(
    agent: &Agent,
    assignment: &Assignment,
    ti: &TaskInstanceKey,
    event: &str,
    state: Option<String>,
    return_value: Option<serde_json::Value>,
) {
    let Some(log) = &agent.attempt_log else {
        return;
    };
    let now = chrono::Utc::now();
    log.record(&crate::attempt_log::AttemptEvent {
        event: event.to_string(),
        worker: agent.config.worker_id.clone(),
        dag_id: ti.dag_id.clone(),
        run_id: ti.run_id.clone(),
        task_id: ti.task_id.clone(),
        map_index: ti.map_index,
        try_number: assignment.try_number,
        attempt: assignment.attempt.clone(),
        at_ms: now.timestamp_millis(),
        at_us: now.timestamp_micros(),
        state,
        return_value,
    });
}

fn unknown_ti() -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id: String::new(),
        run_id: String::new(),
        task_id: String::new(),
        map_index: -1,
    }
}

/// How many reports a worker has in flight at once. They ride in the same Raft
/// entries (group commit); one at a time held a busy worker to one report per
/// commit.
const REPORTS_IN_FLIGHT: usize = 32;

/// Delivers spooled results until each is acknowledged (or refused as stale).
async fn report_loop(agent: Arc<Agent>) {
    use futures::StreamExt;
    loop {
        let changed = agent.changed.notified();
        let pending = agent.spool.all();
        let mut deliveries = futures::stream::iter(pending.into_iter().map(|finished| {
            let agent = agent.clone();
            async move {
                let request = finished.to_request(&agent.config.worker_id);
                let result = agent
                    .conn
                    .call(Duration::from_secs(10), |mut c| {
                        let request = request.clone();
                        async move { c.report_finished(request).await }
                    })
                    .await;
                (finished, result)
            }
        }))
        .buffer_unordered(REPORTS_IN_FLIGHT);
        while let Some((finished, result)) = deliveries.next().await {
            if !settle_report(&agent, &finished, result) {
                // The cluster cannot be reached: the rest waits for the next round
                // (what was in flight is sent again; a repeat is recorded once).
                break;
            }
        }
        drop(deliveries);
        let _ = tokio::time::timeout(Duration::from_secs(1), changed).await;
    }
}

/// Acts on the cluster's answer to one report; false when the cluster could not
/// be reached.
fn settle_report(
    agent: &Agent,
    finished: &Finished,
    result: Result<kairos_proto::v1::ReportReply, CallError>,
) -> bool {
    match result {
        Ok(reply) => {
            if reply.accepted {
                tracing::info!(ti = %finished.ti, attempt = %finished.attempt, state = %reply.outcome, "result recorded");
            } else {
                tracing::warn!(ti = %finished.ti, attempt = %finished.attempt, "result refused ({}): {}", reply.outcome, reply.message);
            }
            if let Err(e) = agent.spool.remove(&finished.attempt) {
                tracing::error!("cannot remove a delivered result: {e}");
            }
        }
        Err(CallError::Refused(status)) if finished.reason.as_deref() != Some(UNDELIVERABLE) => {
            // The cluster will never take this report as it is (too large, or
            // malformed). Dropping it would leave the lease held and the attempt
            // handed back to run again; report a plain failure instead.
            tracing::error!(ti = %finished.ti, attempt = %finished.attempt, "result rejected, reporting a failure instead: {}", status.message());
            let fallback = Finished {
                state: "failed".into(),
                reason: Some(UNDELIVERABLE.into()),
                xcoms: Vec::new(),
                log_tail: format!(
                    "{}\nkairos: the result was rejected: {}",
                    finished
                        .log_tail
                        .chars()
                        .rev()
                        .take(2048)
                        .collect::<String>()
                        .chars()
                        .rev()
                        .collect::<String>(),
                    status.message()
                ),
                follow: None,
                reschedule_at_ms: None,
                ..finished.clone()
            };
            if let Err(e) = agent.spool.put(&fallback) {
                tracing::error!("cannot spool the fallback report: {e}");
            }
        }
        Err(CallError::Refused(status)) => {
            tracing::error!(ti = %finished.ti, attempt = %finished.attempt, "even the fallback report was rejected, dropping it: {}", status.message());
            let _ = agent.spool.remove(&finished.attempt);
        }
        Err(e) => {
            agent.failed("report", e);
            return false;
        }
    }
    true
}

/// Renews the leases of every attempt held; cancels what the cluster says to stop.
async fn heartbeat_loop(agent: Arc<Agent>) {
    loop {
        let every = Duration::from_millis(agent.heartbeat_ms.load(Ordering::SeqCst));
        tokio::time::sleep(every).await;
        // Register here too: with every slot busy the poll loop is parked, and a
        // new leader must hear from this worker before the leases run out.
        if let Err(e) = agent.ensure_registered().await {
            agent.failed("register", e);
            continue;
        }
        let request = HeartbeatRequest {
            worker_id: agent.config.worker_id.clone(),
            attempts: agent.known().into_iter().collect(),
        };
        let sent = std::time::Instant::now();
        let reply = agent
            .conn
            .call_with(every.max(Duration::from_secs(1)), TRY_CAP, |mut c| {
                let request = request.clone();
                async move { c.heartbeat(request).await }
            })
            .await;
        match reply {
            Ok(reply) => {
                agent.set_renewed(sent);
                let running = agent.running();
                for attempt in reply.cancel {
                    if let Some(cancel) = running.get(&attempt) {
                        tracing::info!(%attempt, "the cluster cancelled this attempt: stopping it");
                        let _ = cancel.send(true);
                    }
                }
            }
            Err(e) => agent.failed("heartbeat", e),
        }
    }
}

/// How often the fence looks at the time since the last renewal.
const FENCE_EVERY: Duration = Duration::from_millis(250);

/// When to stop every attempt after the last renewal a confirmed leader made:
/// early enough that SIGTERM, the kill grace and SIGKILL are over before the
/// lease could end, with a tenth of the lease and one check interval to spare.
/// `None` when the lease is too short for that (the worker then stops at once).
pub(crate) fn fence_after(lease: Duration, kill_grace: Duration) -> Option<Duration> {
    lease.checked_sub(kill_grace + lease / 10 + FENCE_EVERY)
}

/// Self-fencing, on its own timer (not tied to heartbeats or registration, which
/// may be stuck): when no confirmed leader has renewed this worker's leases for
/// [`fence_after`], every running attempt is stopped, so a worker cut off from
/// the cluster never runs an attempt beside the retry another worker got.
async fn fence_loop(agent: Arc<Agent>) {
    loop {
        tokio::time::sleep(FENCE_EVERY).await;
        let lease = Duration::from_millis(agent.lease_ms.load(Ordering::SeqCst));
        let after = fence_after(lease, agent.config.kill_grace).unwrap_or(Duration::ZERO);
        let silent = match agent.renewed.lock() {
            Ok(r) => r.elapsed(),
            Err(p) => p.into_inner().elapsed(),
        };
        if silent < after {
            continue;
        }
        let running = agent.running();
        if running.is_empty() {
            continue;
        }
        tracing::warn!(
            silent_ms = silent.as_millis() as u64,
            lease_ms = lease.as_millis() as u64,
            attempts = running.len(),
            "no leader has renewed the leases: stopping every attempt before they expire"
        );
        for cancel in running.values() {
            let _ = cancel.send(true);
        }
    }
}

#[cfg(test)]
mod fence_tests {
    use super::*;

    #[test]
    fn fencing_leaves_room_for_the_kill_grace_and_a_tenth_of_the_lease() {
        let s = Duration::from_secs;
        // Defaults: 30 s lease, 10 s grace.
        assert_eq!(
            fence_after(s(30), s(10)),
            Some(Duration::from_millis(16_750))
        );
        // The test suite's 6 s lease with a 1 s grace: 4.15 s, beyond a failover.
        assert_eq!(fence_after(s(6), s(1)), Some(Duration::from_millis(4_150)));
        // A grace longer than the lease cannot be fenced in time.
        assert_eq!(fence_after(s(5), s(10)), None);
    }
}
