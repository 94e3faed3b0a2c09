//! The client side of Raft's RPCs: one reused gRPC channel per peer.
//!
//! Channels connect lazily and reconnect by themselves; each call carries the
//! deadline openraft gives it. A peer that cannot be reached is reported as
//! `Unreachable`, which makes openraft back off instead of spinning.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

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
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::types::{KairosNode, NodeId, TypeConfig};

/// How long a connection attempt to a peer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The TLS settings of every outgoing gRPC channel of this process, set once at
/// start when the cluster runs with TLS. One process speaks to one cluster, and
/// every channel (Raft between servers, forwarding, the CLI) must agree, so the
/// setting is process-wide rather than threaded through every constructor.
static CLIENT_TLS: OnceLock<(Vec<u8>, ClientTlsConfig)> = OnceLock::new();

/// Makes outgoing channels use TLS, trusting the CA certificates in `ca_pem`.
/// Call before any channel is made. Calling again with the same CA is harmless;
/// another CA is refused (channels already made would disagree).
pub fn use_client_tls(ca_pem: &[u8]) -> Result<(), String> {
    let config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
    let (set, _) = CLIENT_TLS.get_or_init(|| (ca_pem.to_vec(), config));
    if set.as_slice() == ca_pem {
        Ok(())
    } else {
        Err("this process already trusts another TLS CA".to_string())
    }
}

/// Makes connections to peers, sharing one channel per address.
#[derive(Clone, Default)]
pub struct Network {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    /// Addresses that replace the membership's for some peers.
    routes: Arc<std::collections::BTreeMap<NodeId, String>>,
}

impl Network {
    pub fn with_routes(routes: std::collections::BTreeMap<NodeId, String>) -> Network {
        Network {
            channels: Arc::default(),
            routes: Arc::new(routes),
        }
    }
}

/// A channel to `addr` (`host:port`), made once and then reused.
pub fn channel_to(
    cache: &Mutex<HashMap<String, Channel>>,
    addr: &str,
) -> Result<Channel, tonic::transport::Error> {
    if let Ok(cache) = cache.lock() {
        if let Some(channel) = cache.get(addr) {
            return Ok(channel.clone());
        }
    }
    let tls = CLIENT_TLS.get().map(|(_, config)| config);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))?;
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls.clone())?;
    }
    let channel = endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_while_idle(true)
        .connect_lazy();
    if let Ok(mut cache) = cache.lock() {
        cache.insert(addr.to_string(), channel.clone());
    }
    Ok(channel)
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &KairosNode) -> Connection {
        let addr = self.routes.get(&target).unwrap_or(&node.grpc_addr);
        let client = channel_to(&self.channels, addr)
            .map(RaftClient::new)
            .map_err(|e| format!("bad address {addr:?} of node {target}: {e}"));
        Connection { target, client }
    }
}

/// Raft's RPCs to one peer.
pub struct Connection {
    target: NodeId,
    client: Result<RaftClient<Channel>, String>,
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
        let json =
            serde_json::to_vec(request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut request = tonic::Request::new(RaftPayload { json });
        request.set_timeout(option.hard_ttl());
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
        let answer: Result<Resp, Err> = serde_json::from_slice(&reply.json)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
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
        let entries = rpc.entries.len() as u64;
        self.call(Method::AppendEntries, entries, &rpc, &option)
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, KairosNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(Method::InstallSnapshot, 0, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, KairosNode, RaftError<NodeId>>> {
        self.call(Method::Vote, 0, &rpc, &option).await
    }
}
