//! XComs as the API shows them: the values a task instance pushed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct XComEntry {
    pub key: String,
    pub map_index: i32,
    /// Any JSON value.
    pub value: Value,
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct XComList {
    pub xcom_entries: Vec<XComEntry>,
}
