//! `kairos.v1.Cluster` on every node: proposals (forwarded to the leader when this
//! node is not it), reads (local, or linearizable), status and membership.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kairos_proto::v1::cluster_client::ClusterClient as ClusterGrpc;
use kairos_proto::v1::cluster_server::Cluster;
use kairos_proto::v1::{
    AddNodeRequest, InitReply, InitRequest, Member, MembershipReply, NodeStatus, ProposeReply,
    ProposeRequest, QueryReply, QueryRequest, ReadIndexReply, ReadIndexRequest, RemoveNodeRequest,
    StatusRequest,
};
use kairos_raft::proposer::raft_write_error;
use kairos_raft::{KairosNode, NodeId, ProposeError, RaftNode};
use kairos_state::{Command, Query};
use openraft::error::{CheckIsLeaderError, InitializeError, RaftError};
use openraft::{ChangeMembers, ServerState};
use tokio::sync::Mutex;
use tonic::{Request, Response, Status};

use crate::client::ClusterClient;
use crate::leader::Leader;
use kairos_state::engine::explain::Explanation;

/// How long a consistent read on a follower may wait to catch up with the leader.
const READ_CATCH_UP: Duration = Duration::from_secs(5);

pub struct ClusterService {
    node: RaftNode,
    me: KairosNode,
    /// Forwards writes and read-index requests to the leader.
    forwarder: ClusterClient,
    /// Membership changes one at a time, never overlapping.
    membership_lock: Arc<Mutex<()>>,
    /// The leader's worker registry answers the "no live worker" part of explain.
    scheduler: Arc<Leader>,
}

impl ClusterService {
    pub fn new(node: RaftNode, me: KairosNode, scheduler: Arc<Leader>) -> ClusterService {
        ClusterService {
            node,
            me,
            forwarder: ClusterClient::new(Vec::new()),
            membership_lock: Arc::new(Mutex::new(())),
            scheduler,
        }
    }

    /// `explain` needs the leader's worker registry: the leader adds it, a follower
    /// forwards the whole query to the leader (falling back to its own answer, with
    /// a note, when the leader cannot be reached).
    async fn explain(&self, query: &Query, consistent: bool) -> Result<Option<Vec<u8>>, Status> {
        if self.scheduler.is_leading() {
            let mut explanation = self.explain_locally(query).await?;
            self.scheduler.explain_workers(&mut explanation);
            return serde_json::to_vec(&explanation)
                .map(Some)
                .map_err(|e| Status::internal(e.to_string()));
        }
        let Some((_, addr)) = self.leader_addr() else {
            return Ok(None);
        };
        match self.forwarder.query_node(&addr, query, consistent).await {
            Ok(answer) => serde_json::to_vec(&answer)
                .map(Some)
                .map_err(|e| Status::internal(e.to_string())),
            Err(error) => {
                let mut explanation = self.explain_locally(query).await?;
                explanation.reasons.push(format!(
                    "(the leader at {addr} could not be asked which workers are live: {error})"
                ));
                serde_json::to_vec(&explanation)
                    .map(Some)
                    .map_err(|e| Status::internal(e.to_string()))
            }
        }
    }

