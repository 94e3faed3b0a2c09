//! What this node is: its role, term, log and apply positions, the leader it
//! follows and the members it knows.

use std::collections::BTreeSet;

use kairos_proto::v1::{Member, NodeStatus};
use kairos_raft::NodeId;
use openraft::ServerState;

use super::Node;

/// A node's role as the API names it.
pub fn role(state: ServerState) -> &'static str {
    match state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    }
}

impl Node {
    /// This node's own view of the cluster.
    pub fn status(&self) -> NodeStatus {
        let metrics = self.raft.raft.metrics().borrow().clone();
        let initialized = metrics
            .membership_config
            .membership()
            .nodes()
            .next()
            .is_some();
        NodeStatus {
            node_id: self.raft.id,
            grpc_addr: self.me.grpc_addr.clone(),
            http_addr: self.me.http_addr.clone(),
            role: role(metrics.state).to_string(),
            term: metrics.current_term,
            last_log_index: metrics.last_log_index.unwrap_or(0),
            last_applied: metrics.last_applied.map_or(0, |id| id.index),
            leader_id: metrics.current_leader.unwrap_or(0),
            members: self.members(),
            snapshot_index: metrics.snapshot.map_or(0, |id| id.index),
            purged_index: metrics.purged.map_or(0, |id| id.index),
            initialized,
            cluster_id: self.raft.cluster.get().unwrap_or_default(),
        }
    }

    /// Whether this node believes it leads.
    pub fn is_leader(&self) -> bool {
        self.raft.raft.metrics().borrow().state == ServerState::Leader
    }

    /// The leader's id and gRPC address as the membership names it: where clients
    /// and workers reach it.
    pub fn leader_addr(&self) -> Option<(NodeId, String)> {
        let metrics = self.raft.raft.metrics().borrow().clone();
        let leader = metrics.current_leader?;
        let node = metrics
            .membership_config
            .membership()
            .get_node(&leader)?
            .clone();
        Some((leader, node.grpc_addr))
    }

    /// The leader's id and the address this node reaches it at (a peer route when
    /// one is configured): for requests forwarded between nodes.
    pub(crate) fn leader_route(&self) -> Option<(NodeId, String)> {
        let (leader, addr) = self.leader_addr()?;
        Some((leader, self.route_to(Some(leader), &addr)))
    }

    /// Where this node reaches node `id`, named at `addr` in the membership.
    pub(crate) fn route_to(&self, id: Option<NodeId>, addr: &str) -> String {
        id.and_then(|id| self.raft.peer_routes.get(&id).cloned())
            .unwrap_or_else(|| addr.to_string())
    }

    /// Every member this node knows, voters marked.
    pub fn members(&self) -> Vec<Member> {
        let metrics = self.raft.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership().clone();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        membership
            .nodes()
            .map(|(id, node)| Member {
                node_id: *id,
                grpc_addr: node.grpc_addr.clone(),
                http_addr: node.http_addr.clone(),
                voter: voters.contains(id),
            })
            .collect()
    }
}

/// A node's status as JSON (for `/cluster`, `/health` and `--output json`).
pub fn status_json(status: &NodeStatus) -> serde_json::Value {
    serde_json::json!({
        "node_id": status.node_id,
        "grpc_addr": status.grpc_addr,
        "http_addr": status.http_addr,
        "role": status.role,
        "term": status.term,
        "last_log_index": status.last_log_index,
        "last_applied": status.last_applied,
        "leader_id": (status.leader_id != 0).then_some(status.leader_id),
        "snapshot_index": status.snapshot_index,
        "purged_index": status.purged_index,
        "cluster_id": (!status.cluster_id.is_empty()).then_some(&status.cluster_id),
    })
}
