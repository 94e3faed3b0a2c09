//! `POST /dags/{dag_id}/clearTaskInstances`, with Airflow's body and defaults:
//! one run or every run within a range of logical dates (with the same tasks
//! in past or future runs on request), tasks widened to their upstream or
//! downstream along each run's own version, then narrowed to failed or running
//! instances; a dry run (Airflow's default) only lists them. And Airflow's
//! `POST .../dagRuns/{dag_run_id}/clear`: a whole run.

use std::collections::{BTreeSet, VecDeque};

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use kairos_api::{
    ClearDagRun, ClearDagRunAnswer, ClearRequest, ClearResponse, ClearedInstance, TaskInstanceList,
};
use kairos_dag::lifecycle::TaskInstanceState;
use kairos_state::query::RunOrder;
use kairos_state::records::{DagRunRecord, TaskInstanceRecord, VersionRecord};
use kairos_state::{Command, Outcome};

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::extract::Path;
use super::paging::{self, Window};
use super::problem::Problem;
use super::scope::Scope;

/// At most this many runs are cleared by one request.
const MAX_RUNS: usize = 1000;

/// The tasks reachable from `start` along `next` (task -> next tasks).
fn closure(start: &[String], next: impl Fn(&str) -> Vec<String>) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = start.iter().cloned().collect();
    let mut queue: VecDeque<String> = start.iter().cloned().collect();
    while let Some(t) = queue.pop_front() {
        for n in next(&t) {
            if seen.insert(n.clone()) {
                queue.push_back(n);
            }
        }
    }
    seen
}

/// The runs a request names: the one `dag_run_id` names (with those before or
/// after it when asked), or every run whose logical date (or `run_after`) lies
/// within `start_date`..`end_date`.
async fn chosen_runs(
    api: &Api,
    dag_id: &str,
    req: &ClearRequest,
) -> Result<Vec<DagRunRecord>, Problem> {
    let (lo, hi): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = match &req.dag_run_id {
        Some(run_id) => {
            let run = super::runs::load_run(api, dag_id, run_id, true).await?;
            if !req.include_past && !req.include_future {
                return Ok(vec![run]);
            }
            let at = run.order_date();
            (
                (!req.include_past).then_some(at),
                (!req.include_future).then_some(at),
            )
        }
        None => (req.start_date, req.end_date),
    };
    let id = dag_id.to_string();
    let window = Window {
        limit: MAX_RUNS,
        offset: 0,
        count: true,
    };
    let page = api
        .read(true, move |s| {
            paging::window(
                None,
                window,
                |cursor, n| {
                    s.runs_ordered(
                        &id,
                        None,
                        cursor.map(String::as_str),
                        Some(n),
                        RunOrder::OldestFirst,
                    )
                },
                |r| r.run_id.clone(),
                |r| {
                    let at = r.order_date();
                    lo.is_none_or(|lo| at >= lo) && hi.is_none_or(|hi| at <= hi)
                },
            )
        })
        .await?;
    if page.total.unwrap_or(0) > MAX_RUNS {
        return Err(Problem::bad_request(format!(
            "{} runs of `{dag_id}` match; one request clears at most {MAX_RUNS}: narrow \
             start_date / end_date, or name a dag_run_id",
            page.total.unwrap_or(0)
        )));
    }
    Ok(page.items)
}

/// The task ids of `run` that the request clears, from its own version and
/// its instances' states.
fn chosen_tasks(
    req: &ClearRequest,
    version: &VersionRecord,
    tis: &[TaskInstanceRecord],
) -> Vec<String> {
    let tasks = &version.content.dag.tasks;
    let start: Vec<String> = if req.task_ids.is_empty() {
        tasks.iter().map(|t| t.task_id.clone()).collect()
    } else {
        req.task_ids
            .iter()
            .filter(|id| tasks.iter().any(|t| &t.task_id == *id))
            .cloned()
            .collect()
    };
    let mut chosen: BTreeSet<String> = start.iter().cloned().collect();
    if req.include_upstream {
        chosen.extend(closure(&start, |id| {
            tasks
                .iter()
                .find(|t| t.task_id == id)
                .map(|t| t.upstream.clone())
                .unwrap_or_default()
        }));
    }
    if req.include_downstream {
        chosen.extend(closure(&start, |id| {
            tasks
                .iter()
                .filter(|t| t.upstream.iter().any(|u| u == id))
                .map(|t| t.task_id.clone())
                .collect()
        }));
    }
    let in_state = |id: &str, wanted: &dyn Fn(TaskInstanceState) -> bool| {
        tis.iter().any(|t| t.task_id == id && wanted(t.state))
    };
    if req.only_failed {
        chosen.retain(|id| {
            in_state(id.as_str(), &|s| {
                matches!(
                    s,
                    TaskInstanceState::Failed | TaskInstanceState::UpstreamFailed
                )
            })
        });
    }
    if req.only_running {
        chosen.retain(|id| in_state(id.as_str(), &|s| s == TaskInstanceState::Running));
    }
    chosen.into_iter().collect()
}

