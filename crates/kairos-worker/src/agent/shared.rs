//! The state every loop of the agent shares: the connection, the spool, what runs
//! and how to cancel it, the leader's timings, when the leases were last renewed,
//! and whether the cluster refused this worker.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::{Notify, watch};

use crate::attempt_log::AttemptLog;
use crate::config::WorkerConfig;
use crate::conn::{CallError, Conn};
use crate::files::FileCache;
use crate::scratch::Scratch;
use crate::spool::Spool;

pub(super) struct Agent {
    pub(super) config: WorkerConfig,
    pub(super) conn: std::sync::Arc<Conn>,
    pub(super) spool: Spool,
    /// Attempts' working directories, reused.
    pub(super) scratch: Scratch,
    pub(super) files: FileCache,
    /// Bundle versions laid out as folders.
    pub(super) bundles: crate::bundle::Bundles,
    pub(super) log_url: String,
    /// The execution environments, as probed at start.
    pub(super) environments: Vec<crate::environments::Environment>,
    pub(super) registered: AtomicBool,
    pub(super) heartbeat_ms: AtomicU64,
    /// The leases' length, as the leader said at registration.
    pub(super) lease_ms: AtomicU64,
    /// When a confirmed leader last renewed this worker's leases (the time the
    /// renewing call was sent, so never later than the renewal itself).
    pub(super) renewed: Mutex<std::time::Instant>,
    /// Running attempts by token, each with the sender that cancels it.
    pub(super) running: Mutex<HashMap<String, watch::Sender<bool>>>,
    /// Set when the cluster refused the token: every loop stops.
    pub(super) refused: Mutex<Option<String>>,
    /// A slot was freed or a result spooled.
    pub(super) changed: Notify,
    /// `--attempt-log`: this worker's own record of what it ran.
    pub(super) attempt_log: Option<AttemptLog>,
    /// Finished tries' logs waiting to be sent to the servers.
    pub(super) log_uploads: super::log_upload::Queue,
    /// Slots kept free for attempts a report may be handed (see
    /// [`Agent::reserve_slots`]).
    pub(super) reserved: AtomicUsize,
    /// The free slots the poll in flight offered the leader.
    pub(super) polling: AtomicUsize,
    /// Set once the worker drains: no report takes new work.
    pub(super) draining: AtomicBool,
    /// Set when the leader answered a batch of reports with UNIMPLEMENTED (a
    /// server older than `ReportBatch`): results go one call each.
    pub(super) single_reports: AtomicBool,
}

/// Slots kept for a report's hand-off, given back when dropped: a report
/// abandoned mid-call (the reporter starts a new round when the cluster cannot
/// be reached) must not keep its slot for ever.
pub(super) struct Reservation {
    agent: std::sync::Arc<Agent>,
    pub(super) slots: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.agent.release_slot(self.slots);
    }
}

impl Agent {
    pub(super) fn running(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<bool>>> {
        match self.running.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        }
    }

    /// Records that the cluster refused this worker. A poisoned lock still
    /// holds the refusal: losing it would keep every loop running.
    pub(super) fn refuse(&self, why: String) {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(why);
        self.changed.notify_waiters();
    }

    pub(super) fn refusal(&self) -> Option<String> {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Notes a renewal by a confirmed leader (at `at`, when the call was sent).
    pub(super) fn set_renewed(&self, at: std::time::Instant) {
        match self.renewed.lock() {
            Ok(mut r) => *r = (*r).max(at),
            Err(p) => {
                let mut r = p.into_inner();
                *r = (*r).max(at);
            }
        }
    }

    /// Slots free for a poll: neither running, nor kept for a report's
    /// hand-off, nor promised to the results waiting to be reported (each
    /// batch of reports offers the slots its attempts freed, so a busy worker
    /// takes its next work in the report's entry instead of a poll's).
    pub(super) fn free_for_poll(&self) -> usize {
        let slots = self.config.slots as usize;
        slots.saturating_sub(
            self.running().len() + self.reserved.load(Ordering::SeqCst) + self.spool.len(),
        )
    }

    /// Keeps up to `wanted` slots free for the attempts a batch of reports may
    /// be handed (the downstream its reports queued, the head of the queues),
    /// in the same Raft entry as the reports: the slots neither a running
    /// attempt, nor the poll in flight, nor another batch holds. They are
    /// given back when the [`Reservation`] drops (after the answer's attempts
    /// are started, or when the batch is abandoned). A batch asks for as many
    /// as it carries reports (one for one), so a worker refills the slots it
    /// freed while a fan-out still spreads over workers.
    pub(super) fn reserve_slots(self: &std::sync::Arc<Self>, wanted: usize) -> Reservation {
        Reservation {
            agent: self.clone(),
            slots: self.try_reserve(wanted),
        }
    }

    fn try_reserve(&self, wanted: usize) -> usize {
        if self.draining.load(Ordering::SeqCst) || self.refusal().is_some() {
            return 0;
        }
        let slots = self.config.slots as usize;
        let running = self.running().len();
        loop {
            let reserved = self.reserved.load(Ordering::SeqCst);
            let polling = self.polling.load(Ordering::SeqCst);
            let n = wanted.min(slots.saturating_sub(running + reserved + polling));
            if n == 0 {
                return 0;
            }
            if self
                .reserved
                .compare_exchange(reserved, reserved + n, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return n;
            }
        }
    }

    fn release_slot(&self, taken: usize) {
        if taken > 0 {
            self.reserved.fetch_sub(taken, Ordering::SeqCst);
            self.changed.notify_waiters();
        }
    }

    /// Attempts this worker runs or holds results for.
    /// Records `attempt` as running unless this worker already holds it
    /// (running, or its result held for the cluster), checked and recorded
    /// under one lock. The poll loop and a report's answer can be handed the
    /// same attempt at the same moment (a poll sends again an attempt whose
    /// report answer is still on its way); only the first starts it.
    pub(super) fn claim_attempt(&self, attempt: &str, cancel: watch::Sender<bool>) -> bool {
        let mut running = self.running();
        if running.contains_key(attempt) || self.spool.holds(attempt) {
            return false;
        }
        running.insert(attempt.to_string(), cancel);
        true
    }

    pub(super) fn known(&self) -> HashSet<String> {
        let mut known: HashSet<String> = self.running().keys().cloned().collect();
        known.extend(self.spool.attempts());
        known
    }

    /// Reacts to a failed call: re-register next time, stop on refusal.
    pub(super) fn failed(&self, what: &str, error: CallError) {
        match error {
            CallError::NotRegistered => self.registered.store(false, Ordering::SeqCst),
            CallError::Unauthenticated(why) => self.refuse(why),
            other => tracing::warn!("{what}: {other}"),
        }
    }
}
