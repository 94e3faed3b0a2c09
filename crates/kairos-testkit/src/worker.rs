//! A minimal worker that speaks the real worker protocol, for tests and the bench:
//! it registers, long-polls, "runs" each attempt by waiting a fixed time (no
//! process), reports success with the attempt's token (finished attempts in
//! batches, each batch offering the free slots for the next work, as
//! `kairos worker` does) and heartbeats. It reaches
//! the cluster through the real worker's connection ([`kairos_worker::conn::Conn`]),
//! so it follows the leader across failovers exactly as `kairos worker` does. It
//! records, on its own clock, when each attempt was received, finished and
//! acknowledged, so that a test can check from the worker's side that no task
//! instance ran twice at once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use kairos_proto::v1::{
    Assignment, HeartbeatRequest, PollRequest, RegisterRequest, ReportBatchRequest,
    ReportFinishedRequest,
};
use kairos_worker::conn::{CallError, Conn, TRY_CAP};
use tokio::sync::{Notify, watch};

/// One attempt as the worker saw it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub task_id: String,
    pub run_id: String,
    pub attempt: String,
    pub try_number: u32,
    pub received: Instant,
    pub finished: Instant,
    /// When the cluster acknowledged the report.
    pub acknowledged: Option<Instant>,
}

#[derive(Default)]
struct State {
    running: HashSet<String>,
    /// Finished, report not yet acknowledged.
    unacked: HashSet<String>,
    /// Every attempt token ever received (a repeat is not run again).
    seen: HashSet<String>,
    records: Vec<AttemptRecord>,
    /// Finished attempts waiting to be sent in a batch.
    to_report: Vec<ReportFinishedRequest>,
    /// Slots promised to a poll or a batch in flight (what they bring back
    /// runs in them).
    reserved: u32,
}

impl State {
    /// Reserves every slot neither running nor already reserved.
    fn reserve_free(&mut self, slots: u32) -> u32 {
        self.reserve_but(slots, 0)
    }

    /// Reserves for a poll the slots [`State::reserve_free`] would, but those
    /// promised to the reports waiting to be sent: each batch of reports offers
    /// the slots its attempts freed (as `kairos worker` does), so the next task
    /// comes in the report's own entry rather than a poll's.
    fn reserve_for_poll(&mut self, slots: u32) -> u32 {
        self.reserve_but(slots, self.to_report.len() as u32)
    }

    /// Reserves the slots neither running, nor reserved, nor `kept`.
    fn reserve_but(&mut self, slots: u32, kept: u32) -> u32 {
        let free = slots.saturating_sub(self.running.len() as u32 + self.reserved + kept);
        self.reserved += free;
        free
    }

    /// Starts the fresh ones of `tasks`; returns them.
    fn receive(&mut self, tasks: Vec<Assignment>) -> Vec<Assignment> {
        tasks
            .into_iter()
            .filter(|task| {
                let fresh = self.seen.insert(task.attempt.clone());
                if fresh {
                    self.running.insert(task.attempt.clone());
                }
                fresh
            })
            .collect()
    }

    fn acknowledged(&mut self, attempt: &str) {
        self.unacked.remove(attempt);
        let now = Instant::now();
        if let Some(r) = self.records.iter_mut().rev().find(|r| r.attempt == attempt) {
            r.acknowledged = Some(now);
        }
    }
}

/// What the worker's tasks share.
struct Shared {
    conn: Conn,
    register: RegisterRequest,
    /// Registered with the leader `conn` talks to; cleared when a call says
    /// the leader does not know this worker (a new leader).
    registered: AtomicBool,
    work: Duration,
    state: Mutex<State>,
    slot_freed: Notify,
    /// A finished attempt waits in `to_report`.
    report_ready: Notify,
    stopped: watch::Receiver<bool>,
}

/// How long a poll waits on the leader for work.
const POLL_WAIT: Duration = Duration::from_millis(1000);
/// The most reports one batch carries (the server's limit).
const MAX_BATCH: usize = 256;
/// Batches in flight at once: the next one fills while one commits.
const BATCHES_IN_FLIGHT: usize = 2;
/// How often attempts are heartbeated.
const HEARTBEAT_EVERY: Duration = Duration::from_millis(500);

