//! The HTTP side of a node: the REST API under `/api/v1`, with `/health` and
//! `/cluster` also at the root (where probes and people look first), the web
//! UI at `/` and `/ui/`, and `/metrics` for Prometheus. Every request is timed.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};

use crate::api::{self, Api};
use crate::leader::Leader;
use crate::metrics::Metrics;
use crate::node::Node;

/// What the node-level routes read.
#[derive(Clone)]
pub struct NodeHandles {
    pub node: Node,
    pub leader: Arc<Leader>,
    pub metrics: Arc<Metrics>,
    /// The HTTP port speaks TLS (the UI's session cookie is then `Secure`).
    pub tls: bool,
}

/// Every HTTP route of a node. With `loopback_only`, only requests addressed to a
/// loopback host are answered.
pub fn router(handles: NodeHandles, api: Api, loopback_only: bool) -> Router {
    let metrics = handles.metrics.clone();
    let ui = crate::ui::router(crate::ui::Ui {
        api: api.clone(),
        node: handles.node.clone(),
        tls: handles.tls,
    });
    let routes = Router::new()
        .route("/health", get(api::cluster::health))
        .route("/cluster", get(api::cluster::cluster))
        // The same caller scope as under /api/v1.
        .route_layer(axum::middleware::from_fn_with_state(
            api.tokens.clone(),
            api::scope::resolve,
        ))
        .with_state(api.clone())
        .merge(api::router(api))
        .merge(ui)
        .merge(
            Router::new()
                .route("/metrics", get(scrape))
                .with_state(handles),
        )
        // gzip for clients that accept it (browsers do): the grid of a DAG of
        // 1,000 tasks is about 1.4 MB of JSON, a few percent of that gzipped.
        // Server-sent events and small answers are left as they are.
        .layer(
            CompressionLayer::new()
                .quality(CompressionLevel::Fastest)
                .compress_when(DefaultPredicate::new().and(SizeAbove::new(1024))),
        )
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::http::time_requests,
        ));
    if loopback_only {
        routes.layer(axum::middleware::from_fn(api::loopback_host))
    } else {
        routes
    }
}

/// Prometheus' text format. Open like `/health`: it holds counts, not data.
async fn scrape(State(h): State<NodeHandles>) -> impl IntoResponse {
    let text = h.metrics.render(&h.node, Some(&h.leader));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}
