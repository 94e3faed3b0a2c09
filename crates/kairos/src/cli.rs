//! The command line's top level, as clap types: `Cli` and its `Command`s. Each
//! subcommand's own arguments live beside its code in `commands/`. Verbs follow
//! Airflow's CLI where one exists.

use clap::{Parser, Subcommand};

use crate::commands::assets::AssetsArgs;
use crate::commands::bundles::BundlesArgs;
use crate::commands::certs::CertsArgs;
use crate::commands::cluster::ClusterArgs;
use crate::commands::connections::ConnectionsArgs;
use crate::commands::dags::DagsArgs;
use crate::commands::db::DbArgs;
use crate::commands::dev::DevArgs;
use crate::commands::health::HealthArgs;
use crate::commands::pools::PoolsArgs;
use crate::commands::runs::RunsArgs;
use crate::commands::snapshot::SnapshotArgs;
use crate::commands::tasks::TasksArgs;
use crate::commands::variables::VariablesArgs;

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
    /// Bundles: versioned folders of DAG files and code (`dags push FOLDER` makes one).
    #[command(subcommand_required = true)]
    Bundles(BundlesArgs),
    /// Assets (Airflow 2's datasets): the known ones, their events, an event by hand.
    #[command(subcommand_required = true)]
    Assets(AssetsArgs),
    /// Pools: named slot limits for task instances.
    #[command(subcommand_required = true)]
    Pools(PoolsArgs),
    /// Make the cluster's CA and the certificates of its servers, workers and
    /// clients (every port speaks mutual TLS).
    #[command(subcommand_required = true)]
    Certs(CertsArgs),
    /// Connections: where task code reaches outside systems (`BaseHook.get_connection`).
    Connections(ConnectionsArgs),
    /// Variables: values tasks read with `var.value.KEY` (admin only).
    #[command(subcommand_required = true)]
    Variables(VariablesArgs),
    /// The cluster's history: `db clean` deletes old runs (retention).
    #[command(subcommand_required = true)]
    Db(DbArgs),
    /// Back up a node's state to a file, and restore a new node from one.
    #[command(subcommand_required = true)]
    Snapshot(SnapshotArgs),
    /// Exit 0 when a node's or worker's `/health` answers (for container and
    /// service health checks).
    Health(HealthArgs),
}
