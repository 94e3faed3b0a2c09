//! The Kairos test harness: real clusters of `kairos server` processes on
//! 127.0.0.1 ([`cluster`]), a minimal worker that speaks the real worker protocol
//! ([`worker`]), ports that are never handed out twice ([`ports`]) and the DAGs the
//! tests and the benchmark push ([`dags`]), `kairos dev` as tests start it ([`dev`]), the CLI as tests run it ([`cli`]). No product crate depends on it except
//! under `[dev-dependencies]`; `bench/` and `chaos/` use it like tests do.

pub mod certs;
pub mod cli;
pub mod cluster;
pub mod dags;
pub mod dev;
pub mod ports;
pub mod worker;

pub use cluster::{CALM_TIMINGS, Cluster, ClusterError, Node};
pub use dags::{chain_yaml, chain_yaml_of, put_dag_command, put_dag_file_commands};
pub use dev::DevProcess;
pub use ports::{free_addr, free_port};
pub use worker::{AttemptRecord, LocalWorker};
