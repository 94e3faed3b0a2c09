//! The `kairos server` process: configuration, bootstrap, the gRPC services (Raft
//! and `kairos.v1.Cluster`), the HTTP endpoints, and a client of the cluster.

pub mod client;
pub mod cluster_service;
pub mod config;
pub mod http;
pub mod local_cluster;
pub mod server;

pub use client::{ClientError, ClusterClient, Proposed};
pub use config::{ConfigLayer, ServerConfig};
