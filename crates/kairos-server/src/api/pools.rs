//! `/pools`: Airflow's pools. Anyone may read them; admins create, resize and
//! delete them (`default_pool` can be resized, not deleted). A pool may belong
//! to a team: its DAGs may use it, and its admins manage it. A team's caller sees
//! its own team's pools and the cluster-wide ones (which its tasks may use);
//! another team's pool answers 404. Pool names are cluster-wide.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kairos_api::{Pool, PoolBody, PoolList, ReadOptions};
use kairos_state::Command;
use kairos_state::records::PoolRecord;

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::convert;
use super::problem::Problem;
use super::scope::Scope;

async fn all_pools(api: &Api, consistent: bool) -> Result<Vec<PoolRecord>, Problem> {
    api.read(consistent, |s| s.pools()).await
}

/// Pool `name` when the caller may see it (its team's or a cluster-wide one).
async fn visible_pool(
    api: &Api,
    scope: &Scope,
    name: &str,
    consistent: bool,
) -> Result<Option<PoolRecord>, Problem> {
    Ok(all_pools(api, consistent)
        .await?
        .into_iter()
        .find(|p| p.name == name && (p.team.is_none() || scope.sees(p.team.as_deref()))))
}

#[utoipa::path(get, path = "/pools", params(ReadOptions), responses((status = 200, body = PoolList)))]
pub async fn list_pools(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<PoolList>, Problem> {
    scope.require(Role::Viewer)?;
    let pools = all_pools(&api, read.consistent).await?;
    Ok(Json(PoolList {
        pools: pools
            .into_iter()
            .filter(|p| p.team.is_none() || scope.sees(p.team.as_deref()))
            .map(convert::pool)
            .collect(),
    }))
}

#[utoipa::path(get, path = "/pools/{name}", params(("name" = String, Path), ReadOptions),
    responses((status = 200, body = Pool), (status = 404, body = Problem)))]
pub async fn get_pool(
    State(api): State<Api>,
    scope: Scope,
    Path(name): Path<String>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<Pool>, Problem> {
    scope.require(Role::Viewer)?;
    visible_pool(&api, &scope, &name, read.consistent)
        .await?
        .map(|p| Json(convert::pool(p)))
        .ok_or_else(|| Problem::not_found(format!("no pool `{name}`")))
}

/// What a team's admin may not do to pool `name` as it stands.
fn refuse_for_team(mine: &str, name: &str, existing: Option<&PoolRecord>) -> Option<Problem> {
    match existing.map(|p| p.team.as_deref()) {
        None => None,
        Some(Some(owner)) if owner == mine => None,
        Some(None) => Some(Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "pool `{name}` is cluster-wide; only a cluster-wide admin changes it (a team \
                 admin manages its team's pools)"
            ),
        )),
        Some(Some(_)) => Some(Problem::new(
            StatusCode::CONFLICT,
            format!(
                "the name `{name}` is taken by a pool outside team `{mine}` (pool names are \
                 cluster-wide); choose another name"
            ),
        )),
    }
}

#[utoipa::path(put, path = "/pools/{name}", params(("name" = String, Path)), request_body = PoolBody,
    responses((status = 200, body = Pool), (status = 400, body = Problem), (status = 403, body = Problem),
    (status = 409, body = Problem)))]
pub async fn put_pool(
    State(api): State<Api>,
    scope: Scope,
    Path(name): Path<String>,
    Body(body): Body<PoolBody>,
) -> Result<Json<Pool>, Problem> {
    scope.require(Role::Admin)?;
    let existing = all_pools(&api, true)
        .await?
        .into_iter()
        .find(|p| p.name == name);
    let team = match &scope.team {
        Some(mine) => {
            if body.team.as_ref().is_some_and(|asked| asked != mine) {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    format!("an admin of team `{mine}` sets pools of team `{mine}` only"),
                ));
            }
            if let Some(problem) = refuse_for_team(mine, &name, existing.as_ref()) {
                return Err(problem);
            }
            Some(mine.clone())
        }
        None => body.team.or_else(|| existing.and_then(|p| p.team)),
    };
    let pool = PoolRecord {
        name,
        slots: body.slots,
        description: body.description,
        include_deferred: body.include_deferred,
        team,
    };
    api.write(Command::SetPool { pool: pool.clone() }).await?;
    Ok(Json(convert::pool(pool)))
}

#[utoipa::path(delete, path = "/pools/{name}", params(("name" = String, Path)),
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem)))]
pub async fn delete_pool(
    State(api): State<Api>,
    scope: Scope,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    scope.require(Role::Admin)?;
    if let Some(mine) = &scope.team {
        let Some(pool) = visible_pool(&api, &scope, &name, true).await? else {
            return Err(Problem::not_found(format!("no pool `{name}`")));
        };
        if let Some(problem) = refuse_for_team(mine, &name, Some(&pool)) {
            return Err(problem);
        }
    }
    api.write(Command::DeletePool { name }).await?;
    Ok(StatusCode::NO_CONTENT)
}
