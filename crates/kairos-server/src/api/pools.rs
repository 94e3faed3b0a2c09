//! `/pools`: Airflow's pools. Anyone may read them; admins create, resize and
//! delete them (`default_pool` can be resized, not deleted): `PUT` as Kairos
//! writes it, `POST` and `PATCH` as Airflow's clients do. A pool may belong
//! to a team: its DAGs may use it, and its admins manage it. A team's caller sees
//! its own team's pools and the cluster-wide ones (which its tasks may use);
//! another team's pool answers 404. Pool names are cluster-wide.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kairos_api::{AirflowPool, Page, Pool, PoolBody, PoolList, ReadOptions, UpdateMask};
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

/// A pool as the API shows it, with the slots its instances hold.
async fn view(api: &Api, pool: PoolRecord, consistent: bool) -> Result<Pool, Problem> {
    let name = pool.name.clone();
    let used = api
        .read(consistent, move |s| s.pool_used_slots(&name))
        .await?;
    Ok(convert::pool(pool, used))
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

/// Every pool the caller may see, in name order (`limit` and `offset` as
/// Airflow pages; pools are few, and read whole).
#[utoipa::path(get, path = "/pools", params(Page), responses((status = 200, body = PoolList)))]
pub async fn list_pools(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(page): UrlQuery<Page>,
) -> Result<Json<PoolList>, Problem> {
    scope.require(Role::Viewer)?;
    let pools = api
        .read(page.consistent, |s| {
            s.pools()?
                .into_iter()
                .map(|p| {
                    let used = s.pool_used_slots(&p.name)?;
                    Ok((p, used))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let visible: Vec<_> = pools
        .into_iter()
        .filter(|(p, _)| p.team.is_none() || scope.sees(p.team.as_deref()))
        .filter(|(p, _)| page.after.as_ref().is_none_or(|after| &p.name > after))
        .collect();
    let total_entries = visible.len();
    Ok(Json(PoolList {
        pools: visible
            .into_iter()
            .skip(page.offset.unwrap_or(0))
            .take(page.limit.unwrap_or(1000).clamp(1, 1000))
            .map(|(p, used)| convert::pool(p, used))
            .collect(),
        total_entries,
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
    let pool = visible_pool(&api, &scope, &name, read.consistent)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no pool `{name}`")))?;
    Ok(Json(view(&api, pool, read.consistent).await?))
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
    set_pool(&api, &scope, name, body).await.map(Json)
}

/// Creates or changes pool `name` as `body` says, within the caller's scope.
async fn set_pool(api: &Api, scope: &Scope, name: String, body: PoolBody) -> Result<Pool, Problem> {
    let existing = all_pools(api, true)
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
    view(api, pool, true).await
}

/// Airflow's create: `name` and `slots` are needed; 409 if the pool exists.
#[utoipa::path(post, path = "/pools", request_body = AirflowPool,
    responses((status = 200, body = Pool), (status = 400, body = Problem), (status = 403, body = Problem),
    (status = 409, body = Problem)))]
pub async fn post_pool(
    State(api): State<Api>,
    scope: Scope,
    Body(body): Body<AirflowPool>,
) -> Result<Json<Pool>, Problem> {
    scope.require(Role::Admin)?;
    let (Some(name), Some(slots)) = (body.name.clone(), body.slots) else {
        return Err(Problem::bad_request("a new pool needs `name` and `slots`"));
    };
    if name.trim().is_empty() {
        return Err(Problem::bad_request("the pool's name is empty"));
    }
    if all_pools(&api, true).await?.iter().any(|p| p.name == name) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            format!("pool `{name}` exists: change it with PATCH /pools/{name}"),
        ));
    }
    let body = PoolBody {
        slots,
        description: body.description,
        include_deferred: body.include_deferred.unwrap_or(false),
        team: body.team,
    };
    set_pool(&api, &scope, name, body).await.map(Json)
}

/// Airflow's update: the fields given (or those `update_mask` names) change,
/// the others stay.
#[utoipa::path(patch, path = "/pools/{name}", params(("name" = String, Path), UpdateMask),
    request_body = AirflowPool,
    responses((status = 200, body = Pool), (status = 400, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem)))]
pub async fn patch_pool(
    State(api): State<Api>,
    scope: Scope,
    Path(name): Path<String>,
    UrlQuery(mask): UrlQuery<UpdateMask>,
    Body(body): Body<AirflowPool>,
) -> Result<Json<Pool>, Problem> {
    scope.require(Role::Admin)?;
    let Some(pool) = visible_pool(&api, &scope, &name, true).await? else {
        return Err(Problem::not_found(format!("no pool `{name}`")));
    };
    if body.name.as_ref().is_some_and(|n| *n != name) {
        return Err(Problem::bad_request(format!(
            "a pool cannot be renamed (`{name}` to `{}`): create the new one and delete this",
            body.name.as_deref().unwrap_or_default()
        )));
    }
    let masked: Vec<&str> = mask.fields().collect();
    if let Some(field) = masked
        .iter()
        .find(|f| !["name", "slots", "description", "include_deferred"].contains(f))
    {
        return Err(Problem::bad_request(format!(
            "update_mask names `{field}`: a pool has slots, description and include_deferred"
        )));
    }
    let takes = |field: &str| masked.is_empty() || masked.contains(&field);
    let body = PoolBody {
        slots: body.slots.filter(|_| takes("slots")).unwrap_or(pool.slots),
        description: if takes("description") && (body.description.is_some() || !masked.is_empty()) {
            body.description
        } else {
            pool.description
        },
        include_deferred: body
            .include_deferred
            .filter(|_| takes("include_deferred"))
            .unwrap_or(pool.include_deferred),
        team: None,
    };
    set_pool(&api, &scope, name, body).await.map(Json)
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
