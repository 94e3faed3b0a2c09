//! The command line, as clap types. Verbs follow Airflow's CLI where one exists.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::serve::ServerArgs;
use crate::commands::worker::WorkerArgs;

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

#[derive(Args, Debug)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub remote: Remote,
    #[command(subcommand)]
    pub command: ClusterCommand,
}

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Each member's id, address, role, term, last log index, last applied, and the leader.
    Status,
    /// Initialize a new cluster through --server, with these voters
    /// (`ID=HOST:PORT,...`; that server alone when empty). Not needed when servers
    /// were started with --peers.
    Init {
        #[arg(long, default_value = "")]
        members: String,
    },
    /// Add a node: first as a learner, then as a voter once it has caught up.
    AddNode {
        #[arg(long)]
        node_id: u64,
        /// The new node's gRPC address.
        #[arg(long)]
        grpc_addr: String,
        /// The new node's HTTP address.
        #[arg(long, default_value = "")]
        http_addr: String,
    },
    /// Remove a node from the cluster.
    RemoveNode {
        #[arg(long)]
        node_id: u64,
    },
}

#[derive(Args, Debug)]
pub struct DagsArgs {
    #[command(subcommand)]
    pub command: DagsCommand,
}

#[derive(Subcommand, Debug)]
pub enum DagsCommand {
    /// Check DAG files (or folders of them) and print every problem; exits 1 on any error.
    Validate(ValidateArgs),
    /// Print the DAGs of a file: tasks, edges, schedule and the next data intervals.
    Show(ShowArgs),
    /// Validate DAG files locally, then upload each with the files it references;
    /// an unchanged DAG makes no new version.
    Push(PushArgs),
    /// The cluster's DAGs.
    List(ListArgs),
    /// Trigger a manual run.
    Trigger(TriggerArgs),
    /// Pause a DAG: no new runs, no new tasks.
    Pause(DagArgs),
    /// Every version of a DAG.
    Versions(DagArgs),
    /// What changed between two versions of a DAG.
    Diff(DiffArgs),
    /// Unpause a DAG.
    Unpause(DagArgs),
    /// Create the runs of a date range at once (Airflow 3's `backfill create`) and
    /// follow them until they finish.
    Backfill(BackfillArgs),
    /// Run one DAG run here, in-process, without a cluster (like `airflow dags
    /// test`): a throwaway one-node cluster and worker, the tasks' logs printed as
    /// they finish; exits 1 unless the run succeeds.
    Test(DagTestArgs),
}

