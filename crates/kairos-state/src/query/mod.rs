//! Reads served from the local store: everything the API needs.
//!
//! Lists are paged (`after` the last key seen, at most `limit` items), so a query
//! never loads an unbounded list into memory. `wire` is a read's wire form and the
//! answer types, `answer` the JSON dispatcher for other processes; the reads
//! themselves are typed methods of `Store`, one file per resource.

mod admin;
mod answer;
mod assets;
mod bundles;
mod dags;
mod filtered;
mod runs;
mod task_instances;
mod wire;

pub use wire::{
    BundleVersionSummary, DEFAULT_PAGE, DagFilter, MAX_PAGE, Query, QueueDepths, RunOrder,
    VersionSummary,
};