/// A running test worker; dropping the handle does not stop it, `stop` does.
pub struct LocalWorker {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl LocalWorker {
    /// Starts a worker serving `queue` with `slots` slots, each attempt taking
    /// `work`, following the cluster at `addrs` (gRPC addresses). Must be called
    /// inside a Tokio runtime. Fails only when `addrs` is empty.
    pub fn start(
        addrs: Vec<String>,
        id: &str,
        queue: &str,
        slots: u32,
        work: Duration,
    ) -> Result<LocalWorker, String> {
        LocalWorker::start_with(addrs, id, queue, slots, work, None)
    }

    /// [`LocalWorker::start`] presenting `tls` (a worker certificate) to a TLS
    /// cluster.
    pub fn start_with(
        addrs: Vec<String>,
        id: &str,
        queue: &str,
        slots: u32,
        work: Duration,
        tls: Option<kairos_tls::Tls>,
    ) -> Result<LocalWorker, String> {
        let conn = Conn::new(addrs, None, tls)?;
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            conn,
            register: RegisterRequest {
                worker_id: id.to_string(),
                queues: vec![queue.to_string()],
                slots,
                ..Default::default()
            },
            registered: AtomicBool::new(false),
            work,
            state: Mutex::new(State::default()),
            slot_freed: Notify::new(),
            report_ready: Notify::new(),
            stopped,
        });
        tokio::spawn(heartbeat_loop(shared.clone()));
        tokio::spawn(poll_loop(shared.clone()));
        tokio::spawn(report_loop(shared.clone()));
        Ok(LocalWorker { shared, stop })
    }

    pub fn records(&self) -> Vec<AttemptRecord> {
        self.shared.state().records.clone()
    }

    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn worker_id(&self) -> String {
        self.register.worker_id.clone()
    }

    fn stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Registers with the current leader unless already registered with it.
    async fn ensure_registered(&self) -> Result<(), CallError> {
        if self.registered.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.conn
            .call_with(Duration::from_secs(30), TRY_CAP, |mut c| {
                let request = self.register.clone();
                async move { c.register(request).await }
            })
            .await?;
        self.registered.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// After a failed call: register again when the leader does not know us.
    fn failed(&self, error: &CallError) {
        if matches!(error, CallError::NotRegistered) {
            self.registered.store(false, Ordering::SeqCst);
        }
    }
}

async fn heartbeat_loop(shared: Arc<Shared>) {
    while !shared.stopped() {
        if shared.ensure_registered().await.is_ok() {
            let request = HeartbeatRequest {
                worker_id: shared.worker_id(),
                attempts: shared.state().running.iter().cloned().collect(),
            };
            let sent = shared
                .conn
                .call_with(Duration::from_secs(1), TRY_CAP, |mut c| {
                    let request = request.clone();
                    async move { c.heartbeat(request).await }
                })
                .await;
            if let Err(e) = sent {
                shared.failed(&e);
            }
        }
        tokio::time::sleep(HEARTBEAT_EVERY).await;
    }
}

