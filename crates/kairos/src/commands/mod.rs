//! The subcommands, one file (or folder) each, named by the subcommand and holding
//! its clap arguments beside its code; `main.rs` dispatches to them. Beside them:
//! `connect` (the flags every remote command takes, running it with a
//! `kairos_client::Client`), `output` (`--output`) and `args` (parsing dates and
//! `--conf`).

pub(crate) mod args;
pub mod cluster;
pub(crate) mod connect;
pub mod dags;
pub mod dev;
pub(crate) mod dev_bridge;
pub(crate) mod output;
pub mod pools;
pub mod runs;
pub mod serve;
pub mod tasks;
pub mod variables;
pub mod worker;

// `dev.rs`, rewritten on another branch, still reaches the REST client and the
// upload helpers by their old paths; these keep them until it names
// `kairos_client` and `dags::upload` (see dev_bridge.rs).
pub(crate) use dags::upload as remote;
pub(crate) use dev_bridge as api_client;
