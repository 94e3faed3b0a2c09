//! The REST API against three real servers: reads on a follower, a write on a
//! follower forwarded to the leader, roles (401/403), problem details, and the
//! OpenAPI document.
//!
//! One test binary, one test: `walkthrough.rs` starts the cluster and goes
//! through the API step by step, `runs_filters_and_cluster.rs` holds the
//! steps it hands off to, and `http.rs` the client both call it with.

mod http;
mod runs_filters_and_cluster;
mod walkthrough;