async fn poll_loop(shared: Arc<Shared>) {
    let slots = shared.register.slots;
    while !shared.stopped() {
        if let Err(e) = shared.ensure_registered().await {
            shared.failed(&e);
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let (free, known) = {
            let mut s = shared.state();
            let known: Vec<String> = s.running.iter().chain(s.unacked.iter()).cloned().collect();
            (s.reserve_for_poll(slots), known)
        };
        if free == 0 {
            // No free slot: wait for one instead of polling for nothing.
            tokio::select! {
                _ = shared.slot_freed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            continue;
        }
        let request = PollRequest {
            worker_id: shared.worker_id(),
            free_slots: free,
            wait_ms: POLL_WAIT.as_millis() as u32,
            known_attempts: known,
        };
        let polled = shared
            .conn
            .call_with(
                Duration::from_secs(10),
                POLL_WAIT + Duration::from_secs(5),
                |mut c| {
                    let request = request.clone();
                    async move { c.poll(request).await }
                },
            )
            .await;
        let tasks = match polled {
            Ok(reply) => reply.tasks,
            Err(e) => {
                shared.failed(&e);
                if !matches!(e, CallError::NotRegistered) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Vec::new()
            }
        };
        let fresh = {
            let mut s = shared.state();
            s.reserved -= free;
            s.receive(tasks)
        };
        for task in fresh {
            tokio::spawn(execute(shared.clone(), task));
        }
    }
}

/// Sends finished attempts in batches, each offering the free slots.
async fn report_loop(shared: Arc<Shared>) {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(BATCHES_IN_FLIGHT));
    while !shared.stopped() {
        let ready = shared.report_ready.notified();
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let (batch, take) = {
            let mut s = shared.state();
            let n = s.to_report.len().min(MAX_BATCH);
            let batch: Vec<ReportFinishedRequest> = s.to_report.drain(..n).collect();
            let take = if batch.is_empty() {
                0
            } else {
                s.reserve_free(shared.register.slots).min(MAX_BATCH as u32)
            };
            (batch, take)
        };
        if batch.is_empty() {
            drop(permit);
            tokio::select! {
                _ = ready => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            continue;
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            send_batch(&shared, batch, take).await;
            drop(permit);
        });
    }
}

/// Sends one batch until the cluster answers it; a batch the cluster refuses
/// outright is sent again report by report, so that only the reports it
/// refuses stay unacknowledged (for the test to see).
async fn send_batch(shared: &Arc<Shared>, reports: Vec<ReportFinishedRequest>, take: u32) {
    let request = ReportBatchRequest {
        worker_id: shared.worker_id(),
        reports,
        take,
    };
    let answered = loop {
        let sent = shared
            .conn
            .call(Duration::from_secs(30), |mut c| {
                let request = request.clone();
                async move { c.report_batch(request).await }
            })
            .await;
        match sent {
            Ok(reply) => break Some(reply),
            Err(CallError::Refused(_)) => break None,
            Err(e) => {
                shared.failed(&e);
                if shared.stopped() {
                    break None;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let refused = answered.is_none();
    let fresh = {
        let mut s = shared.state();
        s.reserved -= take;
        match answered {
            Some(reply) => {
                for report in &request.reports {
                    s.acknowledged(&report.attempt);
                }
                s.receive(reply.tasks)
            }
            None => Vec::new(),
        }
    };
    shared.slot_freed.notify_one();
    for task in fresh {
        tokio::spawn(execute(shared.clone(), task));
    }
    if refused && !shared.stopped() {
        for report in request.reports {
            report_one(shared, report).await;
        }
    }
}

async fn execute(shared: Arc<Shared>, task: Assignment) {
    let received = Instant::now();
    if !shared.work.is_zero() {
        tokio::time::sleep(shared.work).await;
    }
    let finished = Instant::now();
    let ti = task.ti.clone().unwrap_or_default();
    let report = ReportFinishedRequest {
        worker_id: shared.worker_id(),
        ti: Some(ti.clone()),
        attempt: task.attempt.clone(),
        state: "success".to_string(),
        ..Default::default()
    };
    {
        // The slot is freed and the report queued at once: a poll never takes
        // the slot the report offers.
        let mut s = shared.state();
        s.running.remove(&task.attempt);
        s.unacked.insert(task.attempt.clone());
        s.records.push(AttemptRecord {
            task_id: ti.task_id.clone(),
            run_id: ti.run_id.clone(),
            attempt: task.attempt.clone(),
            try_number: task.try_number,
            received,
            finished,
            acknowledged: None,
        });
        s.to_report.push(report);
    }
    shared.report_ready.notify_one();
    shared.slot_freed.notify_one();
}

/// One report on its own, re-sent until the cluster answers (accepted, or
/// refused as stale). A call the cluster refuses outright is not sent again:
/// the attempt then stays unacknowledged in the records.
async fn report_one(shared: &Shared, report: ReportFinishedRequest) {
    loop {
        let sent = shared
            .conn
            .call(Duration::from_secs(30), |mut c| {
                let report = report.clone();
                async move { c.report_finished(report).await }
            })
            .await;
        match sent {
            Ok(_) => break,
            Err(CallError::Refused(_)) => return,
            Err(e) => {
                shared.failed(&e);
                if shared.stopped() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    shared.state().acknowledged(&report.attempt);
}
