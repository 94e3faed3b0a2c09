//! The gRPC services a node serves besides Raft's own (`kairos_raft::service`):
//! `cluster`, the remote form of [`crate::node::Node`], and `worker`, the worker
//! protocol. Each is an adapter: it decodes, calls the node or the leader's state,
//! and encodes.

pub mod authz;
pub mod cluster;
pub mod worker;
pub mod worker_auth;
