//! DAG versions as the API shows them: the list, one version's graph and files,
//! one file's text, and what changed between two versions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Version {
    pub version: u32,
    /// `sha256:` of the version's canonical content.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub tasks: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionList {
    pub versions: Vec<Version>,
    /// The `after` of the next page (a version number), if any.
    pub next: Option<String>,
}

/// One task as a node of the graph.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GraphTask {
    pub task_id: String,
    /// Airflow's class name (BashOperator, ...).
    pub operator: String,
    pub upstream: Vec<String>,
    pub trigger_rule: String,
    pub group_id: Option<String>,
    pub mapped: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionDetail {
    pub dag_id: String,
    pub version: u32,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub tasks: Vec<GraphTask>,
    /// File key (path relative to the DAG file's folder) -> content hash.
    pub files: BTreeMap<String, String>,
    /// The whole DAG model as the version holds it.
    #[schema(value_type = Object)]
    pub dag: serde_json::Value,
}

/// `?key=` names the file (its path relative to the DAG file's folder).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::IntoParams)]
pub struct FileKey {
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FileText {
    pub key: String,
    pub hash: String,
    pub content: String,
}

/// What changed from version `a` to version `b`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Diff {
    pub from: u32,
    pub to: u32,
    #[schema(value_type = Object)]
    pub changes: VersionChanges,
}

/// The changes of a [`Diff`], as `kairos_dag::diff` finds them. (The OpenAPI
/// document shows them as an object, as it always has.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionChanges {
    pub tasks_added: Vec<String>,
    pub tasks_removed: Vec<String>,
    pub tasks_changed: Vec<TaskChange>,
    /// DAG-level fields that differ (schedule, params, ...), tasks aside.
    pub dag_fields_changed: Vec<String>,
    pub files_added: Vec<String>,
    pub files_removed: Vec<String>,
    pub files_changed: Vec<String>,
}

/// A task in both versions, and which of its fields differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskChange {
    pub task_id: String,
    pub fields: Vec<String>,
}
