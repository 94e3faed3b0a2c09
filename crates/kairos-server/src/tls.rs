//! A server's certificate: loaded at start (it must be a server certificate
//! naming this node's id), reloaded on SIGHUP or file change, and who may call
//! the REST API over HTTPS. What each gRPC service accepts is in
//! [`crate::grpc::authz`].

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kairos_tls::{Identity, Role, Tls};

use crate::config::ServerConfig;
use crate::server::ServerError;

/// This node's TLS material (`None` with `--insecure`), checked to be a server
/// certificate for `config.node_id`, and watched for changes from now on.
pub fn load(config: &ServerConfig) -> Result<Option<Tls>, ServerError> {
    let Some(files) = &config.tls else {
        tracing::warn!(
            grpc = %config.grpc_addr,
            http = %config.http_addr,
            "--insecure: plain text, no certificates; anyone who reaches these ports may use them"
        );
        return Ok(None);
    };
    let tls = Tls::load(files.clone()).map_err(|e| ServerError::Tls(e.to_string()))?;
    let me = tls.identity();
    if me.role != Role::Server || me.node_id() != Some(config.node_id) {
        return Err(ServerError::Tls(format!(
            "{} is {me}'s certificate, not node {}'s: make one with `kairos certs server \
             --node-id {} --host <its host or IP>`",
            files.cert.display(),
            config.node_id,
            config.node_id
        )));
    }
    tls.watch(kairos_tls::WATCH_EVERY);
    tracing::info!(identity = %me, "gRPC and HTTPS require certificates of cluster {}", me.cluster);
    Ok(Some(tls))
}

/// The REST API (and /metrics on its port) over HTTPS: client certificates of
/// this cluster only. Workers have no business there, and a server never calls
/// another's REST API. `GET /health` (a node's role, term and log positions)
/// answers any certificate of this cluster, so a container can check its own
/// node with the certificate it holds. API tokens, when configured, are
/// checked after this.
pub async fn rest_callers(request: Request, next: Next) -> Response {
    match request.extensions().get::<Identity>() {
        Some(caller) if caller.role == Role::Client => next.run(request).await,
        Some(_) if is_health(&request) => next.run(request).await,
        Some(caller) => (
            StatusCode::FORBIDDEN,
            format!(
                "the REST API takes client certificates only; {caller} is a {}\n",
                caller.role
            ),
        )
            .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            "the REST API requires a client certificate of this cluster\n",
        )
            .into_response(),
    }
}

/// `GET /health` or `/api/v1/health`.
fn is_health(request: &Request) -> bool {
    request.method() == axum::http::Method::GET
        && matches!(request.uri().path(), "/health" | "/api/v1/health")
}

/// The TLS configuration a server fetches a worker's logs with: its own
/// certificate, and the worker's required.
pub fn to_workers(tls: &Tls) -> rustls::ClientConfig {
    (*tls.client_config(Role::Worker, kairos_tls::Alpn::Http)).clone()
}
