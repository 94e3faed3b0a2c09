//! The byte layout of every key the state machine writes: this module is its one
//! owner. Nothing else builds or takes keys apart by hand.
//!
//! | family (`Cf`) | key | value |
//! |---|---|---|
//! | `dags` | DAG id | [`crate::records::DagRecord`] |
//! | `dag_versions` | DAG · version (u32 BE) | [`crate::records::VersionRecord`] |
//! | `version_files` | `sha256:<hex>` | the file's text, shared between versions |
//! | `dag_runs` | DAG · run | [`crate::records::DagRunRecord`] |
//! | `task_instances` | DAG · run · task · map index | [`crate::records::TaskInstanceRecord`] |
//! | `xcoms` | DAG · run · task · map index · key | [`crate::records::XComRecord`] |
//! | `pools` | pool name | [`crate::records::PoolRecord`] |
//! | `backfills` | backfill id | [`crate::records::BackfillRecord`] |
//! | `meta` | see [`meta`] | settings, Variables, applied index, the Raft glue's records |
//! | `indexes` | see [`index`] | derived state for the scheduler's hot questions, and try history |
//!
//! Parts are separated by a NUL byte, which no id can contain (ids are checked when
//! they are created, [`crate::ids`]); numbers are big-endian and signed numbers and
//! times have their sign bit flipped, so that RocksDB's byte order is the order the
//! queries want and every list a query asks for is one prefix scan.

pub mod assets;
mod bytes;
mod family;
pub mod index;
pub mod meta;
mod primary;

pub use bytes::{time_bytes, time_from_bytes};
pub use family::Cf;
pub use primary::*;
