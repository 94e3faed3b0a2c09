//! The commands that change state, and what applying each one answers.
//!
//! A Raft entry carries one [`Batch`]: the leader's time stamp and the commands that
//! concurrent callers proposed, applied in order, each with its own
//! [`CommandResult`]. A refused command changes nothing and does not stop the ones
//! after it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kairos_dag::bundle_content::BundleContent;
use kairos_dag::lifecycle::{Actor, DagRunState, RunType, TaskInstanceState};
use kairos_dag::version::{FileContents, VersionContent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::records::{PoolRecord, ReprocessBehavior, Settings};

/// The payload of one Raft entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// The leader's clock when it built the entry. Apply never reads a clock: this is
    /// the only time it knows (raised to the previous entry's stamp when a new
    /// leader's clock is behind, so time never runs backwards).
    pub stamp: DateTime<Utc>,
    pub commands: Vec<Command>,
}

pub use kairos_dag::identity::TaskInstanceKey;

/// One change to the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Store a DAG version with the contents of its files. A new version is made only
    /// when the content hash differs from the DAG's newest version.
    PutDagVersion {
        content: VersionContent,
        /// Contents by hash; files the cluster already has may be left out.
        files: FileContents,
    },
    SetPaused {
        dag_id: String,
        is_paused: bool,
    },
    /// Store file contents by hash, ahead of the bundle version that names them (a
    /// bundle's files come in as many of these as their size takes).
    PutFiles {
        contents: FileContents,
    },
    /// Store a bundle version (its files already in the cluster) and the DAG
    /// versions of its DAG files, in one step. A new bundle version is made only
    /// when the content hash differs from the bundle's newest version; a bundle
    /// belongs to the team of its first push.
    PutBundleVersion {
        bundle: BundleContent,
        dags: Vec<VersionContent>,
    },
    /// Create a run pinned to a version (the newest when `version` is `None`), with
    /// one task instance per task, all without state.
    CreateDagRun {
        dag_id: String,
        run_id: String,
        run_type: RunType,
        version: Option<u32>,
        logical_date: Option<DateTime<Utc>>,
        data_interval_start: Option<DateTime<Utc>>,
        data_interval_end: Option<DateTime<Utc>>,
        /// Defaults to the entry's stamp.
        run_after: Option<DateTime<Utc>>,
        #[serde(default)]
        conf: BTreeMap<String, Value>,
        triggered_by: String,
    },
    /// Move a task instance to another state, checked with the model's transition
    /// rules for the actor that asks. Reports about an attempt (by a worker, or the
    /// leader expiring its lease) must carry that attempt's token.
    SetTaskState {
        ti: TaskInstanceKey,
        to: TaskInstanceState,
        actor: Actor,
        attempt: Option<String>,
        reason: Option<String>,
    },
    /// Store an XCom value from a running attempt (its token is checked).
    PushXCom {
        ti: TaskInstanceKey,
        key: String,
        value: Value,
        attempt: String,
    },
    /// Clear task instances of a run so that they run again (Airflow's `clear`):
    /// finished ones go back to no state, running ones to `restarting`, and a
    /// finished run goes back to queued.
    ClearTaskInstances {
        dag_id: String,
        run_id: String,
        task_ids: Vec<String>,
    },
    /// Hand a queued task instance to a worker: queued -> running, with a new attempt
    /// token. Proposed by the leader when a worker asks for work, so that a failover
    /// never forgets who runs what.
    Dispatch {
        ti: TaskInstanceKey,
        worker: String,
        /// Where that worker serves attempt logs (`http://HOST:PORT`), kept on the
        /// task instance so any node's API can proxy the log.
        #[serde(default)]
        log_url: Option<String>,
        /// The new attempt's fencing token: 128 random bits (32 hex digits) drawn by
        /// the leader that builds the command, so that nobody can guess it; apply
        /// only stores it. Entries written before tokens were random carry none and
        /// get the old token made from the entry's position.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Hand the worker that just reported `after` the direct downstream that its
    /// report queued, in the same entry as the report: one commit from a task's end
    /// to the next one's start instead of two (the report's, then a poll's
    /// `Dispatch`). Each queued instance of a downstream task that `fit` allows
    /// and that heads its queue (no higher-priority instance waits there, so a
    /// hand-off never jumps the queue) starts an attempt with the next token, as
    /// `Dispatch` would; the others wait for a poll.
    DispatchDownstream {
        after: TaskInstanceKey,
        worker: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log_url: Option<String>,
        /// One per attempt the worker can start now (drawn by the leader).
        tokens: Vec<String>,
        fit: WorkerFit,
    },
    /// What a worker's batch of reports takes with it, in the same entry as the
    /// reports' `FinishAttempt`s (placed after them): one attempt per token,
    /// first for the queued direct downstream of each of `after` that `fit`
    /// allows and that heads its queue (as `DispatchDownstream`), then for each
    /// of `queued` (read by the leader from the head of the worker's queues)
    /// still queued when the entry applies. What the tokens do not cover waits
    /// for a poll; an instance gone or no longer queued is skipped, no error.
    Take {
        worker: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log_url: Option<String>,
        tokens: Vec<String>,
        fit: WorkerFit,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        after: Vec<TaskInstanceKey>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        queued: Vec<TaskInstanceKey>,
    },
    /// A waiting poll's take, carried by the leader at the end of an entry
    /// proposed while that poll waits: after the entry's other commands, one
    /// attempt per token for the queued instances at the head of `fit`'s
    /// queues (queue by queue as named, each highest priority first) that
    /// `fit` allows, as the poll's own `Dispatch` would start them. The entry
    /// that queues a task thus starts it on a waiting worker, with no second
    /// commit. Nothing queued that fits: nothing changes (the poll waits on).
    TakeQueued {
        worker: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log_url: Option<String>,
        tokens: Vec<String>,
        fit: WorkerFit,
    },
    /// The end of an attempt: reported by its worker (`actor: worker`) or decided by
    /// the leader when its lease ran out (`actor: lease_expiry`). A failure becomes
    /// `up_for_retry` while tries remain. `follow` is a branch's choice of direct
    /// downstream tasks (for a ShortCircuitOperator, empty means "skip downstream").
    /// A repeated report of the same attempt and outcome is accepted and changes nothing.
    FinishAttempt {
        ti: TaskInstanceKey,
        attempt: String,
        actor: Actor,
        state: TaskInstanceState,
        reason: Option<String>,
        #[serde(default)]
        xcoms: Vec<(String, Value)>,
        log_tail: Option<String>,
        follow: Option<Vec<String>>,
        /// For `up_for_reschedule`: when the sensor wants to check again.
        reschedule_at: Option<DateTime<Utc>>,
        /// A failure that fails for good, tries left or not (Airflow's
        /// `AirflowFailException`, a sensor's timeout).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        no_retry: bool,
        /// Asset events the task asked for as it ran (`outlet_events`): kept
        /// on success only, each checked against the task's outlets.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        outlet_events: Vec<kairos_dag::asset::OutletEvent>,
    },
    /// Fire the timers due at the entry's stamp and continue a queueing pass that
    /// ran out of budget. The leader proposes it when the earliest timer is due.
    Tick,
    /// Create the runs of a date range as a backfill (Airflow 3's `backfill create`).
    CreateBackfill {
        dag_id: String,
        from_date: DateTime<Utc>,
        to_date: DateTime<Utc>,
        reprocess_behavior: ReprocessBehavior,
        max_active_runs: u32,
        #[serde(default)]
        conf: BTreeMap<String, Value>,
        triggered_by: String,
    },
    /// Mark a whole run success or failed, with its task instances, as Airflow's
    /// "mark run as" does.
    SetDagRunState {
        dag_id: String,
        run_id: String,
        state: DagRunState,
    },
    /// Delete a run with its task instances, their tries and XComs.
    DeleteDagRun {
        dag_id: String,
        run_id: String,
    },
    /// Retention: delete ended runs (success or failed), with everything derived
    /// from them as `DeleteDagRun` does, of one DAG or of all: those that ended
    /// before `before` (the proposer's clock minus the age kept; apply reads no
    /// clock), beyond each DAG's newest `keep_last` runs. At most `limit` runs go
    /// per command, so that one entry's apply stays short; the answer says whether
    /// more remain, and the proposer sends the command again.
    PurgeRuns {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dag_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<DateTime<Utc>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keep_last: Option<u32>,
        limit: u32,
        /// Of all DAGs, start at this one (inclusive, in DAG id order): the
        /// `resume_at` of the command before, so that a purge of a long history
        /// does not walk every DAG again with each command.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_dag: Option<String>,
    },
    /// Delete a DAG with everything it owns, as Airflow's `DELETE /dags/{dag_id}`
    /// does: its runs with their task instances, tries, XComs and DAG callbacks
    /// (as `DeleteDagRun`), its versions, backfills and asset schedule, and the DAG.
    /// The first command pauses it, so that nothing of it starts while the rest
    /// goes; at most `limit` runs go per command, and the answer says whether more
    /// remain (the proposer sends the command again; the DAG goes with the last).
    /// With `unless_running`, a DAG with a task instance running is refused
    /// whole (Airflow's 409); the proposer sets it on its first command only.
    DeleteDag {
        dag_id: String,
        limit: u32,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unless_running: bool,
    },
    SetPool {
        pool: PoolRecord,
    },
    DeletePool {
        name: String,
    },
    SetSettings {
        settings: Settings,
    },
    SetVariable {
        variable: crate::records::VariableRecord,
    },
    DeleteVariable {
        key: String,
        /// The team whose Variable it is; `None`: the cluster-wide one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
    },
    SetConnection {
        connection: crate::records::ConnectionRecord,
    },
    DeleteConnection {
        conn_id: String,
        /// The team whose connection it is; `None`: the cluster-wide one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
    },
    /// Name the cluster once, at bootstrap (from its CA's certificate, or drawn by
    /// the first leader): every node keeps it beside its data and refuses peers and
    /// snapshots of another cluster. Setting the same id again changes nothing; a
    /// different one is refused.
    SetClusterId {
        cluster_id: String,
    },
    /// A new leader's first word in its term: it leads `term` (kept, with the
    /// entry's stamp, as the cluster's recent leader changes). A term already
    /// recorded, or an older one, is refused.
    RecordLeader {
        term: u64,
        node_id: u64,
    },
    /// An update of an asset that no task made (Airflow's `POST /assets/events`):
    /// recorded like a task's, and DAGs scheduled on the asset may run. The asset
    /// must be one a DAG names.
    CreateAssetEvent {
        uri: String,
        #[serde(default, skip_serializing_if = "Value::is_null")]
        extra: Value,
    },
    /// A worker takes a run's pending DAG callbacks (the leader proposes it
    /// when the worker polls); `token` names this take.
    TakeDagCallback {
        dag_id: String,
        run_id: String,
        worker: String,
        token: String,
    },
    /// The taker's report of how the DAG callbacks ended.
    FinishDagCallback {
        dag_id: String,
        run_id: String,
        token: String,
        success: bool,
        #[serde(default)]
        log_tail: String,
    },
}

