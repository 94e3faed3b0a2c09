//! `GET /dags/{dag_id}/grid`: what the web UI's grid draws, in one read: the
//! newest runs (oldest first), the tasks of the DAG's newest version (then
//! those only older runs had), and every task instance's state, a mapped
//! task's instances folded into one cell with their counts.

use std::collections::{BTreeMap, BTreeSet};

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use kairos_api::{Grid, GridCell, GridGroup, GridQuery, GridRun, GridTask, ReadOptions};
use kairos_dag::lifecycle::TaskInstanceState;
use kairos_dag::model::TaskOperator;
use kairos_state::query::RunOrder;
use kairos_state::records::{DagRunRecord, TaskInstanceRecord};

use super::Api;
use super::auth::Role;
use super::problem::Problem;
use super::scope::Scope;

/// Runs a grid shows by default, and at most.
const DEFAULT_RUNS: usize = 25;
const MAX_RUNS: usize = 100;

/// Which state a folded cell shows: the first of these its instances have
/// (what needs a look first), else the most common.
const URGENCY: &[TaskInstanceState] = &[
    TaskInstanceState::Failed,
    TaskInstanceState::UpstreamFailed,
    TaskInstanceState::UpForRetry,
    TaskInstanceState::Running,
    TaskInstanceState::Restarting,
    TaskInstanceState::Deferred,
    TaskInstanceState::UpForReschedule,
    TaskInstanceState::Queued,
    TaskInstanceState::Scheduled,
    TaskInstanceState::None,
];

#[utoipa::path(get, path = "/dags/{dag_id}/grid", params(("dag_id" = String, Path), GridQuery, ReadOptions),
    responses((status = 200, body = Grid), (status = 404, body = Problem)))]
pub async fn get_grid(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    UrlQuery(query): UrlQuery<GridQuery>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<Grid>, Problem> {
    scope.require(Role::Viewer)?;
    let dag = super::dags::load_dag(&api, &scope, &dag_id, read.consistent).await?;
    let limit = query.limit.unwrap_or(DEFAULT_RUNS).clamp(1, MAX_RUNS);
    let id = dag_id.clone();
    let newest = dag.latest_version;
    let before = query.before;
    let (version, runs, older) = api
        .read(read.consistent, move |s| {
            if let Some(run_id) = &before
                && s.run(&id, run_id)?.is_none()
            {
                return Ok(Err(run_id.clone()));
            }
            let version = s.version_record(&id, newest)?;
            // One more than shown says whether an older page exists.
            let mut page =
                s.runs_ordered(&id, None, before.as_deref(), Some(limit + 1), RunOrder::NewestFirst)?;
            let older = (page.len() > limit).then(|| {
                page.truncate(limit);
                page.last().map(|r| r.run_id.clone())
            });
            let mut runs: Vec<(DagRunRecord, Vec<TaskInstanceRecord>)> = Vec::new();
            for run in page {
                let tis = s.task_instances(&id, &run.run_id)?;
                runs.push((run, tis));
            }
            runs.reverse();
            Ok(Ok((version, runs, older.flatten())))
        })
        .await?
        .map_err(|run_id| {
            Problem::not_found(format!(
                "DAG '{dag_id}' has no run '{run_id}' to page back from (?before= takes a run id of this DAG)"
            ))
        })?;
    let mut tasks = Vec::new();
    let mut known = BTreeSet::new();
    let mut groups = Vec::new();
    if let Some(version) = &version {
        let model = &version.content.dag;
        for group in &model.groups {
            groups.push(GridGroup {
                group_id: group.group_id.clone(),
                parent: group.parent.clone(),
                tooltip: group.tooltip.clone(),
            });
        }
        for task in &model.tasks {
            known.insert(task.task_id.clone());
            tasks.push(GridTask {
                task_id: task.task_id.clone(),
                group_id: task.group_id.clone(),
                mapped: matches!(task.operator, TaskOperator::Mapped(_)),
                removed: false,
            });
        }
    }
    let runs: Vec<GridRun> = runs
        .into_iter()
        .map(|(run, tis)| {
            for ti in &tis {
                if known.insert(ti.task_id.clone()) {
                    tasks.push(GridTask {
                        task_id: ti.task_id.clone(),
                        group_id: None,
                        mapped: ti.map_index >= 0,
                        removed: true,
                    });
                }
            }
            grid_run(run, tis)
        })
        .collect();
    Ok(Json(Grid {
        dag_id,
        version: newest,
        is_paused: dag.is_paused,
        groups,
        tasks,
        runs,
        older,
    }))
}

fn grid_run(run: DagRunRecord, tis: Vec<TaskInstanceRecord>) -> GridRun {
    let mut by_task: BTreeMap<String, Vec<TaskInstanceRecord>> = BTreeMap::new();
    for ti in tis {
        by_task.entry(ti.task_id.clone()).or_default().push(ti);
    }
    let cells = by_task
        .into_iter()
        .map(|(task_id, instances)| (task_id, cell(&instances)))
        .collect();
    GridRun {
        run_id: run.run_id,
        state: run.state.as_str().to_string(),
        run_type: run.run_type.as_str().to_string(),
        version: run.version,
        logical_date: run.logical_date,
        run_after: run.run_after,
        start_date: run.start_date,
        end_date: run.end_date,
        cells,
    }
}

/// One task's cell: an unmapped instance as it is; mapped ones folded.
fn cell(instances: &[TaskInstanceRecord]) -> GridCell {
    let mapped: Vec<&TaskInstanceRecord> = instances.iter().filter(|t| t.map_index >= 0).collect();
    if mapped.is_empty() {
        return GridCell {
            state: instances
                .first()
                .map_or("none", |ti| ti.state.as_str())
                .to_string(),
            try_number: instances.first().map_or(0, |ti| ti.try_number),
            mapped: None,
        };
    }
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for ti in &mapped {
        *counts.entry(ti.state.as_str().to_string()).or_default() += 1;
    }
    let shown = URGENCY
        .iter()
        .map(|s| s.as_str())
        .find(|s| counts.contains_key(*s))
        .map(str::to_string)
        .or_else(|| {
            counts
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(s, _)| s.clone())
        })
        .unwrap_or_else(|| "none".into());
    GridCell {
        state: shown,
        try_number: mapped.iter().map(|t| t.try_number).max().unwrap_or(0),
        mapped: Some(counts),
    }
}
