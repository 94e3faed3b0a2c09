//! The command line's top level, as clap types: `Cli` and its `Command`s. Each
//! remote or file subcommand's own arguments live beside its code in `commands/`;
//! the server's, the worker's and `dev`'s are still here. Verbs follow Airflow's
//! CLI where one exists.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::cluster::ClusterArgs;
use crate::commands::dags::DagsArgs;
use crate::commands::pools::PoolsArgs;
use crate::commands::runs::RunsArgs;
use crate::commands::tasks::TasksArgs;
use crate::commands::variables::VariablesArgs;

#[derive(Parser, Debug)]
#[command(
    name = "kairos",
    version,
    about = "Kairos: an Airflow-style workflow scheduler on a Raft-replicated store"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Work with DAG files.
    #[command(subcommand_required = true)]
    Dags(DagsArgs),
    /// Run one server node of a cluster.
    Server(ServerArgs),
    /// Run a worker agent: pull tasks from the cluster and run them.
    Worker(WorkerArgs),
    /// One process, no setup: a one-node cluster, the API on 127.0.0.1:8080 and a
    /// worker, pushing every change of the DAG folder as a new version.
    Dev(DevArgs),
    /// Runs of a DAG.
    #[command(subcommand_required = true)]
    Runs(RunsArgs),
    /// Task instances of a run: states, logs.
    #[command(subcommand_required = true)]
    Tasks(TasksArgs),
    /// Inspect and change the cluster's membership.
    #[command(subcommand_required = true)]
    Cluster(ClusterArgs),
    /// Pools: named slot limits for task instances.
    #[command(subcommand_required = true)]
    Pools(PoolsArgs),
    /// Variables: values tasks read with `var.value.KEY` (admin only).
    #[command(subcommand_required = true)]
    Variables(VariablesArgs),
}

/// Flags win over `KAIROS_*` variables, which win over the config file.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// This node's id (1, 2, 3, ...). [env: KAIROS_NODE_ID]
    #[arg(long)]
    pub node_id: Option<u64>,
    /// Where this node keeps its Raft log, state and snapshots. [env: KAIROS_DATA_DIR]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address for Raft and client gRPC (default 127.0.0.1:7071). [env: KAIROS_GRPC_ADDR]
    #[arg(long)]
    pub grpc_addr: Option<String>,
    /// Address for HTTP: /health, /cluster (default 127.0.0.1:8081). [env: KAIROS_HTTP_ADDR]
    #[arg(long)]
    pub http_addr: Option<String>,
    /// Every initial member, `1=HOST:PORT,2=HOST:PORT,...` (gRPC addresses). The lowest
    /// id initializes a new cluster once. [env: KAIROS_PEERS]
    #[arg(long)]
    pub peers: Option<String>,
    /// A TOML file with a `[server]` table of the same settings.
    #[arg(long, default_value = "kairos.toml")]
    pub config: PathBuf,
    /// Raft heartbeat interval in milliseconds (default 50). [env: KAIROS_HEARTBEAT_MS]
    #[arg(long)]
    pub heartbeat_ms: Option<u64>,
    /// Election timeout range, `MIN-MAX` milliseconds (default 200-400).
    /// [env: KAIROS_ELECTION_TIMEOUT_MS]
    #[arg(long)]
    pub election_timeout_ms: Option<String>,
    /// Build a snapshot every this many log entries (default 5000). [env: KAIROS_SNAPSHOT_EVERY]
    #[arg(long)]
    pub snapshot_every: Option<u64>,
    /// Log entries kept behind a snapshot for lagging followers (default 1000).
    /// [env: KAIROS_KEEP_BEHIND_SNAPSHOT]
    #[arg(long)]
    pub keep_behind_snapshot: Option<u64>,
    /// Milliseconds a silent worker keeps its attempts before they fail and retry
    /// (default 30000). [env: KAIROS_WORKER_LEASE_MS]
    #[arg(long)]
    pub worker_lease_ms: Option<u64>,
    /// How often workers heartbeat, in milliseconds (default 3000; at most half the
    /// lease). [env: KAIROS_WORKER_HEARTBEAT_MS]
    #[arg(long)]
    pub worker_heartbeat_ms: Option<u64>,
    /// A file of worker tokens, one per line; workers must present one. Without it
    /// any worker may connect. [env: KAIROS_WORKER_TOKEN_FILE]
    #[arg(long)]
    pub worker_token_file: Option<PathBuf>,
    /// PEM certificate chain for the gRPC port; with --tls-key it serves TLS.
    /// [env: KAIROS_TLS_CERT]
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert. [env: KAIROS_TLS_KEY]
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates trusted when calling other nodes (required with TLS).
    /// [env: KAIROS_TLS_CA]
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// REST API tokens, `ROLE TOKEN` per line (viewer, operator, admin); without
    /// it the API is open. [env: KAIROS_API_TOKEN_FILE]
    #[arg(long)]
    pub api_token_file: Option<PathBuf>,
    /// A file with the 64-hex-digit key Variables are encrypted with at rest
    /// (`openssl rand -hex 32`). [env: KAIROS_VARIABLES_KEY_FILE]
    #[arg(long)]
    pub variables_key_file: Option<PathBuf>,
    /// `2=HOST:PORT,...`: reach these peers here instead of at their member
    /// addresses (a proxy or NAT on the way; the chaos suite uses it). [env: KAIROS_PEER_ROUTES]
    #[arg(long)]
    pub peer_routes: Option<String>,
}

