//! Bundles: a folder of DAG files and code pushed as one versioned unit. A push
//! sends the contents the cluster lacks (`/files`), then the version: every
//! file by path and content hash, and which of them are DAG files.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dag_files::PushedDag;

/// `POST /files/missing`: which of these content hashes the cluster lacks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MissingFilesRequest {
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MissingFiles {
    pub missing: Vec<String>,
}

/// `POST /files`: file contents by their `sha256:` hash (the text; base64 of the
/// bytes for binary files).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesUpload {
    pub files: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FilesStored {
    /// How many of the files were new to the cluster.
    pub new: usize,
}

/// `POST /bundles/{bundle}/versions`: a bundle version whose contents the cluster
/// has.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundlePush {
    pub team: Option<String>,
    pub environment: Option<String>,
    /// Every file by path inside the bundle → `sha256:` content hash.
    pub files: BTreeMap<String, String>,
    /// Paths whose stored text is base64 (files that are not UTF-8).
    #[serde(default)]
    pub binary: BTreeSet<String>,
    /// The DAG files among `files`, validated again by the server.
    pub dag_files: Vec<String>,
    /// Each Python DAG file's DAGs as the CLI evaluated them (JSON text of the
    /// mapping a YAML DAG file holds), by path: servers never run Python.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evaluated: BTreeMap<String, String>,
    #[serde(default)]
    pub requirements: Option<String>,
    #[serde(default)]
    pub wheels: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BundlePushResponse {
    pub bundle: String,
    pub version: u32,
    /// False when the content equals the newest version's (no new version).
    pub created: bool,
    pub dags: Vec<PushedDag>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Bundle {
    pub name: String,
    pub team: Option<String>,
    pub environment: Option<String>,
    pub latest_version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BundleList {
    pub bundles: Vec<Bundle>,
    /// The `after` of the next page, when there may be more.
    pub next: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BundleVersion {
    pub bundle: String,
    pub version: u32,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    /// How many files it holds.
    pub files: usize,
    /// DAG id → the DAG version its push made or kept.
    pub dags: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BundleVersionList {
    pub versions: Vec<BundleVersion>,
    /// The `after` of the next page, when there may be more.
    pub next: Option<String>,
}

/// One version with its files.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BundleVersionDetail {
    pub bundle: String,
    pub version: u32,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub team: Option<String>,
    pub environment: Option<String>,
    pub files: BTreeMap<String, String>,
    pub binary: BTreeSet<String>,
    pub requirements: Option<String>,
    pub wheels: Option<String>,
    pub dags: BTreeMap<String, u32>,
}
