//! The subcommands, one file (or folder) each, named by the subcommand and holding
//! its clap arguments beside its code; `main.rs` dispatches to them. Beside them:
//! `connect` (the flags every remote command takes, running it with a
//! `kairos_client::Client`), `output` (`--output`) and `args` (parsing dates and
//! `--conf`).

pub(crate) mod args;
pub mod assets;
pub mod bundles;
pub mod certs;
pub mod cluster;
pub(crate) mod connect;
pub mod connections;
pub mod dags;
pub mod db;
pub mod dev;
pub mod health;
pub(crate) mod output;
pub mod pools;
pub mod runs;
pub mod serve;
pub mod snapshot;
pub mod tasks;
pub mod variables;
pub mod worker;
