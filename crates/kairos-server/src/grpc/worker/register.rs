//! `Register`: a worker says what it serves (queues, slots, execution
//! environments, teams); the leader answers with the lease and heartbeat it must
//! keep.

use std::sync::Arc;
use std::time::Instant;

use kairos_proto::v1::{RegisterReply, RegisterRequest};
use tonic::Status;

use super::caller::acting_as;
use super::convert::checked_log_url;
use super::guard::check_leader;
use crate::leader::Leader;
use crate::leader::placement::Fit;
use crate::leader::workers::WorkerInfo;

pub(super) fn register(
    s: &Leader,
    proven: &Option<String>,
    r: RegisterRequest,
) -> Result<RegisterReply, Status> {
    check_leader(s)?;
    acting_as(proven, &r.worker_id)?;
    if r.worker_id.is_empty() || r.queues.is_empty() || r.slots == 0 {
        return Err(Status::invalid_argument(
            "a worker needs an id, at least one queue and at least one slot",
        ));
    }
    tracing::info!(worker = %r.worker_id, queues = ?r.queues, slots = r.slots, environments = ?r.environments, teams = ?r.teams, "worker registered");
    let log_url = checked_log_url(&r.log_url)?;
    let mut environments = r.environments;
    // A worker reports details for every name; older workers send names only.
    for detail in &r.environment_details {
        if !environments.contains(&detail.name) {
            environments.push(detail.name.clone());
        }
    }
    let fit = Arc::new(Fit::new(&environments, &r.teams));
    s.with_workers(|w| {
        w.register(
            r.worker_id.clone(),
            WorkerInfo {
                queues: r.queues,
                slots: r.slots,
                environments,
                environment_details: r.environment_details.into(),
                teams: r.teams,
                fit,
                labels: r.labels.into_iter().collect(),
                log_url,
                last_seen: Instant::now(),
            },
        )
    });
    Ok(RegisterReply {
        lease_ms: s.settings.lease.as_millis() as u32,
        heartbeat_ms: s.settings.heartbeat.as_millis() as u32,
    })
}
