//! XComs as the API shows them: the values a task instance pushed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct XComEntry {
    pub key: String,
    pub map_index: i32,
    /// Any JSON value (in a list, as stored; from `xcomEntries/{key}`, as
    /// `stringify` asks).
    pub value: Value,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub dag_id: String,
    #[serde(default)]
    pub task_id: String,
    /// The run's logical date (its `run_after` when it has none).
    #[serde(default)]
    pub execution_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct XComList {
    pub xcom_entries: Vec<XComEntry>,
    #[serde(default)]
    pub total_entries: usize,
}

/// `GET .../xcomEntries/{key}`: which instance, and how to write the value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
pub struct XComQuery {
    pub map_index: Option<i32>,
    /// As Airflow: true (the default) writes the value as a string (a JSON
    /// string as is, anything else as its JSON text); false as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stringify: Option<bool>,
    /// Accepted and without effect: values are stored as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deserialize: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::query::is_false")]
    pub consistent: bool,
}
