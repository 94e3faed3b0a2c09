//! The client side of Raft's RPCs: one reused gRPC channel per peer.
//!
//! Channels connect lazily and reconnect by themselves; each call carries the
//! deadline openraft gives it. A peer that cannot be reached is reported as
//! `Unreachable`, which makes openraft back off instead of spinning.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kairos_dag::limits::MAX_GRPC_MESSAGE_BYTES;
use kairos_proto::v1::RaftPayload;
use kairos_proto::v1::raft_client::RaftClient;
use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError,
    Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::transport::{Channel, Endpoint};

use crate::codec::{self, Format};
use crate::identity::ClusterTag;
use crate::types::{KairosNode, NodeId, TypeConfig};

/// How long a connection attempt to a peer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The most bytes of entries one AppendEntries carries when it carries more than
/// one. Openraft gives an AppendEntries one heartbeat interval (50 ms by default)
/// to be sent, stored and answered; a follower far behind would otherwise be sent
/// up to `max_payload_entries` full entries (32 MiB) at once, time out, and be sent
/// the same again, for ever. The rest goes in the next AppendEntries.
const APPEND_BUDGET_BYTES: usize = 512 * 1024;

/// Keeps the longest prefix of `entries` (at least one) whose JSON fits in
/// `budget`; returns the log id of the last entry kept when any were dropped.
fn trim_to_budget<E: Serialize>(
    entries: &mut Vec<E>,
    budget: usize,
    log_id: impl Fn(&E) -> openraft::LogId<NodeId>,
) -> Option<openraft::LogId<NodeId>> {
    if entries.len() <= 1 {
        return None;
    }
    let mut used = 0;
    let mut keep = entries.len();
    for (i, entry) in entries.iter().enumerate() {
        used += serde_json::to_vec(entry).map_or(0, |bytes| bytes.len());
        if used > budget && i > 0 {
            keep = i;
            break;
        }
    }
    if keep == entries.len() {
        return None;
    }
    entries.truncate(keep);
    entries.last().map(log_id)
}

/// Makes connections to peers, sharing one channel per address.
#[derive(Clone)]
pub struct Network {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    /// Addresses that replace the membership's for some peers.
    routes: Arc<std::collections::BTreeMap<NodeId, String>>,
    /// This node's cluster id, sent with every call.
    cluster: ClusterTag,
    /// This node's certificate, presented to peers (`None`: `--insecure`).
    tls: Option<kairos_tls::Tls>,
    /// How messages to peers are written.
    format: Format,
}

impl Network {
    pub fn with_routes(
        routes: std::collections::BTreeMap<NodeId, String>,
        cluster: ClusterTag,
        tls: Option<kairos_tls::Tls>,
    ) -> Network {
        Network {
            channels: Arc::default(),
            routes: Arc::new(routes),
            cluster,
            tls,
            format: Format::default(),
        }
    }

    /// Writes messages to peers in `format`.
    pub fn writing(mut self, format: Format) -> Network {
        self.format = format;
        self
    }
}

/// A channel to the server at `addr` (`host:port`), made once and then reused.
/// With `tls`, every connection presents its certificate and requires a server
/// certificate of the same cluster valid for the host of `addr`.
pub fn channel_to(
    cache: &Mutex<HashMap<String, Channel>>,
    addr: &str,
    tls: Option<&kairos_tls::Tls>,
) -> Result<Channel, tonic::transport::Error> {
    if let Ok(cache) = cache.lock() {
        if let Some(channel) = cache.get(addr) {
            return Ok(channel.clone());
        }
    }
    // TLS is the connector's job: the URI stays http://.
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        // A connection that died silently (a peer cut off its network, its
        // packets dropped) is found and replaced within about three seconds:
        // with the default 20 s ping timeout, a follower cut off for 8 s
        // caught up 5.8 s after it was back (TCP retransmits on the dead
        // connection backing off) in the deployment test.
        .http2_keep_alive_interval(Duration::from_secs(1))
        .keep_alive_timeout(Duration::from_secs(2))
        .keep_alive_while_idle(true);
    let channel = match tls {
        Some(tls) => kairos_tls::grpc::connect_lazy(endpoint, tls, kairos_tls::Role::Server),
        None => endpoint.connect_lazy(),
    };
    if let Ok(mut cache) = cache.lock() {
        cache.insert(addr.to_string(), channel.clone());
    }
    Ok(channel)
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &KairosNode) -> Connection {
        let addr = self.routes.get(&target).unwrap_or(&node.grpc_addr);
        let client = channel_to(&self.channels, addr, self.tls.as_ref())
            .map(|channel| {
                RaftClient::new(channel)
                    .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_GRPC_MESSAGE_BYTES)
            })
            .map_err(|e| format!("bad address {addr:?} of node {target}: {e}"));
        Connection {
            target,
            client,
            cluster: self.cluster.clone(),
            format: self.format,
        }
    }
}

