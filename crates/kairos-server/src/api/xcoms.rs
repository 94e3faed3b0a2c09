//! A task instance's XComs: the list (Airflow's `XComCollection`, values
//! included) and one entry by key, its value written as Airflow's `stringify`
//! asks.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use kairos_api::{TaskInstanceQuery, XComEntry, XComList, XComQuery};
use kairos_state::TaskInstanceKey;
use kairos_state::records::XComRecord;
use serde_json::Value;

use super::Api;
use super::auth::Role;
use super::convert;
use super::problem::Problem;
use super::scope::Scope;

/// The date Airflow's XComs carry: the run's logical date (or `run_after`),
/// once the run is known to exist (404 otherwise).
async fn run_date(
    api: &Api,
    dag_id: &str,
    run_id: &str,
    consistent: bool,
) -> Result<chrono::DateTime<chrono::Utc>, Problem> {
    Ok(super::runs::load_run(api, dag_id, run_id, consistent)
        .await?
        .order_date())
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), TaskInstanceQuery),
    responses((status = 200, body = XComList), (status = 404, body = Problem)))]
pub async fn list_xcoms(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    UrlQuery(at): UrlQuery<TaskInstanceQuery>,
) -> Result<Json<XComList>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, at.consistent).await?;
    // A named instance must exist; without a map index, the run must.
    let date = run_date(&api, &dag_id, &run_id, at.consistent).await?;
    if let Some(map_index) = at.map_index {
        let ti = TaskInstanceKey {
            dag_id: dag_id.clone(),
            run_id: run_id.clone(),
            task_id: task_id.clone(),
            map_index,
        };
        super::task_instances::load_ti(&api, &ti, at.consistent).await?;
    }
    let xcoms: Vec<XComRecord> = api
        .read(at.consistent, move |s| {
            s.xcoms(&dag_id, &run_id, Some(&task_id))
        })
        .await?;
    let xcom_entries: Vec<XComEntry> = xcoms
        .into_iter()
        .filter(|x| at.map_index.is_none_or(|m| x.map_index == m))
        .map(|x| convert::xcom_entry(x, Some(date)))
        .collect();
    Ok(Json(XComList {
        total_entries: xcom_entries.len(),
        xcom_entries,
    }))
}

/// One XCom by key (`?map_index=`, default -1). With `stringify` (Airflow's
/// default) the value is a string: a JSON string as it is, any other value as
/// its JSON text (where Airflow writes Python's `repr`).
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path),
        ("xcom_key" = String, Path), XComQuery),
    responses((status = 200, body = XComEntry), (status = 404, body = Problem)))]
pub async fn get_xcom(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id, task_id, key)): Path<(String, String, String, String)>,
    UrlQuery(q): UrlQuery<XComQuery>,
) -> Result<Json<XComEntry>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, q.consistent).await?;
    let date = run_date(&api, &dag_id, &run_id, q.consistent).await?;
    let map_index = q.map_index.unwrap_or(-1);
    let (d, r, t) = (dag_id.clone(), run_id.clone(), task_id.clone());
    let xcoms: Vec<XComRecord> = api
        .read(q.consistent, move |s| s.xcoms(&d, &r, Some(&t)))
        .await?;
    let found = xcoms
        .into_iter()
        .find(|x| x.key == key && x.map_index == map_index)
        .ok_or_else(|| {
            Problem::not_found(format!(
                "no XCom `{key}` of `{task_id}` (map index {map_index}) in run `{run_id}` of DAG \
                 `{dag_id}`"
            ))
        })?;
    let mut entry = convert::xcom_entry(found, Some(date));
    if q.stringify.unwrap_or(true) && !entry.value.is_string() {
        entry.value = Value::String(entry.value.to_string());
    }
    Ok(Json(entry))
}
