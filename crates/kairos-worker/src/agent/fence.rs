//! Self-fencing: a worker that no confirmed leader has renewed for too long stops
//! every running attempt before its lease can end, so an attempt never runs here
//! beside the retry another worker got.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::shared::Agent;

/// How often the fence looks at the time since the last renewal.
const FENCE_EVERY: Duration = Duration::from_millis(250);

/// When to stop every attempt after the last renewal a confirmed leader made:
/// early enough that SIGTERM, the kill grace and SIGKILL are over before the
/// lease could end, with a tenth of the lease and one check interval to spare.
/// `None` when the lease is too short for that (the worker then stops at once).
pub(super) fn fence_after(lease: Duration, kill_grace: Duration) -> Option<Duration> {
    lease.checked_sub(kill_grace + lease / 10 + FENCE_EVERY)
}

/// Self-fencing, on its own timer (not tied to heartbeats or registration, which
/// may be stuck): when no confirmed leader has renewed this worker's leases for
/// [`fence_after`], every running attempt is stopped, so a worker cut off from
/// the cluster never runs an attempt beside the retry another worker got.
pub(super) async fn fence_loop(agent: Arc<Agent>) {
    loop {
        tokio::time::sleep(FENCE_EVERY).await;
        let lease = Duration::from_millis(agent.lease_ms.load(Ordering::SeqCst));
        let after = fence_after(lease, agent.config.kill_grace).unwrap_or(Duration::ZERO);
        let silent = match agent.renewed.lock() {
            Ok(r) => r.elapsed(),
            Err(p) => p.into_inner().elapsed(),
        };
        if silent < after {
            continue;
        }
        let running = agent.running();
        if running.is_empty() {
            continue;
        }
        tracing::warn!(
            silent_ms = silent.as_millis() as u64,
            lease_ms = lease.as_millis() as u64,
            attempts = running.len(),
            "no leader has renewed the leases: stopping every attempt before they expire"
        );
        for cancel in running.values() {
            // Fails only for an attempt that has just ended by itself.
            let _ = cancel.send(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fencing_leaves_room_for_the_kill_grace_and_a_tenth_of_the_lease() {
        let s = Duration::from_secs;
        // Defaults: 30 s lease, 10 s grace.
        assert_eq!(
            fence_after(s(30), s(10)),
            Some(Duration::from_millis(16_750))
        );
        // The test suite's 6 s lease with a 1 s grace: 4.15 s, beyond a failover.
        assert_eq!(fence_after(s(6), s(1)), Some(Duration::from_millis(4_150)));
        // A grace longer than the lease cannot be fenced in time.
        assert_eq!(fence_after(s(5), s(10)), None);
    }
}
