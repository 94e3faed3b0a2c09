//! Heartbeats: renew the lease of every attempt this worker holds (running, or
//! finished with the result not yet delivered) and stop the attempts the cluster
//! names (cleared, marked, or unknown to the leader).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kairos_proto::v1::HeartbeatRequest;

use super::register::ensure_registered;
use super::shared::Agent;
use crate::conn::TRY_CAP;

/// Renews the leases of every attempt held; cancels what the cluster says to stop.
pub(super) async fn heartbeat_loop(agent: Arc<Agent>) {
    loop {
        let every = Duration::from_millis(agent.heartbeat_ms.load(Ordering::SeqCst));
        tokio::time::sleep(every).await;
        // Register here too: with every slot busy the poll loop is parked, and a
        // new leader must hear from this worker before the leases run out.
        if let Err(e) = ensure_registered(&agent).await {
            agent.failed("register", e);
            continue;
        }
        let request = HeartbeatRequest {
            worker_id: agent.config.worker_id.clone(),
            attempts: agent.known().into_iter().collect(),
        };
        let sent = std::time::Instant::now();
        let reply = agent
            .conn
            .call_with(every.max(Duration::from_secs(1)), TRY_CAP, |mut c| {
                let request = request.clone();
                async move { c.heartbeat(request).await }
            })
            .await;
        match reply {
            Ok(reply) => {
                agent.set_renewed(sent);
                let running = agent.running();
                for attempt in reply.cancel {
                    if let Some(cancel) = running.get(&attempt) {
                        tracing::info!(attempt = %kairos_dag::identity::token_tag(&attempt), "the cluster cancelled this attempt: stopping it");
                        // Fails only when the attempt has just ended by itself.
                        let _ = cancel.send(true);
                    }
                }
            }
            Err(e) => agent.failed("heartbeat", e),
        }
    }
}
