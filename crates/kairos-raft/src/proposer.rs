//! Group commit: concurrent proposals ride in one Raft entry.
//!
//! Callers hand their commands to one proposer task. While earlier entries are in
//! flight, new proposals pile up in the queue; the proposer takes everything waiting
//! (up to a cap) into the next entry, stamps it with the leader's clock, and splits
//! the entry's results back to each caller. With one caller an entry carries one
//! proposal; with many, entries grow, so throughput grows with concurrency while the
//! number of fsyncs does not.

use std::sync::Arc;

use chrono::Utc;
use kairos_state::{Batch, Command, CommandResult};
use openraft::error::{ClientWriteError, RaftError};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::riders::{Ride, Riders};
use crate::types::{KairosNode, NodeId, Raft};

/// The most commands one entry carries.
pub const MAX_COMMANDS_PER_ENTRY: usize = 1024;
/// The most bytes (of the commands' JSON) one entry carries, unless one proposal
/// alone is larger. Keeps an AppendEntries of many entries under the gRPC limit.
pub const MAX_BYTES_PER_ENTRY: usize = kairos_dag::limits::MAX_BATCH_BYTES;
/// The largest proposal: one entry alone must reach every follower in one gRPC
/// message, or the leader sends it again for ever and nothing after it commits.
pub const MAX_PROPOSAL_BYTES: usize = kairos_dag::limits::MAX_PROPOSAL_BYTES;
/// How many entries may be waiting for commit at once.
const MAX_ENTRIES_IN_FLIGHT: usize = 4;
/// How many proposals may wait for the proposer before callers are slowed down.
const QUEUE: usize = 16 * 1024;

/// What a committed proposal answered.
#[derive(Debug, Clone)]
pub struct Committed {
    pub results: Vec<CommandResult>,
    /// The index of the entry that carried the commands.
    pub log_index: u64,
}

/// Why a proposal was not committed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProposeError {
    /// This node is not the leader: send the proposal to `leader` (when known).
    #[error("this node is not the leader (leader: {leader_id:?})")]
    NotLeader {
        leader_id: Option<NodeId>,
        leader: Option<KairosNode>,
    },
    /// The proposal may or may not have been committed (the leader changed or stopped
    /// while it was in flight).
    #[error("the outcome of the proposal is unknown: {0}")]
    Unknown(String),
    #[error("Raft has stopped: {0}")]
    Stopped(String),
    /// Refused outright (e.g. a membership change while another is in progress).
    #[error("{0}")]
    Refused(String),
    /// Larger than [`MAX_PROPOSAL_BYTES`]: never proposed.
    #[error(
        "the proposal is {bytes} bytes of JSON; a proposal may be at most {max} bytes \
         (an entry must reach every follower in one message). Send smaller values, or \
         split the commands into several proposals"
    )]
    TooLarge { bytes: usize, max: usize },
}

pub(crate) struct Proposal {
    pub(crate) commands: Vec<Command>,
    /// The size of the commands' JSON, for the entry's byte cap.
    pub(crate) bytes: usize,
    pub(crate) reply: oneshot::Sender<Result<Committed, ProposeError>>,
}

/// A handle to the proposer task. Cheap to clone.
#[derive(Clone)]
pub struct Proposer {
    queue: mpsc::Sender<Proposal>,
    riders: Arc<Riders>,
}

impl Proposer {
    /// Starts the proposer task for `raft`.
    pub fn start(raft: Raft, observer: Arc<dyn crate::NodeObserver>) -> Proposer {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let riders = Arc::new(Riders::default());
        tokio::spawn(run(raft, receiver, riders.clone(), observer));
        Proposer { queue, riders }
    }

    /// Parks `commands` to ride on the next entry proposed here, after its
    /// other commands (`crate::riders`): they never make an entry of their own.
    pub fn ride(&self, commands: Vec<Command>) -> Result<Ride, ProposeError> {
        let bytes = serde_json::to_vec(&commands)
            .map_err(|e| ProposeError::Refused(format!("the commands cannot be encoded: {e}")))?
            .len();
        if bytes > MAX_PROPOSAL_BYTES {
            return Err(ProposeError::TooLarge {
                bytes,
                max: MAX_PROPOSAL_BYTES,
            });
        }
        Ok(self.riders.park(commands, bytes))
    }

    /// Proposes `commands` (applied together, in order, within one entry) and waits
    /// for their results.
    pub async fn propose(&self, commands: Vec<Command>) -> Result<Committed, ProposeError> {
        let bytes = serde_json::to_vec(&commands)
            .map_err(|e| ProposeError::Refused(format!("the commands cannot be encoded: {e}")))?
            .len();
        self.propose_sized(commands, bytes).await
    }

