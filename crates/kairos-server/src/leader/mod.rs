//! The leader's half of the scheduler: what needs a clock or memory.
//!
//! Only the Raft leader schedules. It starts when this node becomes leader, after a
//! read barrier (openraft's `ensure_linearizable`: the leader's own entry of the
//! term is committed and applied, so its state is current), re-arms a full lease
//! for every running attempt, and only then lets workers poll and leases expire. It
//! stops the moment this node is no longer leader. Each tick it proposes the runs
//! schedules ask for and a `Tick` when a timer is due; readiness, fast-follow and
//! queueing happen inside apply (kairos-state's `schedule`).

pub mod leases;
pub mod workers;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use kairos_dag::lifecycle::{Actor, TaskInstanceState};
use kairos_raft::RaftNode;
use kairos_state::{Command, TaskInstanceKey};
use openraft::ServerState;

use leases::Leases;
use workers::Workers;

/// How the leader treats workers.
#[derive(Debug, Clone)]
pub struct LeaderSettings {
    /// An attempt whose worker is silent this long is failed (and retried).
    pub lease: Duration,
    /// How often workers are asked to heartbeat.
    pub heartbeat: Duration,
    /// How often schedules are checked for due runs.
    pub tick: Duration,
    /// Workers must present one of these tokens; empty lets any worker in.
    pub worker_tokens: Vec<String>,
    /// Whether schedules create runs (off for `kairos dags test`, which wants only
    /// the one run it triggers).
    pub create_scheduled_runs: bool,
}

impl Default for LeaderSettings {
    fn default() -> LeaderSettings {
        LeaderSettings {
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(3),
            tick: Duration::from_secs(1),
            worker_tokens: Vec::new(),
            create_scheduled_runs: true,
        }
    }
}

/// How long a confirmation of leadership is reused before the next round.
const CONFIRM_REUSE: Duration = Duration::from_millis(200);

/// What the leader loop and the worker service share.
pub struct Leader {
    pub node: RaftNode,
    pub settings: LeaderSettings,
    /// True while this node leads and has re-armed the leases.
    leading: AtomicBool,
    pub leases: Mutex<Leases>,
    pub workers: Mutex<Workers>,
    /// Task instances a poll is dispatching, so two polls never propose the same one.
    pub in_flight: Mutex<HashSet<TaskInstanceKey>>,
    /// When a quorum last confirmed this node's leadership.
    confirmed: Mutex<Option<Instant>>,
}

impl Leader {
    pub fn start(node: RaftNode, settings: LeaderSettings) -> Arc<Leader> {
        let scheduler = Arc::new(Leader {
            node,
            settings,
            leading: AtomicBool::new(false),
            leases: Mutex::new(Leases::default()),
            workers: Mutex::new(Workers::default()),
            in_flight: Mutex::new(HashSet::new()),
            confirmed: Mutex::new(None),
        });
        tokio::spawn(supervise(scheduler.clone()));
        scheduler
    }

    /// Whether a quorum still follows this leader: a read-index round, reused for
    /// [`CONFIRM_REUSE`]. An isolated leader that has not yet heard of its
    /// successor fails here, so it cannot renew a worker's leases while the new
    /// leader lets them run out and hands the tasks to others.
    pub async fn confirm_leadership(&self) -> Result<(), String> {
        let last = match self.confirmed.lock() {
            Ok(c) => *c,
            Err(p) => *p.into_inner(),
        };
        if last.is_some_and(|at| at.elapsed() < CONFIRM_REUSE) {
            return Ok(());
        }
        let started = Instant::now();
        // The read index only (not waiting for this node's apply to catch up): a
        // busy but healthy leader must not fail heartbeats.
        match tokio::time::timeout(Duration::from_millis(500), self.node.raft.get_read_log_id())
            .await
        {
            Ok(Ok(_)) => {
                match self.confirmed.lock() {
                    Ok(mut c) => *c = Some(started),
                    Err(p) => *p.into_inner() = Some(started),
                }
                Ok(())
            }
            Ok(Err(e)) => Err(format!("this node cannot confirm that it leads: {e}")),
            Err(_) => Err(
                "this node cannot confirm that it leads: no quorum answered within 0.5 s".into(),
            ),
        }
    }

    pub fn is_leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Adds what only the leader knows to an explanation: whether any live worker
    /// serves the queue a waiting task instance needs. A worker is live while it was
    /// heard from within one lease.
    pub fn explain_workers(&self, explanation: &mut kairos_state::engine::explain::Explanation) {
        let waiting = matches!(
            explanation.state,
            Some(TaskInstanceState::Scheduled | TaskInstanceState::Queued)
        );
        let Some(queue) = explanation.queue.as_deref().filter(|_| waiting) else {
            return;
        };
        let live = self.with_workers(|w| w.live_serving(queue, self.settings.lease));
        if live == 0 {
            explanation.reasons.push(format!(
                "no live worker serves queue `{queue}`: start one with `kairos worker --queues {queue}`"
            ));
        }
    }

    /// The leader's gRPC address as this node knows it.
    pub fn leader_addr(&self) -> Option<String> {
        let metrics = self.node.raft.metrics().borrow().clone();
        let leader = metrics.current_leader?;
        metrics
            .membership_config
            .membership()
            .get_node(&leader)
            .map(|n| n.grpc_addr.clone())
    }

