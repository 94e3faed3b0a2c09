//! The Kairos state machine: every piece of scheduler state, in one deterministic
//! machine over RocksDB, with no network and no clock.
//!
//! Raft (in `kairos-raft`) orders [`command::Batch`]es into a log; this crate applies
//! them ([`Store::apply`]), answers reads ([`query`]), and moves the whole state in
//! and out as snapshots ([`Store::export_snapshot`], [`Store::install_snapshot`]).
//! It knows nothing of Raft beyond "an entry has an index and some opaque records to
//! keep with it", and nothing of the network.

pub mod apply;
pub mod command;
pub mod engine;
mod ids;
pub mod keys;
mod migrate;
mod plan;
pub mod query;
pub mod records;
mod scan_hint;
pub mod snapshot;
pub mod stats;
pub mod store;
mod txn;

pub use apply::EntryToApply;
pub use command::{
    Batch, Command, CommandResult, Outcome, Rejection, RejectionKind, TaskInstanceKey, WorkerFit,
};
pub use query::Query;
pub use store::{Store, StoreError};
