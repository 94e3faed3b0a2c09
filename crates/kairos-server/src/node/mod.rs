//! The one way into this node for code in this process: propose commands (to the
//! leader, forwarded when this node is not it), read the state (here, or
//! linearizably), and ask what the node is (status, leader, members) or change the
//! membership. The REST API, the worker service and the leader's loop all use it;
//! `kairos.v1.Cluster` (`crate::grpc::cluster`) is its remote form for other
//! processes, and forwarding to the leader goes through that remote form.

mod error;
mod membership;
mod propose;
mod read;
mod status;

use std::sync::Arc;

use kairos_raft::{KairosNode, NodeId, RaftNode};
use tokio::sync::Mutex;

use crate::client::ClusterClient;

pub use error::NodeError;
pub use kairos_raft::Committed;
pub use propose::{MAX_PROPOSAL_BYTES, check_size};
pub use read::Consistency;
pub use status::{role, status_json};

/// A handle on this node; cheap to clone.
#[derive(Clone)]
pub struct Node {
    raft: RaftNode,
    /// This node's own addresses, as the membership names them.
    me: KairosNode,
    /// Forwards writes, read-index requests and membership changes to the leader.
    forwarder: Arc<ClusterClient>,
    /// Membership changes one at a time, never overlapping.
    membership_lock: Arc<Mutex<()>>,
    /// Attempt logs workers uploaded, kept on this node.
    attempt_logs: crate::attempt_logs::AttemptLogs,
}

impl Node {
    pub fn new(raft: RaftNode, me: KairosNode, data_dir: &std::path::Path) -> Node {
        let forwarder = ClusterClient::new(Vec::new()).with_tls(raft.tls.clone());
        Node {
            raft,
            me,
            forwarder: Arc::new(forwarder),
            membership_lock: Arc::new(Mutex::new(())),
            attempt_logs: crate::attempt_logs::AttemptLogs::new(data_dir),
        }
    }

    /// The attempt logs kept on this node.
    pub fn attempt_logs(&self) -> &crate::attempt_logs::AttemptLogs {
        &self.attempt_logs
    }

    pub fn id(&self) -> NodeId {
        self.raft.id
    }

    /// This node's own addresses.
    pub fn me(&self) -> &KairosNode {
        &self.me
    }

    /// Raft's view of this node, for watching leadership and timings (metrics,
    /// the leader's supervisor).
    pub fn raft_metrics(&self) -> tokio::sync::watch::Receiver<kairos_raft::RaftMetrics> {
        self.raft.raft.metrics()
    }

    /// Changes every time an entry is applied here (its index).
    pub fn applied(&self) -> tokio::sync::watch::Receiver<u64> {
        self.raft.applied.clone()
    }

    /// The cluster this node belongs to, once known (see `crate::cluster_identity`).
    pub fn cluster(&self) -> &kairos_raft::identity::ClusterTag {
        &self.raft.cluster
    }

    /// This node's certificate (`None`: `--insecure`).
    pub fn tls(&self) -> Option<&kairos_tls::Tls> {
        self.raft.tls.as_ref()
    }

    /// The client this node reaches other nodes with.
    pub(crate) fn forwarder(&self) -> &ClusterClient {
        &self.forwarder
    }
}