    /// [`Proposer::propose`] when the size of the commands' JSON is already known.
    pub async fn propose_sized(
        &self,
        commands: Vec<Command>,
        bytes: usize,
    ) -> Result<Committed, ProposeError> {
        // Every proposal path comes here (API, worker reports, the leader's own
        // commands): an entry too large for a follower is never proposed.
        if bytes > MAX_PROPOSAL_BYTES {
            return Err(ProposeError::TooLarge {
                bytes,
                max: MAX_PROPOSAL_BYTES,
            });
        }
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Proposal {
                commands,
                bytes,
                reply,
            })
            .await
            .map_err(|_| ProposeError::Stopped("the proposer has stopped".into()))?;
        answer
            .await
            .map_err(|_| ProposeError::Unknown("the proposer dropped the proposal".into()))?
    }
}

async fn run(
    raft: Raft,
    mut receiver: mpsc::Receiver<Proposal>,
    riders: Arc<Riders>,
    observer: Arc<dyn crate::NodeObserver>,
) {
    let in_flight = Arc::new(Semaphore::new(MAX_ENTRIES_IN_FLIGHT));
    // A proposal that did not fit in the previous entry starts the next one.
    let mut held: Option<Proposal> = None;
    loop {
        let first = match held.take() {
            Some(first) => first,
            None => match receiver.recv().await {
                Some(first) => first,
                None => break,
            },
        };
        // Wait for room first: proposals that arrive meanwhile join this entry.
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let mut count = first.commands.len();
        let mut bytes = first.bytes;
        let mut group = vec![first];
        while count < MAX_COMMANDS_PER_ENTRY && bytes < MAX_BYTES_PER_ENTRY {
            match receiver.try_recv() {
                Ok(next) => {
                    if count + next.commands.len() > MAX_COMMANDS_PER_ENTRY
                        || bytes + next.bytes > MAX_BYTES_PER_ENTRY
                    {
                        held = Some(next);
                        break;
                    }
                    count += next.commands.len();
                    bytes += next.bytes;
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        // Riders go last, in the room left.
        let boarding = riders.board(
            MAX_COMMANDS_PER_ENTRY.saturating_sub(count),
            MAX_BYTES_PER_ENTRY.saturating_sub(bytes),
        );
        count += boarding.iter().map(|r| r.commands.len()).sum::<usize>();
        group.extend(boarding);
        let mut commands = Vec::with_capacity(count);
        let mut shares = Vec::with_capacity(group.len());
        for proposal in group {
            shares.push((proposal.commands.len(), proposal.reply));
            commands.extend(proposal.commands);
        }
        let batch = Batch {
            stamp: Utc::now(),
            commands,
        };
        let started = std::time::Instant::now();
        let pending = raft.client_write_ff(batch).await;
        let observer = observer.clone();
        tokio::spawn(async move {
            let outcome = match pending {
                Err(fatal) => Err(ProposeError::Stopped(fatal.to_string())),
                Ok(pending) => match pending.await {
                    Err(_) => Err(ProposeError::Unknown("Raft dropped the entry".into())),
                    Ok(Err(error)) => Err(write_error(error)),
                    Ok(Ok(response)) => Ok((response.log_id.index, response.data.0)),
                },
            };
            drop(permit);
            match outcome {
                Ok((log_index, results)) => {
                    observer.committed(started.elapsed(), results.len());
                    let mut results = results.into_iter();
                    for (n, reply) in shares {
                        let mine: Vec<CommandResult> = results.by_ref().take(n).collect();
                        let _ = reply.send(Ok(Committed {
                            results: mine,
                            log_index,
                        }));
                    }
                }
                Err(error) => {
                    for (_, reply) in shares {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
            }
        });
    }
}

fn write_error(error: ClientWriteError<NodeId, KairosNode>) -> ProposeError {
    match error {
        ClientWriteError::ForwardToLeader(forward) => ProposeError::NotLeader {
            leader_id: forward.leader_id,
            leader: forward.leader_node,
        },
        ClientWriteError::ChangeMembershipError(e) => ProposeError::Refused(e.to_string()),
    }
}

/// Maps openraft's write error for callers that write directly (membership changes).
pub fn raft_write_error(
    error: RaftError<NodeId, ClientWriteError<NodeId, KairosNode>>,
) -> ProposeError {
    match error {
        RaftError::APIError(e) => write_error(e),
        RaftError::Fatal(e) => ProposeError::Stopped(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_proposal_too_large_for_a_follower_is_refused_before_it_is_queued() {
        // No proposer task behind the queue: anything queued would be `Stopped`.
        let (queue, receiver) = mpsc::channel(1);
        drop(receiver);
        let proposer = Proposer {
            queue,
            riders: Arc::new(Riders::default()),
        };
        let big = vec![Command::Tick];
        match proposer.propose_sized(big, MAX_PROPOSAL_BYTES + 1).await {
            Err(e @ ProposeError::TooLarge { .. }) => {
                let text = e.to_string();
                assert!(text.contains(&MAX_PROPOSAL_BYTES.to_string()), "{text}");
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        // Within the limit it is queued (and here finds the proposer stopped).
        assert!(matches!(
            proposer.propose(vec![Command::Tick]).await,
            Err(ProposeError::Stopped(_))
        ));
    }
}
