//! What the runner saw and did, with the time of each (milliseconds since the
//! epoch, this machine's clock, the same clock the workers' attempt logs use).

use std::collections::BTreeMap;

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A fault as it was applied.
#[derive(Debug, Clone)]
pub struct FaultEvent {
    pub kind: &'static str,
    /// What it hit: `server 2`, `worker chaos-w1`, `servers [1] | [2, 3]`.
    pub target: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// For leader kills: the killed leader's id.
    pub leader: Option<u64>,
}

/// A triggered run and what the cluster answered.
#[derive(Debug, Clone)]
pub struct Triggered {
    pub dag_id: String,
    pub run_id: String,
    /// The cluster said it exists (200, or 409 on a retry).
    pub acknowledged: bool,
    pub at_ms: i64,
}

/// A push of the versioned DAG that the cluster acknowledged.
#[derive(Debug, Clone)]
pub struct PushedVersion {
    pub revision: u64,
    pub version: u32,
    pub created: bool,
}

#[derive(Debug, Default)]
pub struct History {
    pub faults: Vec<FaultEvent>,
    pub triggered: Vec<Triggered>,
    pub versions: Vec<PushedVersion>,
    /// Runs the runner saw succeed while it ran: they must still be successes.
    pub seen_success: BTreeMap<(String, String), i64>,
    /// Worker kills: worker id → the times it was killed.
    pub worker_kills: BTreeMap<String, Vec<i64>>,
    /// Worker (re)starts: worker id → the times it was started. A killed worker's
    /// leftover processes are killed by its next start, so an attempt cut short
    /// by a kill counts as running until then.
    pub worker_starts: BTreeMap<String, Vec<i64>>,
    /// Anything the runner could not do (not a violation, but worth reading).
    pub notes: Vec<String>,
}
