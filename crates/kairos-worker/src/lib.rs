//! The Kairos worker agent (`kairos worker`): it pulls task attempts from the
//! cluster's leader over gRPC, runs each as a process in its own process group,
//! spools every result to disk before reporting it, and serves attempt logs over
//! HTTP. It knows only the worker protocol (`kairos-proto`) and the DAG model
//! (`kairos-dag`, for operators and templates), nothing of Raft or the store.

pub mod agent;
pub mod attempt_log;
pub mod bundle;
pub mod config;
pub mod conn;
pub mod context;
pub mod env;
pub mod environments;
pub mod files;
pub mod group_guard;
pub mod layered_env;
pub mod logs;
pub mod mask;
pub mod modes;
pub mod operators;
pub mod output;
pub mod private_file;
pub mod process;
pub mod run_as;
pub mod scratch;
pub mod sdk;
pub mod spool;
pub mod tls;

pub use agent::{WorkerError, run};
pub use config::{WorkerConfig, WorkerLayer};
