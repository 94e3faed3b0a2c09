//! A client of a Kairos cluster: give it any members' addresses, and it finds a node
//! that answers, retries while a leader is being elected, and decodes the answers.
//! The CLI, the tests, the benchmark and followers forwarding writes all use it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kairos_dag::limits::MAX_GRPC_MESSAGE_BYTES;
use kairos_proto::v1::cluster_client::ClusterClient as Grpc;
use kairos_proto::v1::{
    AddNodeRequest, InitRequest, Member, MembershipReply, NodeStatus, ProposeRequest, QueryRequest,
    ReadIndexRequest, RemoveNodeRequest, StatusRequest,
};
use kairos_raft::network::channel_to;

use kairos_state::{Command, CommandResult, Query};
use serde_json::Value;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// How long a call keeps retrying unavailable nodes before giving up.
pub const DEFAULT_PATIENCE: Duration = Duration::from_secs(15);
/// The deadline of one call to one node.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no node answered within {waited:?} (last error: {last})")]
    Unavailable { waited: Duration, last: String },
    /// The write may or may not have been committed.
    #[error("the outcome is unknown: {0}")]
    Unknown(String),
    /// A node answered and said no; `code` keeps what kind of no it was.
    #[error("{message}")]
    Refused { code: tonic::Code, message: String },
    #[error("{addr} did not answer: {error}")]
    NodeDown { addr: String, error: String },
    #[error("bad address {addr:?}: {error}")]
    Address { addr: String, error: String },
    #[error("undecodable answer: {0}")]
    Decode(String),
}

impl ClientError {
    /// A node's refusal, with the address it came from when that helps.
    fn refused(status: &Status, addr: Option<&str>) -> ClientError {
        ClientError::Refused {
            code: status.code(),
            message: match addr {
                Some(addr) => format!("{addr}: {}", status.message()),
                None => status.message().to_string(),
            },
        }
    }
}

/// A committed proposal's answer.
#[derive(Debug, Clone)]
pub struct Proposed {
    pub results: Vec<CommandResult>,
    pub log_index: u64,
}

/// A client of one cluster.
pub struct ClusterClient {
    addrs: Vec<String>,
    channels: Mutex<HashMap<String, Channel>>,
    /// The node that answered last: asked first next time.
    preferred: Mutex<usize>,
    patience: Duration,
    /// The certificate presented to the nodes (a server's when a node forwards,
    /// a client's for tools); `None` speaks plain text to `--insecure` nodes.
    tls: Option<kairos_tls::Tls>,
}

impl ClusterClient {
    pub fn new(addrs: Vec<String>) -> ClusterClient {
        ClusterClient {
            addrs,
            channels: Mutex::new(HashMap::new()),
            preferred: Mutex::new(0),
            patience: DEFAULT_PATIENCE,
            tls: None,
        }
    }

    /// Calls over mutual TLS with `tls`'s certificate (`None`: plain text).
    pub fn with_tls(mut self, tls: Option<kairos_tls::Tls>) -> ClusterClient {
        self.tls = tls;
        self
    }

