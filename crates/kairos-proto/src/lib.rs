//! The gRPC protocol of Kairos, generated from `proto/` at build time.
//!
//! `kairos.v1.Raft` carries Raft between servers; `kairos.v1.Cluster` is the client
//! side of a server (propose, query, status, membership). The worker protocol joins
//! them with the scheduler. [`convert`] turns its messages into the model's types.

#![allow(clippy::all)]

pub mod v1 {
    tonic::include_proto!("kairos.v1");
}

pub mod convert;

/// Metadata of the worker protocol, beside the messages.
pub mod metadata {
    /// On an UNAVAILABLE answer of a node that does not lead: the leader's address.
    pub const LEADER: &str = "kairos-leader";
    /// On a worker's call: the address of the leader its last call could not reach.
    /// A follower that still names that leader holds the call until it knows of
    /// another (see `kairos-server`'s `grpc::worker::leader_wait`).
    pub const UNREACHABLE: &str = "kairos-unreachable";
}
