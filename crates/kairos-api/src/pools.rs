//! Pools as the API shows them, and the body that creates or resizes one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pool {
    pub name: String,
    pub slots: u32,
    pub description: Option<String>,
    pub include_deferred: bool,
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
}
