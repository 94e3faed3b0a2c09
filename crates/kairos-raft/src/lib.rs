//! Raft for Kairos: openraft over RocksDB, with its RPCs over gRPC.
//!
//! - [`codec`]: how entries and messages are written (a format byte, then
//!   MessagePack, compressed when large; JSON still read);
//! - [`identity`]: which node and cluster a data dir belongs to, checked at start
//!   and on every Raft call;
//! - [`log_store`]: the log and vote, fsynced before they are acknowledged;
//! - [`state_machine`]: openraft's view of `kairos_state::Store`, and snapshots;
//! - [`snapshot_files`]: the newest snapshot kept as files, streamed, never whole in memory;
//! - [`network`] and [`service`]: Raft's RPCs, client and server side, with
//!   [`snapshot_gate`] checking a snapshot's chunks before they are written
//!   and [`snapshot_wire`] sending their data as one byte string;
//! - [`proposer`]: group commit of concurrent proposals into one entry;
//! - [`node`]: all of it started together;
//! - [`restore`]: a new data dir from a backup snapshot, a cluster of one;
//! - [`observer`]: what a node tells its metrics.
//!
//! This crate knows Kairos's state only as "batches of commands in, results out";
//! what a command means is `kairos-state`'s business.

pub mod codec;
pub mod identity;
pub mod log_store;
pub mod network;
pub mod node;
pub mod observer;
pub mod proposer;
pub mod restore;
pub mod riders;
pub mod service;
pub mod snapshot_files;
pub mod snapshot_gate;
pub mod snapshot_wire;
pub mod state_machine;
pub mod types;

pub use node::{RaftNode, RaftSettings, StartError};
pub use observer::{NoObserver, NodeObserver};
pub use proposer::{Committed, ProposeError, Proposer};
pub use riders::{Answer, Ride, Ticket};
pub use types::{KairosNode, NodeId, Raft, RaftMetrics, TypeConfig};