    pub fn with_leases<T>(&self, f: impl FnOnce(&mut Leases) -> T) -> T {
        match self.leases.lock() {
            Ok(mut leases) => f(&mut leases),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    pub fn with_workers<T>(&self, f: impl FnOnce(&mut Workers) -> T) -> T {
        match self.workers.lock() {
            Ok(mut workers) => f(&mut workers),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

/// Starts the leader loop when this node becomes leader, stops it when it is not.
async fn supervise(s: Arc<Leader>) {
    let mut metrics = s.node.raft.metrics();
    let mut running: Option<(u64, tokio::task::JoinHandle<()>)> = None;
    loop {
        let (leader_now, term) = {
            let m = metrics.borrow_and_update();
            (
                m.state == ServerState::Leader && m.current_leader == Some(s.node.id),
                m.current_term,
            )
        };
        match (&running, leader_now) {
            (Some((t, _)), true) if *t == term => {}
            (_, true) => {
                stop(&s, running.take());
                tracing::info!(term, "leading: starting the scheduler");
                running = Some((term, tokio::spawn(lead(s.clone()))));
            }
            (Some(_), false) => {
                tracing::info!("no longer leader: scheduler stopped");
                stop(&s, running.take());
            }
            (None, false) => {}
        }
        if metrics.changed().await.is_err() {
            stop(&s, running.take());
            return;
        }
    }
}

fn stop(s: &Leader, running: Option<(u64, tokio::task::JoinHandle<()>)>) {
    s.leading.store(false, Ordering::SeqCst);
    if let Some((_, handle)) = running {
        handle.abort();
    }
    s.with_leases(|l| l.clear());
}

async fn lead(s: Arc<Leader>) {
    // The barrier: the state is current once the read index is applied here.
    loop {
        match s.node.raft.ensure_linearizable().await {
            Ok(_) => break,
            Err(e) => {
                tracing::debug!("barrier not yet passed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let attempts = match s.node.store.running_attempts() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!("cannot read running attempts: {e}");
            return;
        }
    };
    let until = Instant::now() + s.settings.lease;
    let count = attempts.len();
    s.with_leases(|l| {
        l.clear();
        for a in attempts {
            l.grant(a.attempt, a.ti, a.worker, until);
        }
    });
    s.leading.store(true, Ordering::SeqCst);
    tracing::info!(
        running_attempts = count,
        "scheduler ready: every running attempt has a full lease"
    );
    let mut last_due = Instant::now() - s.settings.tick;
    let mut last_reconcile = Instant::now();
    loop {
        let now = Utc::now();
        if s.settings.create_scheduled_runs && last_due.elapsed() >= s.settings.tick {
            last_due = Instant::now();
            match s.node.store.due_runs(now) {
                Ok(commands) if !commands.is_empty() => {
                    for chunk in commands.chunks(256) {
                        if let Err(e) = s.node.proposer.propose(chunk.to_vec()).await {
                            tracing::warn!("could not create due runs: {e}");
                            break;
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::error!("cannot compute due runs: {e}"),
            }
        }
        let next_timer = s.node.store.next_timer().ok().flatten();
        let timer_due = next_timer.is_some_and(|t| t <= Utc::now());
        let pass_pending = s.node.store.queue_pass_pending().unwrap_or(false);
        if timer_due || pass_pending {
            if let Err(e) = s.node.proposer.propose(vec![Command::Tick]).await {
                tracing::warn!("tick not committed: {e}");
            }
        }
        expire_leases(&s).await;
        if last_reconcile.elapsed() >= Duration::from_secs(1) {
            last_reconcile = Instant::now();
            reconcile(&s);
        }
        // Wake for the next timer, or at least every 100 ms for leases and due runs.
        let wait = match next_timer {
            Some(t) => (t - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(Duration::from_millis(100)),
            None => Duration::from_millis(100),
        };
        tokio::time::sleep(wait.max(Duration::from_millis(5))).await;
    }
}

/// Fails the attempts whose lease ran out (the state machine retries them while
/// tries remain, and refuses the report if the attempt moved on meanwhile).
async fn expire_leases(s: &Leader) {
    let expired = s.with_leases(|l| l.take_expired(Instant::now()));
    if expired.is_empty() {
        return;
    }
    let lease = s.settings.lease.as_secs_f64();
    let commands: Vec<Command> = expired
        .into_iter()
        .map(|(attempt, l)| {
            tracing::warn!(attempt, worker = ?l.worker, "lease expired");
            Command::FinishAttempt {
                ti: l.ti,
                attempt,
                actor: Actor::LeaseExpiry,
                state: TaskInstanceState::Failed,
                reason: Some(format!(
                    "lease expired: worker {} sent no heartbeat for {lease:.1} s",
                    l.worker.as_deref().unwrap_or("(unknown)")
                )),
                xcoms: vec![],
                log_tail: None,
                follow: None,
                reschedule_at: None,
            }
        })
        .collect();
    if let Err(e) = s.node.proposer.propose(commands).await {
        tracing::warn!("lease expiries not committed: {e}");
    }
}

/// Drops the leases of attempts that are no longer current (a heartbeat then tells
/// their worker to stop, as for any attempt the table does not know) and marks
/// cleared ones (`restarting`) for cancellation while keeping their lease, so that
/// the attempt still fails if its worker has vanished.
fn reconcile(s: &Leader) {
    for (attempt, ti) in s.with_leases(|l| l.attempts()) {
        let record = s.node.store.task_instance(&ti).ok().flatten();
        let current = record
            .as_ref()
            .filter(|r| r.attempt.as_deref() == Some(attempt.as_str()))
            .map(|r| r.state);
        match current {
            Some(TaskInstanceState::Running) => {}
            Some(TaskInstanceState::Restarting) => s.with_leases(|l| l.mark_cancel(&attempt)),
            _ => s.with_leases(|l| l.remove(&attempt)),
        }
    }
}
