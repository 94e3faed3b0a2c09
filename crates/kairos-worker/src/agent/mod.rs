//! `kairos worker`: register with the leader, long-poll for attempts while slots are
//! free, run each in its own process, spool its result to disk, and report it until
//! the cluster acknowledges. Heartbeats renew the leases of everything it holds and
//! bring back cancellations. SIGTERM drains: no new attempts, running ones finish,
//! results are delivered, then the worker exits.
//!
//! This file is the order of a worker's life; each phase and loop has a file of
//! its own: `startup`, `register`, `poll`, `attempt` (running one attempt),
//! `dag_callback` (a DAG's own callbacks for an ended run, as polls hand them),
//! `report` (delivering spooled results), `heartbeat`, `fence` (stopping
//! attempts whose leases no leader renews) and `drain`. They share the state in
//! `shared`, and none of them imports another's caller.

mod attempt;
mod caps;
mod dag_callback;
mod drain;
mod error;
mod fence;
mod heartbeat;
mod log_upload;
mod poll;
mod register;
mod report;
mod shared;
mod startup;

use std::time::Duration;

use tokio::sync::watch;

use crate::config::WorkerConfig;
use crate::conn::CallError;

pub use error::WorkerError;

/// Runs the worker until SIGTERM/SIGINT (then drains) or until the cluster refuses it.
pub async fn run(config: WorkerConfig) -> Result<(), WorkerError> {
    let agent = startup::start_up(config).await?;

    // Register first: a wrong token ends the worker here with a clear message.
    let mut backoff = Duration::from_millis(200);
    loop {
        match register::ensure_registered(&agent).await {
            Ok(()) => break,
            Err(CallError::Unauthenticated(why)) => return Err(WorkerError::Refused(why)),
            Err(e) => {
                tracing::warn!("cannot register yet: {e}; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }

    let signals = drain::listen()
        .map_err(|e| WorkerError::Setup(format!("cannot listen for SIGTERM and SIGINT: {e}")))?;
    let (drain_tx, drain) = watch::channel(false);
    tokio::spawn(drain::on_signal(signals, drain_tx));
    let heartbeats = tokio::spawn(heartbeat::heartbeat_loop(agent.clone()));
    let fencing = tokio::spawn(fence::fence_loop(agent.clone()));
    let reporter = tokio::spawn(report::report_loop(agent.clone()));
    let uploader = tokio::spawn(log_upload::upload_loop(agent.clone()));

    poll::poll_loop(&agent, drain.clone()).await;
    if let Some(why) = agent.refusal() {
        return Err(WorkerError::Refused(why));
    }
    drain::drain(&agent).await;
    heartbeats.abort();
    fencing.abort();
    reporter.abort();
    uploader.abort();
    // The logs of what finished while draining, before the worker goes.
    let _ = tokio::time::timeout(Duration::from_secs(10), log_upload::send_queued(&agent)).await;
    tracing::info!("drained; stopping");
    Ok(())
}