impl Command {
    /// Sets pool `name` to `slots` slots (no description, deferred tasks not counted).
    pub fn set_pool(name: impl Into<String>, slots: u32) -> Command {
        Command::SetPool {
            pool: PoolRecord {
                name: name.into(),
                slots,
                description: None,
                include_deferred: false,
                team: None,
            },
        }
    }

    /// A manual run of the DAG's newest version, with no logical date (Airflow 3's
    /// default for a trigger), no conf.
    pub fn manual_run(
        dag_id: impl Into<String>,
        run_id: impl Into<String>,
        triggered_by: impl Into<String>,
    ) -> Command {
        Command::CreateDagRun {
            dag_id: dag_id.into(),
            run_id: run_id.into(),
            run_type: RunType::Manual,
            version: None,
            logical_date: None,
            data_interval_start: None,
            data_interval_end: None,
            run_after: None,
            conf: BTreeMap::new(),
            triggered_by: triggered_by.into(),
        }
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::PutDagVersion { .. } => "put_dag_version",
            Command::SetPaused { .. } => "set_paused",
            Command::PutFiles { .. } => "put_files",
            Command::PutBundleVersion { .. } => "put_bundle_version",
            Command::CreateDagRun { .. } => "create_dag_run",
            Command::SetTaskState { .. } => "set_task_state",
            Command::PushXCom { .. } => "push_xcom",
            Command::ClearTaskInstances { .. } => "clear_task_instances",
            Command::Dispatch { .. } => "dispatch",
            Command::DispatchDownstream { .. } => "dispatch_downstream",
            Command::Take { .. } => "take",
            Command::TakeQueued { .. } => "take_queued",
            Command::FinishAttempt { .. } => "finish_attempt",
            Command::Tick => "tick",
            Command::CreateBackfill { .. } => "create_backfill",
            Command::SetDagRunState { .. } => "set_dag_run_state",
            Command::DeleteDagRun { .. } => "delete_dag_run",
            Command::PurgeRuns { .. } => "purge_runs",
            Command::DeleteDag { .. } => "delete_dag",
            Command::SetPool { .. } => "set_pool",
            Command::DeletePool { .. } => "delete_pool",
            Command::SetSettings { .. } => "set_settings",
            Command::SetVariable { .. } => "set_variable",
            Command::DeleteVariable { .. } => "delete_variable",
            Command::SetConnection { .. } => "set_connection",
            Command::DeleteConnection { .. } => "delete_connection",
            Command::SetClusterId { .. } => "set_cluster_id",
            Command::RecordLeader { .. } => "record_leader",
            Command::CreateAssetEvent { .. } => "create_asset_event",
            Command::TakeDagCallback { .. } => "take_dag_callback",
            Command::FinishDagCallback { .. } => "finish_dag_callback",
        }
    }
}

