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
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PoolList {
    pub pools: Vec<Pool>,
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
