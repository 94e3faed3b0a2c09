//! The leader loop of one term: the barrier, its leader change recorded, and
//! full leases first, then every tick the runs schedules ask for, a `Tick` when
//! a timer is due or a queueing pass is unfinished, lease expiry, reconciling
//! leases with the state, and the retention policy now and then.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use kairos_dag::lifecycle::{Actor, TaskInstanceState};
use kairos_state::Command;

use super::state::Leader;

/// How long the loop waits before trying again after a store read failed.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

pub(super) async fn lead(s: Arc<Leader>, term: u64) {
    // The barrier: the state is current once the read index is applied here.
    while let Err(e) = s.node.barrier().await {
        tracing::debug!("barrier not yet passed: {e}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The cluster's history of leader changes (shown by every node). Sent
    // without waiting: scheduling must not wait on it, and a deposed leader's
    // record is refused or never commits.
    let record = s.node.clone();
    let node_id = s.node.id();
    tokio::spawn(async move {
        if let Err(e) = record
            .propose_here(vec![Command::RecordLeader { term, node_id }])
            .await
        {
            tracing::debug!(term, "leader change not recorded: {e}");
        }
    });
    let attempts = loop {
        match s.node.read_now(|store| store.running_attempts()) {
            Ok(a) => break a,
            Err(e) => {
                tracing::error!("cannot read running attempts, trying again: {e}");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
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
    let mut last_retention: Option<Instant> = None;
    let purging = Arc::new(std::sync::atomic::AtomicBool::new(false));
    loop {
        let now = Utc::now();
        if s.settings.create_scheduled_runs && last_due.elapsed() >= s.settings.tick {
            last_due = Instant::now();
            match s.node.read_now(|store| store.due_runs(now)) {
                Ok(commands) => {
                    for chunk in commands.chunks(256) {
                        if let Err(e) = s.node.propose_here(chunk.to_vec()).await {
                            tracing::warn!("could not create due runs: {e}");
                            break;
                        }
                    }
                }
                Err(e) => tracing::error!("cannot compute due runs: {e}"),
            }
        }
        let next_timer = match s.node.read_now(|store| store.next_timer()) {
            Ok(next) => next,
            Err(e) => {
                tracing::error!("cannot read the next timer: {e}");
                None
            }
        };
        let timer_due = next_timer.is_some_and(|t| t <= Utc::now());
        let pass_pending = match s.node.read_now(|store| store.queue_pass_pending()) {
            Ok(pending) => pending,
            Err(e) => {
                tracing::error!("cannot read whether a queueing pass is pending: {e}");
                false
            }
        };
        if timer_due || pass_pending {
            if let Err(e) = s.node.propose_here(vec![Command::Tick]).await {
                tracing::warn!("tick not committed: {e}");
            }
        }
        expire_leases(&s).await;
        if s.settings.retention.is_set()
            && last_retention.is_none_or(|at| at.elapsed() >= s.settings.retention_every)
            && !purging.swap(true, Ordering::SeqCst)
        {
            last_retention = Some(Instant::now());
            tokio::spawn(retain(s.clone(), purging.clone()));
        }
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

/// Applies the retention policy once, beside the loop (a purge of many runs
/// takes several entries; scheduling goes on between them).
async fn retain(s: Arc<Leader>, purging: Arc<std::sync::atomic::AtomicBool>) {
    let policy = s.settings.retention;
    let node = s.node.clone();
    let result = crate::retention::purge(
        |command| {
            let node = node.clone();
            async move {
                let committed = node.propose_here(vec![command]).await?;
                match committed.results.into_iter().next() {
                    Some(Ok(outcome)) => Ok(outcome),
                    Some(Err(rejection)) => Err(crate::node::NodeError::Invalid(rejection.message)),
                    None => Err(crate::node::NodeError::Unknown("no result".into())),
                }
            }
        },
        None,
        policy.before(Utc::now()),
        policy.keep_last,
        None,
    )
    .await;
    match result {
        Ok(purged) if purged.runs > 0 => tracing::info!(
            runs = purged.runs,
            task_instances = purged.task_instances,
            xcoms = purged.xcoms,
            commands = purged.commands,
            "retention: old runs deleted"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("retention: purge stopped: {e}"),
    }
    purging.store(false, Ordering::SeqCst);
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
            tracing::warn!(attempt = %crate::tokens::token_tag(&attempt), worker = ?l.worker, "lease expired");
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
                no_retry: false,
                outlet_events: vec![],
            }
        })
        .collect();
    if let Err(e) = s.node.propose_here(commands).await {
        tracing::warn!("lease expiries not committed: {e}");
    }
}

/// Drops the leases of attempts that are no longer current (a heartbeat then tells
/// their worker to stop, as for any attempt the table does not know) and marks
/// cleared ones (`restarting`) for cancellation while keeping their lease, so that
/// the attempt still fails if its worker has vanished. A lease whose task instance
/// cannot be read is kept: only the state may end it.
fn reconcile(s: &Leader) {
    for (attempt, ti) in s.with_leases(|l| l.attempts()) {
        let record = match s.node.read_now(|store| store.task_instance(&ti)) {
            Ok(record) => record,
            Err(e) => {
                tracing::error!(%ti, attempt = %crate::tokens::token_tag(&attempt), "cannot read the task instance of a lease; keeping it: {e}");
                continue;
            }
        };
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
