//! The HTTP side of a node: the REST API under `/api/v1`, with `/health` and
//! `/cluster` also at the root (where probes and people look first).

use axum::Router;
use axum::routing::get;
use kairos_raft::RaftNode;

use crate::api::{self, Api};

/// Every HTTP route of a node. With `loopback_only`, only requests addressed to a
/// loopback host are answered.
pub fn router(_node: RaftNode, api: Api, loopback_only: bool) -> Router {
    let routes = Router::new()
        .route("/health", get(api::cluster::health))
        .route("/cluster", get(api::cluster::cluster))
        .with_state(api.clone())
        .merge(api::router(api));
    if loopback_only {
        routes.layer(axum::middleware::from_fn(api::loopback_host))
    } else {
        routes
    }
}
