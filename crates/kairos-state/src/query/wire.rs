//! The wire form of reads: a [`Query`] any node can answer for any caller (the
//! gRPC `Cluster` service carries it as JSON), and the answer types that are not
//! records.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kairos_dag::identity::TaskInstanceKey;
use kairos_dag::lifecycle::DagRunState;
use serde::{Deserialize, Serialize};

use crate::records::DagRecord;

/// The most items one page holds.
pub const MAX_PAGE: usize = 1000;
/// The page size when the caller gives none.
pub const DEFAULT_PAGE: usize = 100;

pub(crate) fn page(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// The order of a run list. Airflow's UI and `order_by=-logical_date` list the
/// newest runs first; the date is the logical date, or `run_after` for runs without
/// one, and runs of the same date follow in run-id order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOrder {
    #[default]
    RunId,
    OldestFirst,
    NewestFirst,
}

/// A version without its content: what a version list shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionSummary {
    pub dag_id: String,
    pub version: u32,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub tasks: usize,
}

/// A bundle version without its file list: what a version list shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleVersionSummary {
    pub bundle: String,
    pub version: u32,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    /// How many files it holds.
    pub files: usize,
    /// DAG id → the DAG version its push made or kept.
    pub dags: BTreeMap<String, u32>,
}

/// Task instances waiting, for metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueDepths {
    pub scheduled_by_pool: BTreeMap<String, u64>,
    pub queued_by_queue: BTreeMap<String, u64>,
    pub truncated: bool,
}

/// Which DAGs a listing keeps (Airflow's `GET /dags` filters). Empty admits all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DagFilter {
    /// Only paused (true) or only active (false) DAGs.
    #[serde(default)]
    pub paused: Option<bool>,
    /// DAGs with at least one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// DAGs whose id contains this text (Airflow's `dag_id_pattern`, a substring).
    #[serde(default)]
    pub dag_id_pattern: Option<String>,
    #[serde(default)]
    pub bundle: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
}

impl DagFilter {
    pub fn admits(&self, dag: &DagRecord) -> bool {
        self.paused.is_none_or(|p| dag.is_paused == p)
            && (self.tags.is_empty() || dag.tags.iter().any(|t| self.tags.contains(t)))
            && self
                .dag_id_pattern
                .as_deref()
                .is_none_or(|p| dag.dag_id.contains(p))
            && self.bundle.as_deref().is_none_or(|b| dag.bundle == b)
            && self
                .team
                .as_deref()
                .is_none_or(|t| dag.team.as_deref() == Some(t))
    }
}

/// One read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "query", rename_all = "snake_case")]
pub enum Query {
    Dags {
        #[serde(default)]
        after: Option<String>,
        #[serde(default)]
        limit: Option<usize>,
        #[serde(default)]
        filter: DagFilter,
    },
    Dag {
        dag_id: String,
    },
    /// A DAG's versions, oldest first, after version `after`; all of them when
    /// `limit` is not given.
    Versions {
        dag_id: String,
        #[serde(default)]
        after: Option<u32>,
        #[serde(default)]
        limit: Option<usize>,
    },
    Version {
        dag_id: String,
        version: u32,
    },
    File {
        hash: String,
    },
    Runs {
        dag_id: String,
        #[serde(default)]
        state: Option<DagRunState>,
        #[serde(default)]
        after: Option<String>,
        #[serde(default)]
        limit: Option<usize>,
        /// Run-id order unless asked otherwise (older nodes know only that one).
        #[serde(default)]
        order: RunOrder,
    },
    Run {
        dag_id: String,
        run_id: String,
    },
    /// A run's task instances in (task id, map index) order, after `after`; all of
    /// them when `limit` is not given.
    TaskInstances {
        dag_id: String,
        run_id: String,
        #[serde(default)]
        after: Option<(String, i32)>,
        #[serde(default)]
        limit: Option<usize>,
    },
    XComs {
        dag_id: String,
        run_id: String,
        #[serde(default)]
        task_id: Option<String>,
    },
    Pools,
    /// One task instance (`null` when there is none).
    TaskInstance {
        ti: TaskInstanceKey,
    },
    /// Every ended attempt of a task instance, in try order.
    Tries {
        ti: TaskInstanceKey,
    },
    /// One Variable by key (`null` when unset).
    Variable {
        key: String,
    },
    /// Variables in key order, `limit` after `after`.
    Variables {
        #[serde(default)]
        after: Option<String>,
        #[serde(default)]
        limit: Option<usize>,
    },
    Settings,
    /// The state digest (see [`Store::digest`]).
    Digest,
    /// The index of the last applied log entry.
    AppliedIndex,
    /// What holds a task instance back (see `schedule::explain`).
    Explain {
        ti: TaskInstanceKey,
    },
    /// The live workers: only the leader knows them (its memory, not the
    /// state), so a server answers this one itself; the state answers none.
    Workers,
    /// Bundles in name order, `limit` after `after`.
    Bundles {
        #[serde(default)]
        after: Option<String>,
        #[serde(default)]
        limit: Option<usize>,
    },
    Bundle {
        name: String,
    },
    /// A bundle's versions, oldest first, without their files.
    BundleVersions {
        name: String,
        #[serde(default)]
        after: Option<u32>,
        #[serde(default)]
        limit: Option<usize>,
    },
    /// One bundle version with its files (`null` when there is none).
    BundleVersion {
        name: String,
        version: u32,
    },
    /// Which of these file hashes the cluster has no content for.
    MissingFiles {
        hashes: Vec<String>,
    },
}
