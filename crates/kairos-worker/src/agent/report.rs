//! Delivering spooled results: every result on disk is reported until the
//! cluster answers (in batches, one call and one Raft entry each, that also
//! take the worker's next work), then deleted. A result the cluster can never
//! accept is replaced by a plain failure.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kairos_proto::v1::ReportBatchRequest;

use super::shared::Agent;
use crate::conn::CallError;
use crate::spool::Finished;

/// The reason reported when the cluster rejected an attempt's real result.
const UNDELIVERABLE: &str =
    "the worker's result was rejected by the cluster (too large or malformed); see the log tail";

/// The most results one batch carries (the server's limit).
const MAX_BATCH: usize = 256;

/// Batches in flight at once: the next one fills while one commits.
const BATCHES_IN_FLIGHT: usize = 2;

/// How many single reports are in flight at once when the leader is older
/// than `ReportBatch`, or a batch was refused whole and its results go one by
/// one. They ride in the same Raft entries (group commit).
const REPORTS_IN_FLIGHT: usize = 32;

/// Delivers spooled results until each is acknowledged (or refused as stale):
/// in batches of everything spooled and not yet in flight, each offering the
/// slots its attempts freed, so that the leader hands over the next work in
/// the batch's own entry.
pub(super) async fn report_loop(agent: Arc<Agent>) {
    let mut flying = tokio::task::JoinSet::new();
    let mut sending: HashSet<String> = HashSet::new();
    let mut backoff = Duration::ZERO;
    loop {
        let changed = agent.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if backoff.is_zero() {
            while flying.len() < BATCHES_IN_FLIGHT {
                let batch: Vec<Finished> = agent
                    .spool
                    .attempts()
                    .into_iter()
                    .filter(|a| !sending.contains(a))
                    .take(MAX_BATCH)
                    .filter_map(|a| agent.spool.get(&a))
                    .collect();
                if batch.is_empty() {
                    break;
                }
                sending.extend(batch.iter().map(|f| f.attempt.clone()));
                flying.spawn(deliver(agent.clone(), batch));
            }
        }
        tokio::select! {
            Some(done) = flying.join_next(), if !flying.is_empty() => {
                let Ok((batch, reachable)) = done else {
                    // A delivery that panicked: its results stay spooled and
                    // go again after everything in flight settled.
                    if flying.is_empty() {
                        sending.clear();
                    }
                    continue;
                };
                for finished in &batch {
                    sending.remove(&finished.attempt);
                }
                // Results delivered free the slots they were promised: the
                // poll loop looks again.
                agent.changed.notify_waiters();
                backoff = if reachable {
                    Duration::ZERO
                } else {
                    // The cluster cannot be reached: what was in flight is
                    // sent again (a repeat is recorded once).
                    (backoff * 2).clamp(Duration::from_millis(50), Duration::from_secs(1))
                };
            }
            _ = tokio::time::sleep(backoff), if !backoff.is_zero() => {
                backoff = Duration::ZERO;
            }
            // Elapsed only means nothing was spooled within the second: look again.
            _ = tokio::time::timeout(Duration::from_secs(1), changed), if backoff.is_zero() => {}
        }
    }
}

/// Sends one batch and settles each of its results; false when the cluster
/// could not be reached (the batch is sent again).
async fn deliver(agent: Arc<Agent>, batch: Vec<Finished>) -> (Vec<Finished>, bool) {
    if agent.single_reports.load(Ordering::SeqCst) {
        let reachable = deliver_singly(&agent, &batch).await;
        return (batch, reachable);
    }
    let reservation = agent.reserve_slots(batch.len());
    let taken = reservation.slots;
    let request = ReportBatchRequest {
        worker_id: agent.config.worker_id.clone(),
        reports: batch
            .iter()
            .map(|f| f.to_request(&agent.config.worker_id))
            .collect(),
        take: taken as u32,
    };
    let result = agent
        .conn
        .call(Duration::from_secs(10), |mut c| {
            let request = request.clone();
            async move { c.report_batch(request).await }
        })
        .await;
    let reachable = match result {
        Ok(reply) => {
            start_handed(&agent, &reply.tasks, taken);
            drop(reservation);
            if reply.results.len() != batch.len() {
                tracing::warn!(
                    "the leader answered {} of {} reports; the rest are sent again",
                    reply.results.len(),
                    batch.len()
                );
            }
            for (finished, answer) in batch.iter().zip(reply.results) {
                settle_report(&agent, finished, Ok(answer));
            }
            true
        }
        Err(CallError::Refused(status)) => {
            drop(reservation);
            if status.code() == tonic::Code::Unimplemented {
                tracing::info!(
                    "the leader does not take batches of reports: reporting one at a time"
                );
                agent.single_reports.store(true, Ordering::SeqCst);
            }
            // Refused whole (one result over a limit, an older leader): each
            // result on its own, where a result the cluster can never take is
            // replaced by a plain failure.
            deliver_singly(&agent, &batch).await
        }
        Err(e) => {
            agent.failed("report", e);
            false
        }
    };
    (batch, reachable)
}

/// Starts the attempts a report's answer handed over (at most the `taken`
/// slots it offered), leaving out any this worker already holds.
fn start_handed(agent: &Arc<Agent>, tasks: &[kairos_proto::v1::Assignment], taken: usize) {
    let known = agent.known();
    for assignment in tasks.iter().take(taken) {
        if !known.contains(&assignment.attempt) {
            super::attempt::start(agent, assignment.clone());
        }
    }
}

/// The results of `batch` one call each (many in flight, sharing entries);
/// false when the cluster could not be reached.
async fn deliver_singly(agent: &Arc<Agent>, batch: &[Finished]) -> bool {
    use futures::StreamExt;
    let mut deliveries = futures::stream::iter(batch.to_vec().into_iter().map(|finished| {
        let agent = agent.clone();
        async move {
            let mut request = finished.to_request(&agent.config.worker_id);
            // A free slot offered with the report: the leader may hand over
            // the next task in the same entry (no poll round in between).
            let reservation = agent.reserve_slots(1);
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
                start_handed(&agent, &reply.tasks, taken);
            }
            drop(reservation);
            (finished, result)
        }
    }))
    .buffer_unordered(REPORTS_IN_FLIGHT);
    while let Some((finished, result)) = deliveries.next().await {
        if !settle_report(agent, &finished, result) {
            return false;
        }
    }
    true
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
