//! Pools as the API shows them, and the body that creates or resizes one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pool {
    pub name: String,
    pub slots: u32,
    pub description: Option<String>,
    pub include_deferred: bool,
    /// The team that owns the pool (only its DAGs may use it); absent for a
    /// cluster-wide pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Slots held by queued and running instances (Airflow's
    /// `occupied_slots`).
    #[serde(default)]
    pub occupied_slots: i64,
    /// `slots` less `occupied_slots` (negative after a pool shrank).
    #[serde(default)]
    pub open_slots: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PoolList {
    pub pools: Vec<Pool>,
    #[serde(default)]
    pub total_entries: usize,
}

/// Airflow's pool body, for `POST /pools` (all of `name` and `slots`) and
/// `PATCH /pools/{name}` (the fields given, or those `update_mask` names).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AirflowPool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_deferred: Option<bool>,
    /// The owning team, as in `PUT /pools/{name}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// PUT body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolBody {
    pub slots: u32,
    pub description: Option<String>,
    #[serde(default)]
    pub include_deferred: bool,
    /// The owning team. A team's token always sets its own team; a cluster admin
    /// names any team, or none for a cluster-wide pool (absent: the pool keeps
    /// the team it has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}
