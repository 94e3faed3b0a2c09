//! `kairos.v1.Cluster` on every node: the remote form of [`Node`] for other
//! processes (the CLI's older paths, tests, the benchmark, the chaos suite, and
//! other nodes forwarding to the leader). Each call decodes its request, asks the
//! node, and encodes the answer; nothing else happens here.

use std::sync::Arc;

use kairos_proto::v1::cluster_server::Cluster;
use kairos_proto::v1::{
    AddNodeRequest, InitReply, InitRequest, MembershipReply, NodeStatus, ProposeReply,
    ProposeRequest, QueryReply, QueryRequest, ReadIndexReply, ReadIndexRequest, ReadLogReply,
    ReadLogRequest, RemoveNodeRequest, StatusRequest, StoreLogReply, StoreLogsRequest,
};
use kairos_state::{Command, Query};
use tonic::{Request, Response, Status};

use crate::leader::Leader;
use crate::node::{Consistency, Node, NodeError};

pub struct ClusterService {
    node: Node,
    /// For explanations, which need the leader's worker registry.
    leader: Arc<Leader>,
}

impl ClusterService {
    pub fn new(node: Node, leader: Arc<Leader>) -> ClusterService {
        ClusterService { node, leader }
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Status> {
    serde_json::to_vec(value)
        .map_err(|e| NodeError::Internal(format!("the answer cannot be encoded: {e}")).into())
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn store_logs(
        &self,
        request: Request<StoreLogsRequest>,
    ) -> Result<Response<StoreLogReply>, Status> {
        let mut chunks = Vec::new();
        for chunk in request.into_inner().chunks {
            let (ti, try_number) = crate::grpc::log_key(chunk.key)?;
            chunks.push((ti, try_number, chunk.offset, chunk.data, chunk.last));
        }
        let logs = self.node.attempt_logs().clone();
        tokio::task::spawn_blocking(move || {
            for (ti, try_number, offset, data, last) in chunks {
                logs.write(&ti, try_number, offset, &data, last)?;
            }
            Ok::<(), String>(())
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(Status::invalid_argument)?;
        Ok(Response::new(StoreLogReply {}))
    }

    async fn read_log(
        &self,
        request: Request<ReadLogRequest>,
    ) -> Result<Response<ReadLogReply>, Status> {
        let r = request.into_inner();
        let (ti, try_number) = crate::grpc::log_key(r.key)?;
        let read = self
            .node
            .attempt_logs()
            .read(&ti, try_number, r.offset, r.max_bytes)
            .map_err(Status::internal)?;
        Ok(Response::new(match read {
            Some(read) => ReadLogReply {
                found: true,
                data: read.data,
                size: read.size,
                complete: read.complete,
            },
            None => ReadLogReply::default(),
        }))
    }

    async fn propose(
        &self,
        request: Request<ProposeRequest>,
    ) -> Result<Response<ProposeReply>, Status> {
        let request = request.into_inner();
        let bytes = request.commands_json.len();
        // Refused before the JSON is parsed.
        crate::node::check_size(bytes)?;
        let commands: Vec<Command> = serde_json::from_slice(&request.commands_json)
            .map_err(|e| Status::invalid_argument(format!("the commands are not valid: {e}")))?;
        let committed = self
            .node
            .propose_sized(commands, bytes, request.forwarded)
            .await?;
        Ok(Response::new(ProposeReply {
            results_json: encode(&committed.results)?,
            log_index: committed.log_index,
        }))
    }

    async fn query(&self, request: Request<QueryRequest>) -> Result<Response<QueryReply>, Status> {
        let request = request.into_inner();
        let query: Query = serde_json::from_slice(&request.query_json)
            .map_err(|e| Status::invalid_argument(format!("the query is not valid: {e}")))?;
        let consistency = Consistency::from_flag(request.consistent);
        let answer_json = if let Query::Explain { ti } = &query {
            encode(&crate::explain::explain(&self.node, &self.leader, ti, consistency).await?)?
        } else if let Query::Workers = &query {
            encode(&crate::workers_view::workers(&self.node, &self.leader).await?)?
        } else {
            let answer = self
                .node
                .read(consistency, move |store| store.query(&query))
                .await?;
            encode(&answer)?
        };
        Ok(Response::new(QueryReply {
            answer_json,
            applied_index: self.node.applied_index()?,
        }))
    }

    async fn read_index(
        &self,
        _: Request<ReadIndexRequest>,
    ) -> Result<Response<ReadIndexReply>, Status> {
        Ok(Response::new(ReadIndexReply {
            read_index: self.node.read_index().await?,
        }))
    }

    async fn status(&self, _: Request<StatusRequest>) -> Result<Response<NodeStatus>, Status> {
        Ok(Response::new(self.node.status()))
    }

    async fn init(&self, request: Request<InitRequest>) -> Result<Response<InitReply>, Status> {
        self.node.init(request.into_inner().members).await?;
        Ok(Response::new(InitReply {}))
    }

    async fn add_node(
        &self,
        request: Request<AddNodeRequest>,
    ) -> Result<Response<MembershipReply>, Status> {
        let member = request
            .into_inner()
            .member
            .ok_or_else(|| Status::invalid_argument("which node? give its id and addresses"))?;
        Ok(Response::new(self.node.add_node(member).await?))
    }

    async fn remove_node(
        &self,
        request: Request<RemoveNodeRequest>,
    ) -> Result<Response<MembershipReply>, Status> {
        let node_id = request.into_inner().node_id;
        Ok(Response::new(self.node.remove_node(node_id).await?))
    }
}
