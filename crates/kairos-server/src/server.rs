//! `kairos server`: one node of the cluster, from start to a clean stop.

use std::sync::Arc;

use std::collections::BTreeMap;
use std::time::Duration;

use kairos_proto::v1::cluster_server::ClusterServer;
use kairos_proto::v1::raft_server::RaftServer;
use kairos_proto::v1::worker_server::WorkerServer;

use crate::grpc::worker::WorkerService;
use kairos_raft::service::RaftService;
use kairos_raft::{KairosNode, RaftNode};
use openraft::error::{InitializeError, RaftError};
use tokio::net::TcpListener;

use crate::config::ServerConfig;
use crate::grpc::cluster::ClusterService;
use crate::node::Node;

/// The largest gRPC message accepted (snapshot chunks and large DAG pushes).
const MAX_MESSAGE: usize = kairos_dag::limits::MAX_GRPC_MESSAGE_BYTES;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Start(#[from] kairos_raft::StartError),
    #[error("cannot listen on {addr}: {error}")]
    Listen { addr: String, error: std::io::Error },
    #[error("{0}")]
    Tls(String),
    #[error("the gRPC server failed: {0}")]
    Grpc(String),
    #[error(
        "Raft stopped on its own (see the log above); the node exits so that a supervisor restarts it from its data"
    )]
    RaftStopped,
}

/// Runs a server until SIGTERM or SIGINT, then stops Raft, syncs the stores and
/// returns.
pub async fn run(config: ServerConfig) -> Result<(), ServerError> {
    // TLS first: Raft's channels to its peers are made as soon as it starts, and
    // must already present this node's certificate; a bad one fails here.
    let mut builder = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .max_concurrent_streams(kairos_dag::limits::MAX_GRPC_CONCURRENT_STREAMS);
    let tls = crate::tls::load(&config)?;
    let mut config = config;
    if let Some(tls) = &tls {
        config.raft.tls = Some(tls.clone());
        config.raft.cluster_id = Some(tls.identity().cluster);
    }
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let node = RaftNode::start(
        config.node_id,
        &config.data_dir,
        &config.raft,
        metrics.clone(),
    )
    .await?;
    let me = KairosNode {
        grpc_addr: config.advertise_grpc_addr.clone(),
        http_addr: config.advertise_http_addr.clone(),
    };
    let handle = Node::new(node.clone(), me.clone(), &config.data_dir);
    metrics.watch_leader(&handle);
    crate::cluster_identity::spawn(handle.clone());
    let leader = crate::leader::start(handle.clone(), config.scheduler.clone());
    let grpc_listener = TcpListener::bind(&config.grpc_addr)
        .await
        .map_err(|error| ServerError::Listen {
            addr: config.grpc_addr.clone(),
            error,
        })?;
    let http_listener = TcpListener::bind(&config.http_addr)
        .await
        .map_err(|error| ServerError::Listen {
            addr: config.http_addr.clone(),
            error,
        })?;
    tracing::info!(
        node_id = config.node_id,
        grpc = %config.grpc_addr,
        http = %config.http_addr,
        data_dir = %config.data_dir.display(),
        "kairos server started"
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    crate::attempt_log_sweep::spawn(
        handle.clone(),
        config.scheduler.retention_every,
        stop_rx.clone(),
    );
    let grpc = {
        let mut stop = stop_rx.clone();
        use crate::grpc::authz;
        let raft_service = authz::only(
            RaftServer::new(RaftService::new(node.raft.clone(), node.cluster.clone()))
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            tls.clone(),
            "Raft",
            authz::RAFT,
        );
        let cluster_service = authz::only(
            ClusterServer::new(ClusterService::new(handle.clone(), leader.clone()))
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            tls.clone(),
            "Cluster",
            authz::CLUSTER,
        );
        let worker_service = authz::only(
            crate::grpc::worker_auth::guarded(
                WorkerServer::new(WorkerService::new(
                    leader.clone(),
                    config.variables_key.clone(),
                ))
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
                config.scheduler.worker_tokens.clone(),
            ),
            tls.clone(),
            "Worker",
            authz::WORKER,
        );
        let router = builder
            .add_service(raft_service)
            .add_service(cluster_service)
            .add_service(worker_service);
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        match &tls {
            Some(tls) => tokio::spawn(router.serve_with_incoming_shutdown(
                kairos_tls::grpc::incoming(grpc_listener, tls.clone()),
                shutdown,
            )),
            None => tokio::spawn(
                router.serve_with_incoming_shutdown(tokio_stream_from(grpc_listener), shutdown),
            ),
        }
    };
    let http = {
        let mut stop = stop_rx.clone();
        if config.api_tokens.is_open() && tls.is_none() {
            tracing::warn!(http = %config.http_addr, "the REST API is open: anyone who reaches this address may use it (set api_token_file)");
        }
        let api = crate::api::Api::new(
            handle.clone(),
            leader.clone(),
            config.api_tokens.clone(),
            config.variables_key.clone(),
        );
        let app = crate::http::router(
            crate::http::NodeHandles {
                node: handle.clone(),
                leader: leader.clone(),
                metrics: metrics.clone(),
                tls: tls.is_some(),
            },
            api,
            config.api_loopback_only,
        );
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        match &tls {
            Some(tls) => {
                let listener =
                    kairos_tls::http::TlsListener::new(http_listener, tls).map_err(|error| {
                        ServerError::Listen {
                            addr: config.http_addr.clone(),
                            error,
                        }
                    })?;
                let app = app.layer(axum::middleware::from_fn(crate::tls::rest_callers));
                tokio::spawn(kairos_tls::http::serve(listener, app, shutdown))
            }
            None => tokio::spawn(async move {
                axum::serve(http_listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            }),
        }
    };

    if !node.has_raft_state() {
        tokio::spawn(bootstrap(
            node.clone(),
            me.clone(),
            config.node_id,
            config.peers.clone(),
        ));
    }

    // A node whose Raft core died (a bug, or a storage error) must not linger as a
    // server that answers but never leads or follows: it exits with an error.
    let mut raft_metrics = node.raft.metrics();
    let raft_died = async move { while raft_metrics.changed().await.is_ok() {} };
    let died = tokio::select! {
        _ = wait_for_signal() => false,
        _ = raft_died => true,
    };
    if died {
        tracing::error!("Raft stopped on its own; exiting");
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), grpc).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), http).await;
        return Err(ServerError::RaftStopped);
    }
    tracing::info!("stopping: Raft first, then the listeners");
    let _ = stop_tx.send(true);
    node.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), grpc).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), http).await;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// A fresh cluster starts once: the lowest id among the peers initializes it, with
