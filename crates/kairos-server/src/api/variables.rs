//! `/variables`: Airflow's Variables. Values are sealed with the servers'
//! variables key (when configured) before they are proposed, so Raft's log and
//! the state hold ciphertext; they are opened again only here and for workers.
//! Reading values needs the operator role (they are often secrets), changing them
//! the admin role.
//!
//! A Variable may belong to a team (`?team=`). A team's caller reads its team's
//! Variables and, where its team has none of a key, the cluster-wide one (its
//! tasks read those too); it changes its own team's only. Another team's
//! Variables are never shown. A cluster-wide caller names the team, or none.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kairos_api::{
    AirflowVariable, Page, ReadOptions, TeamQuery, UpdateMask, Variable, VariableBody, VariableList,
};
use kairos_state::Command;
use kairos_state::records::VariableRecord;

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::paging::{self, Window};
use super::problem::Problem;
use super::scope::Scope;
use crate::secrets::VariableKey;

impl Api {
    fn open_variable(&self, record: VariableRecord) -> Result<Variable, Problem> {
        let value = if record.encrypted {
            let key = self.variables_key.as_ref().ok_or_else(|| {
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "variable `{}` is stored encrypted and this server has no variables_key_file",
                        record.key
                    ),
                )
            })?;
            key.open(
                &VariableKey::sealed_name(record.team.as_deref(), &record.key),
                &record.value,
            )
            .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e))?
        } else {
            record.value
        };
        Ok(Variable {
            key: record.key,
            value,
            description: record.description,
            team: record.team,
        })
    }
}

/// Whose Variables a request means: a team's caller always its own team (`None`
/// when it names another: nothing of that team is visible to it); a cluster-wide
/// caller the team it names, or the cluster-wide ones.
pub(super) fn whose(scope: &Scope, asked: Option<String>) -> Option<Option<String>> {
    match (&scope.team, asked) {
        (None, asked) => Some(asked),
        (Some(mine), None) => Some(Some(mine.clone())),
        (Some(mine), Some(asked)) => (&asked == mine).then(|| Some(asked)),
    }
}

#[utoipa::path(get, path = "/variables", params(Page, TeamQuery), responses(
    (status = 200, body = VariableList), (status = 403, body = Problem)))]
pub async fn list_variables(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(page): UrlQuery<Page>,
    UrlQuery(asked): UrlQuery<TeamQuery>,
) -> Result<Json<VariableList>, Problem> {
    scope.require(Role::Operator)?;
    let window = Window::of(page.limit, page.offset, page.after.is_some(), 100);
    let limit = window.limit;
    let after = page.after;
    let Some(team) = whose(&scope, asked.team) else {
        return Ok(Json(VariableList {
            variables: Vec::new(),
            next: None,
            total_entries: window.count.then_some(0),
        }));
    };
    // A team's caller: its own Variables merged with the cluster-wide ones of
    // the keys it has none of, in key order.
    let fallback = scope.team.is_some();
    let page = api
        .read(page.consistent, move |s| {
            let fetch = |after: Option<&String>, limit: usize| {
                let after = after.map(String::as_str);
                let Some(team) = &team else {
                    return s.variables(after, Some(limit));
                };
                let own = s.team_variables(team, after, Some(limit))?;
                if !fallback {
                    return Ok(own);
                }
                let shared = s.variables(after, Some(limit))?;
                Ok(paging::own_then_shared(own, shared, |v| &v.key, limit))
            };
            paging::window(after.clone(), window, fetch, |v| v.key.clone(), |_| true)
        })
        .await?;
    let records: Vec<VariableRecord> = page.items;
    let next = (records.len() == limit)
        .then(|| records.last().map(|v| v.key.clone()))
        .flatten();
    let variables = records
        .into_iter()
        .map(|r| api.open_variable(r))
        .collect::<Result<_, _>>()?;
    Ok(Json(VariableList {
        variables,
        next,
        total_entries: page.total,
    }))
}

#[utoipa::path(get, path = "/variables/{key}", params(("key" = String, Path), ReadOptions, TeamQuery), responses(
    (status = 200, body = Variable), (status = 404, body = Problem)))]
pub async fn get_variable(
    State(api): State<Api>,
    scope: Scope,
    Path(key): Path<String>,
    UrlQuery(read): UrlQuery<ReadOptions>,
    UrlQuery(asked): UrlQuery<TeamQuery>,
) -> Result<Json<Variable>, Problem> {
    scope.require(Role::Operator)?;
    let missing = || Problem::not_found(format!("no variable `{key}`"));
    let team = whose(&scope, asked.team).ok_or_else(missing)?;
    let fallback = scope.team.is_some();
    let asked_key = key.clone();
    let record: Option<VariableRecord> = api
        .read(read.consistent, move |s| {
            if fallback {
                s.variable_for(team.as_deref(), &asked_key)
            } else {
                s.variable_of(team.as_deref(), &asked_key)
            }
        })
        .await?;
    Ok(Json(api.open_variable(record.ok_or_else(missing)?)?))
}

