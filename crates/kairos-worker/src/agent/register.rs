//! Registration with the current leader: this worker's queues, slots,
//! environments (with their Python versions and packages), teams and log URL
//! go in; the cluster's heartbeat interval and lease length come back, and a
//! lease too short for self-fencing draws a warning.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kairos_proto::v1::RegisterRequest;

use super::fence::fence_after;
use super::shared::Agent;
use crate::conn::{CallError, TRY_CAP};

/// Registers with the current leader unless already registered with it.
pub(super) async fn ensure_registered(agent: &Agent) -> Result<(), CallError> {
    if agent.registered.load(Ordering::SeqCst) {
        return Ok(());
    }
    let request = RegisterRequest {
        worker_id: agent.config.worker_id.clone(),
        queues: agent.config.queues.clone(),
        slots: agent.config.slots,
        labels: HashMap::new(),
        environments: agent.environments.iter().map(|e| e.name.clone()).collect(),
        log_url: agent.log_url.clone(),
        environment_details: agent.environments.iter().map(|e| e.to_proto()).collect(),
        teams: agent.config.teams.clone(),
    };
    let reply = agent
        .conn
        .call_with(Duration::from_secs(30), TRY_CAP, |mut c| {
            let request = request.clone();
            async move { c.register(request).await }
        })
        .await?;
    agent
        .heartbeat_ms
        .store(u64::from(reply.heartbeat_ms.max(100)), Ordering::SeqCst);
    agent
        .lease_ms
        .store(u64::from(reply.lease_ms.max(1_000)), Ordering::SeqCst);
    let lease = Duration::from_millis(u64::from(reply.lease_ms));
    let heartbeat = Duration::from_millis(u64::from(reply.heartbeat_ms));
    if fence_after(lease, agent.config.kill_grace).is_none_or(|after| after < 2 * heartbeat) {
        tracing::warn!(
            lease_ms = reply.lease_ms,
            heartbeat_ms = reply.heartbeat_ms,
            kill_grace_ms = agent.config.kill_grace.as_millis() as u64,
            "the cluster's lease leaves too little room for kill grace and two heartbeats: this worker stops its attempts whenever a heartbeat is late; lower --kill-grace-secs or raise the servers' worker_lease_ms"
        );
    }
    agent.registered.store(true, Ordering::SeqCst);
    tracing::info!(leader = %agent.conn.current(), worker = %agent.config.worker_id, "registered");
    Ok(())
}
