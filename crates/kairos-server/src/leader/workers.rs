//! The workers the leader knows: what they serve and when they were last heard from.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kairos_proto::v1::WorkerEnvironment;

use super::placement::Fit;

#[derive(Debug, Clone)]
pub struct WorkerInfo {
    pub queues: Vec<String>,
    pub slots: u32,
    /// The names of its execution environments.
    pub environments: Vec<String>,
    /// Each environment's Python version and packages, as the worker probed them
    /// (shared: a poll clones this record).
    pub environment_details: Arc<[WorkerEnvironment]>,
    /// The teams it serves; empty: every team.
    pub teams: Vec<String>,
    /// `environments` and `teams` as sets, for dispatch.
    pub fit: Arc<Fit>,
    pub labels: HashMap<String, String>,
    /// Where the worker serves attempt logs (`http://HOST:PORT`), empty if nowhere.
    pub log_url: String,
    pub last_seen: Instant,
}

#[derive(Debug, Default)]
pub struct Workers {
    by_id: HashMap<String, WorkerInfo>,
}

impl Workers {
    pub fn register(&mut self, id: String, info: WorkerInfo) {
        self.by_id.insert(id, info);
    }

    /// How many workers heard from within `within` serve `queue`.
    pub fn live_serving(&self, queue: &str, within: std::time::Duration) -> usize {
        self.by_id
            .values()
            .filter(|w| w.last_seen.elapsed() <= within && w.queues.iter().any(|q| q == queue))
            .count()
    }

    /// The slots of each worker heard from within `within`.
    pub fn live_slots(&self, within: std::time::Duration) -> Vec<(String, u32)> {
        self.by_id
            .iter()
            .filter(|(_, w)| w.last_seen.elapsed() <= within)
            .map(|(id, w)| (id.clone(), w.slots))
            .collect()
    }

    /// Every worker heard from within `within`, by id.
    pub fn live(&self, within: Duration) -> Vec<(String, WorkerInfo)> {
        let mut out: Vec<(String, WorkerInfo)> = self
            .by_id
            .iter()
            .filter(|(_, w)| w.last_seen.elapsed() <= within)
            .map(|(id, w)| (id.clone(), w.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub fn touch(&mut self, id: &str) -> Option<WorkerInfo> {
        let w = self.by_id.get_mut(id)?;
        w.last_seen = Instant::now();
        Some(w.clone())
    }
}
