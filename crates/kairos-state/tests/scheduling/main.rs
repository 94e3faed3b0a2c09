//! The scheduling semantics, deterministically: a controlled clock (the entry
//! stamps), real commands, and the state read back after each step.
//!
//! One test binary (each links RocksDB), one module per area it checks; the
//! helpers they share are in `support.rs` and the state crate's `common`.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod apply_stats;
mod assets;
mod dag_callbacks;
mod dag_deletion;
mod handoff;
mod index_fronts;
mod mapping;
mod pools_and_limits;
mod readiness;
mod retention;
mod retries_and_timers;
mod runs;
