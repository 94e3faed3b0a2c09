//! `Heartbeat` and `ReportStarted`: a worker renews the leases of the attempts it
//! runs, and is told which to stop. Renewing is a promise that no one else runs
//! the attempt, so only a leader a quorum still follows may make it.

use kairos_proto::v1::{HeartbeatReply, HeartbeatRequest, ReportReply, ReportStartedRequest};
use tonic::Status;

use super::caller::acting_as;
use super::guard::{check_leader, known_worker};
use crate::leader::Leader;

pub(super) async fn heartbeat(
    s: &Leader,
    proven: &Option<String>,
    r: HeartbeatRequest,
) -> Result<HeartbeatReply, Status> {
    check_leader(s)?;
    acting_as(proven, &r.worker_id)?;
    s.confirm_leadership().await?;
    known_worker(s, &r.worker_id)?;
    let lease = s.settings.lease;
    let cancel = s.with_leases(|l| l.renew(&r.worker_id, &r.attempts, lease));
    Ok(HeartbeatReply { cancel })
}

pub(super) async fn report_started(
    s: &Leader,
    proven: &Option<String>,
    r: ReportStartedRequest,
) -> Result<ReportReply, Status> {
    check_leader(s)?;
    acting_as(proven, &r.worker_id)?;
    s.confirm_leadership().await?;
    known_worker(s, &r.worker_id)?;
    let lease = s.settings.lease;
    let cancel = s.with_leases(|l| l.renew(&r.worker_id, std::slice::from_ref(&r.attempt), lease));
    Ok(ReportReply {
        accepted: cancel.is_empty(),
        outcome: if cancel.is_empty() {
            "running"
        } else {
            "cancel"
        }
        .to_string(),
        message: String::new(),
        tasks: Vec::new(),
    })
}