/// every peer as a voter. A node that has Raft state never gets here, so a restart
/// never re-initializes; a node started without peers waits to be added.
async fn bootstrap(node: RaftNode, me: KairosNode, id: u64, peers: BTreeMap<u64, String>) {
    let Some((&lowest, _)) = peers.iter().next() else {
        tracing::info!("no --peers given: waiting to be added with `kairos cluster add-node`");
        return;
    };
    if lowest != id || !peers.contains_key(&id) {
        tracing::info!("waiting for node {lowest} to initialize the cluster");
        return;
    }
    let members: BTreeMap<u64, KairosNode> = peers
        .iter()
        .map(|(peer, addr)| {
            let node = if *peer == id {
                me.clone()
            } else {
                KairosNode {
                    grpc_addr: addr.clone(),
                    http_addr: String::new(),
                }
            };
            (*peer, node)
        })
        .collect();
    match node.raft.initialize(members).await {
        Ok(()) => tracing::info!(members = peers.len(), "initialized a new cluster"),
        Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {
            tracing::info!("the cluster was already initialized")
        }
        Err(e) => tracing::error!("could not initialize the cluster: {e}"),
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers, run until killed.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}

/// Accepted connections as the stream tonic serves.
fn tokio_stream_from(
    listener: TcpListener,
) -> impl futures::Stream<Item = Result<tokio::net::TcpStream, std::io::Error>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| {
            let _ = stream.set_nodelay(true);
            stream
        });
        Some((accepted, listener))
    })
}
