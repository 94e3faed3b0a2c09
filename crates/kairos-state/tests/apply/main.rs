//! What each command does, and what it refuses.
//!
//! One test binary (each links RocksDB), one module per kind of command; the
//! helpers they share are in `support.rs` and the state crate's `common`.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod attempts;
mod backfill_limit;
mod cluster_id;
mod entries;
mod leaders;
mod pools_and_variables;
mod run_lists;
mod versions;