    async fn explain_locally(&self, query: &Query) -> Result<Explanation, Status> {
        let Query::Explain { ti } = query else {
            return Err(Status::internal(
                "explain_locally called with another query",
            ));
        };
        let (store, ti) = (self.node.store.clone(), ti.clone());
        tokio::task::spawn_blocking(move || store.explain(&ti))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| Status::internal(e.to_string()))
    }

    /// A node's status as JSON (for `/cluster` and `--output json`).
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
        })
    }

    /// Refuses to add a node that would confuse Raft: an id that already votes, an
    /// address another member has (Raft would send a node its own entries under
    /// another id), or an address where no node of that id answers. The node
    /// must run already (`kairos server --node-id N` without `--peers`).
    async fn check_new_member(&self, member: &Member) -> Result<(), Status> {
        for m in self.members() {
            if m.node_id == member.node_id && m.voter {
                return Err(Status::already_exists(format!(
                    "node {} is already a voter",
                    member.node_id
                )));
            }
            if m.node_id != member.node_id && m.grpc_addr == member.grpc_addr {
                return Err(Status::invalid_argument(format!(
                    "{} is node {}'s address; give the new node's own address",
                    member.grpc_addr, m.node_id
                )));
            }
        }
        // A node just started may take a moment to listen: ask for a few seconds.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let status = loop {
            match self.forwarder.status(&member.grpc_addr).await {
                Ok(status) => break status,
                Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => {
                    return Err(Status::failed_precondition(format!(
                        "no node answers at {}: start it first (kairos server --node-id {} --grpc-addr {}, without --peers): {e}",
                        member.grpc_addr, member.node_id, member.grpc_addr
                    )));
                }
            }
        };
        if status.node_id != member.node_id {
            return Err(Status::failed_precondition(format!(
                "the node at {} is node {}, not node {}",
                member.grpc_addr, status.node_id, member.node_id
            )));
        }
        // Every cluster has a node 1: ours means this node, at this address.
        let ours = status
            .members
            .iter()
            .any(|m| m.node_id == self.node.id && m.grpc_addr == self.me.grpc_addr);
        if status.initialized && !ours {
            return Err(Status::failed_precondition(format!(
                "node {} at {} belongs to another cluster; wipe its data dir to add it here",
                member.node_id, member.grpc_addr
            )));
        }
        Ok(())
    }

    /// Whether this node believes it leads (membership changes are sent to the leader;
    /// openraft itself refuses them on a node that is no longer leader).
    fn is_leader(&self) -> bool {
        self.node.raft.metrics().borrow().state == ServerState::Leader
    }

    /// A client of the leader, for requests only the leader can serve.
    fn leader_client(&self) -> Result<ClusterGrpc<tonic::transport::Channel>, Status> {
        let (leader, addr) = self.leader_addr().ok_or_else(|| not_leader_status(None))?;
        self.forwarder
            .node(&addr)
            .map_err(|e| Status::unavailable(format!("node {leader}: {e}")))
    }

    /// The leader's gRPC address, as this node knows it.
    fn leader_addr(&self) -> Option<(NodeId, String)> {
        let metrics = self.node.raft.metrics().borrow().clone();
        let leader = metrics.current_leader?;
        if let Some(route) = self.node.peer_routes.get(&leader) {
            return Some((leader, route.clone()));
        }
        let node = metrics
            .membership_config
            .membership()
            .get_node(&leader)?
            .clone();
        Some((leader, node.grpc_addr))
    }

    fn members(&self) -> Vec<Member> {
        let metrics = self.node.raft.metrics().borrow().clone();
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

fn not_leader_status(leader: Option<NodeId>) -> Status {
    match leader {
        Some(id) => Status::unavailable(format!(
            "this node is not the leader and does not know node {id}'s address yet; try another node"
        )),
        None => Status::unavailable("there is no leader yet (an election is under way); try again"),
    }
}

/// The leader moved while a request was on its way: nothing was done, try again.
fn leader_moved() -> Status {
    Status::unavailable(
        "the leader changed while the request was on its way; nothing was done, try again",
    )
}

/// The largest proposal accepted, in bytes of its commands' JSON: an entry must fit
/// in one gRPC message to a follower with room to spare.
const MAX_PROPOSAL_BYTES: usize = 8 * 1024 * 1024;

/// How long a forwarded request may take at the leader.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

fn propose_status(error: ProposeError) -> Status {
    match error {
        ProposeError::NotLeader { leader_id, .. } => not_leader_status(leader_id),
        // The caller must not blindly retry: the entry may have been committed.
        ProposeError::Unknown(e) => Status::aborted(e),
        ProposeError::Stopped(e) => Status::unavailable(format!("this node is stopping: {e}")),
        ProposeError::Refused(e) => Status::failed_precondition(e),
    }
}

fn to_node(member: &Member) -> KairosNode {
    KairosNode {
        grpc_addr: member.grpc_addr.clone(),
        http_addr: member.http_addr.clone(),
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn propose(
        &self,
        request: Request<ProposeRequest>,
    ) -> Result<Response<ProposeReply>, Status> {
        let request = request.into_inner();
        if request.commands_json.len() > MAX_PROPOSAL_BYTES {
            return Err(Status::invalid_argument(format!(
                "the proposal is {} bytes; a proposal may be at most {MAX_PROPOSAL_BYTES} bytes. \
                 Send its commands in smaller proposals",
                request.commands_json.len()
            )));
        }
        let commands: Vec<Command> = serde_json::from_slice(&request.commands_json)
            .map_err(|e| Status::invalid_argument(format!("the commands are not valid: {e}")))?;
        if request.forwarded && !self.is_leader() {
            return Err(leader_moved());
        }
        let bytes = request.commands_json.len();
        match self.node.proposer.propose_sized(commands, bytes).await {
            Ok(committed) => {
                let results_json = serde_json::to_vec(&committed.results)
                    .map_err(|e| Status::internal(e.to_string()))?;
                Ok(Response::new(ProposeReply {
                    results_json,
                    log_index: committed.log_index,
                }))
            }
            Err(ProposeError::NotLeader { leader_id, leader }) if !request.forwarded => {
                // Forward once to the leader; the caller sees one answer.
                let Some(leader) = leader else {
                    return Err(not_leader_status(leader_id));
                };
                let mut client = self
                    .forwarder
                    .node(&leader.grpc_addr)
                    .map_err(|e| Status::unavailable(e.to_string()))?;
                let mut forwarded = Request::new(ProposeRequest {
                    commands_json: request.commands_json,
                    forwarded: true,
                });
                forwarded.set_timeout(FORWARD_TIMEOUT);
                // If this node learns of another leader meanwhile (the one it forwarded
                // to was paused or cut off), say so at once instead of waiting out the
                // deadline.
                let mut metrics = self.node.raft.metrics();
                let leader_changed = async move {
                    let _ = metrics.wait_for(|m| m.current_leader != leader_id).await;
                };
                let answer = tokio::select! {
                    answer = client.propose(forwarded) => answer,
                    _ = leader_changed => {
                        return Err(Status::aborted(
                            "the leader changed while the write was on its way to it; \
                             it may or may not have been committed",
                        ));
                    }
                };
                match answer {
                    Ok(reply) => Ok(reply),
                    // Not reached, or no longer the leader: nothing was proposed.
                    Err(status) if status.code() == tonic::Code::Unavailable => Err(leader_moved()),
                    Err(status)
                        if matches!(
                            status.code(),
                            tonic::Code::Unknown
                                | tonic::Code::Cancelled
                                | tonic::Code::DeadlineExceeded
                        ) =>
                    {
                        Err(Status::aborted(format!(
                            "the leader did not answer in time; the write may or may not have been committed: {}",
                            status.message()
                        )))
                    }
                    Err(status) => Err(status),
                }
            }
            Err(error) => Err(propose_status(error)),
        }
    }

    async fn query(&self, request: Request<QueryRequest>) -> Result<Response<QueryReply>, Status> {
        let request = request.into_inner();
        let query: Query = serde_json::from_slice(&request.query_json)
            .map_err(|e| Status::invalid_argument(format!("the query is not valid: {e}")))?;
        if request.consistent {
            let read_index = match self.node.raft.get_read_log_id().await {
                Ok((read, _)) => read.map(|id| id.index),
                Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(forward))) => {
                    let Some(leader) = forward.leader_node else {
                        return Err(not_leader_status(forward.leader_id));
                    };
                    Some(self.forwarder.read_index(&leader.grpc_addr).await?)
                }
                Err(e) => return Err(Status::unavailable(e.to_string())),
            };
            self.node
                .raft
                .wait(Some(READ_CATCH_UP))
                .applied_index_at_least(read_index, "consistent read")
                .await
                .map_err(|e| {
                    Status::unavailable(format!("could not catch up with the leader: {e}"))
                })?;
        }
        if matches!(query, Query::Explain { .. }) {
            if let Some(answer_json) = self.explain(&query, request.consistent).await? {
                return Ok(Response::new(QueryReply {
                    answer_json,
                    applied_index: self.node.store.applied_index().unwrap_or(0),
                }));
            }
        }
        let store = self.node.store.clone();
        let (answer, applied_index) = tokio::task::spawn_blocking(move || {
            let answer = store.query(&query)?;
            Ok::<_, kairos_state::StoreError>((answer, store.applied_index()?))
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| Status::internal(e.to_string()))?;
        let answer_json =
            serde_json::to_vec(&answer).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(QueryReply {
            answer_json,
            applied_index,
        }))
    }

    async fn read_index(
        &self,
        _: Request<ReadIndexRequest>,
    ) -> Result<Response<ReadIndexReply>, Status> {
        match self.node.raft.get_read_log_id().await {
            Ok((read, _)) => Ok(Response::new(ReadIndexReply {
                read_index: read.map_or(0, |id| id.index),
            })),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(_))) => Err(leader_moved()),
            Err(e) => Err(Status::unavailable(e.to_string())),
        }
    }

    async fn status(&self, _: Request<StatusRequest>) -> Result<Response<NodeStatus>, Status> {
        let metrics = self.node.raft.metrics().borrow().clone();
        let role = role(metrics.state);
        let initialized = metrics
            .membership_config
            .membership()
            .nodes()
            .next()
            .is_some();
        Ok(Response::new(NodeStatus {
            node_id: self.node.id,
            grpc_addr: self.me.grpc_addr.clone(),
            http_addr: self.me.http_addr.clone(),
            role: role.to_string(),
            term: metrics.current_term,
            last_log_index: metrics.last_log_index.unwrap_or(0),
            last_applied: metrics.last_applied.map_or(0, |id| id.index),
            leader_id: metrics.current_leader.unwrap_or(0),
            members: self.members(),
            snapshot_index: metrics.snapshot.map_or(0, |id| id.index),
            purged_index: metrics.purged.map_or(0, |id| id.index),
            initialized,
        }))
    }

    async fn init(&self, request: Request<InitRequest>) -> Result<Response<InitReply>, Status> {
        let mut members: BTreeMap<NodeId, KairosNode> = request
            .into_inner()
            .members
            .iter()
            .map(|m| (m.node_id, to_node(m)))
            .collect();
        members
            .entry(self.node.id)
            .or_insert_with(|| self.me.clone());
        match self.node.raft.initialize(members).await {
            Ok(()) => Ok(Response::new(InitReply {})),
            Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {
                Err(Status::already_exists(
                    "this node already belongs to an initialized cluster; nothing was changed",
                ))
            }
            Err(e) => Err(Status::failed_precondition(e.to_string())),
        }
    }

    async fn add_node(
        &self,
        request: Request<AddNodeRequest>,
    ) -> Result<Response<MembershipReply>, Status> {
        let member = request
            .into_inner()
            .member
            .ok_or_else(|| Status::invalid_argument("which node? give its id and addresses"))?;
        if member.node_id == 0 || member.grpc_addr.is_empty() {
            return Err(Status::invalid_argument(
                "a node needs an id (1 or more) and a gRPC address",
            ));
        }
        if !self.is_leader() {
            let mut leader = self.leader_client()?;
            return leader
                .add_node(AddNodeRequest {
                    member: Some(member),
                })
                .await;
        }
        let _serial = self.membership_lock.lock().await;
        self.check_new_member(&member).await?;
        // First a learner, caught up (blocking), then a voter.
        self.node
            .raft
            .add_learner(member.node_id, to_node(&member), true)
            .await
            .map_err(|e| propose_status(raft_write_error(e)))?;
        let voters: BTreeSet<NodeId> = [member.node_id].into();
        let response = self
            .node
            .raft
            .change_membership(ChangeMembers::AddVoterIds(voters), false)
            .await
            .map_err(|e| propose_status(raft_write_error(e)))?;
        Ok(Response::new(MembershipReply {
            members: self.members(),
            log_index: response.log_id.index,
        }))
    }

    async fn remove_node(
        &self,
        request: Request<RemoveNodeRequest>,
    ) -> Result<Response<MembershipReply>, Status> {
        let node_id = request.into_inner().node_id;
        if !self.is_leader() {
            let mut leader = self.leader_client()?;
            return leader.remove_node(RemoveNodeRequest { node_id }).await;
        }
        let _serial = self.membership_lock.lock().await;
        let known = self.members().iter().any(|m| m.node_id == node_id);
        if !known {
            return Err(Status::not_found(format!("node {node_id} is not a member")));
        }
        let voters: Vec<NodeId> = self
            .members()
            .iter()
            .filter(|m| m.voter)
            .map(|m| m.node_id)
            .collect();
        if voters == [node_id] {
            return Err(Status::failed_precondition(format!(
                "node {node_id} is the only voter: a cluster needs at least one; add another node first"
            )));
        }
        let ids: BTreeSet<NodeId> = [node_id].into();
        let is_voter = self
            .members()
            .iter()
            .any(|m| m.node_id == node_id && m.voter);
        // A voter removed without `retain` leaves the membership entirely; a learner
        // is removed as a node.
        let change = if is_voter {
            ChangeMembers::RemoveVoters(ids)
        } else {
            ChangeMembers::RemoveNodes(ids)
        };
        let last = self
            .node
            .raft
            .change_membership(change, false)
            .await
            .map_err(|e| propose_status(raft_write_error(e)))?
            .log_id
            .index;
        Ok(Response::new(MembershipReply {
            members: self.members(),
            log_index: last,
        }))
    }
}
