//! `/metrics`: a node's metrics in Prometheus' text format.
//!
//! Counters and histograms are fed as things happen: Raft commits and applies
//! through [`kairos_raft::NodeObserver`], leader changes by a watcher of Raft's
//! metrics, API requests by a middleware ([`http`]). Gauges are read when scraped:
//! Raft's term and indexes, pools and queue depths from the store, and, on the
//! leader, the live workers and their free slots. Every node applies the same log,
//! so the apply counters agree between nodes; worker gauges are the leader's.

pub mod http;

use std::sync::Arc;
use std::time::Duration;

use crate::node::Node;
use kairos_state::stats::ApplyStats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::leader::Leader;

/// Index entries read per scrape for queue depths (a bigger backlog is cut there).
const DEPTH_SCAN_LIMIT: usize = 200_000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabel {
    pub pool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: String,
}

/// A live worker's execution environment.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkerEnvironmentLabels {
    pub worker: String,
    pub environment: String,
    pub python_version: String,
    pub packages: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkerTeamLabels {
    pub worker: String,
    pub team: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route's template (`/api/v1/dags/{dag_id}`), never the raw path.
    pub route: String,
    pub status: String,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Task-to-task gaps include waits for pools and workers: 1 ms to about 9 min.
fn gap_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

/// Every metric of a node.
pub struct Metrics {
    registry: Registry,
    term: Gauge,
    last_log_index: Gauge,
    applied_index: Gauge,
    is_leader: Gauge,
    leader_id: Gauge,
    leader_changes: Counter,
    commit_latency: Histogram,
    entries_applied: Counter,
    log_bytes_appended: Counter,
    commands_applied: Counter,
    commands_refused: Counter,
    runs_created: Counter,
    tasks_queued: Counter,
    tasks_handed_off: Counter,
    tasks_taken_waiting: Counter,
    task_gap: Histogram,
    pool_slots: Family<PoolLabel, Gauge>,
    pool_used_slots: Family<PoolLabel, Gauge>,
    pool_waiting: Family<PoolLabel, Gauge>,
    queue_queued: Family<QueueLabel, Gauge>,
    depth_truncated: Gauge,
    workers: Gauge,
    worker_slots: Gauge,
    worker_environments: Family<WorkerEnvironmentLabels, Gauge>,
    worker_teams: Family<WorkerTeamLabels, Gauge>,
    worker_free_slots: Gauge,
    pub(crate) requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("kairos"),
            term: Gauge::default(),
            last_log_index: Gauge::default(),
            applied_index: Gauge::default(),
            is_leader: Gauge::default(),
            leader_id: Gauge::default(),
            leader_changes: Counter::default(),
            commit_latency: latency_histogram(),
            entries_applied: Counter::default(),
            log_bytes_appended: Counter::default(),
            commands_applied: Counter::default(),
            commands_refused: Counter::default(),
            runs_created: Counter::default(),
            tasks_queued: Counter::default(),
            tasks_handed_off: Counter::default(),
            tasks_taken_waiting: Counter::default(),
            task_gap: gap_histogram(),
            pool_slots: Family::default(),
            pool_used_slots: Family::default(),
            pool_waiting: Family::default(),
            queue_queued: Family::default(),
            depth_truncated: Gauge::default(),
            workers: Gauge::default(),
            worker_slots: Gauge::default(),
            worker_environments: Family::default(),
            worker_teams: Family::default(),
            worker_free_slots: Gauge::default(),
            requests: Family::new_with_constructor(latency_histogram),
        };
        let r = &mut m.registry;
        r.register("raft_term", "This node's current Raft term", m.term.clone());
        r.register(
            "raft_last_log_index",
            "The last index in this node's log",
            m.last_log_index.clone(),
        );
        r.register(
            "raft_applied_index",
            "The last index this node applied",
            m.applied_index.clone(),
        );
        r.register(
            "raft_is_leader",
            "1 while this node leads",
            m.is_leader.clone(),
        );
        r.register(
            "raft_leader_id",
            "The leader as this node knows it (0: none)",
            m.leader_id.clone(),
        );
        r.register(
            "raft_leader_changes",
            "Times this node saw the leader change (including to none)",
            m.leader_changes.clone(),
        );
        r.register_with_unit(
            "raft_commit_latency",
            "From handing an entry to Raft to its results, for entries this node proposed",
            Unit::Seconds,
            m.commit_latency.clone(),
        );
        r.register(
            "raft_entries_applied",
            "Log entries this node applied",
            m.entries_applied.clone(),
        );
        r.register_with_unit(
            "raft_log_appended",
            "Bytes of log entries this node wrote to its log, as encoded (see --raft-format)",
            Unit::Bytes,
            m.log_bytes_appended.clone(),
        );
        r.register(
            "state_commands_applied",
            "Commands applied (refused ones included)",
            m.commands_applied.clone(),
        );
        r.register(
            "state_commands_refused",
            "Commands the state machine refused",
            m.commands_refused.clone(),
        );
        r.register(
            "scheduler_runs_created",
            "DAG runs created",
            m.runs_created.clone(),
        );
        r.register(
            "scheduler_tasks_queued",
            "Task instances queued for a worker",
            m.tasks_queued.clone(),
        );
        r.register(
            "scheduler_tasks_handed_off",
            "Task instances handed to the worker that reported their upstream, in the same entry as its report",
            m.tasks_handed_off.clone(),
        );
        r.register(
            "scheduler_tasks_taken_by_waiting_polls",
            "Task instances started for a worker's waiting poll in the entry that queued them",
            m.tasks_taken_waiting.clone(),
        );
        r.register_with_unit("scheduler_task_to_task", "From the end of a task instance's last upstream to its dispatch to a worker (leader stamps)", Unit::Seconds, m.task_gap.clone());
        r.register("pool_slots", "Slots of each pool", m.pool_slots.clone());
        r.register(
            "pool_used_slots",
            "Slots held by queued and running task instances",
            m.pool_used_slots.clone(),
        );
        r.register(
            "pool_waiting_tasks",
            "Task instances waiting for a slot of the pool (scheduled)",
            m.pool_waiting.clone(),
        );
        r.register(
            "queue_queued_tasks",
            "Task instances queued for a worker, per queue",
            m.queue_queued.clone(),
        );
        r.register(
            "queue_depth_truncated",
            "1 when the depth gauges stopped counting at their limit",
            m.depth_truncated.clone(),
        );
        r.register(
            "workers",
            "Live workers (leader only; 0 elsewhere)",
            m.workers.clone(),
        );
        r.register(
            "worker_environment",
            "1 per execution environment of each live worker, with its Python version and how many packages it has (leader only)",
            m.worker_environments.clone(),
        );
        r.register(
            "worker_team",
            "1 per team a live worker is restricted to (leader only; none: it serves every team)",
            m.worker_teams.clone(),
        );
        r.register(
            "worker_slots",
            "Slots of the live workers (leader only)",
            m.worker_slots.clone(),
        );
        r.register(
            "worker_free_slots",
            "Slots of the live workers not running an attempt (leader only)",
            m.worker_free_slots.clone(),
        );
        r.register_with_unit(
            "api_request_duration",
            "REST API requests, by route and status",
            Unit::Seconds,
            m.requests.clone(),
        );
        m
    }

    /// Counts leader changes as Raft reports them, for as long as the node runs.
    pub fn watch_leader(self: &Arc<Metrics>, node: &Node) {
        let mut rx = node.raft_metrics();
        let metrics = self.clone();
        tokio::spawn(async move {
            let mut leader = rx.borrow().current_leader;
            while rx.changed().await.is_ok() {
                let now = rx.borrow().current_leader;
                if now != leader {
                    metrics.leader_changes.inc();
                    leader = now;
                }
            }
        });
    }

    /// The text of a scrape: gauges refreshed, then everything encoded.
    pub fn render(&self, node: &Node, scheduler: Option<&Leader>) -> String {
        let raft = node.raft_metrics().borrow().clone();
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.term.set(as_i64(raft.current_term));
        self.last_log_index
            .set(as_i64(raft.last_log_index.unwrap_or(0)));
        self.applied_index
            .set(as_i64(raft.last_applied.map_or(0, |id| id.index)));
        let leading = raft.state == openraft::ServerState::Leader;
        self.is_leader.set(i64::from(leading));
        self.leader_id.set(as_i64(raft.current_leader.unwrap_or(0)));

        self.pool_slots.clear();
        self.pool_used_slots.clear();
        let pools = node.read_now(|store| {
            let mut out = Vec::new();
            for pool in store.pools()? {
                let used = store.pool_used_slots(&pool.name)?;
                out.push((pool, used));
            }
            Ok(out)
        });
        match pools {
            Ok(pools) => {
                for (pool, used) in pools {
                    let label = PoolLabel {
                        pool: pool.name.clone(),
                    };
                    self.pool_slots
                        .get_or_create(&label)
                        .set(i64::from(pool.slots));
                    self.pool_used_slots.get_or_create(&label).set(used);
                }
            }
            Err(e) => tracing::warn!("metrics: cannot read the pools: {e}"),
        }
        self.pool_waiting.clear();
        self.queue_queued.clear();
        let depths = node.read_now(|store| store.queue_depths(DEPTH_SCAN_LIMIT));
        if let Err(e) = &depths {
            tracing::warn!("metrics: cannot read the queue depths: {e}");
        }
        if let Ok(depths) = depths {
            for (pool, n) in depths.scheduled_by_pool {
                self.pool_waiting
                    .get_or_create(&PoolLabel { pool })
                    .set(as_i64(n));
            }
            for (queue, n) in depths.queued_by_queue {
                self.queue_queued
                    .get_or_create(&QueueLabel { queue })
                    .set(as_i64(n));
            }
            self.depth_truncated.set(i64::from(depths.truncated));
        }

        let (mut workers, mut slots, mut busy) = (0i64, 0i64, 0i64);
        self.worker_environments.clear();
        self.worker_teams.clear();
        if let Some(s) = scheduler.filter(|s| s.is_leading()) {
            for (worker, info) in s.with_workers(|w| w.live(s.settings.lease)) {
                for env in info.environment_details.iter() {
                    self.worker_environments
                        .get_or_create(&WorkerEnvironmentLabels {
                            worker: worker.clone(),
                            environment: env.name.clone(),
                            python_version: env.python_version.clone(),
                            packages: env.packages.len().to_string(),
                        })
                        .set(1);
                }
                for team in &info.teams {
                    self.worker_teams
                        .get_or_create(&WorkerTeamLabels {
                            worker: worker.clone(),
                            team: team.clone(),
                        })
                        .set(1);
                }
            }
            let live = s.with_workers(|w| w.live_slots(s.settings.lease));
            let held = s.with_leases(|l| l.held_by_worker());
            for (id, n) in live {
                workers += 1;
                slots += i64::from(n);
                busy += held.get(&id).map_or(0, |h| *h as i64).min(i64::from(n));
            }
        }
        self.workers.set(workers);
        self.worker_slots.set(slots);
        self.worker_free_slots.set(slots - busy);

        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            // Writing to a String cannot fail; a half-written scrape is worse than none.
            tracing::error!("metrics: cannot encode the registry: {e}");
            text.clear();
        }
        text
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl kairos_raft::NodeObserver for Metrics {
    fn committed(&self, elapsed: Duration, _commands: usize) {
        self.commit_latency.observe(elapsed.as_secs_f64());
    }

    fn appended(&self, _entries: usize, bytes: usize) {
        self.log_bytes_appended.inc_by(bytes as u64);
    }

    fn applied(&self, entries: usize, stats: &ApplyStats) {
        self.entries_applied.inc_by(entries as u64);
        self.commands_applied.inc_by(stats.commands);
        self.commands_refused.inc_by(stats.refused);
        self.runs_created.inc_by(stats.runs_created);
        self.tasks_queued.inc_by(stats.tasks_queued);
        self.tasks_handed_off.inc_by(stats.tasks_handed_off);
        self.tasks_taken_waiting.inc_by(stats.tasks_taken_waiting);
        for gap in &stats.task_gaps {
            self.task_gap.observe(*gap);
        }
    }
}
