//! A minimal worker that speaks the real worker protocol, for tests and the bench:
//! it registers, long-polls, "runs" each attempt by waiting a fixed time (no
//! process), reports success with the attempt's token, heartbeats, and follows the
//! leader across failovers. It records, on its own clock, when each attempt was
//! received, started and finished, so that a test can check from the worker's side
//! that no task instance ran twice at once. The full agent is `kairos worker`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kairos_proto::v1::worker_client::WorkerClient;
use kairos_proto::v1::{
    Assignment, HeartbeatRequest, PollRequest, RegisterRequest, ReportFinishedRequest,
};
use tonic::transport::Channel;

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
}

/// A running test worker; dropping the handle does not stop it, `stop` does.
pub struct LocalWorker {
    state: Arc<Mutex<State>>,
    stop: tokio::sync::watch::Sender<bool>,
}

struct Conn {
    addrs: Vec<String>,
    channels: HashMap<String, Channel>,
    current: String,
}

impl Conn {
    fn client(&mut self) -> WorkerClient<Channel> {
        let addr = self.current.clone();
        let channel = self
            .channels
            .entry(addr.clone())
            .or_insert_with(|| {
                Channel::from_shared(format!("http://{addr}"))
                    .map(|e| e.connect_timeout(Duration::from_millis(500)).connect_lazy())
                    .unwrap_or_else(|_| Channel::from_static("http://127.0.0.1:1").connect_lazy())
            })
            .clone();
        WorkerClient::new(channel)
    }

    /// After a failed call: go to the leader the node named, else the next address.
    fn follow(&mut self, status: &tonic::Status) {
        if let Some(leader) = status
            .metadata()
            .get("kairos-leader")
            .and_then(|v| v.to_str().ok())
        {
            if leader != self.current {
                self.current = leader.to_string();
                return;
            }
        }
        let i = self
            .addrs
            .iter()
            .position(|a| a == &self.current)
            .unwrap_or(0);
        self.current = self.addrs[(i + 1) % self.addrs.len()].clone();
    }
}

impl LocalWorker {
    /// Starts a worker serving `queue` with `slots` slots, each attempt taking `work`.
    pub fn start(
        addrs: Vec<String>,
        id: &str,
        queue: &str,
        slots: u32,
        work: Duration,
    ) -> LocalWorker {
        let state = Arc::new(Mutex::new(State::default()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(run(
            addrs,
            id.to_string(),
            queue.to_string(),
            slots,
            work,
            state.clone(),
            stopped,
        ));
        LocalWorker { state, stop }
    }

    pub fn records(&self) -> Vec<AttemptRecord> {
        self.state
            .lock()
            .map(|s| s.records.clone())
            .unwrap_or_default()
    }

    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

async fn run(
    addrs: Vec<String>,
    id: String,
    queue: String,
    slots: u32,
    work: Duration,
    state: Arc<Mutex<State>>,
    stopped: tokio::sync::watch::Receiver<bool>,
) {
    let conn = Arc::new(tokio::sync::Mutex::new(Conn {
        current: addrs[0].clone(),
        addrs,
        channels: HashMap::new(),
    }));
    let register = RegisterRequest {
        worker_id: id.clone(),
        queues: vec![queue],
        slots,
        ..Default::default()
    };
    // Heartbeats, on their own task.
    {
        let conn = conn.clone();
        let state = state.clone();
        let id = id.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move {
            while !*stopped.borrow() {
                let attempts: Vec<String> = state
                    .lock()
                    .map(|s| s.running.iter().cloned().collect())
                    .unwrap_or_default();
                let mut client = conn.lock().await.client();
                let _ = client
                    .heartbeat(HeartbeatRequest {
                        worker_id: id.clone(),
                        attempts,
                    })
                    .await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
    let slot_freed = Arc::new(tokio::sync::Notify::new());
    let mut registered_with: Option<String> = None;
    while !*stopped.borrow() {
        let current = conn.lock().await.current.clone();
        if registered_with.as_deref() != Some(current.as_str()) {
            let mut client = conn.lock().await.client();
            match client.register(register.clone()).await {
                Ok(_) => registered_with = Some(current),
                Err(status) => {
                    conn.lock().await.follow(&status);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        }
        let (free, known) = {
            let s = state.lock().map(|s| {
                (
                    s.running.len(),
                    s.running
                        .iter()
                        .chain(s.unacked.iter())
                        .cloned()
                        .collect::<Vec<_>>(),
                )
            });
            s.unwrap_or((0, vec![]))
        };
        if free as u32 >= slots {
            // No free slot: wait for one instead of polling for nothing.
            tokio::select! {
                _ = slot_freed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            continue;
        }
        let mut client = conn.lock().await.client();
        let reply = client
            .poll(PollRequest {
                worker_id: id.clone(),
                free_slots: slots.saturating_sub(free as u32),
                wait_ms: 1000,
                known_attempts: known,
            })
            .await;
        match reply {
            Ok(reply) => {
                for task in reply.into_inner().tasks {
                    let fresh = state
                        .lock()
                        .map(|mut s| {
                            let fresh = s.seen.insert(task.attempt.clone());
                            if fresh {
                                s.running.insert(task.attempt.clone());
                            }
                            fresh
                        })
                        .unwrap_or(false);
                    if fresh {
                        tokio::spawn(execute(
                            conn.clone(),
                            id.clone(),
                            task,
                            work,
                            state.clone(),
                            slot_freed.clone(),
                        ));
                    }
                }
            }
            Err(status) => {
                if status.code() == tonic::Code::FailedPrecondition {
                    registered_with = None;
                }
                conn.lock().await.follow(&status);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

async fn execute(
    conn: Arc<tokio::sync::Mutex<Conn>>,
    id: String,
    task: Assignment,
    work: Duration,
    state: Arc<Mutex<State>>,
    slot_freed: Arc<tokio::sync::Notify>,
) {
    let received = Instant::now();
    if !work.is_zero() {
        tokio::time::sleep(work).await;
    }
    let finished = Instant::now();
    let ti = task.ti.clone().unwrap_or_default();
    if let Ok(mut s) = state.lock() {
        s.running.remove(&task.attempt);
        s.unacked.insert(task.attempt.clone());
        slot_freed.notify_one();
        s.records.push(AttemptRecord {
            task_id: ti.task_id.clone(),
            run_id: ti.run_id.clone(),
            attempt: task.attempt.clone(),
            try_number: task.try_number,
            received,
            finished,
            acknowledged: None,
        });
    }
    let report = ReportFinishedRequest {
        worker_id: id,
        ti: Some(ti),
        attempt: task.attempt.clone(),
        state: "success".to_string(),
        ..Default::default()
    };
    // Re-send until the cluster answers (accepted, or refused as stale).
    loop {
        let mut client = conn.lock().await.client();
        match client.report_finished(report.clone()).await {
            Ok(_) => break,
            Err(status) => {
                conn.lock().await.follow(&status);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    if let Ok(mut s) = state.lock() {
        s.unacked.remove(&task.attempt);
        let now = Instant::now();
        if let Some(r) = s
            .records
            .iter_mut()
            .rev()
            .find(|r| r.attempt == task.attempt)
        {
            r.acknowledged = Some(now);
        }
    }
}
