//! `/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances`: list, get (also a
//! mapped one by its path, and a task's mapped ones), explain. Tries are in
//! `tries`.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use kairos_api::{
    Explanation, Page, ReadOptions, TaskInstance, TaskInstanceFilter, TaskInstanceList,
    TaskInstanceQuery,
};
use kairos_dag::lifecycle::TaskInstanceState;
use kairos_state::TaskInstanceKey;
use kairos_state::keys::Cf;
use kairos_state::records::{TaskInstanceRecord, VersionRecord};

use super::Api;
use super::auth::Role;
use super::convert;
use super::paging::{self, Window};
use super::problem::Problem;
use super::scope::Scope;

pub(super) fn key(
    dag_id: String,
    run_id: String,
    task_id: String,
    map_index: Option<i32>,
) -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id,
        run_id,
        task_id,
        map_index: map_index.unwrap_or(-1),
    }
}

/// A run's task instances in task id, then map index order, a page at a time
/// (`after` is the previous page's `next`: `task_id:map_index`).
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), Page, TaskInstanceFilter), responses(
    (status = 200, body = TaskInstanceList), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list_task_instances(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id)): Path<(String, String)>,
    UrlQuery(page): UrlQuery<Page>,
    UrlQuery(filter): UrlQuery<TaskInstanceFilter>,
) -> Result<Json<TaskInstanceList>, Problem> {
    scope.require(Role::Viewer)?;
    let mut states = Vec::new();
    for name in &filter.state {
        // Airflow's clients write the empty state as `none` (or `null`).
        let state = match name.as_str() {
            "null" => Some(TaskInstanceState::None),
            other => TaskInstanceState::parse(other),
        };
        states.push(state.ok_or_else(|| {
            Problem::bad_request(format!("state `{name}` is not a task instance state"))
        })?);
    }
    api.check_dag(&scope, &dag_id, page.consistent).await?;
    let run_version = super::runs::load_run(&api, &dag_id, &run_id, page.consistent)
        .await?
        .version;
    let after = match page.after.as_deref() {
        None => None,
        Some(text) => {
            let parsed = text
                .rsplit_once(':')
                .and_then(|(task, map)| Some((task.to_string(), map.parse::<i32>().ok()?)));
            Some(parsed.ok_or_else(|| {
                Problem::bad_request(format!(
                    "after={text:?}: give `task_id:map_index`, as the previous page's `next`"
                ))
            })?)
        }
    };
    let window = Window::of(page.limit, page.offset, after.is_some(), 1000);
    let limit = window.limit;
    // Without a state filter, the run's instances are counted from their keys.
    let by_keys = window.count && states.is_empty();
    let (page, version) = api
        .read(page.consistent, move |s| {
            let mut page = paging::window(
                after.clone(),
                Window {
                    count: window.count && !by_keys,
                    ..window
                },
                |cursor, n| {
                    let after = cursor.map(|(task, map): &(String, i32)| (task.as_str(), *map));
                    s.task_instances_page(&dag_id, &run_id, after, n)
                },
                |t| (t.task_id.clone(), t.map_index),
                |t| states.is_empty() || states.contains(&t.state),
            )?;
            if by_keys {
                page.total = Some(paging::count_keys(
                    s,
                    Cf::TaskInstances,
                    &kairos_state::keys::run_prefix(&dag_id, &run_id),
                )?);
            }
            Ok((page, s.version_record(&dag_id, run_version)?))
        })
        .await?;
    let tis = page.items;
    let next = (tis.len() == limit)
        .then(|| tis.last().map(|t| format!("{}:{}", t.task_id, t.map_index)))
        .flatten();
    Ok(Json(list(tis, version.as_deref(), next, page.total)))
}

/// A page of task instances as the API answers it.
fn list(
    tis: Vec<TaskInstanceRecord>,
    version: Option<&VersionRecord>,
    next: Option<String>,
    total_entries: Option<usize>,
) -> TaskInstanceList {
    TaskInstanceList {
        task_instances: tis.into_iter().map(|t| view(t, version)).collect(),
        next,
        total_entries,
    }
}

/// The API's view of a task instance, with what its run's version says of
/// its task.
pub(super) fn view(t: TaskInstanceRecord, version: Option<&VersionRecord>) -> TaskInstance {
    let mut ti = convert::task_instance(t);
    super::airflow::ti_fields(&mut ti, version);
    ti
}

/// Task instance `ti` as the API shows it (404 when absent).
pub(super) async fn load_view(
    api: &Api,
    ti: &TaskInstanceKey,
    consistent: bool,
) -> Result<TaskInstance, Problem> {
    let record = load_ti(api, ti, consistent).await?;
    let (dag, run) = (ti.dag_id.clone(), ti.run_id.clone());
    let version = api
        .read(consistent, move |s| match s.run(&dag, &run)? {
            Some(r) => s.version_record(&dag, r.version),
            None => Ok(None),
        })
        .await?;
    Ok(view(record, version.as_deref()))
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), TaskInstanceQuery),
    responses((status = 200, body = TaskInstance), (status = 404, body = Problem)))]
