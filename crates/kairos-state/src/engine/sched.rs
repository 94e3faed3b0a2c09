//! Where a command sits in the log, and the work it leaves for the engine: the
//! tasks to evaluate, the instances that finished, the runs to look at, whether a
//! queueing pass is due. `settle` carries that work through before the command ends.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use kairos_dag::identity::TaskInstanceKey;

use crate::plan::Plan;

/// Where a command sits in the log: its time and its place, which together name
/// anything it creates uniquely and identically on every node.
pub(crate) struct At {
    pub stamp: DateTime<Utc>,
    pub index: u64,
    pub position: usize,
}

/// A run, as (DAG id, run id); or a group of a DAG's runs, as (DAG id, group).
pub(crate) type RunKey = (String, String);

/// Work a command leaves for the scheduler.
pub(crate) struct Sched {
    pub at: At,
    pub parallelism: u32,
    /// Tasks to evaluate, per run, as (topological position, task index).
    pending: BTreeMap<RunKey, BTreeSet<(usize, usize)>>,
    /// Task instances that reached a finished state.
    finished: Vec<TaskInstanceKey>,
    /// Runs whose count of unfinished task instances changed.
    touched: BTreeSet<RunKey>,
    /// (DAG, group) whose queued runs may start.
    start: BTreeSet<RunKey>,
    /// Whether capacity was freed or instances became scheduled.
    queue_pass: bool,
    /// What this command did, for metrics (kept only if the command is accepted).
    pub stats: crate::stats::ApplyStats,
}

impl Sched {
    pub fn new(at: At, parallelism: u32) -> Sched {
        Sched {
            at,
            parallelism,
            pending: BTreeMap::new(),
            finished: Vec::new(),
            touched: BTreeSet::new(),
            start: BTreeSet::new(),
            queue_pass: false,
            stats: crate::stats::ApplyStats::default(),
        }
    }

    pub fn stamp(&self) -> DateTime<Utc> {
        self.at.stamp
    }

    /// The Raft index of the entry being applied.
    pub fn index(&self) -> u64 {
        self.at.index
    }

    /// Asks for task `i` of a run to be evaluated.
    pub fn evaluate(&mut self, plan: &Plan, dag_id: &str, run_id: &str, i: usize) {
        self.pending
            .entry((dag_id.to_string(), run_id.to_string()))
            .or_default()
            .insert((plan.topo.get(i).copied().unwrap_or(i), i));
    }

    /// The first run with tasks to evaluate.
    pub fn next_pending_run(&self) -> Option<RunKey> {
        self.pending.keys().next().cloned()
    }

    /// The next task of `run` to evaluate, upstream first.
    pub fn pop_pending(&mut self, run: &RunKey) -> Option<usize> {
        let next = self.pending.get_mut(run).and_then(|set| set.pop_first());
        if next.is_none() {
            self.pending.remove(run);
        }
        next.map(|(_, i)| i)
    }

    /// Forgets what was asked of `run` (it is gone, not running, or paused).
    pub fn drop_pending(&mut self, run: &RunKey) {
        self.pending.remove(run);
    }

    pub fn finished(&mut self, ti: TaskInstanceKey) {
        self.finished.push(ti);
    }

    pub fn take_finished(&mut self) -> Vec<TaskInstanceKey> {
        std::mem::take(&mut self.finished)
    }

    pub fn start_runs(&mut self, dag_id: &str, group: &str) {
        self.start.insert((dag_id.to_string(), group.to_string()));
    }

    pub fn pop_start(&mut self) -> Option<RunKey> {
        self.start.pop_first()
    }

    pub fn touch(&mut self, dag_id: &str, run_id: &str) {
        self.touched
            .insert((dag_id.to_string(), run_id.to_string()));
    }

    pub fn pop_touched(&mut self) -> Option<RunKey> {
        self.touched.pop_first()
    }

    pub fn request_queue_pass(&mut self) {
        self.queue_pass = true;
    }

    /// Whether a queueing pass was asked for (and forgets the request).
    pub fn take_queue_pass(&mut self) -> bool {
        std::mem::take(&mut self.queue_pass)
    }
}
