//! The `kairos server` process: configuration, bootstrap, the one in-process way
//! into a node (`node`), the gRPC services (Raft, `kairos.v1.Cluster` and
//! `kairos.v1.Worker`, in `grpc`), the leader's scheduler loop, the HTTP endpoints
//! (REST API, health, metrics), and a client of a cluster for other processes.

pub mod api;
pub mod attempt_log_sweep;
pub mod attempt_logs;
pub mod client;
pub mod cluster_identity;
pub mod config;
pub mod connection_secret;
pub mod explain;
pub mod grpc;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod node;
pub mod retention;
pub mod secrets;
pub mod server;
pub mod tls;
pub mod tokens;
pub mod trigger;
pub mod ui;
pub mod workers_view;

pub use client::{ClientError, ClusterClient, Proposed};
pub use config::{ConfigLayer, ServerConfig};
pub use kairos_raft::KairosNode;
/// A node's data dir from a backup snapshot (`kairos snapshot restore`).
pub use kairos_raft::restore;
