//! A poll with nothing to take parks a `TakeQueued` to ride the next entry the
//! leader proposes (`kairos_raft::riders`): the entry that queues a task this
//! worker may take starts it too, and the poll answers once that entry is
//! committed, with no `Dispatch` commit of its own between "queued" and
//! "running". The attempts it started are leased in a task of its own, so a
//! poll given up meanwhile leaves no attempt without a lease (the worker's next
//! poll gets them as lost assignments).

use std::sync::Arc;

use kairos_state::{Command, Outcome, TaskInstanceKey};
use tokio::task::JoinHandle;
use tonic::Status;

use super::guard::propose_error;
use super::reports::worker_fit;
use crate::leader::Leader;
use crate::leader::workers::WorkerInfo;
use crate::node::NodeError;

/// The most attempts one waiting take starts (the tokens it carries): every
/// entry proposed while the poll waits carries them, and a poll that got
/// some comes back at once for more.
const MAX_RIDING_TOKENS: usize = 4;

/// What the leased attempts of a waiting take come to.
pub(super) type Granted = Result<Vec<(String, TaskInstanceKey)>, NodeError>;

/// A waiting take, parked or carried by an entry.
pub(super) struct Riding {
    /// Dropped (the poll ended), it takes the take back if no entry carries it.
    pub ticket: kairos_raft::Ticket,
    /// The attempts its entry started, leased.
    pub settled: JoinHandle<Granted>,
}

/// Parks the take of `free` slots of `worker` for the next entry.
pub(super) fn park(
    s: &Arc<Leader>,
    worker_id: &str,
    worker: &WorkerInfo,
    free: usize,
) -> Result<Riding, Status> {
    let tokens = (0..free.min(MAX_RIDING_TOKENS))
        .map(|_| crate::tokens::attempt_token())
        .collect::<Result<Vec<_>, _>>()
        .map_err(Status::unavailable)?;
    let command = Command::TakeQueued {
        worker: worker_id.to_string(),
        log_url: (!worker.log_url.is_empty()).then(|| worker.log_url.clone()),
        tokens,
        fit: worker_fit(worker),
    };
    let kairos_raft::Ride { ticket, answer } = s
        .node
        .ride_here(vec![command])
        .map_err(|e| propose_error(s, e))?;
    let (leader, worker_id) = (s.clone(), worker_id.to_string());
    let settled = tokio::spawn(async move {
        let committed = answer.get().await.map_err(|e| leader.node.here_error(e))?;
        Ok(match committed.results.first() {
            Some(Ok(Outcome::Dispatched { attempts })) => {
                leader.lease_handed(&worker_id, attempts.iter().cloned())
            }
            _ => Vec::new(),
        })
    });
    Ok(Riding { ticket, settled })
}

/// What a carried take started (its answer awaited), as the poll's status.
pub(super) async fn settle(
    s: &Leader,
    settled: JoinHandle<Granted>,
) -> Result<Vec<(String, TaskInstanceKey)>, Status> {
    settled
        .await
        .map_err(|e| Status::internal(format!("a waiting take stopped: {e}")))?
        .map_err(|e| propose_error(s, e))
}
