//! A DAG's grid, as the web UI draws it: its recent runs as columns, its tasks
//! as rows (task groups and mapped tasks marked), and each task instance's
//! state, in one answer from one read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Grid {
    pub dag_id: String,
    /// The DAG's newest version, whose tasks give the rows.
    pub version: u32,
    pub is_paused: bool,
    /// Task groups of the newest version, parents before their children.
    pub groups: Vec<GridGroup>,
    /// The newest version's tasks in its order, then tasks only older runs had.
    pub tasks: Vec<GridTask>,
    /// The newest runs (or the newest before `?before=`), oldest first
    /// (columns, left to right).
    pub runs: Vec<GridRun>,
    /// When older runs exist: the `before` that asks for the page of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GridGroup {
    pub group_id: String,
    pub parent: Option<String>,
    pub tooltip: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GridTask {
    pub task_id: String,
    pub group_id: Option<String>,
    /// A mapped task (one instance per mapped value).
    pub mapped: bool,
    /// Not in the newest version: only older runs have it.
    pub removed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GridRun {
    pub run_id: String,
    pub state: String,
    pub run_type: String,
    pub version: u32,
    pub logical_date: Option<DateTime<Utc>>,
    pub run_after: DateTime<Utc>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    /// Each task's cell in this run, by task id.
    pub cells: BTreeMap<String, GridCell>,
}

/// One task in one run: its state (for a mapped task, the most urgent of its
/// instances' states, as Airflow's grid shows it) and its try.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GridCell {
    pub state: String,
    pub try_number: u32,
    /// For a mapped task: how many instances, and how many in each state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapped: Option<BTreeMap<String, u32>>,
}

/// `?limit=`: how many of the newest runs (default 25, at most 100);
/// `?before=`: a run id, to page back to the runs older than it (by logical
/// date, as the grid orders them).
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GridQuery {
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub before: Option<String>,
}
