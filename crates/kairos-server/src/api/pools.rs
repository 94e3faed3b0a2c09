//! `/pools`: Airflow's pools. Anyone may read them; admins create, resize and
//! delete them (`default_pool` can be resized, not deleted).

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kairos_api::{Pool, PoolBody, PoolList, ReadOptions};
use kairos_state::Command;
use kairos_state::records::PoolRecord;

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::convert;
use super::problem::Problem;

#[utoipa::path(get, path = "/pools", params(ReadOptions), responses((status = 200, body = PoolList)))]
pub async fn list_pools(
    State(api): State<Api>,
    headers: HeaderMap,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<PoolList>, Problem> {
    api.tokens.authorize(&headers, Role::Viewer)?;
    let pools: Vec<PoolRecord> = api.read(read.consistent, |s| s.pools()).await?;
    Ok(Json(PoolList {
        pools: pools.into_iter().map(convert::pool).collect(),
    }))
}

#[utoipa::path(get, path = "/pools/{name}", params(("name" = String, Path), ReadOptions),
    responses((status = 200, body = Pool), (status = 404, body = Problem)))]
pub async fn get_pool(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(name): Path<String>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<Pool>, Problem> {
    api.tokens.authorize(&headers, Role::Viewer)?;
    let pools: Vec<PoolRecord> = api.read(read.consistent, |s| s.pools()).await?;
    pools
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| Json(convert::pool(p)))
        .ok_or_else(|| Problem::not_found(format!("no pool `{name}`")))
}

#[utoipa::path(put, path = "/pools/{name}", params(("name" = String, Path)), request_body = PoolBody,
    responses((status = 200, body = Pool), (status = 400, body = Problem)))]
pub async fn put_pool(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Body(body): Body<PoolBody>,
) -> Result<Json<Pool>, Problem> {
    api.tokens.authorize(&headers, Role::Admin)?;
    let pool = PoolRecord {
        name,
        slots: body.slots,
        description: body.description,
        include_deferred: body.include_deferred,
        team: None,
    };
    api.write(Command::SetPool { pool: pool.clone() }).await?;
    Ok(Json(convert::pool(pool)))
}

#[utoipa::path(delete, path = "/pools/{name}", params(("name" = String, Path)),
    responses((status = 204), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_pool(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    api.tokens.authorize(&headers, Role::Admin)?;
    api.write(Command::DeletePool { name }).await?;
    Ok(StatusCode::NO_CONTENT)
}