#[utoipa::path(post, path = "/dags/{dag_id}/clearTaskInstances", params(("dag_id" = String, Path)),
    request_body = ClearRequest, responses(
    (status = 200, body = ClearResponse), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn clear_task_instances(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    Body(req): Body<ClearRequest>,
) -> Result<Json<ClearResponse>, Problem> {
    scope.require(Role::Operator)?;
    api.check_dag(&scope, &dag_id, true).await?;
    clear(&api, dag_id, req).await.map(Json)
}

/// Airflow's "clear a run": every task instance of it, whatever its state.
/// A dry run (the default) answers the run's task instances, a clear the run.
#[utoipa::path(post, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/clear",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path)),
    request_body = ClearDagRun, responses(
    (status = 200, body = ClearDagRunAnswer), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn clear_dag_run(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id)): Path<(String, String)>,
    Body(body): Body<ClearDagRun>,
) -> Result<Json<ClearDagRunAnswer>, Problem> {
    scope.require(Role::Operator)?;
    api.check_dag(&scope, &dag_id, true).await?;
    let run = super::runs::load_run(&api, &dag_id, &run_id, true).await?;
    if body.dry_run {
        let (id, number) = (dag_id.clone(), run.version);
        let (version, tis) = api
            .read(true, move |s| {
                Ok((
                    s.version_record(&id, number)?,
                    s.task_instances(&id, &run_id)?,
                ))
            })
            .await?;
        let task_instances: Vec<_> = tis
            .into_iter()
            .map(|t| super::task_instances::view(t, version.as_deref()))
            .collect();
        return Ok(Json(ClearDagRunAnswer::Instances(TaskInstanceList {
            total_entries: Some(task_instances.len()),
            task_instances,
            next: None,
        })));
    }
    let req = ClearRequest {
        dag_run_id: Some(run_id.clone()),
        only_failed: false,
        dry_run: false,
        ..ClearRequest::default()
    };
    clear(&api, dag_id.clone(), req).await?;
    let run = super::runs::load_run(&api, &dag_id, &run_id, true).await?;
    Ok(Json(ClearDagRunAnswer::Run(super::convert::dag_run(run))))
}

/// Clears what `req` chooses of DAG `dag_id` (the caller's scope checked).
async fn clear(api: &Api, dag_id: String, req: ClearRequest) -> Result<ClearResponse, Problem> {
    let api = api.clone();
    if let (Some(start), Some(end)) = (req.start_date, req.end_date) {
        if start > end {
            return Err(Problem::bad_request(format!(
                "start_date {start} is after end_date {end}"
            )));
        }
    }
    let runs = chosen_runs(&api, &dag_id, &req).await?;
    let mut all_ids = BTreeSet::new();
    let mut references = Vec::new();
    let mut cleared = 0;
    for run in runs {
        let (id, run_id, number) = (dag_id.clone(), run.run_id.clone(), run.version);
        let (version, tis): (
            Option<std::sync::Arc<VersionRecord>>,
            Vec<TaskInstanceRecord>,
        ) = api
            .read(true, move |s| {
                Ok((
                    s.version_record(&id, number)?,
                    s.task_instances(&id, &run_id)?,
                ))
            })
            .await?;
        let Some(version) = version else {
            return Err(Problem::not_found(format!(
                "version {} of `{dag_id}` is gone",
                run.version
            )));
        };
        // A task named that one run's version lacks is a mistake; over many
        // runs, versions may differ, and each clears the tasks it has.
        if req.dag_run_id.is_some() && !req.include_past && !req.include_future {
            let tasks = &version.content.dag.tasks;
            if let Some(unknown) = req
                .task_ids
                .iter()
                .find(|id| !tasks.iter().any(|t| &t.task_id == *id))
            {
                return Err(Problem::not_found(format!(
                    "run `{}` (version {}) has no task `{unknown}`",
                    run.run_id, run.version
                )));
            }
        }
        let task_ids = chosen_tasks(&req, &version, &tis);
        if task_ids.is_empty() {
            continue;
        }
        references.extend(task_ids.iter().map(|task_id| ClearedInstance {
            dag_id: dag_id.clone(),
            dag_run_id: run.run_id.clone(),
            task_id: task_id.clone(),
            execution_date: run.order_date(),
        }));
        all_ids.extend(task_ids.iter().cloned());
        if req.dry_run {
            continue;
        }
        let outcome = api
            .write(Command::ClearTaskInstances {
                dag_id: dag_id.clone(),
                run_id: run.run_id.clone(),
                task_ids,
            })
            .await?;
        if let Outcome::Cleared { task_instances } = outcome {
            cleared += task_instances;
        }
    }
    Ok(ClearResponse {
        task_ids: all_ids.into_iter().collect(),
        cleared,
        task_instances: references,
    })
}
