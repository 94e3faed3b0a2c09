//! `ReportBatch`: many finished attempts and the worker's next work in one
//! call and one Raft entry. Each report becomes its `FinishAttempt` (checked as
//! `ReportFinished` checks it); when the worker offers free slots, a `Take`
//! follows them in the same entry: the downstream those reports queued first,
//! then instances the leader claimed from the head of the worker's queues.
//! A busy worker thus spends one round trip and one commit per batch where it
//! spent a report per attempt plus a poll.

use std::sync::Arc;

use kairos_proto::v1::{ReportBatchReply, ReportBatchRequest};
use kairos_state::{Command, Outcome, TaskInstanceKey};
use tonic::Status;

use super::assignment::Assignments;
use super::caller::acting_as;
use super::dispatch::{build_all, fitting};
use super::guard::{check_leader, propose_error};
use super::reports::{finish_command, settle, worker_fit};
use crate::leader::Leader;
use crate::node::NodeError;

/// The most reports one batch carries, and the most attempts it takes.
pub const MAX_BATCH: usize = 256;

pub(super) async fn report_batch(
    s: &Arc<Leader>,
    assignments: &Assignments,
    proven: &Option<String>,
    r: ReportBatchRequest,
) -> Result<ReportBatchReply, Status> {
    check_leader(s)?;
    let worker = acting_as(proven, &r.worker_id)?;
    if r.reports.len() > MAX_BATCH {
        return Err(Status::invalid_argument(format!(
            "the batch carries {} reports; at most {MAX_BATCH} are reported at once",
            r.reports.len()
        )));
    }
    let mut commands = Vec::with_capacity(r.reports.len() + 1);
    let mut reported = Vec::with_capacity(r.reports.len());
    for report in r.reports {
        let attempt = report.attempt.clone();
        let (ti, command) = finish_command(s, &worker, report)?;
        commands.push(command);
        reported.push((ti, attempt));
    }
    let take = (r.take as usize).min(MAX_BATCH);
    let claimed = match take {
        0 => Vec::new(),
        _ => match take_command(s, &r.worker_id, &reported, take)? {
            Some((command, claimed)) => {
                commands.push(command);
                claimed
            }
            None => Vec::new(),
        },
    };
    let finishes = reported.len();
    let worker_id = r.worker_id.clone();
    if commands.is_empty() {
        return Ok(ReportBatchReply::default());
    }
    // In a task of its own: a worker that gives up on its call must neither
    // leave claims held nor attempts started with no lease.
    let leader = s.clone();
    let (committed, handed) = tokio::spawn(async move {
        let committed = leader.node.propose_here(commands).await;
        leader.claims.release(&claimed);
        let committed = committed?;
        let handed = match committed.results.get(finishes) {
            Some(Ok(Outcome::Dispatched { attempts })) => {
                leader.lease_handed(&worker_id, attempts.iter().cloned())
            }
            _ => Vec::new(),
        };
        Ok::<_, NodeError>((committed, handed))
    })
    .await
    .map_err(|e| Status::internal(format!("a batch report stopped: {e}")))?
    .map_err(|e| propose_error(s, e))?;
    let mut results = Vec::with_capacity(finishes);
    for ((_, attempt), result) in reported.iter().zip(&committed.results) {
        results.push(settle(s, &r.worker_id, attempt, result));
    }
    if results.len() != finishes {
        return Err(Status::internal("a batch report came back short"));
    }
    Ok(ReportBatchReply {
        results,
        tasks: build_all(s, assignments, &handed)?,
    })
}

/// The `Take` of a batch offering `take` slots, with the queued instances
/// claimed for it (released once the entry is answered); `None` when this
/// leader does not know the worker (it registers again, then polls) or there
/// is nothing to take.
fn take_command(
    s: &Leader,
    worker_id: &str,
    reported: &[(TaskInstanceKey, String)],
    take: usize,
) -> Result<Option<(Command, Vec<TaskInstanceKey>)>, Status> {
    let Some(worker) = s.with_workers(|w| w.touch(worker_id)) else {
        return Ok(None);
    };
    let after: Vec<TaskInstanceKey> = s.node.read_now(|store| {
        let mut after = Vec::new();
        for (ti, _) in reported {
            if store.has_downstream(ti)? {
                after.push(ti.clone());
            }
        }
        Ok(after)
    })?;
    // The head of the worker's queues, as a poll reads it: the downstream the
    // reports queue is not queued yet, so a claim never names it.
    let mut queued: Vec<TaskInstanceKey> = Vec::new();
    for queue in &worker.queues {
        if queued.len() >= take {
            break;
        }
        match fitting(s, &worker.fit, queue, take - queued.len()) {
            Ok(found) => queued.extend(found),
            Err(e) => {
                s.claims.release(&queued);
                return Err(e.into());
            }
        }
    }
    if after.is_empty() && queued.is_empty() {
        return Ok(None);
    }
    let tokens = match (0..take)
        .map(|_| crate::tokens::attempt_token())
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(tokens) => tokens,
        Err(e) => {
            s.claims.release(&queued);
            return Err(Status::unavailable(e));
        }
    };
    let command = Command::Take {
        worker: worker_id.to_string(),
        log_url: (!worker.log_url.is_empty()).then(|| worker.log_url.clone()),
        tokens,
        fit: worker_fit(&worker),
        after,
        queued: queued.clone(),
    };
    Ok(Some((command, queued)))
}