#[utoipa::path(put, path = "/variables/{key}", params(("key" = String, Path), TeamQuery), request_body = VariableBody,
    responses((status = 200, body = Variable), (status = 403, body = Problem)))]
pub async fn put_variable(
    State(api): State<Api>,
    scope: Scope,
    Path(key): Path<String>,
    UrlQuery(asked): UrlQuery<TeamQuery>,
    Body(body): Body<VariableBody>,
) -> Result<Json<Variable>, Problem> {
    scope.require(Role::Admin)?;
    set_variable(&api, &scope, key, asked, body).await.map(Json)
}

/// Sets Variable `key` of the team the request means.
async fn set_variable(
    api: &Api,
    scope: &Scope,
    key: String,
    asked: TeamQuery,
    body: VariableBody,
) -> Result<Variable, Problem> {
    if key.trim().is_empty() {
        return Err(Problem::bad_request("the Variable's key is empty"));
    }
    let team = whose(scope, asked.team).ok_or_else(|| {
        Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "an admin of team `{}` sets its own team's Variables only",
                scope.team.as_deref().unwrap_or_default()
            ),
        )
    })?;
    let (value, encrypted) = match &api.variables_key {
        Some(k) => (
            k.seal(
                &VariableKey::sealed_name(team.as_deref(), &key),
                &body.value,
            )
            .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e))?,
            true,
        ),
        None => (body.value.clone(), false),
    };
    api.write(Command::SetVariable {
        variable: VariableRecord {
            key: key.clone(),
            value,
            description: body.description.clone(),
            encrypted,
            team: team.clone(),
        },
    })
    .await?;
    Ok(Variable {
        key,
        value: body.value,
        description: body.description,
        team,
    })
}

/// Airflow's create (or overwrite): `key` and `value` in the body.
#[utoipa::path(post, path = "/variables", params(TeamQuery), request_body = AirflowVariable,
    responses((status = 200, body = Variable), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn post_variable(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(asked): UrlQuery<TeamQuery>,
    Body(body): Body<AirflowVariable>,
) -> Result<Json<Variable>, Problem> {
    scope.require(Role::Admin)?;
    let Some(key) = body.key else {
        return Err(Problem::bad_request(
            "a new Variable needs `key` and `value`",
        ));
    };
    let body = VariableBody {
        value: body.value,
        description: body.description,
    };
    set_variable(&api, &scope, key, asked, body).await.map(Json)
}

/// Airflow's update of an existing Variable (404 when absent); `update_mask`
/// may name `value` and `description`.
#[utoipa::path(patch, path = "/variables/{key}", params(("key" = String, Path), UpdateMask, TeamQuery),
    request_body = AirflowVariable,
    responses((status = 200, body = Variable), (status = 400, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem)))]
pub async fn patch_variable(
    State(api): State<Api>,
    scope: Scope,
    Path(key): Path<String>,
    UrlQuery(mask): UrlQuery<UpdateMask>,
    UrlQuery(asked): UrlQuery<TeamQuery>,
    Body(body): Body<AirflowVariable>,
) -> Result<Json<Variable>, Problem> {
    scope.require(Role::Admin)?;
    if body.key.as_ref().is_some_and(|k| *k != key) {
        return Err(Problem::bad_request(format!(
            "the body's key `{}` is not the path's `{key}`: a Variable cannot be renamed",
            body.key.as_deref().unwrap_or_default()
        )));
    }
    let masked: Vec<&str> = mask.fields().collect();
    if let Some(field) = masked
        .iter()
        .find(|f| !["key", "value", "description"].contains(f))
    {
        return Err(Problem::bad_request(format!(
            "update_mask names `{field}`: a Variable has value and description"
        )));
    }
    let missing = || Problem::not_found(format!("no variable `{key}`"));
    let team = whose(&scope, asked.team.clone()).ok_or_else(missing)?;
    let asked_key = key.clone();
    let existing: Option<VariableRecord> = api
        .read(true, move |s| s.variable_of(team.as_deref(), &asked_key))
        .await?;
    let existing = api.open_variable(existing.ok_or_else(missing)?)?;
    let takes = |field: &str| masked.is_empty() || masked.contains(&field);
    let body = VariableBody {
        value: if takes("value") {
            body.value
        } else {
            existing.value
        },
        description: if takes("description") {
            body.description
        } else {
            existing.description
        },
    };
    set_variable(&api, &scope, key, asked, body).await.map(Json)
}

#[utoipa::path(delete, path = "/variables/{key}", params(("key" = String, Path), TeamQuery),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_variable(
    State(api): State<Api>,
    scope: Scope,
    Path(key): Path<String>,
    UrlQuery(asked): UrlQuery<TeamQuery>,
) -> Result<StatusCode, Problem> {
    scope.require(Role::Admin)?;
    let team = whose(&scope, asked.team)
        .ok_or_else(|| Problem::not_found(format!("no variable `{key}`")))?;
    api.write(Command::DeleteVariable { key, team }).await?;
    Ok(StatusCode::NO_CONTENT)
}
