//! The API's JSON shapes, named as Airflow's stable REST API names them where the
//! same thing exists (`dag_run_id`, `logical_date`, `is_paused`, ...). They are
//! built from the state machine's records, which stay free of API concerns.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kairos_state::records::{DagRecord, DagRunRecord, TaskInstanceRecord, TryRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Dag {
    pub dag_id: String,
    pub bundle: String,
    pub team: Option<String>,
    /// The newest version's tags.
    pub tags: Vec<String>,
    pub is_paused: bool,
    /// The newest version's number (versions count from 1).
    pub latest_version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<DagRecord> for Dag {
    fn from(d: DagRecord) -> Dag {
        Dag {
            dag_id: d.dag_id,
            bundle: d.bundle,
            team: d.team,
            tags: d.tags,
            is_paused: d.is_paused,
            latest_version: d.latest_version,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// One page of DAGs; `next` is the `after` cursor of the next page, if any.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DagList {
    pub dags: Vec<Dag>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DagRun {
    pub dag_id: String,
    pub dag_run_id: String,
    /// scheduled, manual, backfill or asset_triggered.
    pub run_type: String,
    /// queued, running, success or failed.
    pub state: String,
    /// The DAG version the run is pinned to.
    pub version: u32,
    pub logical_date: Option<DateTime<Utc>>,
    pub data_interval_start: Option<DateTime<Utc>>,
    pub data_interval_end: Option<DateTime<Utc>>,
    pub run_after: DateTime<Utc>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    pub conf: BTreeMap<String, Value>,
    pub triggered_by: String,
    pub backfill_id: Option<String>,
}

impl From<DagRunRecord> for DagRun {
    fn from(r: DagRunRecord) -> DagRun {
        DagRun {
            dag_id: r.dag_id,
            dag_run_id: r.run_id,
            run_type: r.run_type.as_str().to_string(),
            state: r.state.as_str().to_string(),
            version: r.version,
            logical_date: r.logical_date,
            data_interval_start: r.data_interval_start,
            data_interval_end: r.data_interval_end,
            run_after: r.run_after,
            start_date: r.start_date,
            end_date: r.end_date,
            conf: r.conf,
            triggered_by: r.triggered_by,
            backfill_id: r.backfill_id,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DagRunList {
    pub dag_runs: Vec<DagRun>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskInstance {
    pub dag_id: String,
    pub dag_run_id: String,
    pub task_id: String,
    /// -1 for an unmapped task.
    pub map_index: i32,
    /// Airflow's task instance states; `none` before any.
    pub state: String,
    pub try_number: u32,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub queue: String,
    pub pool: String,
    pub pool_slots: u32,
    pub priority_weight: i32,
    /// The worker of the current or last attempt.
    pub hostname: Option<String>,
    /// Why it is in its state (a failure's cause, a skip's trigger rule).
    pub note: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// The last 4 KiB of the last attempt's log, replicated with its report.
    pub log_tail: Option<String>,
}

impl From<TaskInstanceRecord> for TaskInstance {
    fn from(t: TaskInstanceRecord) -> TaskInstance {
        TaskInstance {
            dag_id: t.dag_id,
            dag_run_id: t.run_id,
            task_id: t.task_id,
            map_index: t.map_index,
            state: t.state.as_str().to_string(),
            try_number: t.try_number,
            start_date: t.start_date,
            end_date: t.end_date,
            queue: t.queue,
            pool: t.pool,
            pool_slots: t.pool_slots,
            priority_weight: t.priority_weight,
            hostname: t.worker,
            note: t.reason,
            next_retry_at: t.next_retry_at,
            log_tail: t.log_tail,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskInstanceList {
    pub task_instances: Vec<TaskInstance>,
    /// The `after` of the next page (`task_id:map_index`), if any.
    pub next: Option<String>,
}

/// One ended attempt (Airflow's task instance history).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskTry {
    pub try_number: u32,
    pub state: String,
    pub note: Option<String>,
    pub hostname: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: DateTime<Utc>,
}

impl From<TryRecord> for TaskTry {
    fn from(t: TryRecord) -> TaskTry {
        TaskTry {
            try_number: t.try_number,
            state: t.state.as_str().to_string(),
            note: t.reason,
            hostname: t.worker,
            start_date: t.start_date,
            end_date: t.end_date,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskTryList {
    pub tries: Vec<TaskTry>,
}

/// "Why is this task not running?"
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    pub state: Option<String>,
    pub queue: Option<String>,
    pub reasons: Vec<String>,
}

/// PATCH body for a DAG.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DagPatch {
    pub is_paused: bool,
}

/// POST body to trigger a run (all optional, as in Airflow).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRun {
    pub dag_run_id: Option<String>,
    pub logical_date: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    #[serde(default)]
    pub conf: BTreeMap<String, Value>,
}

/// The states a run can be marked with.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarkRunState {
    Success,
    Failed,
}

impl From<MarkRunState> for kairos_dag::lifecycle::DagRunState {
    fn from(s: MarkRunState) -> Self {
        match s {
            MarkRunState::Success => kairos_dag::lifecycle::DagRunState::Success,
            MarkRunState::Failed => kairos_dag::lifecycle::DagRunState::Failed,
        }
    }
}

/// `PATCH` of a run: mark it success or failed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DagRunPatch {
    pub state: MarkRunState,
}
