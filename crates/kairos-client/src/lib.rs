//! A typed client of the Kairos REST API (`/api/v1`), as Nomad's `api` package is
//! Nomad's: the CLI, the chaos suite and the benchmark reach the cluster through
//! it, and its answers are `kairos-api`'s wire types, the very types the server
//! serializes, so client and server cannot disagree on a field.
//!
//! A [`Client`] knows one node or several: a node that cannot be reached is
//! skipped for the next, so a caller keeps working while any of them is up
//! ([`Failover`] says what else moves a call on). Lists are followed page by page.
//! Errors say what happened: no node answered, a node answered with a problem
//! (its status and detail), or the answer was not what the API documents.
//!
//! Query strings are written from `kairos-api`'s query types too (`query`), so
//! a parameter's name is the server's.

mod assets;
mod backfills;
mod bundles;
mod cluster;
mod connections;
mod dag_files;
mod dags;
mod error;
mod logs;
mod paging;
mod path;
mod pools;
mod query;
mod runs;
mod task_instances;
mod transport;
mod variables;
mod versions;

pub use error::Error;
pub use kairos_api as api;
pub use logs::LogChunk;
pub use paging::Paged;
pub use path::encode;
pub use reqwest::Method;
pub use runs::RunsQuery;
pub use transport::{Builder, Client, Failover, Read};
