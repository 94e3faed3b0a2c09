//! Retention: deleting old runs by replicated `PurgeRuns` commands, each bounded
//! (apply stays short), sent again while the last one says more remain. Used by
//! `POST /cluster/purge` (`kairos db clean`) and by the leader when the servers
//! keep a policy (`--retention-days`, `--retention-keep-last`): the cutoff is
//! the proposer's clock minus the age kept, carried in the command. Deleting a
//! whole DAG (`DELETE /dags/{dag_id}`) goes the same way, by `DeleteDag`.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kairos_state::{Command, Outcome};

/// Runs deleted per command: one entry's apply stays in the tens of
/// milliseconds, so scheduling goes on between them.
pub const RUNS_PER_COMMAND: u32 = 200;

/// How often the leader applies a retention policy.
pub const EVERY: Duration = Duration::from_secs(60);

/// A standing retention policy: runs that ended longer ago than `max_age` go,
/// but each DAG keeps its newest `keep_last`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Policy {
    pub max_age: Option<Duration>,
    pub keep_last: Option<u32>,
}

impl Policy {
    pub fn is_set(&self) -> bool {
        self.max_age.is_some() || self.keep_last.is_some()
    }

    /// The cutoff of this policy now.
    pub fn before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.max_age
            .and_then(|age| chrono::Duration::from_std(age).ok())
            .and_then(|age| now.checked_sub_signed(age))
    }
}

/// What a purge deleted, over all its commands, and whether runs it would
/// delete remain (it stopped at its time budget).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub runs: u64,
    pub task_instances: u64,
    pub xcoms: u64,
    pub commands: u64,
    pub more: bool,
}

/// Sends `PurgeRuns` through `propose` until one says nothing more remains, or
/// until `budget` has passed (then `more` is set: call again). `propose`
/// answers a command's outcome, or its refusal or failure as `E`.
pub async fn purge<E, F, Fut>(
    mut propose: F,
    dag_id: Option<String>,
    before: Option<DateTime<Utc>>,
    keep_last: Option<u32>,
    budget: Option<Duration>,
) -> Result<Purged, E>
where
    F: FnMut(Command) -> Fut,
    Fut: Future<Output = Result<Outcome, E>>,
{
    let started = std::time::Instant::now();
    let mut purged = Purged::default();
    let mut from_dag = None;
    loop {
        let outcome = propose(Command::PurgeRuns {
            dag_id: dag_id.clone(),
            before,
            keep_last,
            limit: RUNS_PER_COMMAND,
            from_dag: from_dag.take(),
        })
        .await?;
        purged.commands += 1;
        let Outcome::RunsPurged {
            runs,
            task_instances,
            xcoms,
            more,
            resume_at,
        } = outcome
        else {
            return Ok(purged);
        };
        purged.runs += runs as u64;
        purged.task_instances += task_instances as u64;
        purged.xcoms += xcoms as u64;
        purged.more = more;
        from_dag = resume_at;
        if !more || budget.is_some_and(|b| started.elapsed() >= b) {
            return Ok(purged);
        }
    }
}

/// What deleting a DAG deleted, over all its commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DagDeleted {
    pub runs: u64,
    pub task_instances: u64,
    pub xcoms: u64,
    pub versions: u64,
    pub commands: u64,
}

/// Sends `DeleteDag` through `propose` until the DAG is gone: the first command
/// is refused if a task instance of the DAG runs (and then nothing changed);
/// it pauses the DAG, so the next ones need not ask.
pub async fn delete_dag<E, F, Fut>(mut propose: F, dag_id: &str) -> Result<DagDeleted, E>
where
    F: FnMut(Command) -> Fut,
    Fut: Future<Output = Result<Outcome, E>>,
{
    let mut deleted = DagDeleted::default();
    loop {
        let outcome = propose(Command::DeleteDag {
            dag_id: dag_id.to_string(),
            limit: RUNS_PER_COMMAND,
            unless_running: deleted.commands == 0,
        })
        .await?;
        deleted.commands += 1;
        let Outcome::DagDeleted {
            runs,
            task_instances,
            xcoms,
            versions,
            more,
            ..
        } = outcome
        else {
            return Ok(deleted);
        };
        deleted.runs += runs as u64;
        deleted.task_instances += task_instances as u64;
        deleted.xcoms += xcoms as u64;
        deleted.versions += versions as u64;
        if !more {
            return Ok(deleted);
        }
    }
}
