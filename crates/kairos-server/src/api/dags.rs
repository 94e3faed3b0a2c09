//! `/dags`: list, get, pause and unpause.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use kairos_api::{Dag, DagList, DagListQuery, DagPatch, ReadOptions};
use kairos_state::Command;
use kairos_state::query::DagFilter;
use kairos_state::records::DagRecord;

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::convert;
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
    let limit = f.limit.unwrap_or(100).clamp(1, 1000);
    // A team's caller lists its own team's DAGs only, whatever `team=` it asks.
    if let Some(mine) = &scope.team {
        if f.team.as_ref().is_some_and(|asked| asked != mine) {
            return Ok(Json(DagList {
                dags: Vec::new(),
                next: None,
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
    let dags: Vec<DagRecord> = api
        .read(f.consistent, move |s| {
            s.dags(after.as_deref(), Some(limit), &filter)
        })
        .await?;
    let next = (dags.len() == limit)
        .then(|| dags.last().map(|d| d.dag_id.clone()))
        .flatten();
    Ok(Json(DagList {
        dags: dags.into_iter().map(convert::dag).collect(),
        next,
    }))
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
    let id = dag_id.to_string();
    let dag: Option<DagRecord> = api.read(consistent, move |s| s.dag(&id)).await?;
    dag.filter(|d| scope.sees(d.team.as_deref()))
        .ok_or_else(|| no_dag(dag_id))
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
    Ok(Json(convert::dag(
        load_dag(&api, &scope, &dag_id, read.consistent).await?,
    )))
}

#[utoipa::path(patch, path = "/dags/{dag_id}", params(("dag_id" = String, Path)), request_body = DagPatch, responses(
    (status = 200, body = Dag), (status = 404, body = Problem)))]
pub async fn patch_dag(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    Body(patch): Body<DagPatch>,
) -> Result<Json<Dag>, Problem> {
    scope.require(Role::Operator)?;
    api.check_dag(&scope, &dag_id, true).await?;
    api.write(Command::SetPaused {
        dag_id: dag_id.clone(),
        is_paused: patch.is_paused,
    })
    .await?;
    Ok(Json(convert::dag(
        load_dag(&api, &scope, &dag_id, true).await?,
    )))
}