/// What an accepted command did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// `created` is false when the content equals the newest version's.
    DagVersion {
        dag_id: String,
        version: u32,
        hash: String,
        created: bool,
    },
    Paused {
        dag_id: String,
        is_paused: bool,
    },
    /// Files stored (`new` of them were not in the cluster yet).
    Files {
        new: usize,
    },
    /// `created` is false when the content equals the newest bundle version's;
    /// `dags` are the DAG versions of its DAG files.
    BundleVersion {
        bundle: String,
        version: u32,
        hash: String,
        created: bool,
        dags: Vec<PushedDagVersion>,
    },
    DagRun {
        dag_id: String,
        run_id: String,
        version: u32,
        task_instances: usize,
    },
    TaskState {
        state: TaskInstanceState,
        try_number: u32,
        attempt: Option<String>,
        /// The run's state after the transition.
        run_state: DagRunState,
    },
    XCom {
        bytes: u64,
    },
    Cleared {
        task_instances: usize,
    },
    /// A repeated final report of an attempt already recorded: nothing changed.
    AlreadyRecorded {
        state: TaskInstanceState,
    },
    Ticked {
        timers: usize,
    },
    /// A run marked success or failed; `task_instances` counts the instances whose
    /// state changed.
    RunMarked {
        dag_id: String,
        run_id: String,
        state: DagRunState,
        task_instances: usize,
    },
    RunDeleted {
        dag_id: String,
        run_id: String,
        task_instances: usize,
        xcoms: usize,
    },
    /// What a `PurgeRuns` deleted, and whether runs it would delete remain (the
    /// command stopped at its limit).
    RunsPurged {
        runs: usize,
        task_instances: usize,
        xcoms: usize,
        more: bool,
        /// With `more`, of all DAGs: the DAG it stopped in, where the next
        /// command starts (`from_dag`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_at: Option<String>,
    },
    /// What a `DeleteDag` deleted; with `more`, runs remain and the DAG is
    /// still there (send the command again).
    DagDeleted {
        dag_id: String,
        runs: usize,
        task_instances: usize,
        xcoms: usize,
        versions: usize,
        more: bool,
    },
    /// The attempts a `DispatchDownstream`, a `Take` or a `TakeQueued` started: each task
    /// instance with its token.
    Dispatched {
        attempts: Vec<(TaskInstanceKey, String)>,
    },
    Backfill {
        backfill_id: String,
        /// Runs created, or existing runs cleared to run again, in date order.
        runs: Vec<String>,
        /// Dates left alone because they already had a run (`reprocess_behavior`).
        skipped: usize,
    },
    /// An asset event recorded.
    AssetEvent {
        event: crate::records::AssetEventRecord,
    },
    /// A DAG callback taken or finished, as it stands now.
    DagCallback {
        callback: crate::records::DagCallbackRecord,
    },
    Done,
}

