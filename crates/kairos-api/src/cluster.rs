//! The cluster as the API shows it: one node's own view, every member's, and
//! the bodies and answers of membership changes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One node's own view: answered without a token, for load balancers and probes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeHealth {
    pub node_id: u64,
    pub grpc_addr: String,
    pub http_addr: String,
    /// leader, follower, candidate, learner or shutdown.
    pub role: String,
    pub term: u64,
    /// The node it follows, when it knows one.
    pub leader_id: Option<u64>,
    pub last_log_index: u64,
    pub last_applied: u64,
    pub snapshot_index: u64,
    pub purged_index: u64,
    /// False until `cluster init` (or joining through `add-node`).
    pub initialized: bool,
    /// The cluster the node belongs to; absent until it knows (see
    /// docs/security.md, "Cluster identity").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// Airflow's health shape: the replicated store is `healthy` when this node
    /// is initialized and knows a leader.
    #[serde(default)]
    pub metadatabase: ComponentHealth,
    /// Airflow's health shape: the scheduler runs in the leader, so it is
    /// `healthy` when this node knows a leader.
    #[serde(default)]
    pub scheduler: SchedulerHealth,
}

/// `{"status": "healthy" | "unhealthy"}`, as Airflow's `/health` writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ComponentHealth {
    pub status: Option<String>,
}

/// The scheduler's health, as Airflow's `/health` writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SchedulerHealth {
    pub status: Option<String>,
    /// When this node answered, while it knows a leader (the scheduler lives
    /// in the leader; Kairos keeps no heartbeat row).
    pub latest_scheduler_heartbeat: Option<String>,
}

/// `GET /version`: Kairos's version (not Airflow's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VersionInfo {
    pub version: String,
    pub git_version: Option<String>,
}

/// A member as the membership lists it, with its own answer or why there is none.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub node_id: u64,
    pub grpc_addr: String,
    pub voter: bool,
    /// What the member says of itself; absent when it did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeHealth>,
    /// Why it did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClusterView {
    /// The leader as the answering node knows it.
    pub leader_id: Option<u64>,
    pub members: Vec<MemberView>,
    /// The recent leader changes, newest first (the same on every node: each
    /// new leader records itself in the log).
    #[serde(default)]
    pub leader_changes: Vec<LeaderChange>,
}

/// A node's state digest: `sha256:` over every record of its state machine,
/// with the index it has applied. Two nodes with the same applied index and
/// the same digest hold the same state, byte for byte.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StateDigest {
    pub node_id: u64,
    pub applied_index: u64,
    pub digest: String,
}

/// A node took the lead in `term`: when its first entry was stamped, at
/// which log index.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeaderChange {
    pub term: u64,
    pub node_id: u64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub index: u64,
}

/// A node to initialize a cluster with, or to add.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub node_id: u64,
    /// Its gRPC address, `HOST:PORT`, as the other nodes reach it.
    pub grpc_addr: String,
    /// Its HTTP address, if the others should show it.
    #[serde(default)]
    pub http_addr: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InitCluster {
    /// Every initial voter; empty means the answering node alone.
    #[serde(default)]
    pub members: Vec<NewMember>,
}

/// A committed membership change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MembershipChange {
    /// The Raft index of the membership entry.
    pub log_index: u64,
}

/// A live worker, as the leader knows it (`GET /workers`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkerView {
    pub worker_id: String,
    pub queues: Vec<String>,
    pub slots: u32,
    /// Its execution environments: name, Python version, how many packages.
    pub environments: Vec<WorkerEnvironmentView>,
    /// The teams it serves; empty: every team.
    pub teams: Vec<String>,
    /// Seconds since the leader last heard from it.
    pub last_seen_seconds: f64,
    /// Where it serves attempt logs.
    pub log_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkerEnvironmentView {
    pub name: String,
    pub python_version: String,
    pub packages: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkerList {
    pub workers: Vec<WorkerView>,
    /// The node that answered it (the leader).
    pub leader_id: Option<u64>,
}