    pub fn with_patience(mut self, patience: Duration) -> ClusterClient {
        self.patience = patience;
        self
    }

    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// The gRPC client of one node.
    pub fn node(&self, addr: &str) -> Result<Grpc<Channel>, ClientError> {
        channel_to(&self.channels, addr, self.tls.as_ref())
            .map(|channel| {
                Grpc::new(channel)
                    .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_GRPC_MESSAGE_BYTES)
            })
            .map_err(|e| ClientError::Address {
                addr: addr.to_string(),
                error: e.to_string(),
            })
    }

    /// Calls `f` on the preferred node, then the others in turn, until one answers
    /// with something `retry` does not accept, or patience runs out.
    async fn call<T, F, Fut>(&self, retry: fn(&Status) -> bool, mut f: F) -> Result<T, ClientError>
    where
        F: FnMut(Grpc<Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        if self.addrs.is_empty() {
            return Err(ClientError::Unavailable {
                waited: Duration::ZERO,
                last: "no server addresses given".into(),
            });
        }
        let started = Instant::now();
        let mut next = self.preferred.lock().map(|p| *p).unwrap_or(0);
        let mut pause = Duration::from_millis(20);
        let mut last = String::new();
        loop {
            for _ in 0..self.addrs.len() {
                let i = next % self.addrs.len();
                next = i + 1;
                let addr = &self.addrs[i];
                match f(self.node(addr)?).await {
                    Ok(answer) => {
                        if let Ok(mut preferred) = self.preferred.lock() {
                            *preferred = i;
                        }
                        return Ok(answer);
                    }
                    Err(status) if retry(&status) => last = format!("{addr}: {}", status.message()),
                    Err(status) if outcome_unknown(&status) => {
                        return Err(ClientError::Unknown(format!(
                            "{addr}: {}",
                            status.message()
                        )));
                    }
                    Err(status) => return Err(ClientError::refused(&status, None)),
                }
            }
            if started.elapsed() >= self.patience {
                return Err(ClientError::Unavailable {
                    waited: started.elapsed(),
                    last,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Proposes commands (applied together, in order, in one entry) through any node.
    pub async fn propose(&self, commands: &[Command]) -> Result<Proposed, ClientError> {
        let commands_json =
            serde_json::to_vec(commands).map_err(|e| ClientError::Decode(e.to_string()))?;
        let reply = self
            .call(not_received, |mut node| {
                let mut request = tonic::Request::new(ProposeRequest {
                    commands_json: commands_json.clone(),
                    forwarded: false,
                });
                request.set_timeout(CALL_TIMEOUT);
                async move { node.propose(request).await.map(|r| r.into_inner()) }
            })
            .await?;
        let results = serde_json::from_slice(&reply.results_json)
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        Ok(Proposed {
            results,
            log_index: reply.log_index,
        })
    }

    /// Reads through any node; `consistent` asks for a linearizable read.
    pub async fn query(&self, query: &Query, consistent: bool) -> Result<Value, ClientError> {
        let query_json =
            serde_json::to_vec(query).map_err(|e| ClientError::Decode(e.to_string()))?;
        let reply = self
            .call(retryable, |mut node| {
                let request = QueryRequest {
                    query_json: query_json.clone(),
                    consistent,
                };
                async move { node.query(request).await.map(|r| r.into_inner()) }
            })
            .await?;
        serde_json::from_slice(&reply.answer_json).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Reads from one particular node (no failover): what that node has applied.
    pub async fn query_node(
        &self,
        addr: &str,
        query: &Query,
        consistent: bool,
    ) -> Result<Value, ClientError> {
        let query_json =
            serde_json::to_vec(query).map_err(|e| ClientError::Decode(e.to_string()))?;
        let reply = self
            .node(addr)?
            .query(QueryRequest {
                query_json,
                consistent,
            })
            .await
            .map_err(|s| ClientError::refused(&s, Some(addr)))?
            .into_inner();
        serde_json::from_slice(&reply.answer_json).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// One node's own view of the cluster.
    pub async fn status(&self, addr: &str) -> Result<NodeStatus, ClientError> {
        let mut request = tonic::Request::new(StatusRequest {});
        request.set_timeout(Duration::from_secs(2));
        self.node(addr)?
            .status(request)
            .await
            .map(|r| r.into_inner())
            .map_err(|s| ClientError::NodeDown {
                addr: addr.to_string(),
                error: s.message().to_string(),
            })
    }

    /// Stores chunks of attempts' logs on the node at `addr`.
    pub async fn store_logs(
        &self,
        addr: &str,
        request: kairos_proto::v1::StoreLogsRequest,
    ) -> Result<(), Status> {
        let mut request = tonic::Request::new(request);
        request.set_timeout(Duration::from_secs(5));
        let mut node = self
            .node(addr)
            .map_err(|e| Status::unavailable(e.to_string()))?;
        node.store_logs(request).await.map(|_| ())
    }

    /// Reads an attempt's log as the node at `addr` keeps it.
    pub async fn read_log(
        &self,
        addr: &str,
        request: kairos_proto::v1::ReadLogRequest,
    ) -> Result<kairos_proto::v1::ReadLogReply, Status> {
        let mut request = tonic::Request::new(request);
        request.set_timeout(Duration::from_secs(5));
        let mut node = self
            .node(addr)
            .map_err(|e| Status::unavailable(e.to_string()))?;
        node.read_log(request).await.map(|r| r.into_inner())
    }

    /// The leader's read index (asked by followers serving consistent reads).
    pub async fn read_index(&self, addr: &str) -> Result<u64, Status> {
        let mut request = tonic::Request::new(ReadIndexRequest {});
        request.set_timeout(CALL_TIMEOUT);
        let mut node = self
            .node(addr)
            .map_err(|e| Status::unavailable(e.to_string()))?;
        node.read_index(request)
            .await
            .map(|r| r.into_inner().read_index)
    }

    /// Initializes a new cluster with `members` as its voters (through the first address).
    pub async fn init(&self, members: Vec<Member>) -> Result<(), ClientError> {
        let addr = self.addrs.first().cloned().unwrap_or_default();
        self.node(&addr)?
            .init(InitRequest { members })
            .await
            .map(|_| ())
            .map_err(|s| ClientError::refused(&s, None))
    }

    pub async fn add_node(&self, member: Member) -> Result<MembershipReply, ClientError> {
        self.call(not_received, |mut node| {
            let request = AddNodeRequest {
                member: Some(member.clone()),
            };
            async move { node.add_node(request).await.map(|r| r.into_inner()) }
        })
        .await
    }

    pub async fn remove_node(&self, node_id: u64) -> Result<MembershipReply, ClientError> {
        self.call(not_received, |mut node| async move {
            node.remove_node(RemoveNodeRequest { node_id })
                .await
                .map(|r| r.into_inner())
        })
        .await
    }
}

/// For reads: another node (or the same one later) may answer.
fn retryable(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded
    )
}

/// For writes: only when the write certainly was not taken (no leader yet, a node
/// that could not be reached). A write that timed out or whose connection broke may
/// have been committed, and is not sent again.
fn not_received(status: &Status) -> bool {
    status.code() == Code::Unavailable
}

/// Answers after which a write may or may not have been committed.
fn outcome_unknown(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Aborted | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded
    )
}
