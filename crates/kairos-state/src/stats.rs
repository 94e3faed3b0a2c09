//! What apply counted while it applied: the raw material of a node's metrics.
//!
//! Counting is part of the deterministic apply (the same log gives the same counts
//! on every node) but the counts are not state: they are handed to whoever applied
//! the entries and never written to the store.

/// Counts of one or more applied entries. Refused commands count only as refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyStats {
    /// Commands applied (refused ones included).
    pub commands: u64,
    /// Commands refused.
    pub refused: u64,
    /// Runs created (manual, scheduled, backfill, triggered).
    pub runs_created: u64,
    /// Task instances that became queued (ready for a worker).
    pub tasks_queued: u64,
    /// Attempts started by `DispatchDownstream`: handed to the worker that
    /// reported their upstream, in the same entry as the report.
    pub tasks_handed_off: u64,
    /// Attempts started by `TakeQueued`: for a waiting poll, in the entry
    /// that queued them.
    pub tasks_taken_waiting: u64,
    /// Task-to-task gaps in seconds: for each task instance handed to a worker, the
    /// time from the end of its last upstream task instance (as recorded) to this
    /// dispatch, both stamps of the leader's clock. Instances without upstream
    /// tasks, or with more than [`GAP_MAX_UPSTREAM`] of them, are not measured.
    pub task_gaps: Vec<f64>,
}

/// Dispatches of tasks with more upstream tasks than this are not measured, so that
/// measuring never reads much more than the dispatch itself.
pub const GAP_MAX_UPSTREAM: usize = 16;

impl ApplyStats {
    pub fn merge(&mut self, other: ApplyStats) {
        self.commands += other.commands;
        self.refused += other.refused;
        self.runs_created += other.runs_created;
        self.tasks_queued += other.tasks_queued;
        self.tasks_handed_off += other.tasks_handed_off;
        self.tasks_taken_waiting += other.tasks_taken_waiting;
        self.task_gaps.extend(other.task_gaps);
    }
}
