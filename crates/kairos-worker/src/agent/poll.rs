//! The poll loop: while slots are free, long-poll the leader for attempts and
//! start each one it hands over that this worker does not already hold.

use std::sync::Arc;
use std::time::Duration;

use kairos_proto::v1::PollRequest;
use tokio::sync::watch;

use super::attempt::start;
use super::register::ensure_registered;
use super::shared::Agent;
use crate::conn::CallError;

/// How long one poll waits on the leader for work.
const POLL_WAIT: Duration = Duration::from_secs(5);

/// Polls until `drain` turns true or the cluster refuses this worker.
pub(super) async fn poll_loop(agent: &Arc<Agent>, mut drain: watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if *drain.borrow() || agent.refusal().is_some() {
            agent
                .draining
                .store(true, std::sync::atomic::Ordering::SeqCst);
            return;
        }
        // Listening before looking: a slot freed in between still wakes us.
        let changed = agent.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let free = agent.free_for_poll();
        if free == 0 {
            // Every slot runs, is kept for a report's hand-off or is promised
            // to a result about to be reported: wait until that changes (a
            // slot freed, a reservation given back, results delivered).
            // Elapsed only means nothing changed within the second: look again.
            tokio::select! {
                _ = changed => {}
                _ = drain.changed() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        if let Err(e) = ensure_registered(agent).await {
            agent.failed("register", e);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
            continue;
        }
        let request = PollRequest {
            worker_id: agent.config.worker_id.clone(),
            free_slots: free as u32,
            wait_ms: POLL_WAIT.as_millis() as u32,
            known_attempts: agent.known().into_iter().collect(),
        };
        agent
            .polling
            .store(free, std::sync::atomic::Ordering::SeqCst);
        let polled = agent
            .conn
            .call_with(
                Duration::from_secs(10),
                POLL_WAIT + Duration::from_secs(5),
                |mut c| {
                    let mut request = tonic::Request::new(request.clone());
                    request.set_timeout(POLL_WAIT + Duration::from_secs(5));
                    async move { c.poll(request).await }
                },
            )
            .await;
        agent.polling.store(0, std::sync::atomic::Ordering::SeqCst);
        match polled {
            Ok(reply) => {
                backoff = Duration::from_millis(100);
                let known = agent.known();
                for assignment in reply.tasks {
                    if !known.contains(&assignment.attempt) {
                        start(agent, assignment);
                    }
                }
                for callback in reply.dag_callbacks {
                    super::dag_callback::start(agent, callback);
                }
            }
            // A new leader does not know this worker yet: register with it and
            // poll again at once (it may already hold work for us).
            Err(CallError::NotRegistered) => agent.failed("poll", CallError::NotRegistered),
            Err(e) => {
                agent.failed("poll", e);
                // At most a second: a failover takes about that long, and every
                // moment more here is a moment the new leader has work and no taker.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
