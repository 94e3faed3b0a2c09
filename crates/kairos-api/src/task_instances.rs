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
    /// The worker of the current or last attempt (`""` before any, as Airflow
    /// writes it).
    #[serde(with = "crate::airflow::empty_as_none", default)]
    #[schema(value_type = String)]
    pub hostname: Option<String>,
    /// Why it is in its state (a failure's cause, a skip's trigger rule).
    pub note: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// The last 4 KiB of the last attempt's log, replicated with its report.
    pub log_tail: Option<String>,
    /// The run's logical date (its `run_after` when it has none), as Airflow
    /// 2 names it.
    #[serde(default)]
    pub execution_date: Option<DateTime<Utc>>,
    /// Seconds from start to end, once it ended.
    #[serde(default)]
    pub duration: Option<f64>,
    /// Its task's `retries` in the run's version (Airflow's `max_tries`).
    #[serde(default)]
    pub max_tries: u32,
    /// Its operator's class, from the run's version.
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub task_display_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskInstanceList {
    pub task_instances: Vec<TaskInstance>,
    /// The `after` of the next page (`task_id:map_index`), if any.
    pub next: Option<String>,
    /// Every instance of the run that passes the filters (left out of pages
    /// asked for with `after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_entries: Option<usize>,
}

/// Airflow's filter of a task instance list: only these states (repeat the
/// parameter for more).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct TaskInstanceFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub state: Vec<String>,
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
    /// The same tries as Airflow's clients read them (its task instance
    /// history), with the current try when it has not ended.
    #[serde(default)]
    pub task_instances: Vec<TaskInstance>,
    #[serde(default)]
    pub total_entries: usize,
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
    /// Answer the instance without marking it (default true, as in Airflow).
    #[serde(default = "yes")]
    pub dry_run: bool,
}

/// Airflow's `clearTaskInstances` body, with Airflow's defaults: a request
/// that does not say otherwise is a dry run of the failed instances only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearRequest {
    /// One run; without it, every run whose logical date is within
    /// `start_date`..`end_date` (both optional).
    #[serde(default)]
    pub dag_run_id: Option<String>,
    /// The tasks to clear; all of the run's when empty.
    #[serde(default)]
    pub task_ids: Vec<String>,
    #[serde(default)]
    pub include_upstream: bool,
    #[serde(default)]
    pub include_downstream: bool,
    /// Only instances that failed or whose upstream failed (default true, as
    /// in Airflow).
    #[serde(default = "yes")]
    pub only_failed: bool,
    /// Only instances that are running.
    #[serde(default)]
    pub only_running: bool,
    /// List what would be cleared without clearing it (default true, as in
    /// Airflow).
    #[serde(default = "yes")]
    pub dry_run: bool,
    /// The earliest logical date of the runs to clear (without `dag_run_id`).
    #[serde(default)]
    pub start_date: Option<DateTime<Utc>>,
    /// The latest logical date of the runs to clear (without `dag_run_id`).
    #[serde(default)]
    pub end_date: Option<DateTime<Utc>>,
    /// Accepted: clearing always puts a finished run back to running.
    #[serde(default)]
    pub reset_dag_runs: Option<bool>,
    /// The same tasks in the DAG's earlier runs too.
    #[serde(default)]
    pub include_past: bool,
    /// The same tasks in the DAG's later runs too.
    #[serde(default)]
    pub include_future: bool,
    /// Accepted and without effect: Kairos has no SubDAGs.
    #[serde(default)]
    pub include_subdags: Option<bool>,
    /// Accepted and without effect: Kairos has no SubDAGs.
    #[serde(default)]
    pub include_parentdag: Option<bool>,
}

fn yes() -> bool {
    true
}

impl Default for ClearRequest {
    fn default() -> ClearRequest {
        ClearRequest {
            dag_run_id: None,
            task_ids: Vec::new(),
            include_upstream: false,
            include_downstream: false,
            only_failed: true,
            only_running: false,
            dry_run: true,
            start_date: None,
            end_date: None,
            reset_dag_runs: None,
            include_past: false,
            include_future: false,
            include_subdags: None,
            include_parentdag: None,
        }
    }
}

/// A task instance a clear chose (Airflow's `TaskInstanceReference`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClearedInstance {
    pub dag_id: String,
    pub dag_run_id: String,
    pub task_id: String,
    /// The run's logical date (its `run_after` when it has none).
    pub execution_date: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClearResponse {
    /// The task ids chosen (after adding upstream / downstream and filtering),
    /// each once, over every run cleared.
    pub task_ids: Vec<String>,
    /// How many task instances were cleared (0 on a dry run).
    pub cleared: usize,
    /// Each run's chosen task instances, as Airflow answers.
    #[serde(default)]
    pub task_instances: Vec<ClearedInstance>,
}
