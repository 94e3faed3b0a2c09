//! Task instances as the API shows them: their state, their ended tries, and why
//! one is not running; the query that names one, and the bodies that mark and
//! clear them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskInstanceList {
    pub task_instances: Vec<TaskInstance>,
    /// The `after` of the next page (`task_id:map_index`), if any.
    pub next: Option<String>,
}

/// One ended attempt (Airflow's task instance history).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskTry {
    pub try_number: u32,
    pub state: String,
    pub note: Option<String>,
    pub hostname: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskTryList {
    pub tries: Vec<TaskTry>,
}

/// "Why is this task not running?"
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    pub state: Option<String>,
    pub queue: Option<String>,
    /// The execution environment it needs, while it waits (none: any worker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Its DAG's team, while it waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub reasons: Vec<String>,
}

/// `?map_index=` (default -1, the unmapped instance) and `?consistent=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct TaskInstanceQuery {
    pub map_index: Option<i32>,
    #[serde(default, skip_serializing_if = "crate::query::is_false")]
    pub consistent: bool,
}

/// Airflow's task instance PATCH body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRequest {
    /// success, failed or skipped.
    pub new_state: String,
    pub note: Option<String>,
}

/// Airflow's `clearTaskInstances` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearRequest {
    pub dag_run_id: String,
    /// The tasks to clear; all of the run's when empty.
    #[serde(default)]
    pub task_ids: Vec<String>,
    #[serde(default)]
    pub include_upstream: bool,
    #[serde(default)]
    pub include_downstream: bool,
    /// Only instances that failed or whose upstream failed.
    #[serde(default)]
    pub only_failed: bool,
    /// List what would be cleared without clearing it.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClearResponse {
    /// The task ids chosen (after adding upstream / downstream and filtering).
    pub task_ids: Vec<String>,
    /// How many task instances were cleared (0 on a dry run).
    pub cleared: usize,
}
