//! `/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances`: list, get, explain, tries.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use kairos_state::records::{TaskInstanceRecord, TryRecord};
use kairos_state::{Query, TaskInstanceKey};
use serde::Deserialize;

use super::auth::Role;
use super::problem::Problem;
use super::types::{Explanation, TaskInstance, TaskInstanceList, TaskTry, TaskTryList};
use super::{Api, ReadOptions};

/// `?map_index=` (default -1, the unmapped instance) and `?consistent=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct Instance {
    pub map_index: Option<i32>,
    #[serde(default)]
    pub consistent: bool,
}

fn key(dag_id: String, run_id: String, task_id: String, map_index: Option<i32>) -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id,
        run_id,
        task_id,
        map_index: map_index.unwrap_or(-1),
    }
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ReadOptions), responses(
    (status = 200, body = TaskInstanceList), (status = 404, body = Problem)))]
pub async fn list_task_instances(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((dag_id, run_id)): Path<(String, String)>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<TaskInstanceList>, Problem> {
    api.tokens.authorize(&headers, Role::Viewer)?;
    super::runs::load_run(&api, &dag_id, &run_id, read.consistent).await?;
    let tis: Vec<TaskInstanceRecord> = api
        .read(Query::TaskInstances { dag_id, run_id }, read.consistent)
        .await?;
    Ok(Json(TaskInstanceList {
        task_instances: tis.into_iter().map(TaskInstance::from).collect(),
    }))
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), Instance),
    responses((status = 200, body = TaskInstance), (status = 404, body = Problem)))]
pub async fn get_task_instance(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    UrlQuery(at): UrlQuery<Instance>,
) -> Result<Json<TaskInstance>, Problem> {
    api.tokens.authorize(&headers, Role::Viewer)?;
    let map_index = at.map_index.unwrap_or(-1);
    let tis: Vec<TaskInstanceRecord> = api
        .read(
            Query::TaskInstances {
                dag_id: dag_id.clone(),
                run_id: run_id.clone(),
            },
            at.consistent,
        )
        .await?;
    tis.into_iter()
        .find(|t| t.task_id == task_id && t.map_index == map_index)
        .map(|t| Json(t.into()))
        .ok_or_else(|| {
            Problem::not_found(format!(
                "no task instance `{task_id}` (map index {map_index}) in run `{run_id}` of DAG `{dag_id}`"
            ))
        })
}

/// What holds the task instance back (pool, limits, trigger rule, missing worker).
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/explain",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), Instance),
    responses((status = 200, body = Explanation)))]
pub async fn explain_task_instance(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    UrlQuery(at): UrlQuery<Instance>,
) -> Result<Json<Explanation>, Problem> {
    api.tokens.authorize(&headers, Role::Viewer)?;
    let explanation: kairos_state::schedule::explain::Explanation = api
        .read(
            Query::Explain {
                ti: key(dag_id, run_id, task_id, at.map_index),
            },
            at.consistent,
        )
        .await?;
    Ok(Json(Explanation {
        state: explanation.state.map(|s| s.as_str().to_string()),
        queue: explanation.queue,
        reasons: explanation.reasons,
    }))
}

/// Every ended attempt, in try order (Airflow's task instance history).
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/tries",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), Instance),
    responses((status = 200, body = TaskTryList)))]
pub async fn list_tries(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    UrlQuery(at): UrlQuery<Instance>,
) -> Result<Json<TaskTryList>, Problem> {
    api.tokens.authorize(&headers, Role::Viewer)?;
    let tries: Vec<TryRecord> = api
        .read(
            Query::Tries {
                ti: key(dag_id, run_id, task_id, at.map_index),
            },
            at.consistent,
        )
        .await?;
    Ok(Json(TaskTryList {
        tries: tries.into_iter().map(TaskTry::from).collect(),
    }))
}