/// Flags win over `KAIROS_*` variables, which win over the `[worker]` table of the
/// config file.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// gRPC addresses of any cluster members, comma separated (default
    /// 127.0.0.1:7071). [env: KAIROS_SERVERS]
    #[arg(long)]
    pub servers: Option<String>,
    /// Queues to take tasks from, comma separated (default `default`). [env: KAIROS_QUEUES]
    #[arg(long)]
    pub queues: Option<String>,
    /// Attempts run at once (default 8). [env: KAIROS_SLOTS]
    #[arg(long)]
    pub slots: Option<u32>,
    /// An execution environment, `NAME=PATH_TO_PYTHON`; repeat for more. A DAG's
    /// Python tasks run in the environment named like its bundle, else `python3`.
    /// [env: KAIROS_ENVS, comma separated]
    #[arg(long = "env")]
    pub envs: Vec<String>,
    /// A file whose first line is the worker token the servers know. [env: KAIROS_TOKEN_FILE]
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Stable across restarts (default: host name and a hash of --data-dir).
    /// [env: KAIROS_WORKER_ID]
    #[arg(long)]
    pub worker_id: Option<String>,
    /// Logs, spooled results and cached files (default ./.kairos-worker).
    /// [env: KAIROS_WORKER_DIR]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where attempt logs are served over HTTP (default 127.0.0.1:8793; port 0 picks
    /// one). [env: KAIROS_WORKER_HTTP_ADDR]
    #[arg(long)]
    pub http_addr: Option<String>,
    /// The HOST:PORT the cluster should use for the log server, when not --http-addr.
    /// [env: KAIROS_WORKER_ADVERTISE_HTTP]
    #[arg(long)]
    pub advertise_http: Option<String>,
    /// Seconds between SIGTERM and SIGKILL when an attempt is stopped (default 10).
    /// [env: KAIROS_KILL_GRACE_SECS]
    #[arg(long)]
    pub kill_grace_secs: Option<u64>,
    /// PEM CA certificates to verify the servers with; connects with TLS when set.
    /// [env: KAIROS_TLS_CA]
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// Append each attempt's start and end to this file as JSON lines: the
    /// worker's own record, independent of the cluster's. [env: KAIROS_ATTEMPT_LOG]
    #[arg(long)]
    pub attempt_log: Option<PathBuf>,
    /// A TOML file with a `[worker]` table of the same settings.
    #[arg(long, default_value = "kairos.toml")]
    pub config: PathBuf,
}

#[derive(Args, Debug)]
pub struct DevArgs {
    /// The folder of DAG files to watch.
    #[arg(long, default_value = "dags")]
    pub dags: PathBuf,
    /// Where the node and the worker keep their data.
    #[arg(long, default_value = ".kairos")]
    pub data_dir: PathBuf,
    /// The REST API's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http_addr: String,
    /// The node's gRPC address (the worker connects here).
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub grpc_addr: String,
    /// Attempts the local worker runs at once.
    #[arg(long, default_value_t = 4)]
    pub slots: u32,
}
