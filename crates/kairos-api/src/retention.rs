//! Retention: deleting old runs (`POST /cluster/purge`, `kairos db clean`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which ended runs to delete: those that ended before `before` (or more than
/// `older_than_days` ago, by the answering node's clock), beyond each DAG's
/// newest `keep_last`; of one DAG or of all. At least one of the age and the
/// count is required. Queued and running runs are never deleted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dag_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than_days: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
}

/// What a purge deleted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PurgeResult {
    /// The cutoff used: runs that ended before it went (absent: no age given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<DateTime<Utc>>,
    pub runs: u64,
    pub task_instances: u64,
    pub xcoms: u64,
    /// Replicated commands (log entries) the purge took.
    pub commands: u64,
    /// Runs to delete remain (a request purges for up to 10 s): send the
    /// request again, with `before` as answered.
    #[serde(default)]
    pub more: bool,
}
