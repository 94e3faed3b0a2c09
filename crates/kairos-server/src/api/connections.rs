//! `/connections`: Airflow's connections, in Airflow's shapes. The password and
//! extra are sealed with the servers' variables key (when configured) before
//! they are proposed ([`crate::connection_secret`]); the password is never
//! answered, and values under secret-looking keys of `extra` are shown as
//! `***`. Reading needs the operator role, changing the admin role. Teams as
//! for Variables: a team's caller sees its own and the cluster-wide ones it
//! has none of, and changes its own only.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kairos_api::{
    Connection, ConnectionBody, ConnectionList, Page, ReadOptions, TeamQuery, UpdateMask,
};
use kairos_state::Command;
use kairos_state::records::ConnectionRecord;

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::paging::{self, Window};
use super::problem::Problem;
use super::scope::Scope;
use super::variables::whose;
use crate::connection_secret::{self, Secret};
use kairos_dag::secret_names::is_sensitive_key;

fn redacted(extra: &str) -> String {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if is_sensitive_key(k) {
                        *v = serde_json::Value::String("***".into());
                    } else {
                        walk(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(extra) {
        Ok(mut v) => {
            walk(&mut v);
            v.to_string()
        }
        Err(_) => "***".into(),
    }
}

impl Api {
    fn show_connection(&self, record: ConnectionRecord) -> Result<Connection, Problem> {
        let secret = connection_secret::open(self.variables_key.as_ref(), &record)
            .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        Ok(Connection {
            connection_id: record.conn_id,
            conn_type: record.conn_type,
            description: record.description,
            host: record.host,
            login: record.login,
            schema: record.schema,
            port: record.port,
            extra: secret.extra.as_deref().map(redacted),
            has_password: secret.password.is_some_and(|p| !p.is_empty()),
            team: record.team,
        })
    }
}

fn forbidden(scope: &Scope) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        format!(
            "an admin of team `{}` changes its own team's connections only",
            scope.team.as_deref().unwrap_or_default()
        ),
    )
}

#[utoipa::path(get, path = "/connections", params(Page, TeamQuery), responses(
    (status = 200, body = ConnectionList), (status = 403, body = Problem)))]
pub async fn list_connections(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(page): UrlQuery<Page>,
    UrlQuery(asked): UrlQuery<TeamQuery>,
) -> Result<Json<ConnectionList>, Problem> {
    scope.require(Role::Operator)?;
    let window = Window::of(page.limit, page.offset, page.after.is_some(), 100);
    let limit = window.limit;
    let after = page.after;
    let Some(team) = whose(&scope, asked.team) else {
        return Ok(Json(ConnectionList {
            connections: Vec::new(),
            next: None,
            total_entries: window.count.then_some(0),
        }));
    };
    let fallback = scope.team.is_some();
    let page = api
        .read(page.consistent, move |s| {
            let fetch = |after: Option<&String>, limit: usize| {
                let after = after.map(String::as_str);
                let own = s.connections(team.as_deref(), after, Some(limit))?;
                if !(fallback && team.is_some()) {
                    return Ok(own);
                }
                let shared = s.connections(None, after, Some(limit))?;
                Ok(paging::own_then_shared(own, shared, |c| &c.conn_id, limit))
            };
            paging::window(
                after.clone(),
                window,
                fetch,
                |c| c.conn_id.clone(),
                |_| true,
            )
        })
        .await?;
    let records: Vec<ConnectionRecord> = page.items;
    let next = (records.len() == limit)
        .then(|| records.last().map(|c| c.conn_id.clone()))
        .flatten();
    let connections = records
        .into_iter()
        .map(|r| api.show_connection(r))
        .collect::<Result<_, _>>()?;
    Ok(Json(ConnectionList {
        connections,
        next,
        total_entries: page.total,
    }))
}

#[utoipa::path(get, path = "/connections/{connection_id}", params(("connection_id" = String, Path), ReadOptions, TeamQuery),
    responses((status = 200, body = Connection), (status = 404, body = Problem)))]
pub async fn get_connection(
    State(api): State<Api>,
    scope: Scope,
    Path(conn_id): Path<String>,
    UrlQuery(read): UrlQuery<ReadOptions>,
    UrlQuery(asked): UrlQuery<TeamQuery>,
) -> Result<Json<Connection>, Problem> {
    scope.require(Role::Operator)?;
    let missing = || Problem::not_found(format!("no connection `{conn_id}`"));
    let team = whose(&scope, asked.team).ok_or_else(missing)?;
    let fallback = scope.team.is_some();
    let id = conn_id.clone();
    let record: Option<ConnectionRecord> = api
        .read(read.consistent, move |s| {
            if fallback {
                s.connection_for(team.as_deref(), &id)
            } else {
                s.connection_of(team.as_deref(), &id)
            }
        })
        .await?;
    Ok(Json(api.show_connection(record.ok_or_else(missing)?)?))
}

