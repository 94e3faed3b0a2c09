//! DAGs as the API shows them (Airflow's `DAG` and `DAGDetail`, with Kairos's
//! own fields beside Airflow's), a DAG's tasks as Airflow's `Task`, the filters
//! of their list, and the change a client may make to one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::airflow::{ClassReference, ScheduleInterval, Tag, TimeDelta};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Dag {
    pub dag_id: String,
    pub bundle: String,
    pub team: Option<String>,
    /// The newest version's tags, as Airflow writes them (`{"name": ...}`).
    pub tags: Vec<Tag>,
    pub is_paused: bool,
    /// The newest version's number (versions count from 1).
    pub latest_version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The newest version's `display_name`, else the id.
    #[serde(default)]
    pub dag_display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The DAG's file within its bundle.
    #[serde(default)]
    pub fileloc: String,
    /// The newest version's content hash (Kairos serves no `dagSources`).
    #[serde(default)]
    pub file_token: String,
    /// Every task's `owner`, each once.
    #[serde(default)]
    pub owners: Vec<String>,
    /// Always true: a DAG Kairos knows is active until it is deleted.
    #[serde(default)]
    pub is_active: bool,
    /// Always false: Kairos has no SubDAGs.
    #[serde(default)]
    pub is_subdag: bool,
    /// Always false: a file that does not load is refused at push.
    #[serde(default)]
    pub has_import_errors: bool,
    /// Whether any task has `max_active_tis_per_dag` or `_per_dagrun`.
    #[serde(default)]
    pub has_task_concurrency_limits: bool,
    #[serde(default)]
    pub max_active_runs: u32,
    #[serde(default)]
    pub max_active_tasks: u32,
    /// Airflow 2's form of the schedule; null for none.
    #[serde(default)]
    pub schedule_interval: Option<ScheduleInterval>,
    /// The schedule in words.
    #[serde(default)]
    pub timetable_description: Option<String>,
    /// When the newest version was pushed.
    #[serde(default)]
    pub last_parsed_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub default_view: String,
    /// The logical date of the next run the schedule will create, from the
    /// newest version's schedule and the DAG's last scheduled run, asked at the
    /// time of the request; null when the schedule makes no further run.
    #[serde(default)]
    pub next_dagrun: Option<DateTime<Utc>>,
    #[serde(default)]
    pub next_dagrun_data_interval_start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub next_dagrun_data_interval_end: Option<DateTime<Utc>>,
    /// When that run is due (Airflow 3's `next_dagrun_run_after`).
    #[serde(default)]
    pub next_dagrun_create_after: Option<DateTime<Utc>>,
}

/// One DAG with the newest version's settings (Airflow's `DAGDetail`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DagDetail {
    #[serde(flatten)]
    pub dag: Dag,
    pub catchup: bool,
    /// Airflow's old name for `max_active_tasks`.
    pub concurrency: f64,
    pub dag_run_timeout: Option<TimeDelta>,
    pub doc_md: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub is_paused_upon_creation: Option<bool>,
    pub last_parsed: Option<DateTime<Utc>>,
    pub orientation: String,
    #[schema(value_type = Object)]
    pub params: BTreeMap<String, Value>,
    pub render_template_as_native_obj: bool,
    pub template_search_path: Option<Vec<String>>,
    /// The DAG's IANA time zone.
    pub timezone: String,
}

/// A task of a DAG's newest version, as Airflow's `Task`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DagTask {
    pub task_id: String,
    pub task_display_name: String,
    pub class_ref: ClassReference,
    pub owner: String,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub trigger_rule: String,
    pub depends_on_past: bool,
    pub wait_for_downstream: bool,
    pub retries: f64,
    pub queue: Option<String>,
    pub pool: String,
    pub pool_slots: f64,
    pub execution_timeout: Option<TimeDelta>,
    pub retry_delay: TimeDelta,
    pub retry_exponential_backoff: bool,
    pub priority_weight: f64,
    /// downstream, upstream or absolute.
    pub weight_rule: String,
    pub template_fields: Vec<String>,
    pub downstream_task_ids: Vec<String>,
    pub doc_md: Option<String>,
    pub is_mapped: bool,
    /// Always empty: Kairos has no operator extra links.
    #[schema(value_type = Vec<Object>)]
    pub extra_links: Vec<Value>,
}

/// A DAG's tasks (Airflow's `TaskCollection`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DagTaskList {
    pub tasks: Vec<DagTask>,
    pub total_entries: usize,
}

/// One page of DAGs; `next` is the `after` cursor of the next page, if any.
/// `total_entries` counts every DAG that passes the filters (Airflow's
/// paging); it is left out of pages asked for with `after`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DagList {
    pub dags: Vec<Dag>,
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_entries: Option<usize>,
}

/// PATCH body for a DAG (`?update_mask=is_paused`, as Airflow's clients send
/// it, is accepted).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DagPatch {
    pub is_paused: bool,
}

/// `?update_mask=`: Airflow's list of the fields a PATCH changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct UpdateMask {
    /// The fields to change, repeated or comma separated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub update_mask: Vec<String>,
}

impl UpdateMask {
    /// Every field named, whether repeated or comma separated.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.update_mask
            .iter()
            .flat_map(|m| m.split(','))
            .map(str::trim)
            .filter(|f| !f.is_empty())
    }
}

/// `GET /dags` paging and filters, as Airflow names them (one struct: a
/// flattened one would read numbers as strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct DagListQuery {
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<usize>,
    /// Start after this DAG id (the previous page's `next`).
    pub after: Option<String>,
    /// Skip this many first (Airflow's paging; read to be skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// Airflow's `order_by`: only `dag_id` (the default) is taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    #[serde(default, skip_serializing_if = "crate::query::is_false")]
    pub consistent: bool,
    /// Only paused (`true`) or only active (`false`) DAGs.
    pub paused: Option<bool>,
    /// DAGs with any of these tags; repeat the parameter for more than one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// DAGs whose id contains this text.
    pub dag_id_pattern: Option<String>,
    /// DAGs of this bundle.
    pub bundle: Option<String>,
    /// DAGs owned by this team.
    pub team: Option<String>,
}
