//! Reads: what this node has applied, or (linearizable) what the leader had
//! committed when the read began, waited for here. A follower asks the leader for
//! its read index through the leader's `Cluster` service.

use std::sync::Arc;
use std::time::Duration;

use kairos_proto::v1::ReadIndexRequest;
use kairos_state::{Store, StoreError};
use openraft::error::{CheckIsLeaderError, RaftError};

use super::error::{leader_moved, no_leader};
use super::{Node, NodeError};

/// How long a consistent read on a follower may wait to catch up with the leader.
const READ_CATCH_UP: Duration = Duration::from_secs(5);
/// The deadline of asking the leader for its read index.
const READ_INDEX_TIMEOUT: Duration = Duration::from_secs(10);

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// What this node has applied (a follower may be a little behind).
    Local,
    /// Everything committed before the read began (Raft's read index).
    Linearizable,
}

impl Consistency {
    /// `?consistent=true` and the protocol's `consistent` flag.
    pub fn from_flag(consistent: bool) -> Consistency {
        if consistent {
            Consistency::Linearizable
        } else {
            Consistency::Local
        }
    }
}

impl Node {
    /// Reads the state with `f` on a blocking thread, once this node has applied
    /// what `consistency` asks for.
    pub async fn read<T, F>(&self, consistency: Consistency, f: F) -> Result<T, NodeError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        if consistency == Consistency::Linearizable {
            self.catch_up().await?;
        }
        let store = self.store().clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| NodeError::Internal(format!("a read stopped: {e}")))?
            .map_err(NodeError::from)
    }

    /// Reads what this node has applied, on the calling thread: for short point
    /// reads on hot paths (a worker's poll), where a thread hop costs more than the read.
    pub fn read_now<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, NodeError> {
        f(self.store()).map_err(NodeError::from)
    }

    /// The index of the last entry applied here.
    pub fn applied_index(&self) -> Result<u64, NodeError> {
        self.read_now(Store::applied_index)
    }

    /// Waits until this node has applied everything the leader had committed when
    /// asked (the leader's read index, asked of the leader by a follower).
    pub async fn catch_up(&self) -> Result<(), NodeError> {
        let read_index = match self.raft.raft.get_read_log_id().await {
            Ok((read, _)) => read.map(|id| id.index),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(forward))) => {
                let Some(leader) = forward.leader_node else {
                    return Err(no_leader(forward.leader_id));
                };
                let addr = self.route_to(forward.leader_id, &leader.grpc_addr);
                Some(self.leader_read_index(&addr).await?)
            }
            Err(e) => return Err(NodeError::Unavailable(e.to_string())),
        };
        self.raft
            .raft
            .wait(Some(READ_CATCH_UP))
            .applied_index_at_least(read_index, "consistent read")
            .await
            .map(|_| ())
            .map_err(|e| NodeError::Unavailable(format!("could not catch up with the leader: {e}")))
    }

    /// This node's read index, as the leader (a follower is told the leader moved).
    pub async fn read_index(&self) -> Result<u64, NodeError> {
        match self.raft.raft.get_read_log_id().await {
            Ok((read, _)) => Ok(read.map_or(0, |id| id.index)),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(_))) => Err(leader_moved()),
            Err(e) => Err(NodeError::Unavailable(e.to_string())),
        }
    }

    /// Whether a quorum still follows this node as leader, asked within `within`
    /// (a read-index round; not waiting for this node's apply to catch up).
    pub async fn confirm_leadership(&self, within: Duration) -> Result<(), NodeError> {
        match tokio::time::timeout(within, self.raft.raft.get_read_log_id()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(NodeError::Unavailable(format!(
                "this node cannot confirm that it leads: {e}"
            ))),
            Err(_) => Err(NodeError::Unavailable(format!(
                "this node cannot confirm that it leads: no quorum answered within {:.1} s",
                within.as_secs_f64()
            ))),
        }
    }

    /// The leader's barrier: returns once this leader's own entry of its term is
    /// committed and applied here, so its state is current.
    pub async fn barrier(&self) -> Result<(), NodeError> {
        self.raft
            .raft
            .ensure_linearizable()
            .await
            .map(|_| ())
            .map_err(|e| NodeError::Unavailable(e.to_string()))
    }

    async fn leader_read_index(&self, addr: &str) -> Result<u64, NodeError> {
        let mut request = tonic::Request::new(ReadIndexRequest {});
        request.set_timeout(READ_INDEX_TIMEOUT);
        let mut leader = self
            .forwarder()
            .node(addr)
            .map_err(|e| NodeError::Unavailable(e.to_string()))?;
        let reply = leader.read_index(request).await?;
        Ok(reply.into_inner().read_index)
    }

    /// The store, for this module's reads.
    fn store(&self) -> &Arc<Store> {
        &self.raft.store
    }
}
