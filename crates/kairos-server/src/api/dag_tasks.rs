//! Airflow's views of a DAG's newest version: `GET /dags/{dag_id}/details`
//! (`DAGDetail`) and `GET /dags/{dag_id}/tasks[/{task_id}]` (`Task`). A run's
//! own version is `/dags/{dag_id}/versions/{version}` (in `versions`).

use std::sync::Arc;

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use kairos_api::{DagDetail, DagTask, DagTaskList, ReadOptions};
use kairos_state::records::VersionRecord;

use super::Api;
use super::airflow;
use super::auth::Role;
use super::problem::Problem;
use super::scope::Scope;

/// DAG `dag_id` within the caller's scope, with its newest version.
async fn newest(
    api: &Api,
    scope: &Scope,
    dag_id: &str,
    consistent: bool,
) -> Result<(kairos_state::records::DagRecord, Arc<VersionRecord>), Problem> {
    let record = super::dags::load_dag(api, scope, dag_id, consistent).await?;
    let (record, version) = api
        .read(consistent, move |s| {
            super::dags::with_version(s, record.clone())
        })
        .await?;
    let version = version.ok_or_else(|| {
        Problem::not_found(format!(
            "version {} of `{dag_id}` is gone",
            record.latest_version
        ))
    })?;
    Ok((record, version))
}

#[utoipa::path(get, path = "/dags/{dag_id}/details", params(("dag_id" = String, Path), ReadOptions),
    responses((status = 200, body = DagDetail), (status = 404, body = Problem)))]
pub async fn get_dag_details(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<DagDetail>, Problem> {
    scope.require(Role::Viewer)?;
    let (record, version) = newest(&api, &scope, &dag_id, read.consistent).await?;
    let dag = super::dags::view(record, Some(&version));
    Ok(Json(airflow::detail(dag, &version)))
}

#[utoipa::path(get, path = "/dags/{dag_id}/tasks", params(("dag_id" = String, Path), ReadOptions),
    responses((status = 200, body = DagTaskList), (status = 404, body = Problem)))]
pub async fn list_dag_tasks(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<DagTaskList>, Problem> {
    scope.require(Role::Viewer)?;
    let (_, version) = newest(&api, &scope, &dag_id, read.consistent).await?;
    let tasks: Vec<DagTask> = version
        .content
        .dag
        .tasks
        .iter()
        .map(|t| airflow::task(t, &version))
        .collect();
    Ok(Json(DagTaskList {
        total_entries: tasks.len(),
        tasks,
    }))
}

#[utoipa::path(get, path = "/dags/{dag_id}/tasks/{task_id}",
    params(("dag_id" = String, Path), ("task_id" = String, Path), ReadOptions),
    responses((status = 200, body = DagTask), (status = 404, body = Problem)))]
pub async fn get_dag_task(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, task_id)): Path<(String, String)>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<DagTask>, Problem> {
    scope.require(Role::Viewer)?;
    let (record, version) = newest(&api, &scope, &dag_id, read.consistent).await?;
    let task = version.content.dag.task(&task_id).ok_or_else(|| {
        Problem::not_found(format!(
            "version {} of `{dag_id}` has no task `{task_id}`",
            record.latest_version
        ))
    })?;
    Ok(Json(airflow::task(task, &version)))
}
