//! What the leader loop and the worker service share: the leases of running
//! attempts, the workers heard from, the claims of polls in progress, and whether
//! this node leads with every lease re-armed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kairos_dag::lifecycle::TaskInstanceState;
use kairos_state::engine::explain::Explanation;

use super::claims::Claims;
use super::leases::Leases;
use super::placement::Placements;
use super::workers::Workers;
use crate::node::{Node, NodeError};

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
    /// Old runs the leader deletes (none by default).
    pub retention: crate::retention::Policy,
    /// How often it does.
    pub retention_every: Duration,
}

impl Default for LeaderSettings {
    fn default() -> LeaderSettings {
        LeaderSettings {
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(3),
            tick: Duration::from_secs(1),
            worker_tokens: Vec::new(),
            create_scheduled_runs: true,
            retention: crate::retention::Policy::default(),
            retention_every: crate::retention::EVERY,
        }
    }
}

/// How long a confirmation of leadership is reused before the next round.
const CONFIRM_REUSE: Duration = Duration::from_millis(200);
/// How long a confirmation of leadership may take.
const CONFIRM_WITHIN: Duration = Duration::from_millis(500);

/// The leader's shared state.
pub struct Leader {
    pub node: Node,
    pub settings: LeaderSettings,
    /// True while this node leads and has re-armed the leases.
    pub(super) leading: AtomicBool,
    leases: Mutex<Leases>,
    workers: Mutex<Workers>,
    /// Task instances a poll is dispatching.
    pub claims: Claims,
    /// What queued tasks need of a worker (environment, team), cached per run.
    pub placements: Placements,
    /// When a quorum last confirmed this node's leadership.
    confirmed: Mutex<Option<Instant>>,
}

/// A lock, recovered if a thread panicked while holding it (the data stays usable:
/// every change to it is a single insert or remove).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Leader {
    pub(super) fn new(node: Node, settings: LeaderSettings) -> Leader {
        Leader {
            node,
            settings,
            leading: AtomicBool::new(false),
            leases: Mutex::new(Leases::default()),
            workers: Mutex::new(Workers::default()),
            claims: Claims::default(),
            placements: Placements::default(),
            confirmed: Mutex::new(None),
        }
    }

    /// Whether a quorum still follows this leader: a read-index round, reused for
    /// [`CONFIRM_REUSE`]. An isolated leader that has not yet heard of its
    /// successor fails here, so it cannot renew a worker's leases while the new
    /// leader lets them run out and hands the tasks to others.
    pub async fn confirm_leadership(&self) -> Result<(), NodeError> {
        let last = *lock(&self.confirmed);
        if last.is_some_and(|at| at.elapsed() < CONFIRM_REUSE) {
            return Ok(());
        }
        let started = Instant::now();
        self.node.confirm_leadership(CONFIRM_WITHIN).await?;
        *lock(&self.confirmed) = Some(started);
        Ok(())
    }

    pub fn is_leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Adds what only the leader knows to an explanation: whether any live worker
    /// serves the queue a waiting task instance needs, has its execution
    /// environment and serves its team. A worker is live while it was
    /// heard from within one lease.
    pub fn explain_workers(&self, explanation: &mut Explanation) {
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
            return;
        }
        let workers = self.with_workers(|w| w.live(self.settings.lease));
        let why = super::placement::why_no_worker(
            queue,
            explanation.environment.as_deref(),
            explanation.team.as_deref(),
            &workers,
        );
        explanation.reasons.extend(why);
    }

    /// The workers heard from within one lease, as the API shows them.
    pub fn worker_views(&self) -> Vec<kairos_api::WorkerView> {
        self.with_workers(|w| w.live(self.settings.lease))
            .into_iter()
            .map(|(id, w)| kairos_api::WorkerView {
                worker_id: id,
                queues: w.queues,
                slots: w.slots,
                environments: w
                    .environment_details
                    .iter()
                    .map(|e| kairos_api::WorkerEnvironmentView {
                        name: e.name.clone(),
                        python_version: e.python_version.clone(),
                        packages: e.packages.len(),
                    })
                    .collect(),
                teams: w.teams,
                last_seen_seconds: w.last_seen.elapsed().as_secs_f64(),
                log_url: w.log_url,
            })
            .collect()
    }

    /// The leader's gRPC address as this node knows it (where workers go).
    pub fn leader_addr(&self) -> Option<String> {
        self.node.leader_addr().map(|(_, addr)| addr)
    }

    /// Grants a full lease to each attempt just handed to `worker` (by a poll's
    /// `Dispatch` or a report's `DispatchDownstream`); returns them as
    /// (attempt, task instance), the order assignments are built in.
    pub fn lease_handed(
        &self,
        worker: &str,
        attempts: impl IntoIterator<Item = (kairos_state::TaskInstanceKey, String)>,
    ) -> Vec<(String, kairos_state::TaskInstanceKey)> {
        let until = Instant::now() + self.settings.lease;
        self.with_leases(|l| {
            attempts
                .into_iter()
                .map(|(ti, attempt)| {
                    l.grant(attempt.clone(), ti.clone(), Some(worker.to_string()), until);
                    (attempt, ti)
                })
                .collect()
        })
    }

    pub fn with_leases<T>(&self, f: impl FnOnce(&mut Leases) -> T) -> T {
        f(&mut lock(&self.leases))
    }

    pub fn with_workers<T>(&self, f: impl FnOnce(&mut Workers) -> T) -> T {
        f(&mut lock(&self.workers))
    }
}
