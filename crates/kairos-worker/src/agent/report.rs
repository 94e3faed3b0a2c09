//! Delivering spooled results: every result on disk is reported until the
//! cluster answers (many at once, so they share Raft entries), then deleted. A
//! result the cluster can never accept is replaced by a plain failure.

use std::sync::Arc;
use std::time::Duration;

use super::shared::Agent;
use crate::conn::CallError;
use crate::spool::Finished;

/// The reason reported when the cluster rejected an attempt's real result.
const UNDELIVERABLE: &str =
    "the worker's result was rejected by the cluster (too large or malformed); see the log tail";

/// How many reports a worker has in flight at once. They ride in the same Raft
/// entries (group commit); one at a time held a busy worker to one report per
/// commit.
const REPORTS_IN_FLIGHT: usize = 32;

/// Delivers spooled results until each is acknowledged (or refused as stale).
pub(super) async fn report_loop(agent: Arc<Agent>) {
    use futures::StreamExt;
    loop {
        let changed = agent.changed.notified();
        let pending = agent.spool.all();
        let mut deliveries = futures::stream::iter(pending.into_iter().map(|finished| {
            let agent = agent.clone();
            async move {
                let mut request = finished.to_request(&agent.config.worker_id);
                // A free slot offered with the report: the leader may hand over
                // the next task in the same entry (no poll round in between).
                let reservation = agent.reserve_slot();
                let taken = reservation.slots;
                request.take = taken as u32;
                let result = agent
                    .conn
                    .call(Duration::from_secs(10), |mut c| {
                        let request = request.clone();
                        async move { c.report_finished(request).await }
                    })
                    .await;
                if let Ok(reply) = &result {
                    let known = agent.known();
                    for assignment in reply.tasks.iter().take(taken) {
                        if !known.contains(&assignment.attempt) {
                            super::attempt::start(&agent, assignment.clone());
                        }
                    }
                }
                drop(reservation);
                (finished, result)
            }
        }))
        .buffer_unordered(REPORTS_IN_FLIGHT);
        while let Some((finished, result)) = deliveries.next().await {
            if !settle_report(&agent, &finished, result) {
                // The cluster cannot be reached: the rest waits for the next round
                // (what was in flight is sent again; a repeat is recorded once).
                break;
            }
        }
        drop(deliveries);
        // Elapsed only means nothing was spooled within the second: send again.
        let _ = tokio::time::timeout(Duration::from_secs(1), changed).await;
    }
}

/// Acts on the cluster's answer to one report; false when the cluster could not
/// be reached.
fn settle_report(
    agent: &Agent,
    finished: &Finished,
    result: Result<kairos_proto::v1::ReportReply, CallError>,
) -> bool {
    match result {
        Ok(reply) => {
            if reply.accepted {
                tracing::info!(ti = %finished.ti, attempt = %kairos_dag::identity::token_tag(&finished.attempt), state = %reply.outcome, "result recorded");
                // The try's log is whole: the servers keep it from now on (a
                // sensor rescheduled goes on with the same try and log).
                if finished.try_number > 0 && finished.state != "up_for_reschedule" {
                    agent.log_uploads.push(super::log_upload::Pending {
                        ti: finished.ti.clone(),
                        try_number: finished.try_number,
                        attempt: finished.attempt.clone(),
                    });
                }
            } else {
                tracing::warn!(ti = %finished.ti, attempt = %kairos_dag::identity::token_tag(&finished.attempt), "result refused ({}): {}", reply.outcome, reply.message);
            }
            if let Err(e) = agent.spool.remove(&finished.attempt) {
                tracing::error!(ti = %finished.ti, attempt = %kairos_dag::identity::token_tag(&finished.attempt), "cannot remove a delivered result from the spool (it is sent again, and recorded once): {e}");
            }
        }
        Err(CallError::Refused(status)) if finished.reason.as_deref() != Some(UNDELIVERABLE) => {
            // The cluster will never take this report as it is (too large, or
            // malformed). Dropping it would leave the lease held and the attempt
            // handed back to run again; report a plain failure instead.
            tracing::error!(ti = %finished.ti, attempt = %kairos_dag::identity::token_tag(&finished.attempt), "result rejected, reporting a failure instead: {}", status.message());
            let fallback = Finished {
                state: "failed".into(),
                reason: Some(UNDELIVERABLE.into()),
                xcoms: Vec::new(),
                log_tail: super::caps::cut_tail(format!(
                    "{}\nkairos: the result was rejected: {}",
                    finished
                        .log_tail
                        .chars()
                        .rev()
                        .take(2048)
                        .collect::<String>()
                        .chars()
                        .rev()
                        .collect::<String>(),
                    status.message()
                )),
                follow: None,
                reschedule_at_ms: None,
                ..finished.clone()
            };
            if let Err(e) = agent.spool.put(&fallback) {
                tracing::error!(ti = %finished.ti, attempt = %kairos_dag::identity::token_tag(&finished.attempt), "cannot spool the fallback report (the rejected result is sent again): {e}");
            }
        }
        Err(CallError::Refused(status)) => {
            tracing::error!(ti = %finished.ti, attempt = %kairos_dag::identity::token_tag(&finished.attempt), "even the fallback report was rejected, dropping it: {}", status.message());
            if let Err(e) = agent.spool.remove(&finished.attempt) {
                tracing::error!(ti = %finished.ti, attempt = %kairos_dag::identity::token_tag(&finished.attempt), "cannot remove the rejected fallback report from the spool (it is sent again): {e}");
            }
        }
        Err(e) => {
            agent.failed("report", e);
            return false;
        }
    }
    true
}