#[derive(Args, Debug)]
pub struct BackfillArgs {
    pub dag_id: String,
    /// The first logical date (RFC 3339, or a date: 2026-01-01).
    #[arg(long)]
    pub start: String,
    /// The last logical date, inclusive.
    #[arg(long)]
    pub end: String,
    /// Dates that already have a run: leave them (`none`), or run the `failed` or
    /// all `completed` ones again.
    #[arg(long, default_value = "none")]
    pub reprocess_behavior: String,
    /// Runs of the backfill running at once.
    #[arg(long, default_value_t = 10)]
    pub max_active_runs: u32,
    /// The conf of every run, a JSON object.
    #[arg(long)]
    pub conf: Option<String>,
    /// Create the runs and return, without following them.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args, Debug)]
pub struct DagTestArgs {
    /// The DAG file.
    pub file: PathBuf,
    /// The DAG to run (may be left out when the file has one DAG).
    pub dag_id: Option<String>,
    /// The run's logical date (RFC 3339 or a date; default now).
    #[arg(long)]
    pub logical_date: Option<String>,
    /// The run's conf, a JSON object.
    #[arg(long)]
    pub conf: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// `text` for people, `json` for scripts.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Args, Debug)]
pub struct PoolsArgs {
    #[command(flatten)]
    pub remote: Remote,
    #[command(subcommand)]
    pub command: PoolsCommand,
}

#[derive(Subcommand, Debug)]
pub enum PoolsCommand {
    /// Every pool with its slots.
    List,
    /// One pool.
    Get { name: String },
    /// Create or change a pool (admin).
    Set {
        name: String,
        slots: u32,
        #[arg(long)]
        description: Option<String>,
        /// Count deferred task instances against the slots.
        #[arg(long)]
        include_deferred: bool,
    },
    /// Delete a pool (admin); `default_pool` stays.
    Delete { name: String },
}

#[derive(Args, Debug)]
pub struct VariablesArgs {
    #[command(flatten)]
    pub remote: Remote,
    #[command(subcommand)]
    pub command: VariablesCommand,
}

#[derive(Subcommand, Debug)]
pub enum VariablesCommand {
    /// Every Variable's key (values with --output json).
    List,
    /// One Variable's value.
    Get { key: String },
    /// Create or change a Variable (admin).
    Set {
        key: String,
        value: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a Variable (admin).
    Delete { key: String },
}

/// Where the REST API is and who is asking.
#[derive(Args, Debug, Clone)]
pub struct Remote {
    /// Any node's HTTP address (`HOST:PORT` or a URL); several, comma separated, are
    /// tried in turn. The default is `kairos dev`'s.
    #[arg(
        long,
        env = "KAIROS_SERVER",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// An API token (when the servers have api_token_file).
    #[arg(long, env = "KAIROS_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// `text` for people, `json` for scripts.
    #[arg(long, short, value_enum, default_value_t = Output::Text, global = true)]
    pub output: Output,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// DAG files, or folders searched for *.yml and *.yaml.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The bundle the DAGs belong to.
    #[arg(long)]
    pub bundle: Option<String>,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args, Debug)]
pub struct DagArgs {
    pub dag_id: String,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    pub dag_id: String,
    pub from: u32,
    pub to: u32,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args, Debug)]
pub struct TriggerArgs {
    pub dag_id: String,
    /// The run's conf, a JSON object.
    #[arg(long)]
    pub conf: Option<String>,
    /// The run's logical date (RFC 3339).
    #[arg(long)]
    pub logical_date: Option<String>,
    /// The run id (default `manual__<logical date or now>`).
    #[arg(long)]
    pub run_id: Option<String>,
    #[command(flatten)]
    pub remote: Remote,
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

#[derive(Args, Debug)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: RunsCommand,
}

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// A DAG's runs: id, type, state, version, logical date.
    List {
        dag_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// One run, with its conf and the version it is pinned to.
    Show {
        dag_id: String,
        run_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Mark a run success or failed, with its task instances, as Airflow does.
    Mark {
        dag_id: String,
        run_id: String,
        /// `success` or `failed`.
        state: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete a run with its task instances and XComs.
    Delete {
        dag_id: String,
        run_id: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Args, Debug)]
pub struct TasksArgs {
    #[command(subcommand)]
    pub command: TasksCommand,
}

#[derive(Subcommand, Debug)]
pub enum TasksCommand {
    /// The tasks of a DAG (its newest version, or --version), in dependency order.
    List {
        dag_id: String,
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Every task instance of a run with its state, try and worker.
    States {
        dag_id: String,
        run_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Clear task instances so they run again.
    Clear {
        dag_id: String,
        run_id: String,
        /// The tasks (all of the run's when none).
        task_ids: Vec<String>,
        #[arg(long)]
        downstream: bool,
        #[arg(long)]
        upstream: bool,
        #[arg(long)]
        only_failed: bool,
        /// Print what would be cleared, clear nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        remote: Remote,
    },
    /// Mark a task instance success, failed or skipped.
    Mark {
        dag_id: String,
        run_id: String,
        task_id: String,
        state: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Why a task instance is not running.
    Explain {
        dag_id: String,
        run_id: String,
        task_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// A task's log (the last try unless --try), from its worker or the replicated tail.
    Logs {
        dag_id: String,
        run_id: String,
        task_id: String,
        #[arg(long = "try")]
        try_number: Option<u32>,
        #[arg(long, default_value_t = -1)]
        map_index: i32,
        /// Keep printing as the log grows, until the task finishes.
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// DAG files, or folders searched for *.yml and *.yaml.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// `text` for people, `json` for scripts.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Treat warnings (Airflow options Kairos ignores) as errors.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A DAG file.
    pub file: PathBuf,
    /// Show only this DAG of the file.
    #[arg(long)]
    pub dag: Option<String>,
    /// `text` for people, `json` for scripts.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Compute intervals as if it were this time (RFC 3339), instead of now.
    #[arg(long)]
    pub now: Option<String>,
    /// How many upcoming data intervals to list.
    #[arg(long, default_value_t = 5)]
    pub intervals: usize,
}
