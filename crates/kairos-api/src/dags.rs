//! DAGs as the API shows them, the filters of their list, and the change a
//! client may make to one.

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

/// `GET /dags` paging and filters, as Airflow names them (one struct: a
/// flattened one would read numbers as strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct DagListQuery {
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<usize>,
    /// Start after this DAG id (the previous page's `next`).
    pub after: Option<String>,
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
