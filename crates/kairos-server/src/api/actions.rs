//! Acting on task instances: clear (with upstream / downstream, only failed) and
//! mark a state by hand; and reading their XComs.

use std::collections::{BTreeSet, VecDeque};

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use kairos_api::{
    ClearRequest, ClearResponse, MarkRequest, TaskInstance, TaskInstanceQuery, XComList,
};
use kairos_dag::lifecycle::{Actor, TaskInstanceState};
use kairos_state::records::{TaskInstanceRecord, VersionRecord, XComRecord};
use kairos_state::{Command, Outcome, TaskInstanceKey};

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::convert;
use super::problem::Problem;
use super::scope::Scope;

/// The tasks reachable from `start` along `edges` (task -> next tasks).
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

#[utoipa::path(post, path = "/dags/{dag_id}/clearTaskInstances", params(("dag_id" = String, Path)),
    request_body = ClearRequest, responses(
    (status = 200, body = ClearResponse), (status = 404, body = Problem)))]
pub async fn clear_task_instances(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    Body(req): Body<ClearRequest>,
) -> Result<Json<ClearResponse>, Problem> {
    scope.require(Role::Operator)?;
    api.check_dag(&scope, &dag_id, true).await?;
    let run = super::runs::load_run(&api, &dag_id, &req.dag_run_id, true).await?;
    let (id, number) = (dag_id.clone(), run.version);
    let version: Option<VersionRecord> = api
        .read(true, move |s| {
            Ok(s.version_record(&id, number)?.map(|v| (*v).clone()))
        })
        .await?;
    let version = version.ok_or_else(|| {
        Problem::not_found(format!("version {} of `{dag_id}` is gone", run.version))
    })?;
    let tasks = &version.content.dag.tasks;
    if let Some(unknown) = req
        .task_ids
        .iter()
        .find(|id| !tasks.iter().any(|t| &t.task_id == *id))
    {
        return Err(Problem::not_found(format!(
            "run `{}` (version {}) has no task `{unknown}`",
            req.dag_run_id, run.version
        )));
    }
    let start: Vec<String> = if req.task_ids.is_empty() {
        tasks.iter().map(|t| t.task_id.clone()).collect()
    } else {
        req.task_ids.clone()
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
    if req.only_failed {
        let (id, run) = (dag_id.clone(), req.dag_run_id.clone());
        let tis: Vec<TaskInstanceRecord> =
            api.read(true, move |s| s.task_instances(&id, &run)).await?;
        chosen.retain(|id| {
            tis.iter().any(|t| {
                &t.task_id == id
                    && matches!(
                        t.state,
                        TaskInstanceState::Failed | TaskInstanceState::UpstreamFailed
                    )
            })
        });
    }
    let task_ids: Vec<String> = chosen.into_iter().collect();
    if req.dry_run || task_ids.is_empty() {
        return Ok(Json(ClearResponse {
            task_ids,
            cleared: 0,
        }));
    }
    let outcome = api
        .write(Command::ClearTaskInstances {
            dag_id,
            run_id: req.dag_run_id,
            task_ids: task_ids.clone(),
        })
        .await?;
    let cleared = match outcome {
        Outcome::Cleared { task_instances } => task_instances,
        _ => 0,
    };
    Ok(Json(ClearResponse { task_ids, cleared }))
}

#[utoipa::path(patch, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), TaskInstanceQuery),
    request_body = MarkRequest,
    responses((status = 200, body = TaskInstance), (status = 409, body = Problem)))]
pub async fn mark_task_instance(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    UrlQuery(at): UrlQuery<TaskInstanceQuery>,
    Body(req): Body<MarkRequest>,
) -> Result<Json<TaskInstance>, Problem> {
    scope.require(Role::Operator)?;
    let to = match TaskInstanceState::parse(&req.new_state) {
        Some(
            s @ (TaskInstanceState::Success
            | TaskInstanceState::Failed
            | TaskInstanceState::Skipped),
        ) => s,
        _ => {
            return Err(Problem::bad_request(format!(
                "new_state `{}` cannot be set by hand; use success, failed or skipped",
                req.new_state
            )));
        }
    };
    api.check_dag(&scope, &dag_id, true).await?;
    let ti = TaskInstanceKey {
        dag_id,
        run_id,
        task_id,
        map_index: at.map_index.unwrap_or(-1),
    };
    api.write(Command::SetTaskState {
        ti: ti.clone(),
        to,
        actor: Actor::Mark,
        attempt: None,
        reason: Some(req.note.unwrap_or_else(|| "marked by hand".into())),
    })
    .await?;
    Ok(Json(convert::task_instance(
        super::task_instances::load_ti(&api, &ti, true).await?,
    )))
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), TaskInstanceQuery),
    responses((status = 200, body = XComList), (status = 404, body = Problem)))]
pub async fn list_xcoms(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    UrlQuery(at): UrlQuery<TaskInstanceQuery>,
) -> Result<Json<XComList>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, at.consistent).await?;
    // A named instance must exist; without a map index, the run must.
    match at.map_index {
        Some(map_index) => {
            let ti = kairos_state::TaskInstanceKey {
                dag_id: dag_id.clone(),
                run_id: run_id.clone(),
                task_id: task_id.clone(),
                map_index,
            };
            super::task_instances::load_ti(&api, &ti, at.consistent).await?;
        }
        None => {
            super::runs::load_run(&api, &dag_id, &run_id, at.consistent).await?;
        }
    }
    let xcoms: Vec<XComRecord> = api
        .read(at.consistent, move |s| {
            s.xcoms(&dag_id, &run_id, Some(&task_id))
        })
        .await?;
    Ok(Json(XComList {
        xcom_entries: xcoms
            .into_iter()
            .filter(|x| at.map_index.is_none_or(|m| x.map_index == m))
            .map(convert::xcom_entry)
            .collect(),
    }))
}
