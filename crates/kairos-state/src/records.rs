//! What the state machine stores: one record type per column family, and the
//! values the index family keeps (`Candidate`, `RunningAttempt`, `Timer`).
//!
//! Records are JSON in RocksDB: readable with any tool, tolerant of added fields,
//! and deterministic (maps are ordered, so the same record is always the same bytes).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kairos_dag::identity::TaskInstanceKey;
use kairos_dag::lifecycle::{DagRunState, RunType, TaskInstanceState};
use kairos_dag::timetable::DataInterval;
use kairos_dag::version::VersionContent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A DAG: what stays the same across its versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DagRecord {
    pub dag_id: String,
    pub bundle: String,
    pub team: Option<String>,
    /// The newest version's tags, kept here so that listing DAGs by tag reads no
    /// version.
    #[serde(default)]
    pub tags: Vec<String>,
    pub is_paused: bool,
    /// The newest version's number; versions are numbered 1, 2, 3, ...
    pub latest_version: u32,
    /// The newest version's content hash, compared with every push.
    pub latest_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The data interval of the newest run the schedule created (Airflow's
    /// `next_dagrun` bookkeeping): the scheduler asks the timetable for the next
    /// interval after it.
    #[serde(default)]
    pub last_automated: Option<DataInterval>,
    /// The bundle version of the newest push that carried this DAG (a push of a
    /// bundle whose DAG file did not change still moves it): a new run uses it.
    /// `None` for DAGs pushed as single files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_version: Option<u32>,
}

/// One immutable version of a DAG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub dag_id: String,
    pub version: u32,
    /// `sha256:<hex>` of the canonical content.
    pub hash: String,
    /// When the version was accepted: the stamp of the log entry. Relative start dates
    /// (`start_date: 3 days ago`) are resolved from this instant.
    pub created_at: DateTime<Utc>,
    pub content: VersionContent,
    /// The bundle version this DAG version was first pushed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_version: Option<u32>,
}

/// A DAG run, pinned to the version it was created with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DagRunRecord {
    pub dag_id: String,
    pub run_id: String,
    pub run_type: RunType,
    pub version: u32,
    pub state: DagRunState,
    pub logical_date: Option<DateTime<Utc>>,
    pub data_interval_start: Option<DateTime<Utc>>,
    pub data_interval_end: Option<DateTime<Utc>>,
    /// When the scheduler may start the run (the end of its data interval for a
    /// scheduled run).
    pub run_after: DateTime<Utc>,
    pub conf: BTreeMap<String, Value>,
    pub created_at: DateTime<Utc>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    /// Who or what asked for the run (e.g. `scheduler`, `cli`, `api`).
    pub triggered_by: String,
    /// The backfill this run belongs to, if any: backfill runs count against the
    /// backfill's own `max_active_runs`, not the DAG's.
    #[serde(default)]
    pub backfill_id: Option<String>,
    /// The bundle version whose code the run's tasks run (Airflow 3's
    /// `DagRun.bundle_version`), fixed when the run is created: a run started
    /// before a push finishes on the old code. `None` for DAGs without a bundle
    /// version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_version: Option<u32>,
    /// An `asset_triggered` run: the asset events it was created for (Airflow's
    /// `triggering_asset_events`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggering_asset_events: Vec<AssetEventRecord>,
}

impl DagRunRecord {
    /// The instant that orders runs of a DAG: the logical date, or `run_after` for
    /// runs without one.
    pub fn order_date(&self) -> DateTime<Utc> {
        self.logical_date.unwrap_or(self.run_after)
    }

    /// The group whose `max_active_runs` this run counts against: the backfill, or
    /// the DAG's own runs (empty).
    pub fn group(&self) -> &str {
        self.backfill_id.as_deref().unwrap_or("")
    }

