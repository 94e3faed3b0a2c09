//! The Raft type configuration: what Kairos's log entries, nodes and answers are.

use std::fmt;

use kairos_state::{Batch, CommandResult};
use serde::{Deserialize, Serialize};

/// A cluster member's addresses: Raft and client gRPC share `grpc_addr`; the HTTP API
/// and health endpoints listen on `http_addr`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KairosNode {
    pub grpc_addr: String,
    pub http_addr: String,
}

impl fmt::Display for KairosNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "grpc={} http={}", self.grpc_addr, self.http_addr)
    }
}

/// What applying one entry answered: one result per command of its batch (empty for
/// Raft's own entries).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchResults(pub Vec<CommandResult>);

pub type NodeId = u64;

openraft::declare_raft_types!(
    /// Kairos's Raft types: entries carry [`Batch`]es of commands.
    pub TypeConfig:
        D = Batch,
        R = BatchResults,
        NodeId = NodeId,
        Node = KairosNode,
        SnapshotData = tokio::fs::File,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type RaftMetrics = openraft::RaftMetrics<NodeId, KairosNode>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type StorageError = openraft::StorageError<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, KairosNode>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, KairosNode>;
pub type Snapshot = openraft::Snapshot<TypeConfig>;
pub type InstallSnapshotRequest = openraft::raft::InstallSnapshotRequest<TypeConfig>;
