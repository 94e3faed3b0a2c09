//! Backfills: the request for the runs of a date range, and what it created.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// What to do with dates that already have a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reprocess {
    /// Leave existing runs alone (Airflow's default).
    #[default]
    None,
    /// Run the failed ones again.
    Failed,
    /// Run every finished one again.
    Completed,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    pub dag_id: String,
    /// The first logical date to cover.
    pub from_date: DateTime<Utc>,
    /// The last logical date to cover (inclusive, as in Airflow).
    pub to_date: DateTime<Utc>,
    #[serde(default)]
    pub reprocess_behavior: Reprocess,
    /// Runs of this backfill running at once (default 10, as in Airflow).
    #[serde(default = "default_max_active_runs")]
    pub max_active_runs: u32,
    /// The conf of every run it creates.
    #[serde(default)]
    pub dag_run_conf: BTreeMap<String, Value>,
}

/// `max_active_runs` when the request leaves it out.
fn default_max_active_runs() -> u32 {
    10
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Backfill {
    pub id: String,
    pub dag_id: String,
    /// The runs it created, or cleared to run again, in date order.
    pub dag_run_ids: Vec<String>,
    /// Dates left alone because they already had a run.
    pub skipped: usize,
}
