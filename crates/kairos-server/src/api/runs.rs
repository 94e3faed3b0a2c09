//! `/dags/{dag_id}/dagRuns`: list, get, trigger, mark and delete runs.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kairos_api::{
    DagRun, DagRunList, DagRunPatch, Page, ReadOptions, RunFilter, RunOrderParam, TriggerRun,
};
use kairos_state::keys::Cf;
use kairos_state::{Command, Store, StoreError};

use crate::trigger::Trigger;
use kairos_state::query::RunOrder;
use kairos_state::records::DagRunRecord;

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::convert;
use super::paging::{self, Paged, Window};
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

/// Whether `run` passes Airflow's filters of a run list.
fn passes(filter: &RunFilter, run: &DagRunRecord) -> bool {
    let within = |at: Option<chrono::DateTime<chrono::Utc>>, gte, lte| match (gte, lte) {
        (None, None) => true,
        _ => at.is_some_and(|at| gte.is_none_or(|g| at >= g) && lte.is_none_or(|l| at <= l)),
    };
    (filter.state.is_empty() || filter.state.iter().any(|s| s == run.state.as_str()))
        && within(
            run.logical_date,
            filter.execution_date_gte,
            filter.execution_date_lte,
        )
        && within(run.start_date, filter.start_date_gte, filter.start_date_lte)
        && within(run.end_date, filter.end_date_gte, filter.end_date_lte)
}

/// How many runs of `dag_id` pass `filter`: without filters, counted from
/// their keys alone; with some, read in run-id order (never through the date
/// index, which would look each run up).
fn count_runs(s: &Store, dag_id: &str, filter: &RunFilter) -> Result<usize, StoreError> {
    if *filter == RunFilter::default() {
        return paging::count_keys(s, Cf::Runs, &kairos_state::keys::dag_prefix(dag_id));
    }
    let counted = paging::window(
        None,
        Window {
            limit: 1,
            offset: 0,
            count: true,
        },
        |cursor, n| s.runs(dag_id, None, cursor.map(String::as_str), Some(n)),
        |r| r.run_id.clone(),
        |r| passes(filter, r),
    )?;
    Ok(counted.total.unwrap_or(0))
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns", params(("dag_id" = String, Path), Page, RunOrderParam, RunFilter), responses(
    (status = 200, body = DagRunList), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list_runs(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    UrlQuery(page): UrlQuery<Page>,
    UrlQuery(order): UrlQuery<RunOrderParam>,
    UrlQuery(filter): UrlQuery<RunFilter>,
) -> Result<Json<DagRunList>, Problem> {
    scope.require(Role::Viewer)?;
    let order = run_order(&order)?;
    if let Some(unknown) = filter
        .state
        .iter()
        .find(|s| !["queued", "running", "success", "failed"].contains(&s.as_str()))
    {
        return Err(Problem::bad_request(format!(
            "state `{unknown}` is not a run state: use queued, running, success or failed"
        )));
    }
    super::dags::load_dag(&api, &scope, &dag_id, page.consistent).await?;
    let window = Window::of(page.limit, page.offset, page.after.is_some(), 100);
    let limit = window.limit;
    let after = page.after;
    let page: Paged<DagRunRecord> = api
        .read(page.consistent, move |s| {
            let mut page = paging::window(
                after.clone(),
                Window {
                    count: false,
                    ..window
                },
                |cursor, n| {
                    s.runs_ordered(&dag_id, None, cursor.map(String::as_str), Some(n), order)
                },
                |r| r.run_id.clone(),
                |r| passes(&filter, r),
            )?;
            if window.count {
                page.total = Some(count_runs(s, &dag_id, &filter)?);
            }
            Ok(page)
        })
        .await?;
    let runs = page.items;
    let next = (runs.len() == limit)
        .then(|| runs.last().map(|r| r.run_id.clone()))
        .flatten();
    Ok(Json(DagRunList {
        dag_runs: runs.into_iter().map(convert::dag_run).collect(),
        next,
        total_entries: page.total,
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
    let mut run = convert::dag_run(load_run(&api, &dag_id, &run_id, read.consistent).await?);
    let (d, r) = (dag_id.clone(), run_id.clone());
    run.dag_callback = api
        .read(read.consistent, move |s| s.dag_callback(&d, &r))
        .await?
        .map(convert::dag_callback);
    Ok(Json(run))
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
    if body.note.is_some() {
        return Err(Problem::bad_request(
            "note: Kairos keeps no notes on runs; leave it out",
        ));
    }
    if body.data_interval_start.is_some() || body.data_interval_end.is_some() {
        return Err(Problem::bad_request(
            "data_interval_start / data_interval_end: Kairos infers a manual run's data \
             interval from the DAG's schedule and the logical date (docs/scheduler.md); leave \
             them out",
        ));
    }
    let logical_date = match (body.logical_date, body.execution_date) {
        (Some(a), Some(b)) if a != b => {
            return Err(Problem::bad_request(
                "logical_date and execution_date differ: give one of them",
            ));
        }
        (a, b) => a.or(b),
    };
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
        logical_date,
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
    let Some(state) = convert::run_state(patch.state) else {
        return Err(Problem::bad_request(
            "state `queued`: Kairos does not queue a run again by marking it; clear its task \
             instances instead (POST /dags/{dag_id}/clearTaskInstances with the run's \
             dag_run_id), which runs them again",
        ));
    };
    api.write(Command::SetDagRunState {
        dag_id: dag_id.clone(),
        run_id: run_id.clone(),
        state,
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