/// Raft's RPCs to one peer.
pub struct Connection {
    target: NodeId,
    client: Result<RaftClient<Channel>, String>,
    cluster: ClusterTag,
    format: Format,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failure(String);

impl Connection {
    /// Sends one message and decodes the peer's `Result<Resp, Err>` answer.
    async fn call<Req, Resp, Err>(
        &mut self,
        method: Method,
        entries: u64,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, KairosNode, Err>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        Err: std::error::Error + DeserializeOwned,
    {
        let client = match &mut self.client {
            Ok(client) => client,
            Err(e) => return Err(RPCError::Unreachable(Unreachable::new(&Failure(e.clone())))),
        };
        let json = codec::encode(request, self.format)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut request = tonic::Request::new(RaftPayload { json });
        request.set_timeout(option.hard_ttl());
        self.cluster.stamp(&mut request);
        let reply = match method {
            Method::AppendEntries => client.append_entries(request).await,
            Method::Vote => client.vote(request).await,
            Method::InstallSnapshot => client.install_snapshot(request).await,
        };
        let reply = match reply {
            Ok(reply) => reply.into_inner(),
            Err(status) => {
                let failure = Failure(format!("{method:?} to node {}: {status}", self.target));
                return Err(match status.code() {
                    tonic::Code::Unavailable
                    | tonic::Code::DeadlineExceeded
                    | tonic::Code::Unknown => RPCError::Unreachable(Unreachable::new(&failure)),
                    // Over the message size limit: ask openraft to send fewer entries.
                    tonic::Code::OutOfRange | tonic::Code::ResourceExhausted if entries > 1 => {
                        RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(entries / 2))
                    }
                    _ => RPCError::Network(NetworkError::new(&failure)),
                });
            }
        };
        let answer: Result<Resp, Err> =
            codec::decode(&reply.json).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

#[derive(Debug, Clone, Copy)]
enum Method {
    AppendEntries,
    Vote,
    InstallSnapshot,
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, KairosNode, RaftError<NodeId>>>
    {
        let mut rpc = rpc;
        let trimmed = trim_to_budget(&mut rpc.entries, APPEND_BUDGET_BYTES, |e| e.log_id);
        let entries = rpc.entries.len() as u64;
        let answer: AppendEntriesResponse<NodeId> = self
            .call(Method::AppendEntries, entries, &rpc, &option)
            .await?;
        // The peer took what was sent: tell openraft how far that reached.
        Ok(match (answer, trimmed) {
            (AppendEntriesResponse::Success, Some(last)) => {
                AppendEntriesResponse::PartialSuccess(Some(last))
            }
            (answer, _) => answer,
        })
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, KairosNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        let chunk = crate::snapshot_wire::ChunkOut::of(&rpc);
        self.call(Method::InstallSnapshot, 0, &chunk, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, KairosNode, RaftError<NodeId>>> {
        self.call(Method::Vote, 0, &rpc, &option).await
    }
}

#[cfg(test)]
mod tests {
    use super::trim_to_budget;
    use openraft::{CommittedLeaderId, LogId};

    fn id(index: u64) -> LogId<u64> {
        LogId::new(CommittedLeaderId::new(1, 1), index)
    }

    #[test]
    fn append_entries_are_cut_to_the_byte_budget_but_never_to_nothing() {
        // Entries of about 100 bytes of JSON each.
        let entries: Vec<(u64, String)> = (1..=10).map(|i| (i, "x".repeat(90))).collect();
        let mut cut = entries.clone();
        let last = trim_to_budget(&mut cut, 350, |e| id(e.0));
        assert_eq!(cut.len(), 3);
        assert_eq!(last, Some(id(3)));
        // Within the budget: untouched, and openraft is told all went.
        let mut all = entries.clone();
        assert_eq!(trim_to_budget(&mut all, 1 << 20, |e| id(e.0)), None);
        assert_eq!(all.len(), 10);
        // One entry larger than the budget still goes, alone.
        let mut big = vec![(1, "y".repeat(1000)), (2, "z".into())];
        assert_eq!(trim_to_budget(&mut big, 100, |e| id(e.0)), Some(id(1)));
        assert_eq!(big.len(), 1);
        let mut single = vec![(1, "y".repeat(1000))];
        assert_eq!(trim_to_budget(&mut single, 100, |e| id(e.0)), None);
    }
}
