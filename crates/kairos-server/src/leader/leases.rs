//! Leases of running attempts, in the leader's memory only: heartbeats renew them
//! without a Raft write. A new leader re-arms every running attempt with a full
//! lease before it expires anything, so a failover never kills healthy work.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kairos_state::TaskInstanceKey;

#[derive(Debug, Clone)]
pub struct Lease {
    pub ti: TaskInstanceKey,
    pub worker: Option<String>,
    pub deadline: Instant,
    /// The attempt was cleared or marked: its worker is told to stop it.
    pub cancel: bool,
}

#[derive(Debug, Default)]
pub struct Leases {
    by_attempt: HashMap<String, Lease>,
}

impl Leases {
    pub fn grant(
        &mut self,
        attempt: String,
        ti: TaskInstanceKey,
        worker: Option<String>,
        until: Instant,
    ) {
        self.by_attempt.insert(
            attempt,
            Lease {
                ti,
                worker,
                deadline: until,
                cancel: false,
            },
        );
    }

    /// Renews the leases of `attempts` held by `worker`; returns the attempts the
    /// worker must stop (unknown here, cancelled, or handed to another worker: a
    /// worker never keeps another's attempt alive, nor takes it over).
    pub fn renew(&mut self, worker: &str, attempts: &[String], lease: Duration) -> Vec<String> {
        let until = Instant::now() + lease;
        let mut cancel = Vec::new();
        for attempt in attempts {
            match self.by_attempt.get_mut(attempt) {
                Some(l) if !l.cancel && l.worker.as_deref().is_none_or(|w| w == worker) => {
                    l.deadline = until;
                    l.worker = Some(worker.to_string());
                }
                _ => cancel.push(attempt.clone()),
            }
        }
        cancel
    }

    /// How many attempts each worker holds.
    pub fn held_by_worker(&self) -> std::collections::HashMap<String, usize> {
        let mut held = std::collections::HashMap::new();
        for lease in self.by_attempt.values() {
            if let Some(worker) = &lease.worker {
                *held.entry(worker.clone()).or_insert(0) += 1;
            }
        }
        held
    }

    pub fn remove(&mut self, attempt: &str) {
        self.by_attempt.remove(attempt);
    }

    pub fn mark_cancel(&mut self, attempt: &str) {
        if let Some(l) = self.by_attempt.get_mut(attempt) {
            l.cancel = true;
        }
    }

    /// Leases that ran out, removed from the table.
    pub fn take_expired(&mut self, now: Instant) -> Vec<(String, Lease)> {
        let expired: Vec<String> = self
            .by_attempt
            .iter()
            .filter(|(_, l)| l.deadline <= now)
            .map(|(a, _)| a.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|a| self.by_attempt.remove(&a).map(|l| (a, l)))
            .collect()
    }

    /// The attempts leased to `worker`.
    pub fn held_by(&self, worker: &str) -> Vec<(String, TaskInstanceKey)> {
        self.by_attempt
            .iter()
            .filter(|(_, l)| l.worker.as_deref() == Some(worker))
            .map(|(a, l)| (a.clone(), l.ti.clone()))
            .collect()
    }

    pub fn attempts(&self) -> Vec<(String, TaskInstanceKey)> {
        self.by_attempt
            .iter()
            .map(|(a, l)| (a.clone(), l.ti.clone()))
            .collect()
    }

    pub fn clear(&mut self) {
        self.by_attempt.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ti() -> TaskInstanceKey {
        TaskInstanceKey {
            dag_id: "d".into(),
            run_id: "r".into(),
            task_id: "t".into(),
            map_index: -1,
        }
    }

    #[test]
    fn heartbeats_renew_and_silence_expires() {
        let mut leases = Leases::default();
        let now = Instant::now();
        leases.grant(
            "1-5.0".into(),
            ti(),
            Some("w".into()),
            now + Duration::from_millis(50),
        );
        leases.grant(
            "1-6.0".into(),
            ti(),
            Some("w".into()),
            now + Duration::from_millis(50),
        );
        let cancel = leases.renew(
            "w",
            &["1-5.0".into(), "9-9.9".into()],
            Duration::from_secs(60),
        );
        assert_eq!(cancel, vec!["9-9.9".to_string()]);
        // Another worker naming an attempt neither renews it nor takes it over.
        assert_eq!(
            leases.renew("thief", &["1-6.0".into()], Duration::from_secs(60)),
            vec!["1-6.0".to_string()]
        );
        let expired = leases.take_expired(now + Duration::from_millis(100));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].0, "1-6.0");
        leases.mark_cancel("1-5.0");
        assert_eq!(
            leases.renew("w", &["1-5.0".into()], Duration::from_secs(60)),
            vec!["1-5.0".to_string()]
        );
    }
}
