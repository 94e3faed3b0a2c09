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
use kairos_api::{Page, ReadOptions, TeamQuery, Variable, VariableBody, VariableList};
use kairos_state::Command;
use kairos_state::records::VariableRecord;

use super::Api;
use super::auth::Role;
use super::body::Body;
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
fn whose(scope: &Scope, asked: Option<String>) -> Option<Option<String>> {
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
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let after = page.after;
    let Some(team) = whose(&scope, asked.team) else {
        return Ok(Json(VariableList {
            variables: Vec::new(),
            next: None,
        }));
    };
    // A team's caller: its own Variables merged with the cluster-wide ones of
    // the keys it has none of, in key order.
    let fallback = scope.team.is_some();
    let records: Vec<VariableRecord> = api
        .read(page.consistent, move |s| {
            let Some(team) = &team else {
                return s.variables(after.as_deref(), Some(limit));
            };
            let mut own = s.team_variables(team, after.as_deref(), Some(limit))?;
            if fallback {
                for global in s.variables(after.as_deref(), Some(limit))? {
                    if !own.iter().any(|v| v.key == global.key) {
                        own.push(global);
                    }
                }
                own.sort_by(|a, b| a.key.cmp(&b.key));
                own.truncate(limit);
            }
            Ok(own)
        })
        .await?;
    let next = (records.len() == limit)
        .then(|| records.last().map(|v| v.key.clone()))
        .flatten();
    let variables = records
        .into_iter()
        .map(|r| api.open_variable(r))
        .collect::<Result<_, _>>()?;
    Ok(Json(VariableList { variables, next }))
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
    let team = whose(&scope, asked.team).ok_or_else(|| {
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
    Ok(Json(Variable {
        key,
        value: body.value,
        description: body.description,
        team,
    }))
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
