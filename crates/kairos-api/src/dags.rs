//! DAGs as the API shows them, and the change a client may make to one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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

/// One page of DAGs; `next` is the `after` cursor of the next page, if any.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DagList {
    pub dags: Vec<Dag>,
    pub next: Option<String>,
}

/// PATCH body for a DAG.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DagPatch {
    pub is_paused: bool,
}
