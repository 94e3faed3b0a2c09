//! The `kairos server` process: configuration, bootstrap, the gRPC services (Raft,
//! `kairos.v1.Cluster` and `kairos.v1.Worker`), the leader's scheduler loop, the
//! HTTP endpoints, and a client of the cluster.

pub mod api;
pub mod client;
pub mod cluster_service;
pub mod config;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod secrets;
pub mod server;
pub mod worker_auth;
pub mod worker_service;

pub use client::{ClientError, ClusterClient, Proposed};
pub use config::{ConfigLayer, ServerConfig};