/// Stores `body` as connection `conn_id` of `team`.
async fn store(
    api: &Api,
    team: Option<String>,
    conn_id: String,
    body: ConnectionBody,
) -> Result<Connection, Problem> {
    if conn_id.trim().is_empty() {
        return Err(Problem::bad_request(
            "the connection's connection_id is empty",
        ));
    }
    let conn_type = body
        .conn_type
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            Problem::bad_request("a connection needs `conn_type` (e.g. postgres, http)")
        })?;
    if let Some(extra) = &body.extra {
        if !matches!(
            serde_json::from_str::<serde_json::Value>(extra),
            Ok(serde_json::Value::Object(_))
        ) {
            return Err(Problem::bad_request(
                "`extra` must be the JSON text of an object, e.g. \"{\\\"sslmode\\\": \\\"require\\\"}\"",
            ));
        }
    }
    let secret = Secret {
        password: body.password,
        extra: body.extra,
    };
    let (sealed, encrypted) = connection_secret::seal(
        api.variables_key.as_ref(),
        team.as_deref(),
        &conn_id,
        &secret,
    )
    .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let record = ConnectionRecord {
        conn_id,
        conn_type,
        description: body.description,
        host: body.host,
        login: body.login,
        schema: body.schema,
        port: body.port,
        secret: sealed,
        encrypted,
        team,
    };
    api.write(Command::SetConnection {
        connection: record.clone(),
    })
    .await?;
    api.show_connection(record)
}

/// Airflow's create (or overwrite): `connection_id` and `conn_type` in the body.
#[utoipa::path(post, path = "/connections", params(TeamQuery), request_body = ConnectionBody,
    responses((status = 200, body = Connection), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn post_connection(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(asked): UrlQuery<TeamQuery>,
    Body(mut body): Body<ConnectionBody>,
) -> Result<Json<Connection>, Problem> {
    scope.require(Role::Admin)?;
    let team = whose(&scope, asked.team).ok_or_else(|| forbidden(&scope))?;
    let Some(conn_id) = body.connection_id.take() else {
        return Err(Problem::bad_request(
            "a new connection needs `connection_id` and `conn_type`",
        ));
    };
    store(&api, team, conn_id, body).await.map(Json)
}

/// Airflow's update of an existing connection (404 when absent): the fields
/// `update_mask` names, else every field of the body (an absent one cleared,
/// as Airflow's PATCH without a mask replaces the connection).
#[utoipa::path(patch, path = "/connections/{connection_id}", params(("connection_id" = String, Path), UpdateMask, TeamQuery),
    request_body = ConnectionBody,
    responses((status = 200, body = Connection), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn patch_connection(
    State(api): State<Api>,
    scope: Scope,
    Path(conn_id): Path<String>,
    UrlQuery(mask): UrlQuery<UpdateMask>,
    UrlQuery(asked): UrlQuery<TeamQuery>,
    Body(body): Body<ConnectionBody>,
) -> Result<Json<Connection>, Problem> {
    scope.require(Role::Admin)?;
    if body.connection_id.as_ref().is_some_and(|id| *id != conn_id) {
        return Err(Problem::bad_request(
            "the body's connection_id is not the path's: a connection cannot be renamed",
        ));
    }
    const FIELDS: &[&str] = &[
        "connection_id",
        "conn_type",
        "description",
        "host",
        "login",
        "schema",
        "port",
        "password",
        "extra",
    ];
    let masked: Vec<&str> = mask.fields().collect();
    if let Some(field) = masked.iter().find(|f| !FIELDS.contains(f)) {
        return Err(Problem::bad_request(format!(
            "update_mask names `{field}`: a connection has {}",
            FIELDS.join(", ")
        )));
    }
    let missing = || Problem::not_found(format!("no connection `{conn_id}`"));
    let team = whose(&scope, asked.team).ok_or_else(missing)?;
    let id = conn_id.clone();
    let asked_team = team.clone();
    let existing: Option<ConnectionRecord> = api
        .read(true, move |s| s.connection_of(asked_team.as_deref(), &id))
        .await?;
    let existing = existing.ok_or_else(missing)?;
    let secret = connection_secret::open(api.variables_key.as_ref(), &existing)
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let takes = |field: &str| masked.is_empty() || masked.contains(&field);
    let pick = |field: &str, new: Option<String>, old: Option<String>| {
        if takes(field) { new } else { old }
    };
    let merged = ConnectionBody {
        connection_id: None,
        conn_type: if takes("conn_type") && body.conn_type.is_some() {
            body.conn_type
        } else {
            Some(existing.conn_type)
        },
        description: pick("description", body.description, existing.description),
        host: pick("host", body.host, existing.host),
        login: pick("login", body.login, existing.login),
        schema: pick("schema", body.schema, existing.schema),
        port: if takes("port") {
            body.port
        } else {
            existing.port
        },
        password: pick("password", body.password, secret.password),
        extra: pick("extra", body.extra, secret.extra),
    };
    store(&api, team, conn_id, merged).await.map(Json)
}

#[utoipa::path(delete, path = "/connections/{connection_id}", params(("connection_id" = String, Path), TeamQuery),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_connection(
    State(api): State<Api>,
    scope: Scope,
    Path(conn_id): Path<String>,
    UrlQuery(asked): UrlQuery<TeamQuery>,
) -> Result<StatusCode, Problem> {
    scope.require(Role::Admin)?;
    let team = whose(&scope, asked.team)
        .ok_or_else(|| Problem::not_found(format!("no connection `{conn_id}`")))?;
    api.write(Command::DeleteConnection { conn_id, team })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
