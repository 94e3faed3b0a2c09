//! `kairos dags ...`: the verbs on DAG files (validate, show, test: local) and on
//! the cluster's DAGs (push, list, trigger, pause, unpause, versions, diff,
//! backfill, delete: over the REST API). One file per verb, its arguments beside it;
//! `upload` is the reading and uploading of DAG files that `push` and `test`
//! share. The dispatch is in `main.rs`.

use clap::{Args, Subcommand};

use super::connect::Remote;
use backfill::BackfillArgs;
use diff::DiffArgs;
use list::ListArgs;
use push::PushArgs;
use show::ShowArgs;
use test::DagTestArgs;
use trigger::TriggerArgs;
use validate::ValidateArgs;

pub mod backfill;
pub(crate) mod bundle;
pub mod delete;
pub mod diff;
pub mod list;
pub mod pause;
pub mod push;
pub(crate) mod python_files;
pub mod show;
pub mod test;
pub mod trigger;
pub(crate) mod upload;
pub mod validate;
pub mod versions;

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
    /// Delete a DAG with its runs, task instances, XComs and versions (refused
    /// while a task of it runs); pushing it again starts it anew.
    Delete(delete::DeleteArgs),
    /// Create the runs of a date range at once (Airflow 3's `backfill create`) and
    /// follow them until they finish.
    Backfill(BackfillArgs),
    /// Run one DAG run here, in-process, without a cluster (like `airflow dags
    /// test`): a throwaway one-node cluster and worker, the tasks' logs printed as
    /// they finish; exits 1 unless the run succeeds.
    Test(DagTestArgs),
}

/// The arguments of the verbs that name one DAG (pause, unpause, versions).
#[derive(Args, Debug)]
pub struct DagArgs {
    pub dag_id: String,
    #[command(flatten)]
    pub remote: Remote,
}
