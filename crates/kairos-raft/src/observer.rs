//! A node's own view of its work, for metrics: how long a commit took, and what
//! each apply did. The server implements [`NodeObserver`] with its metrics library;
//! this crate only calls it, so it depends on none.

use std::time::Duration;

use kairos_state::stats::ApplyStats;

pub trait NodeObserver: Send + Sync + 'static {
    /// An entry of `commands` proposed by this node was committed and applied,
    /// `elapsed` after it was handed to Raft.
    fn committed(&self, _elapsed: Duration, _commands: usize) {}

    /// This node applied `entries` log entries, which did what `stats` counts.
    fn applied(&self, _entries: usize, _stats: &ApplyStats) {}

    /// This node wrote `entries` entries to its log, `bytes` in all (as encoded).
    fn appended(&self, _entries: usize, _bytes: usize) {}
}

/// Observes nothing (tools and tests that start a node without metrics).
pub struct NoObserver;

impl NodeObserver for NoObserver {}
