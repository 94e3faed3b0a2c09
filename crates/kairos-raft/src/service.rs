//! The server side of Raft's RPCs: decode, hand to openraft, encode its answer
//! in the format the call came in (so a peer of an older version, which writes
//! and reads only JSON, is answered in JSON).

use kairos_proto::v1::RaftPayload;
use kairos_proto::v1::raft_server::Raft as RaftRpc;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::{Request, Response, Status};

use crate::codec::{self, Format};
use crate::identity::ClusterTag;
use crate::snapshot_gate::SnapshotGate;
use crate::types::{InstallSnapshotRequest, Raft};

/// Serves `kairos.v1.Raft` for one node.
pub struct RaftService {
    raft: Raft,
    /// Snapshot chunks are checked before openraft writes them.
    gate: SnapshotGate,
    /// Calls from nodes of another cluster are refused.
    cluster: ClusterTag,
    /// How many calls of another cluster were refused (for the log).
    refused: std::sync::atomic::AtomicU64,
}

impl RaftService {
    pub fn new(raft: Raft, cluster: ClusterTag) -> RaftService {
        RaftService {
            raft,
            gate: SnapshotGate::default(),
            cluster,
            refused: Default::default(),
        }
    }

    /// Decodes a call's message once its sender is known to be of this cluster;
    /// with the format it came in.
    fn decode<T: DeserializeOwned>(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<(T, Format), Status> {
        if let Err(refusal) = self.cluster.admit(&request) {
            // Said once, then every 1,024th time: a misrouted peer calls 10 times a second.
            let refused = self
                .refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if refused.is_power_of_two() && refused <= 1024 || refused % 1024 == 0 {
                tracing::warn!(from = ?request.remote_addr(), refused = refused + 1, "refused a Raft call: {}", refusal.message());
            }
            return Err(refusal);
        }
        decode(request)
    }
}

fn decode<T: DeserializeOwned>(request: Request<RaftPayload>) -> Result<(T, Format), Status> {
    let bytes = request.into_inner().json;
    let format = codec::format_of(&bytes).unwrap_or_default();
    codec::decode(&bytes)
        .map(|message| (message, format))
        .map_err(|e| Status::invalid_argument(format!("undecodable Raft message: {e}")))
}

fn encode<T: Serialize>(answer: &T, format: Format) -> Result<Response<RaftPayload>, Status> {
    codec::encode(answer, format)
        .map(|json| Response::new(RaftPayload { json }))
        .map_err(|e| Status::internal(format!("unencodable Raft answer: {e}")))
}

#[tonic::async_trait]
impl RaftRpc for RaftService {
    async fn append_entries(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let (message, format) = self.decode(request)?;
        let answer = self.raft.append_entries(message).await;
        encode(&answer, format)
    }

    async fn vote(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let (message, format) = self.decode(request)?;
        let answer = self.raft.vote(message).await;
        encode(&answer, format)
    }

    async fn install_snapshot(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let (chunk, format): (crate::snapshot_wire::ChunkIn, Format) = self.decode(request)?;
        let chunk: InstallSnapshotRequest = chunk.into();
        self.gate.admit(&chunk).map_err(Status::invalid_argument)?;
        let answer = self.raft.install_snapshot(chunk).await;
        encode(&answer, format)
    }
}
