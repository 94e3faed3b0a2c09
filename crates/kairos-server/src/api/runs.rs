//! `/dags/{dag_id}/dagRuns`: list, get, trigger, mark and delete runs.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kairos_api::{DagRun, DagRunList, DagRunPatch, Page, ReadOptions, RunOrderParam, TriggerRun};
use kairos_state::Command;

use crate::trigger::Trigger;
use kairos_state::query::RunOrder;
use kairos_state::records::DagRunRecord;

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::convert;
use super::problem::Problem;
use super::scope::Scope;

/// The order `?order_by=` names, by Airflow's names.
fn run_order(param: &RunOrderParam) -> Result<RunOrder, Problem> {
    match param.order_by.as_deref().map(str::trim) {
        None | Some("") | Some("run_id") => Ok(RunOrder::RunId),
        Some("logical_date") | Some("execution_date") => Ok(RunOrder::OldestFirst),
        Some("-logical_date") | Some("-execution_date") => Ok(RunOrder::NewestFirst),
        Some(other) => Err(Problem::bad_request(format!(
            "order_by `{other}` is not known: use run_id, logical_date or -logical_date"
        ))),
    }
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns", params(("dag_id" = String, Path), Page, RunOrderParam), responses(
    (status = 200, body = DagRunList), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list_runs(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    UrlQuery(page): UrlQuery<Page>,
    UrlQuery(order): UrlQuery<RunOrderParam>,
) -> Result<Json<DagRunList>, Problem> {
    scope.require(Role::Viewer)?;
    let order = run_order(&order)?;
    super::dags::load_dag(&api, &scope, &dag_id, page.consistent).await?;
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let after = page.after;
    let runs: Vec<DagRunRecord> = api
        .read(page.consistent, move |s| {
            s.runs_ordered(&dag_id, None, after.as_deref(), Some(limit), order)
        })
        .await?;
    let next = (runs.len() == limit)
        .then(|| runs.last().map(|r| r.run_id.clone()))
        .flatten();
    Ok(Json(DagRunList {
        dag_runs: runs.into_iter().map(convert::dag_run).collect(),
        next,
    }))
}

pub(super) async fn load_run(
    api: &Api,
    dag_id: &str,
    run_id: &str,
    consistent: bool,
) -> Result<DagRunRecord, Problem> {
    let (dag, run) = (dag_id.to_string(), run_id.to_string());
    let run: Option<DagRunRecord> = api.read(consistent, move |s| s.run(&dag, &run)).await?;
    run.ok_or_else(|| Problem::not_found(format!("no run `{run_id}` of DAG `{dag_id}`")))
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ReadOptions), responses(
    (status = 200, body = DagRun), (status = 404, body = Problem)))]
pub async fn get_run(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id)): Path<(String, String)>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<DagRun>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, read.consistent).await?;
    Ok(Json(convert::dag_run(
        load_run(&api, &dag_id, &run_id, read.consistent).await?,
    )))
}

/// Triggers a manual run of the DAG's newest version. Without `dag_run_id` the
/// run is named `manual__<logical date or now>`, as Airflow names it.
#[utoipa::path(post, path = "/dags/{dag_id}/dagRuns", params(("dag_id" = String, Path)),
    request_body = TriggerRun, responses(
    (status = 200, body = DagRun), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn trigger_run(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    Body(body): Body<TriggerRun>,
) -> Result<Json<DagRun>, Problem> {
    scope.require(Role::Operator)?;
    api.check_dag(&scope, &dag_id, true).await?;
    if body
        .dag_run_id
        .as_deref()
        .is_some_and(|id| id.trim().is_empty())
    {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "dag_run_id is empty"));
    }
    let trigger = Trigger {
        dag_id: dag_id.clone(),
        run_id: body.dag_run_id,
        logical_date: body.logical_date,
        conf: body.conf,
        triggered_by: "api".into(),
    };
    let run_id = trigger.run_id(chrono::Utc::now());
    api.write(trigger.command(run_id.clone())).await?;
    Ok(Json(convert::dag_run(
        load_run(&api, &dag_id, &run_id, true).await?,
    )))
}

/// Marks a run success or failed, as Airflow's "mark run as" does: success marks
/// every task instance success; failed fails what runs and skips what has not
/// started. A running attempt is told to stop at its worker's next heartbeat.
#[utoipa::path(patch, path = "/dags/{dag_id}/dagRuns/{dag_run_id}",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path)),
    request_body = DagRunPatch, responses(
    (status = 200, body = DagRun), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn patch_run(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id)): Path<(String, String)>,
    Body(patch): Body<DagRunPatch>,
) -> Result<Json<DagRun>, Problem> {
    scope.require(Role::Operator)?;
    api.check_dag(&scope, &dag_id, true).await?;
    api.write(Command::SetDagRunState {
        dag_id: dag_id.clone(),
        run_id: run_id.clone(),
        state: convert::run_state(patch.state),
    })
    .await?;
    Ok(Json(convert::dag_run(
        load_run(&api, &dag_id, &run_id, true).await?,
    )))
}

/// Deletes a run with its task instances, their tries and XComs.
#[utoipa::path(delete, path = "/dags/{dag_id}/dagRuns/{dag_run_id}",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path)), responses(
    (status = 204), (status = 404, body = Problem)))]
pub async fn delete_run(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    scope.require(Role::Operator)?;
    api.check_dag(&scope, &dag_id, true).await?;
    api.write(Command::DeleteDagRun { dag_id, run_id }).await?;
    Ok(StatusCode::NO_CONTENT)
}