    /// What templates and workers know of the run (the worker protocol's `run_json`).
    pub fn facts(&self) -> kairos_dag::template::RunFacts {
        kairos_dag::template::RunFacts {
            run_id: self.run_id.clone(),
            run_type: self.run_type,
            logical_date: self.logical_date,
            data_interval: match (self.data_interval_start, self.data_interval_end) {
                (Some(start), Some(end)) => {
                    Some(kairos_dag::timetable::DataInterval { start, end })
                }
                _ => None,
            },
            run_after: self.run_after,
            conf: self.conf.clone(),
            prev_success: None,
            triggering_asset_events: self
                .triggering_asset_events
                .iter()
                .map(|e| kairos_dag::template::AssetEventFacts {
                    uri: e.uri.clone(),
                    timestamp: e.timestamp,
                    source_dag_id: e.source.as_ref().map(|s| s.dag_id.clone()),
                    source_task_id: e.source.as_ref().map(|s| s.task_id.clone()),
                    source_run_id: e.source.as_ref().map(|s| s.run_id.clone()),
                    source_map_index: e.source.as_ref().map(|s| s.map_index),
                    extra: e.extra.clone(),
                })
                .collect(),
        }
    }
}

/// A backfill: a range of runs created at once, with its own concurrency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackfillRecord {
    pub backfill_id: String,
    pub dag_id: String,
    pub from_date: DateTime<Utc>,
    pub to_date: DateTime<Utc>,
    pub max_active_runs: u32,
    pub reprocess_behavior: ReprocessBehavior,
    pub created_at: DateTime<Utc>,
    /// Runs created (new or cleared to run again).
    pub runs: u32,
}

/// What a backfill does with dates that already have a run (Airflow 3's
/// `--reprocess-behavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReprocessBehavior {
    /// Leave every existing run alone.
    None,
    /// Run again the dates whose run failed.
    Failed,
    /// Run again every date that has a finished run.
    Completed,
}

/// One task instance of a run (one per map index for a mapped task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInstanceRecord {
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    /// -1 when the task is not mapped, as in Airflow.
    pub map_index: i32,
    pub state: TaskInstanceState,
    /// How many attempts have started (Airflow's `try_number`).
    pub try_number: u32,
    /// The fencing token of the current (or last) attempt: only reports that carry it
    /// are accepted. Minted by apply from the entry's index, so unique and replicated.
    pub attempt: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Why the last transition happened, when the one who asked said so.
    pub reason: Option<String>,
    /// Copied from the task when the run is created (as Airflow's task instance
    /// table does), so that limits and ordering need no look-up of the version.
    #[serde(default = "default_queue")]
    pub queue: String,
    #[serde(default = "default_pool_name")]
    pub pool: String,
    #[serde(default = "one")]
    pub pool_slots: u32,
    /// The effective priority weight (after `weight_rule`).
    #[serde(default)]
    pub priority_weight: i32,
    /// The run's logical date (or `run_after`), the second ordering key after the weight.
    #[serde(default)]
    pub run_date: Option<DateTime<Utc>>,
    /// When an `up_for_retry` or `up_for_reschedule` instance may run again.
    #[serde(default)]
    pub next_retry_at: Option<DateTime<Utc>>,
    /// The worker the current attempt was handed to.
    #[serde(default)]
    pub worker: Option<String>,
    /// The last bytes of the attempt's log, replicated with its final report so that
    /// the cause of a failure outlives the worker.
    #[serde(default)]
    pub log_tail: Option<String>,
    /// `try_number` when the instance was last cleared: retries count from there,
    /// as Airflow raises `max_tries` on clear.
    #[serde(default)]
    pub cleared_tries: u32,
    /// Where the current attempt's worker serves its log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    /// A mapped instance's own arguments (its element of each expanded list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_element: Option<BTreeMap<String, Value>>,
    /// A sensor in `reschedule` mode: when its first poke started (of its first
    /// try since the last clear). Its `timeout` counts from here, as Airflow's
    /// does, across reschedules and retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_poke_at: Option<DateTime<Utc>>,
    /// How many of its attempts since the last clear ended `up_for_reschedule`:
    /// a reschedule is not a try, so retries do not count them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reschedules: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl TaskInstanceRecord {
    /// Whether a failure of its current try is retried, for a task of `retries`
    /// (Airflow's `is_eligible_to_retry`): reschedules are not tries, and a
    /// clear gives the task its retries again.
    pub fn retried_on_failure(&self, retries: u32) -> bool {
        self.try_number
            .saturating_sub(self.cleared_tries)
            .saturating_sub(self.reschedules)
            <= retries
    }

    /// The instance's name.
    pub fn key(&self) -> TaskInstanceKey {
        TaskInstanceKey {
            dag_id: self.dag_id.clone(),
            run_id: self.run_id.clone(),
            task_id: self.task_id.clone(),
            map_index: self.map_index,
        }
    }
}