pub async fn get_task_instance(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    UrlQuery(at): UrlQuery<TaskInstanceQuery>,
) -> Result<Json<TaskInstance>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, at.consistent).await?;
    let ti = key(dag_id, run_id, task_id, at.map_index);
    Ok(Json(load_view(&api, &ti, at.consistent).await?))
}

/// One task instance, or a 404 that names it.
pub(super) async fn load_ti(
    api: &Api,
    ti: &TaskInstanceKey,
    consistent: bool,
) -> Result<TaskInstanceRecord, Problem> {
    let asked = ti.clone();
    let record: Option<TaskInstanceRecord> = api
        .read(consistent, move |s| s.task_instance(&asked))
        .await?;
    record.ok_or_else(|| {
        Problem::not_found(format!(
            "no task instance `{}` (map index {}) in run `{}` of DAG `{}`",
            ti.task_id, ti.map_index, ti.run_id, ti.dag_id
        ))
    })
}

/// What holds the task instance back (pool, limits, trigger rule, missing worker).
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/explain",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), TaskInstanceQuery),
    responses((status = 200, body = Explanation), (status = 404, body = Problem)))]
pub async fn explain_task_instance(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    UrlQuery(at): UrlQuery<TaskInstanceQuery>,
) -> Result<Json<Explanation>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, at.consistent).await?;
    let ti = key(dag_id, run_id, task_id, at.map_index);
    load_ti(&api, &ti, at.consistent).await?;
    let explanation = crate::explain::explain(
        &api.node,
        &api.leader,
        &ti,
        crate::node::Consistency::from_flag(at.consistent),
    )
    .await
    .map_err(Problem::from_node)?;
    Ok(Json(convert::explanation(explanation)))
}

/// One mapped instance, named in the path as Airflow's clients name it
/// (the same as `?map_index=`).
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path),
        ("map_index" = i32, Path), ReadOptions),
    responses((status = 200, body = TaskInstance), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn get_mapped_task_instance(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id, task_id, map_index)): Path<(String, String, String, i32)>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<TaskInstance>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, read.consistent).await?;
    let ti = key(dag_id, run_id, task_id, Some(map_index));
    Ok(Json(load_view(&api, &ti, read.consistent).await?))
}

/// The mapped instances of one task in a run, in map index order (Airflow's
/// `listMapped`); `limit`, `offset` and `total_entries` as Airflow pages.
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/listMapped",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), Page),
    responses((status = 200, body = TaskInstanceList), (status = 404, body = Problem)))]
pub async fn list_mapped(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    UrlQuery(page): UrlQuery<Page>,
) -> Result<Json<TaskInstanceList>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, page.consistent).await?;
    let run_version = super::runs::load_run(&api, &dag_id, &run_id, page.consistent)
        .await?
        .version;
    let after = match page.after.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<i32>().map_err(|_| {
            Problem::bad_request(format!(
                "after={text:?}: give a map index, as the previous page's `next`"
            ))
        })?),
    };
    let window = Window::of(page.limit, page.offset, after.is_some(), 100);
    let limit = window.limit;
    let (task, run_name) = (task_id.clone(), run_id.clone());
    let (page, version) = api
        .read(page.consistent, move |s| {
            // A task's instances are together, in map index order: read from
            // its first mapped one until the next task's.
            let start = (task.clone(), after.unwrap_or(-1));
            let page = paging::window(
                Some(start),
                window,
                |cursor, n| {
                    let after = cursor.map(|(t, map): &(String, i32)| (t.as_str(), *map));
                    let chunk = s.task_instances_page(&dag_id, &run_id, after, n)?;
                    Ok(chunk
                        .into_iter()
                        .take_while(|t| t.task_id == task)
                        .collect())
                },
                |t| (t.task_id.clone(), t.map_index),
                |t| t.map_index >= 0,
            )?;
            Ok((page, s.version_record(&dag_id, run_version)?))
        })
        .await?;
    let tis = page.items;
    let next = (tis.len() == limit)
        .then(|| tis.last().map(|t| t.map_index.to_string()))
        .flatten();
    if tis.is_empty() && page.total == Some(0) {
        let known = version
            .as_deref()
            .is_some_and(|v| v.content.dag.task(&task_id).is_some());
        if !known {
            return Err(Problem::not_found(format!(
                "run `{run_name}` has no task `{task_id}`"
            )));
        }
    }
    Ok(Json(list(tis, version.as_deref(), next, page.total)))
}
