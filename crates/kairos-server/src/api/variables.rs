//! `/variables`: Airflow's Variables. Values are sealed with the servers'
//! variables key (when configured) before they are proposed, so Raft's log and
//! the state hold ciphertext; they are opened again only here and for workers.
//! Reading values needs the operator role (they are often secrets), changing them
//! the admin role.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kairos_api::{Page, ReadOptions, Variable, VariableBody, VariableList};
use kairos_state::Command;
use kairos_state::records::VariableRecord;

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::problem::Problem;

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
            key.open(&record.key, &record.value)
                .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e))?
        } else {
            record.value
        };
        Ok(Variable {
            key: record.key,
            value,
            description: record.description,
        })
    }
}

#[utoipa::path(get, path = "/variables", params(Page), responses(
    (status = 200, body = VariableList), (status = 403, body = Problem)))]
pub async fn list_variables(
    State(api): State<Api>,
    headers: HeaderMap,
    UrlQuery(page): UrlQuery<Page>,
) -> Result<Json<VariableList>, Problem> {
    api.tokens.authorize(&headers, Role::Operator)?;
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let after = page.after;
    let records: Vec<VariableRecord> = api
        .read(page.consistent, move |s| {
            s.variables(after.as_deref(), Some(limit))
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

#[utoipa::path(get, path = "/variables/{key}", params(("key" = String, Path), ReadOptions), responses(
    (status = 200, body = Variable), (status = 404, body = Problem)))]
pub async fn get_variable(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(key): Path<String>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<Variable>, Problem> {
    api.tokens.authorize(&headers, Role::Operator)?;
    let asked = key.clone();
    let record: Option<VariableRecord> = api
        .read(read.consistent, move |s| s.variable(&asked))
        .await?;
    let record = record.ok_or_else(|| Problem::not_found(format!("no variable `{key}`")))?;
    Ok(Json(api.open_variable(record)?))
}

#[utoipa::path(put, path = "/variables/{key}", params(("key" = String, Path)), request_body = VariableBody,
    responses((status = 200, body = Variable), (status = 403, body = Problem)))]
pub async fn put_variable(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Body(body): Body<VariableBody>,
) -> Result<Json<Variable>, Problem> {
    api.tokens.authorize(&headers, Role::Admin)?;
    let (value, encrypted) = match &api.variables_key {
        Some(k) => (
            k.seal(&key, &body.value)
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
            team: None,
        },
    })
    .await?;
    Ok(Json(Variable {
        key,
        value: body.value,
        description: body.description,
    }))
}

#[utoipa::path(delete, path = "/variables/{key}", params(("key" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_variable(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<StatusCode, Problem> {
    api.tokens.authorize(&headers, Role::Admin)?;
    api.write(Command::DeleteVariable { key, team: None }).await?;
    Ok(StatusCode::NO_CONTENT)
}