fn default_queue() -> String {
    kairos_dag::model::defaults::QUEUE.to_string()
}

fn default_pool_name() -> String {
    DEFAULT_POOL.to_string()
}

fn one() -> u32 {
    1
}

/// One XCom value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XComRecord {
    pub dag_id: String,
    pub run_id: String,
    pub task_id: String,
    pub map_index: i32,
    pub key: String,
    pub value: Value,
    pub timestamp: DateTime<Utc>,
}

/// One attempt of a task instance that ended (Airflow's task instance history):
/// the record keeps only the latest try, this keeps them all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TryRecord {
    pub try_number: u32,
    pub attempt: Option<String>,
    /// What the attempt ended as (`up_for_retry` for a failure that is retried).
    pub state: kairos_dag::lifecycle::TaskInstanceState,
    pub reason: Option<String>,
    pub worker: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: DateTime<Utc>,
    /// Where that attempt's worker served its log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
}

/// A Variable (Airflow's `Variable`): a named string that templates read as
/// `var.value.NAME` and `var.json.NAME`. The state machine treats `value` as opaque:
/// a server may store it encrypted (`encrypted`), decrypting on read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableRecord {
    pub key: String,
    pub value: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub encrypted: bool,
    /// The team the Variable belongs to; `None` for a cluster-wide one. Names are
    /// per team: a team's Variable shadows a cluster-wide one of the same key for
    /// that team's tasks. Absent in records written before teams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// A connection (Airflow's `Connection`): where and how task code reaches an
/// outside system. The state machine treats `secret` as opaque: the JSON of
/// the password and extra, which a server stores sealed (`encrypted`) when it
/// has a variables key, opening it only for the API and an attempt's worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub conn_id: String,
    pub conn_type: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    /// `{"password": ..., "extra": ...}` as JSON, sealed when `encrypted`.
    pub secret: String,
    #[serde(default)]
    pub encrypted: bool,
    /// The team it belongs to; `None` for a cluster-wide one. A team's
    /// connection shadows a cluster-wide one of the same id for that team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// A pool: a named number of slots that tasks share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolRecord {
    pub name: String,
    pub slots: u32,
    pub description: Option<String>,
    /// Whether deferred tasks take slots (Airflow's `include_deferred`).
    pub include_deferred: bool,
    /// The team that owns the pool; `None` for a cluster-wide one. Pool names are
    /// cluster-wide (a name is one set of slots); only the owner's DAGs and
    /// cluster-wide ones may use a team's pool. Absent in records written before
    /// teams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// The pool every task uses unless it names another, as in Airflow.
pub const DEFAULT_POOL: &str = "default_pool";
/// Airflow's `[core] default_pool_task_slot_count`.
pub const DEFAULT_POOL_SLOTS: u32 = 128;

impl PoolRecord {
    pub fn default_pool() -> PoolRecord {
        PoolRecord {
            name: DEFAULT_POOL.to_string(),
            slots: DEFAULT_POOL_SLOTS,
            description: Some("Default pool".to_string()),
            include_deferred: false,
            team: None,
        }
    }
}

/// Cluster settings that change what apply accepts. They live in the replicated
/// state, not in each node's configuration: a limit read from local config would
/// make nodes disagree about the same entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The largest XCom value accepted, in bytes of its JSON form.
    pub xcom_max_bytes: u64,
    /// Whether a new DAG starts paused (Airflow's `dags_are_paused_at_creation`).
    pub dags_paused_at_creation: bool,
    /// Task instances queued or running at once across the cluster (Airflow's
    /// `[core] parallelism`).
    #[serde(default = "default_parallelism")]
    pub parallelism: u32,
}

/// Airflow's `[core] parallelism` default.
pub const DEFAULT_PARALLELISM: u32 = 32;

fn default_parallelism() -> u32 {
    DEFAULT_PARALLELISM
}

