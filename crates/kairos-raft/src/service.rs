//! The server side of Raft's RPCs: decode, hand to openraft, encode its answer.

use kairos_proto::v1::RaftPayload;
use kairos_proto::v1::raft_server::Raft as RaftRpc;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::{Request, Response, Status};

use crate::snapshot_gate::SnapshotGate;
use crate::types::{InstallSnapshotRequest, Raft};

/// Serves `kairos.v1.Raft` for one node.
pub struct RaftService {
    raft: Raft,
    /// Snapshot chunks are checked before openraft writes them.
    gate: SnapshotGate,
}

impl RaftService {
    pub fn new(raft: Raft) -> RaftService {
        RaftService {
            raft,
            gate: SnapshotGate::default(),
        }
    }
}

fn decode<T: DeserializeOwned>(request: Request<RaftPayload>) -> Result<T, Status> {
    serde_json::from_slice(&request.into_inner().json)
        .map_err(|e| Status::invalid_argument(format!("undecodable Raft message: {e}")))
}

fn encode<T: Serialize>(answer: &T) -> Result<Response<RaftPayload>, Status> {
    serde_json::to_vec(answer)
        .map(|json| Response::new(RaftPayload { json }))
        .map_err(|e| Status::internal(format!("unencodable Raft answer: {e}")))
}

#[tonic::async_trait]
impl RaftRpc for RaftService {
    async fn append_entries(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let answer = self.raft.append_entries(decode(request)?).await;
        encode(&answer)
    }

    async fn vote(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let answer = self.raft.vote(decode(request)?).await;
        encode(&answer)
    }

    async fn install_snapshot(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let chunk: InstallSnapshotRequest = decode(request)?;
        self.gate.admit(&chunk).map_err(Status::invalid_argument)?;
        let answer = self.raft.install_snapshot(chunk).await;
        encode(&answer)
    }
}
