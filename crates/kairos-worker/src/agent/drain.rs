//! Draining: SIGTERM or SIGINT stops the polling; the running attempts finish and
//! their results are delivered (for up to a minute) before the worker exits.
//! What cannot be delivered stays spooled for the next start.

use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use super::shared::Agent;

/// How long a draining worker keeps trying to deliver its last results.
const DRAIN_DELIVERY: Duration = Duration::from_secs(60);

/// SIGTERM and SIGINT, listened for.
pub(super) struct Signals {
    term: Signal,
    int: Signal,
}

/// Starts listening for SIGTERM and SIGINT. A worker that cannot would never
/// drain: a stop would cut its attempts off instead.
pub(super) fn listen() -> std::io::Result<Signals> {
    Ok(Signals {
        term: signal(SignalKind::terminate())?,
        int: signal(SignalKind::interrupt())?,
    })
}

/// Turns `drain` true at the first SIGTERM or SIGINT.
pub(super) async fn on_signal(mut signals: Signals, drain: watch::Sender<bool>) {
    tokio::select! {
        _ = signals.term.recv() => {},
        _ = signals.int.recv() => {},
    }
    tracing::info!("SIGTERM: draining");
    // Fails only when no one listens any more: the worker is already stopping.
    let _ = drain.send(true);
}

/// Once polling has stopped: waits for the running attempts, then for their
/// results to be delivered (the reporter keeps running meanwhile).
pub(super) async fn drain(agent: &Agent) {
    agent
        .draining
        .store(true, std::sync::atomic::Ordering::SeqCst);
    tracing::info!(
        running = agent.running().len(),
        "draining: no new attempts; waiting for running ones"
    );
    while !agent.running().is_empty() {
        let changed = agent.changed.notified();
        if agent.running().is_empty() {
            break;
        }
        // Elapsed only means nothing changed within the second: look again.
        let _ = tokio::time::timeout(Duration::from_secs(1), changed).await;
    }
    let deadline = tokio::time::Instant::now() + DRAIN_DELIVERY;
    while !agent.spool.is_empty() && tokio::time::Instant::now() < deadline {
        agent.changed.notify_waiters();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left = agent.spool.len();
    if left > 0 {
        // A result still only in memory (its write in flight) is on disk
        // before the process ends.
        for attempt in agent.spool.attempts() {
            if let Err(e) = agent.spool.persist(&attempt) {
                tracing::error!(attempt = %kairos_dag::identity::token_tag(&attempt), "cannot spool an undelivered result before stopping: {e}");
            }
        }
        tracing::warn!(
            left,
            "stopping with undelivered results; they stay spooled and are sent on the next start"
        );
    }
}