/// 64 KiB: large enough for ids, paths and small results; XCom is not a data channel.
pub const DEFAULT_XCOM_MAX_BYTES: u64 = 64 * 1024;

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            xcom_max_bytes: DEFAULT_XCOM_MAX_BYTES,
            dags_paused_at_creation: true,
            parallelism: DEFAULT_PARALLELISM,
        }
    }
}

// Values of the index family (`crate::keys::index`).

/// A `scheduled` task instance and what the queueing pass checks before loading it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub ti: TaskInstanceKey,
    pub pool: String,
    pub pool_slots: u32,
    pub max_active_tasks: u32,
    pub max_active_tis_per_dag: Option<u32>,
    pub max_active_tis_per_dagrun: Option<u32>,
}

/// How many leader changes the state keeps (older ones are dropped).
pub const LEADER_CHANGES_KEPT: usize = 50;

/// A node took the lead: its term, the time its first entry was stamped with,
/// and that entry's index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderChange {
    pub term: u64,
    pub node_id: u64,
    pub at: DateTime<Utc>,
    pub index: u64,
}

/// An attempt a worker holds: what a new leader re-arms leases from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningAttempt {
    pub ti: TaskInstanceKey,
    pub attempt: String,
    pub worker: Option<String>,
}

/// Something that must happen at a time. Timers are state (so every new leader
/// finds them) and are checked when they fire: one that no longer applies (the
/// task moved on) is dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "timer", rename_all = "snake_case")]
pub enum Timer {
    /// An `up_for_retry` / `up_for_reschedule` instance may run again.
    Ready { ti: TaskInstanceKey },
    /// A server-side time sensor's moment has come.
    SensorDue { ti: TaskInstanceKey },
    /// A server-side sensor waited longer than its `timeout`.
    SensorTimeout { ti: TaskInstanceKey },
    /// An attempt ran past `execution_timeout` plus a grace period with no report.
    ExecutionTimeout {
        ti: TaskInstanceKey,
        attempt: String,
    },
    /// A run reached its `dagrun_timeout`.
    RunTimeout { dag_id: String, run_id: String },
}

/// A bundle: a versioned folder of DAG files and code, owned by a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleRecord {
    pub name: String,
    pub team: Option<String>,
    pub environment: Option<String>,
    pub latest_version: u32,
    pub latest_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One immutable version of a bundle, with the DAG versions its push made or kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleVersionRecord {
    pub version: u32,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub content: kairos_dag::bundle_content::BundleContent,
    /// DAG id → the DAG version the push made or found unchanged.
    pub dags: BTreeMap<String, u32>,
}

/// An asset some DAG names (in an outlet, an inlet or its schedule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetRecord {
    pub uri: String,
    /// The name it was last given, if any (Airflow 3's `Asset(name=...)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One update of an asset: by a task's success (its source) or through the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetEventRecord {
    /// Sorts in the order events happened (see `keys::assets::event_id`).
    pub id: String,
    pub uri: String,
    pub timestamp: DateTime<Utc>,
    /// The task instance whose success made it; `None` for an event posted
    /// through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<TaskInstanceKey>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub extra: Value,
}

/// A DAG's own `on_success_callback` / `on_failure_callback` for one ended run
/// (Airflow runs them in its DAG processor; Kairos hands them to a worker).
/// Written by apply when the run ends; kept, with its outcome, until the run is
/// deleted. A worker takes it once (`running`) and reports how it ended: it
/// runs at most once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DagCallbackRecord {
    pub dag_id: String,
    pub run_id: String,
    /// The version whose callbacks run (the run's).
    pub version: u32,
    /// `on_success_callback` or `on_failure_callback`.
    pub kind: String,
    /// Airflow's `reason`: `success`, `task_failure` or `timed_out`.
    pub reason: String,
    /// The queue whose workers may take it.
    pub queue: String,
    pub state: DagCallbackState,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// The token of the worker's take: only its report counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// The end of the callbacks' log, as the worker reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<String>,
}

/// Where a DAG callback stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DagCallbackState {
    Pending,
    Running,
    /// Every callback returned.
    Success,
    /// One raised, or the runner could not run them (see the log).
    Failed,
}
