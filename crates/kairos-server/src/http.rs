//! The HTTP side of a node: `/health` (this node's view), `/cluster` (every
//! member's status, as each reports it) and the REST API under `/api/v1`.

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use kairos_raft::RaftNode;
use serde_json::{Value, json};

use crate::client::ClusterClient;
use crate::cluster_service::{ClusterService, role};

#[derive(Clone)]
struct HttpState {
    node: RaftNode,
}

pub fn router(node: RaftNode, api: crate::api::Api, loopback_only: bool) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/cluster", get(cluster))
        .with_state(HttpState { node })
        .merge(crate::api::router(api, loopback_only))
}

async fn health(State(state): State<HttpState>) -> Json<Value> {
    let metrics = state.node.raft.metrics().borrow().clone();
    Json(json!({
        "node_id": state.node.id,
        "role": role(metrics.state),
        "leader_id": metrics.current_leader,
        "term": metrics.current_term,
        "last_log_index": metrics.last_log_index,
        "last_applied": metrics.last_applied.map(|id| id.index),
    }))
}

async fn cluster(State(state): State<HttpState>) -> Json<Value> {
    let metrics = state.node.raft.metrics().borrow().clone();
    let addrs: Vec<String> = metrics
        .membership_config
        .membership()
        .nodes()
        .map(|(_, node)| node.grpc_addr.clone())
        .collect();
    let client = ClusterClient::new(addrs.clone()).with_patience(Duration::from_secs(1));
    let mut nodes = Vec::new();
    for addr in &addrs {
        nodes.push(match client.status(addr).await {
            Ok(status) => ClusterService::status_json(&status),
            Err(e) => json!({"grpc_addr": addr, "error": e.to_string()}),
        });
    }
    Json(json!({ "leader_id": metrics.current_leader, "nodes": nodes }))
}
