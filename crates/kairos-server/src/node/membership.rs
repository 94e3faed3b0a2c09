//! Changing who belongs to the cluster: initialise it once, add a node (first a
//! learner that catches up, then a voter), remove one. Changes run one at a time
//! on the leader; another node forwards them there. What would break Raft is
//! refused before anything changes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kairos_proto::v1::{AddNodeRequest, Member, MembershipReply, RemoveNodeRequest};
use kairos_raft::proposer::raft_write_error;
use kairos_raft::{KairosNode, NodeId};
use openraft::ChangeMembers;
use openraft::error::{InitializeError, RaftError};

use super::error::no_leader;
use super::{Node, NodeError};

fn to_node(member: &Member) -> KairosNode {
    KairosNode {
        grpc_addr: member.grpc_addr.clone(),
        http_addr: member.http_addr.clone(),
    }
}

impl Node {
    /// Initialises a new cluster with `members` (this node included) as its voters.
    pub async fn init(&self, members: Vec<Member>) -> Result<(), NodeError> {
        let mut members: BTreeMap<NodeId, KairosNode> =
            members.iter().map(|m| (m.node_id, to_node(m))).collect();
        members
            .entry(self.raft.id)
            .or_insert_with(|| self.me.clone());
        match self.raft.raft.initialize(members).await {
            Ok(()) => Ok(()),
            Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {
                Err(NodeError::AlreadyExists(
                    "this node already belongs to an initialized cluster; nothing was changed"
                        .into(),
                ))
            }
            Err(e) => Err(NodeError::FailedPrecondition(e.to_string())),
        }
    }

    /// Adds a running node (started without `--peers`) as a voter.
    pub async fn add_node(&self, member: Member) -> Result<MembershipReply, NodeError> {
        if member.node_id == 0 || member.grpc_addr.is_empty() {
            return Err(NodeError::Invalid(
                "a node needs an id (1 or more) and a gRPC address".into(),
            ));
        }
        if !self.is_leader() {
            let mut leader = self.leader_client()?;
            let reply = leader
                .add_node(AddNodeRequest {
                    member: Some(member),
                })
                .await?;
            return Ok(reply.into_inner());
        }
        let _serial = self.membership_lock.lock().await;
        self.check_new_member(&member).await?;
        // First a learner, caught up (blocking), then a voter.
        self.raft
            .raft
            .add_learner(member.node_id, to_node(&member), true)
            .await
            .map_err(|e| NodeError::from(raft_write_error(e)))?;
        let voters: BTreeSet<NodeId> = [member.node_id].into();
        let response = self
            .raft
            .raft
            .change_membership(ChangeMembers::AddVoterIds(voters), false)
            .await
            .map_err(|e| NodeError::from(raft_write_error(e)))?;
        Ok(MembershipReply {
            members: self.members(),
            log_index: response.log_id.index,
        })
    }

    /// Removes node `node_id` (a voter leaves the voters, a learner the cluster).
    pub async fn remove_node(&self, node_id: NodeId) -> Result<MembershipReply, NodeError> {
        if !self.is_leader() {
            let mut leader = self.leader_client()?;
            let reply = leader.remove_node(RemoveNodeRequest { node_id }).await?;
            return Ok(reply.into_inner());
        }
        let _serial = self.membership_lock.lock().await;
        let members = self.members();
        if !members.iter().any(|m| m.node_id == node_id) {
            return Err(NodeError::NotFound(format!(
                "node {node_id} is not a member"
            )));
        }
        let voters: Vec<NodeId> = members
            .iter()
            .filter(|m| m.voter)
            .map(|m| m.node_id)
            .collect();
        if voters == [node_id] {
            return Err(NodeError::FailedPrecondition(format!(
                "node {node_id} is the only voter: a cluster needs at least one; add another node first"
            )));
        }
        let ids: BTreeSet<NodeId> = [node_id].into();
        // A voter removed without `retain` leaves the membership entirely; a learner
        // is removed as a node.
        let change = if voters.contains(&node_id) {
            ChangeMembers::RemoveVoters(ids)
        } else {
            ChangeMembers::RemoveNodes(ids)
        };
        let last = self
            .raft
            .raft
            .change_membership(change, false)
            .await
            .map_err(|e| NodeError::from(raft_write_error(e)))?
            .log_id
            .index;
        Ok(MembershipReply {
            members: self.members(),
            log_index: last,
        })
    }

    /// Refuses to add a node that would confuse Raft: an id that already votes, an
    /// address another member has (Raft would send a node its own entries under
    /// another id), or an address where no node of that id answers. The node
    /// must run already (`kairos server --node-id N` without `--peers`).
    async fn check_new_member(&self, member: &Member) -> Result<(), NodeError> {
        for m in self.members() {
            if m.node_id == member.node_id && m.voter {
                return Err(NodeError::AlreadyExists(format!(
                    "node {} is already a voter",
                    member.node_id
                )));
            }
            if m.node_id != member.node_id && m.grpc_addr == member.grpc_addr {
                return Err(NodeError::Invalid(format!(
                    "{} is node {}'s address; give the new node's own address",
                    member.grpc_addr, m.node_id
                )));
            }
        }
        // A node just started may take a moment to listen: ask for a few seconds.
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            match self.forwarder().status(&member.grpc_addr).await {
                Ok(status) => break status,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    return Err(NodeError::FailedPrecondition(format!(
                        "no node answers at {}: start it first (kairos server --node-id {} --grpc-addr {}, without --peers): {e}",
                        member.grpc_addr, member.node_id, member.grpc_addr
                    )));
                }
            }
        };
        if status.node_id != member.node_id {
            return Err(NodeError::FailedPrecondition(format!(
                "the node at {} is node {}, not node {}",
                member.grpc_addr, status.node_id, member.node_id
            )));
        }
        // A node that knows its cluster (a data dir of a cluster, or a certificate
        // naming one) joins that cluster only.
        if let Some(ours) = self.raft.cluster.get() {
            if !status.cluster_id.is_empty() && status.cluster_id != ours {
                return Err(NodeError::FailedPrecondition(format!(
                    "node {} at {} belongs to cluster `{}`, this cluster is `{ours}`; give it an empty data dir (and this cluster's certificate) to add it here",
                    member.node_id, member.grpc_addr, status.cluster_id
                )));
            }
        }
        // Every cluster has a node 1: ours means this node, at this address.
        let ours = status
            .members
            .iter()
            .any(|m| m.node_id == self.raft.id && m.grpc_addr == self.me.grpc_addr);
        if status.initialized && !ours {
            return Err(NodeError::FailedPrecondition(format!(
                "node {} at {} belongs to another cluster; wipe its data dir to add it here",
                member.node_id, member.grpc_addr
            )));
        }
        Ok(())
    }

    /// A gRPC client of the leader, for requests only the leader can serve.
    fn leader_client(
        &self,
    ) -> Result<kairos_proto::v1::cluster_client::ClusterClient<tonic::transport::Channel>, NodeError>
    {
        let (leader, addr) = self.leader_route().ok_or_else(|| no_leader(None))?;
        self.forwarder()
            .node(&addr)
            .map_err(|e| NodeError::Unavailable(format!("node {leader}: {e}")))
    }
}
