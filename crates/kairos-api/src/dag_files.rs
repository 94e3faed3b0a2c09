//! Pushing a DAG file: the upload (the file and the files it references) and
//! what it made of each DAG in it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// The DAG file's name (a relative path, e.g. `etl.yml`).
    pub file_name: String,
    /// The DAG file as written (YAML, or a Python DAG file).
    pub content: String,
    /// A Python DAG file's DAGs as the CLI evaluated them (the mapping a YAML
    /// DAG file holds, as JSON); required for `.py` files, as servers never run
    /// Python.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluated: Option<String>,
    /// Files it references, by path relative to the DAG file's folder.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// The bundle the DAGs belong to (default `default`).
    pub bundle: Option<String>,
    pub team: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PushedDag {
    pub dag_id: String,
    pub version: u32,
    /// False when the content equals the newest version's (no new version).
    pub created: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PushResponse {
    pub dags: Vec<PushedDag>,
    /// Warnings from validation (errors refuse the push).
    pub warnings: Vec<String>,
}
