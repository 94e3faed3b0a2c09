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