/// What a worker takes, as it registered: tasks of these queues, needing one of
/// these execution environments (or none), of DAGs of these teams (empty: any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerFit {
    pub queues: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
}

impl WorkerFit {
    /// Whether a worker of this fit may run `task` of `dag` (the rule the
    /// leader's placement applies to polls).
    pub fn takes(&self, dag: &kairos_dag::model::Dag, task: &kairos_dag::model::Task) -> bool {
        self.queues.contains(&task.queue)
            && (self.teams.is_empty() || dag.team.as_ref().is_some_and(|t| self.teams.contains(t)))
            && dag
                .environment_of(task)
                .is_none_or(|e| self.environments.iter().any(|have| have == e))
    }
}

/// One DAG of a bundle push: the version it has now, and whether the push made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedDagVersion {
    pub dag_id: String,
    pub version: u32,
    pub created: bool,
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionKind {
    NotFound,
    AlreadyExists,
    Invalid,
    IllegalTransition,
    /// A report carried another attempt's token (a zombie, or a duplicate).
    StaleAttempt,
    TooLarge,
}

impl RejectionKind {
    /// The kind's name, as its JSON form spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionKind::NotFound => "not_found",
            RejectionKind::AlreadyExists => "already_exists",
            RejectionKind::Invalid => "invalid",
            RejectionKind::IllegalTransition => "illegal_transition",
            RejectionKind::StaleAttempt => "stale_attempt",
            RejectionKind::TooLarge => "too_large",
        }
    }
}

/// A refused command: changes nothing; `message` says what and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    pub kind: RejectionKind,
    pub message: String,
}

impl Rejection {
    pub fn new(kind: RejectionKind, message: impl Into<String>) -> Rejection {
        Rejection {
            kind,
            message: message.into(),
        }
    }
}

pub type CommandResult = Result<Outcome, Rejection>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_kinds_name_themselves_as_their_json_does() {
        for kind in [
            RejectionKind::NotFound,
            RejectionKind::AlreadyExists,
            RejectionKind::Invalid,
            RejectionKind::IllegalTransition,
            RejectionKind::StaleAttempt,
            RejectionKind::TooLarge,
        ] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.as_str().to_string())
            );
        }
    }
}
