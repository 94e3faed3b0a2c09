//! Writes: commands proposed to the leader, in one Raft entry, answered with each
//! command's result. A node that is not the leader forwards once to the leader's
//! `Cluster` service; code that must act only as the leader (the worker service,
//! the leader's loop) proposes here and is told when this node no longer leads.

use std::time::Duration;

use kairos_proto::v1::ProposeRequest;
use kairos_raft::{Committed, ProposeError};
use kairos_state::Command;

use super::error::{leader_moved, no_leader};
use super::{Node, NodeError};

/// The largest proposal accepted, in bytes of its commands' JSON: an entry must fit
/// in one gRPC message to a follower with room to spare (the proposer checks it
/// again, for the paths that propose on the leader directly).
pub use kairos_dag::limits::MAX_PROPOSAL_BYTES;

/// How long a forwarded request may take at the leader.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// Refuses a proposal of more than [`MAX_PROPOSAL_BYTES`] of JSON.
pub fn check_size(bytes: usize) -> Result<(), NodeError> {
    if bytes > MAX_PROPOSAL_BYTES {
        return Err(NodeError::Invalid(format!(
            "the proposal is {bytes} bytes; a proposal may be at most {MAX_PROPOSAL_BYTES} bytes. \
             Send its commands in smaller proposals"
        )));
    }
    Ok(())
}

impl Node {
    /// Proposes `commands` through the leader, wherever it is.
    pub async fn propose(&self, commands: Vec<Command>) -> Result<Committed, NodeError> {
        let bytes = serde_json::to_vec(&commands)
            .map_err(|e| NodeError::Invalid(format!("the commands cannot be encoded: {e}")))?
            .len();
        self.propose_sized(commands, bytes, false).await
    }

    /// Proposes on this node only, as the leader; a node that is not the leader
    /// says so (and who leads) without forwarding.
    pub async fn propose_here(&self, commands: Vec<Command>) -> Result<Committed, NodeError> {
        self.raft
            .proposer
            .propose(commands)
            .await
            .map_err(|e| self.here_error(e))
    }

    /// Parks `commands` to ride on the next entry this node proposes as the
    /// leader, after that entry's other commands (`kairos_raft::riders`).
    pub fn ride_here(&self, commands: Vec<Command>) -> Result<kairos_raft::Ride, NodeError> {
        self.raft
            .proposer
            .ride(commands)
            .map_err(|e| self.here_error(e))
    }

    /// What a proposal made on this node as the leader failed with.
    pub fn here_error(&self, error: ProposeError) -> NodeError {
        match error {
            ProposeError::NotLeader { leader_id, .. } => self.not_leader(leader_id),
            other => NodeError::from(other),
        }
    }

    /// A proposal of `bytes` of JSON; `forwarded` when another node sent it here as
    /// the leader (it is then never forwarded again).
    pub(crate) async fn propose_sized(
        &self,
        commands: Vec<Command>,
        bytes: usize,
        forwarded: bool,
    ) -> Result<Committed, NodeError> {
        check_size(bytes)?;
        if forwarded && !self.is_leader() {
            return Err(leader_moved());
        }
        match self
            .raft
            .proposer
            .propose_sized(commands.clone(), bytes)
            .await
        {
            Ok(committed) => Ok(committed),
            Err(ProposeError::NotLeader { leader_id, leader }) if !forwarded => {
                let Some(leader) = leader else {
                    return Err(no_leader(leader_id));
                };
                self.forward(commands, leader_id, &leader.grpc_addr).await
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Sends a proposal once to the leader; the caller sees one answer.
    async fn forward(
        &self,
        commands: Vec<Command>,
        leader_id: Option<u64>,
        addr: &str,
    ) -> Result<Committed, NodeError> {
        let addr = self.route_to(leader_id, addr);
        let mut client = self
            .forwarder()
            .node(&addr)
            .map_err(|e| NodeError::Unavailable(e.to_string()))?;
        let commands_json = serde_json::to_vec(&commands)
            .map_err(|e| NodeError::Invalid(format!("the commands cannot be encoded: {e}")))?;
        let mut request = tonic::Request::new(ProposeRequest {
            commands_json,
            forwarded: true,
        });
        request.set_timeout(FORWARD_TIMEOUT);
        // If this node learns of another leader meanwhile (the one it forwarded
        // to was paused or cut off), say so at once instead of waiting out the
        // deadline.
        let mut metrics = self.raft_metrics();
        let leader_changed = async move {
            // An error means this node is stopping; the forward's own deadline ends it.
            if metrics
                .wait_for(|m| m.current_leader != leader_id)
                .await
                .is_err()
            {
                std::future::pending::<()>().await;
            }
        };
        let answer = tokio::select! {
            answer = client.propose(request) => answer,
            _ = leader_changed => {
                return Err(NodeError::Unknown(
                    "the leader changed while the write was on its way to it; \
                     it may or may not have been committed"
                        .into(),
                ));
            }
        };
        match answer {
            Ok(reply) => {
                let reply = reply.into_inner();
                let results = serde_json::from_slice(&reply.results_json).map_err(|e| {
                    NodeError::Unknown(format!(
                        "the leader's answer could not be read ({e}); the write may have been committed"
                    ))
                })?;
                Ok(Committed {
                    results,
                    log_index: reply.log_index,
                })
            }
            // Not reached, or no longer the leader: nothing was proposed.
            Err(status) if status.code() == tonic::Code::Unavailable => Err(leader_moved()),
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::Unknown | tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
                ) =>
            {
                Err(NodeError::Unknown(format!(
                    "the leader did not answer in time; the write may or may not have been committed: {}",
                    status.message()
                )))
            }
            Err(status) => Err(status.into()),
        }
    }

    /// This node does not lead: who does, for the caller to go there.
    fn not_leader(&self, leader_id: Option<u64>) -> NodeError {
        match self.leader_addr() {
            Some((_, addr)) => {
                NodeError::Unavailable(format!("this node is not the leader; the leader is {addr}"))
            }
            None => no_leader(leader_id),
        }
    }
}
