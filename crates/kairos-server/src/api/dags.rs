//! `/dags`: list, get, pause and unpause (one DAG, or many as Airflow's
//! `PATCH /dags` does), and delete one with everything it owns.

use std::sync::Arc;

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use kairos_api::{Dag, DagList, DagListQuery, DagPatch, ReadOptions, UpdateMask};
use kairos_state::keys::Cf;
use kairos_state::query::DagFilter;
use kairos_state::records::{DagRecord, VersionRecord};
use kairos_state::{Command, Store, StoreError};

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::convert;
use super::paging::{self, Window};
use super::problem::Problem;
use super::scope::Scope;

#[utoipa::path(get, path = "/dags", params(DagListQuery), responses(
    (status = 200, body = DagList), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem)))]
pub async fn list_dags(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(query): UrlQuery<DagListQuery>,
) -> Result<Json<DagList>, Problem> {
    scope.require(Role::Viewer)?;
    let f = query;
    if let Some(order) = f.order_by.as_deref().filter(|o| *o != "dag_id") {
        return Err(Problem::bad_request(format!(
            "order_by `{order}` is not supported: DAGs are listed by dag_id"
        )));
    }
    let window = Window::of(f.limit, f.offset, f.after.is_some(), 100);
    let limit = window.limit;
    // A team's caller lists its own team's DAGs only, whatever `team=` it asks.
    if let Some(mine) = &scope.team {
        if f.team.as_ref().is_some_and(|asked| asked != mine) {
            return Ok(Json(DagList {
                dags: Vec::new(),
                next: None,
                total_entries: window.count.then_some(0),
            }));
        }
    }
    let filter = DagFilter {
        paused: f.paused,
        tags: f.tags,
        dag_id_pattern: f.dag_id_pattern,
        bundle: f.bundle,
        team: scope.team.clone().or(f.team),
    };
    let after = f.after;
    // Without filters (and for a cluster-wide caller), DAGs are counted from
    // their keys alone.
    let by_keys = window.count
        && filter.paused.is_none()
        && filter.tags.is_empty()
        && filter.dag_id_pattern.is_none()
        && filter.bundle.is_none()
        && filter.team.is_none();
    let (dags, total) = api
        .read(f.consistent, move |s| {
            let mut page = paging::window(
                after.clone(),
                Window {
                    count: window.count && !by_keys,
                    ..window
                },
                |cursor, n| s.dags(cursor.map(String::as_str), Some(n), &filter),
                |d| d.dag_id.clone(),
                |_| true,
            )?;
            if by_keys {
                page.total = Some(paging::count_keys(s, Cf::Dags, b"")?);
            }
            let dags = page
                .items
                .into_iter()
                .map(|d| with_version(s, d))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((dags, page.total))
        })
        .await?;
    let next = (dags.len() == limit)
        .then(|| dags.last().map(|(d, _)| d.dag_id.clone()))
        .flatten();
    Ok(Json(DagList {
        dags: dags
            .into_iter()
            .map(|(d, v)| view(d, v.as_deref()))
            .collect(),
        next,
        total_entries: total,
    }))
}

/// A DAG with its newest version, read together.
pub(super) fn with_version(
    s: &Store,
    d: DagRecord,
) -> Result<(DagRecord, Option<Arc<VersionRecord>>), StoreError> {
    let version = s.version_record(&d.dag_id, d.latest_version)?;
    Ok((d, version))
}

/// The API's view of a DAG, Airflow's fields filled from its newest version.
pub(super) fn view(d: DagRecord, version: Option<&VersionRecord>) -> Dag {
    let last_automated = d.last_automated;
    let mut dag = convert::dag(d);
    super::airflow::dag_fields(&mut dag, version);
    if let Some(v) = version {
        super::airflow::next_dagrun(&mut dag, v, last_automated.as_ref(), chrono::Utc::now());
    }
    dag
}

/// DAG `dag_id` as the API shows it, when within the caller's scope.
async fn load_view(
    api: &Api,
    scope: &Scope,
    dag_id: &str,
    consistent: bool,
) -> Result<Dag, Problem> {
    let record = load_dag(api, scope, dag_id, consistent).await?;
    let (d, v) = api
        .read(consistent, move |s| with_version(s, record.clone()))
        .await?;
    Ok(view(d, v.as_deref()))
}

/// The 404 of a DAG that does not exist, or lies outside the caller's team:
/// the same words for both, so that a team learns nothing of another's DAGs.
pub(super) fn no_dag(dag_id: &str) -> Problem {
    Problem::not_found(format!("no DAG `{dag_id}`: push it first"))
}

/// DAG `dag_id`, when it exists within the caller's scope.
pub(super) async fn load_dag(
    api: &Api,
    scope: &Scope,
    dag_id: &str,
    consistent: bool,
) -> Result<DagRecord, Problem> {
    refuse_wildcard(dag_id)?;
    let id = dag_id.to_string();
    let dag: Option<DagRecord> = api.read(consistent, move |s| s.dag(&id)).await?;
    dag.filter(|d| scope.sees(d.team.as_deref()))
        .ok_or_else(|| no_dag(dag_id))
}

