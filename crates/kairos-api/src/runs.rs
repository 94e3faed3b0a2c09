//! DAG runs as the API shows them, the order of their list, and the bodies that
//! trigger and mark one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
    /// The bundle version whose code the run's tasks run (Airflow 3's
    /// `bundle_version`); none for DAGs pushed as single files.
    #[serde(default)]
    pub bundle_version: Option<u32>,
    /// Airflow 2's name of `logical_date`.
    #[serde(default)]
    pub execution_date: Option<DateTime<Utc>>,
    /// Whether the run was made from outside the schedule (a trigger).
    #[serde(default)]
    pub external_trigger: bool,
    /// Always null: Kairos keeps no notes on runs.
    #[serde(default)]
    pub note: Option<String>,
    /// Always null: Kairos schedules inside the replicated log, not in passes.
    #[serde(default)]
    pub last_scheduling_decision: Option<DateTime<Utc>>,
    /// The DAG's own on_success_callback / on_failure_callback for the run's
    /// end, when it has them (a Kairos field, on a single run's answer only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dag_callback: Option<DagCallback>,
}

/// How a DAG's own callbacks for a run's end went.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DagCallback {
    /// `on_success_callback` or `on_failure_callback`.
    pub kind: String,
    /// Airflow's `reason`: `success`, `task_failure` or `timed_out`.
    pub reason: String,
    /// pending, running, success or failed.
    pub state: String,
    pub worker: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The end of the callbacks' log.
    pub log_tail: Option<String>,
}

/// A page of runs; `total_entries` counts every run that passes the filters
/// (left out of pages asked for with `after`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DagRunList {
    pub dag_runs: Vec<DagRun>,
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_entries: Option<usize>,
}

/// POST body to trigger a run (all optional, as in Airflow).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRun {
    pub dag_run_id: Option<String>,
    pub logical_date: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    #[serde(default)]
    pub conf: BTreeMap<String, Value>,
    /// Airflow 2's name of `logical_date`; give one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_date: Option<DateTime<Utc>>,
    /// Refused when set: Kairos keeps no notes on runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Refused when set: Kairos infers the data interval from the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_interval_start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_interval_end: Option<DateTime<Utc>>,
}

/// Airflow's body of `POST .../dagRuns/{dag_run_id}/clear`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearDagRun {
    /// List the task instances without clearing them (default true, as in
    /// Airflow).
    #[serde(default = "yes")]
    pub dry_run: bool,
}

fn yes() -> bool {
    true
}

/// What clearing a run answers: its task instances on a dry run, the run
/// otherwise (as Airflow answers).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ClearDagRunAnswer {
    Run(DagRun),
    Instances(crate::TaskInstanceList),
}

/// `GET /dagStats?dag_ids=`: Airflow's count of each DAG's runs by state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DagStats {
    pub dags: Vec<DagStatsItem>,
    pub total_entries: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DagStatsItem {
    pub dag_id: String,
    pub stats: Vec<StateCount>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StateCount {
    pub state: String,
    pub count: usize,
}

/// `?dag_ids=a,b` (or repeated): the DAGs to count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct DagIds {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dag_ids: Vec<String>,
}

/// Airflow's filters of a run list, each applied to the runs read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct RunFilter {
    /// Only runs in any of these states (repeat the parameter for more).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub state: Vec<String>,
    /// Logical date at or after this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_date_gte: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_date_lte: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date_gte: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date_lte: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_gte: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_lte: Option<DateTime<Utc>>,
}

/// The states a run can be marked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarkRunState {
    Success,
    Failed,
    /// Airflow's "queue the run again": refused, with a pointer to clearing.
    Queued,
}

/// `PATCH` of a run: mark it success or failed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DagRunPatch {
    pub state: MarkRunState,
}

/// `?order_by=`: the order of a run list, by Airflow's names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct RunOrderParam {
    /// `run_id` (the default), `logical_date` (oldest first) or `-logical_date`
    /// (newest first, as Airflow's grid shows them); `execution_date` is taken for
    /// `logical_date`. A run without a logical date sorts by its `run_after`.
    pub order_by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_read_back_as_the_server_reads_them() {
        // The server refuses unknown fields: what a client writes must read back.
        let trigger = TriggerRun {
            dag_run_id: Some("r1".into()),
            ..TriggerRun::default()
        };
        let text = serde_json::to_string(&trigger).expect("serializes");
        let back: TriggerRun = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back.dag_run_id.as_deref(), Some("r1"));
        let text = serde_json::to_string(&DagRunPatch {
            state: MarkRunState::Failed,
        })
        .expect("serializes");
        assert_eq!(text, r#"{"state":"failed"}"#);
    }
}