/// Airflow's `~` ("every DAG") in a path: refused with what to do instead.
pub(super) fn refuse_wildcard(dag_id: &str) -> Result<(), Problem> {
    if dag_id == "~" {
        return Err(Problem::bad_request(
            "`~` (every DAG) is not supported in Kairos's paths: name one DAG, and list DAGs \
             with GET /dags",
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/dags/{dag_id}", params(("dag_id" = String, Path), ReadOptions), responses(
    (status = 200, body = Dag), (status = 404, body = Problem)))]
pub async fn get_dag(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<Dag>, Problem> {
    scope.require(Role::Viewer)?;
    Ok(Json(
        load_view(&api, &scope, &dag_id, read.consistent).await?,
    ))
}

#[utoipa::path(patch, path = "/dags/{dag_id}", params(("dag_id" = String, Path), UpdateMask), request_body = DagPatch, responses(
    (status = 200, body = Dag), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn patch_dag(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    UrlQuery(mask): UrlQuery<UpdateMask>,
    Body(patch): Body<DagPatch>,
) -> Result<Json<Dag>, Problem> {
    scope.require(Role::Operator)?;
    if let Some(field) = mask.fields().find(|f| *f != "is_paused") {
        return Err(Problem::bad_request(format!(
            "update_mask names `{field}`: only is_paused can be changed"
        )));
    }
    api.check_dag(&scope, &dag_id, true).await?;
    api.write(Command::SetPaused {
        dag_id: dag_id.clone(),
        is_paused: patch.is_paused,
    })
    .await?;
    Ok(Json(load_view(&api, &scope, &dag_id, true).await?))
}

/// Deletes a DAG with its runs, task instances, XComs and versions, as
/// Airflow's `DELETE /dags/{dag_id}` does: 409 while a task instance of it runs
/// (nothing is deleted then). A DAG with a long history goes in several bounded
/// commands; the answer comes when it is gone. Pushing the DAG again creates it
/// anew, from version 1.
#[utoipa::path(delete, path = "/dags/{dag_id}", params(("dag_id" = String, Path)), responses(
    (status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_dag(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
) -> Result<axum::http::StatusCode, Problem> {
    scope.require(Role::Operator)?;
    api.check_dag(&scope, &dag_id, true).await?;
    let deleted = crate::retention::delete_dag(
        |command| {
            let api = api.clone();
            // Sent again, what is left goes; a DAG gone after a try whose
            // outcome was unknown was deleted by that try.
            async move {
                match api.write_resent(command).await {
                    (Err(problem), true) if problem.status == 404 => {
                        Ok(kairos_state::Outcome::Done)
                    }
                    (result, _) => result,
                }
            }
        },
        &dag_id,
    )
    .await?;
    tracing::info!(
        dag_id,
        runs = deleted.runs,
        task_instances = deleted.task_instances,
        versions = deleted.versions,
        commands = deleted.commands,
        "deleted a DAG"
    );
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Airflow's "pause or unpause many": the DAGs whose id contains
/// `dag_id_pattern` (`~`: every DAG), within the caller's scope and the
/// list's other filters, a page of them (`limit`, default 100, and `offset`).
/// Answers the DAGs changed; `total_entries` counts every DAG that matched.
#[utoipa::path(patch, path = "/dags", params(DagListQuery, UpdateMask), request_body = DagPatch,
    responses((status = 200, body = DagList), (status = 400, body = Problem),
    (status = 403, body = Problem)))]
pub async fn patch_dags(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(query): UrlQuery<DagListQuery>,
    UrlQuery(mask): UrlQuery<UpdateMask>,
    Body(patch): Body<DagPatch>,
) -> Result<Json<DagList>, Problem> {
    scope.require(Role::Operator)?;
    if let Some(field) = mask.fields().find(|f| *f != "is_paused") {
        return Err(Problem::bad_request(format!(
            "update_mask names `{field}`: only is_paused can be changed"
        )));
    }
    let Some(pattern) = query.dag_id_pattern.clone() else {
        return Err(Problem::bad_request(
            "dag_id_pattern is needed: the DAGs whose id contains it change (`~` for every DAG)",
        ));
    };
    if query.after.is_some() {
        return Err(Problem::bad_request(
            "after is not taken here: page with limit and offset",
        ));
    }
    if let Some(mine) = &scope.team {
        if query.team.as_ref().is_some_and(|asked| asked != mine) {
            return Ok(Json(DagList {
                dags: Vec::new(),
                next: None,
                total_entries: Some(0),
            }));
        }
    }
    let filter = DagFilter {
        paused: query.paused,
        tags: query.tags,
        dag_id_pattern: (pattern != "~").then_some(pattern),
        bundle: query.bundle,
        team: scope.team.clone().or(query.team),
    };
    let window = Window::of(query.limit, query.offset, false, 100);
    let page = api
        .read(true, move |s| {
            paging::window(
                None,
                window,
                |cursor, n| s.dags(cursor.map(String::as_str), Some(n), &filter),
                |d| d.dag_id.clone(),
                |_| true,
            )
        })
        .await?;
    let mut changed = Vec::with_capacity(page.items.len());
    for dag in page.items {
        api.write(Command::SetPaused {
            dag_id: dag.dag_id.clone(),
            is_paused: patch.is_paused,
        })
        .await?;
        changed.push(load_view(&api, &scope, &dag.dag_id, true).await?);
    }
    Ok(Json(DagList {
        dags: changed,
        next: None,
        total_entries: page.total,
    }))
}
