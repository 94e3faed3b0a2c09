//! A task instance's tries (Airflow's task instance history): every ended
//! attempt in Kairos's own shape (`tries`) and, beside it, as Airflow's
//! clients read them (`task_instances`, with the current try when it has not
//! ended); one try by its number.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use kairos_api::{TaskInstance, TaskInstanceQuery, TaskTryList};
use kairos_state::TaskInstanceKey;
use kairos_state::records::{TaskInstanceRecord, TryRecord, VersionRecord};

use super::Api;
use super::auth::Role;
use super::convert;
use super::problem::Problem;
use super::scope::Scope;
use super::task_instances::{key, view};

/// The instance as it was during try `t`.
fn as_it_was(current: &TaskInstanceRecord, t: &TryRecord) -> TaskInstanceRecord {
    let mut then = current.clone();
    then.try_number = t.try_number;
    then.state = t.state;
    then.start_date = t.start_date;
    then.end_date = Some(t.end_date);
    then.worker = t.worker.clone();
    then.reason = t.reason.clone();
    then.log_tail = None;
    then.next_retry_at = None;
    then
}

/// The instance, its ended tries and its run's version.
async fn load(
    api: &Api,
    ti: &TaskInstanceKey,
    consistent: bool,
) -> Result<
    (
        TaskInstanceRecord,
        Vec<TryRecord>,
        Option<std::sync::Arc<VersionRecord>>,
    ),
    Problem,
> {
    let current = super::task_instances::load_ti(api, ti, consistent).await?;
    let asked = ti.clone();
    let (tries, version) = api
        .read(consistent, move |s| {
            let version = match s.run(&asked.dag_id, &asked.run_id)? {
                Some(run) => s.version_record(&asked.dag_id, run.version)?,
                None => None,
            };
            Ok((s.tries(&asked)?, version))
        })
        .await?;
    Ok((current, tries, version))
}

/// Every try as Airflow's clients read them: the ended ones, then the current
/// one when it has started and not ended.
fn history(
    current: &TaskInstanceRecord,
    tries: &[TryRecord],
    version: Option<&VersionRecord>,
) -> Vec<TaskInstance> {
    let mut all: Vec<TaskInstance> = tries
        .iter()
        .map(|t| view(as_it_was(current, t), version))
        .collect();
    if current.try_number > 0 && !tries.iter().any(|t| t.try_number == current.try_number) {
        all.push(view(current.clone(), version));
    }
    all
}

#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/tries",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), TaskInstanceQuery),
    responses((status = 200, body = TaskTryList), (status = 404, body = Problem)))]
pub async fn list_tries(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    UrlQuery(at): UrlQuery<TaskInstanceQuery>,
) -> Result<Json<TaskTryList>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, at.consistent).await?;
    let ti = key(dag_id, run_id, task_id, at.map_index);
    let (current, tries, version) = load(&api, &ti, at.consistent).await?;
    let task_instances = history(&current, &tries, version.as_deref());
    Ok(Json(TaskTryList {
        total_entries: task_instances.len(),
        task_instances,
        tries: tries.into_iter().map(convert::task_try).collect(),
    }))
}

/// One try, as Airflow's clients read it (`?map_index=` for a mapped one).
#[utoipa::path(get, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/tries/{try_number}",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path),
        ("try_number" = u32, Path), TaskInstanceQuery),
    responses((status = 200, body = TaskInstance), (status = 404, body = Problem)))]
pub async fn get_try(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id, task_id, try_number)): Path<(String, String, String, u32)>,
    UrlQuery(at): UrlQuery<TaskInstanceQuery>,
) -> Result<Json<TaskInstance>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, at.consistent).await?;
    let ti = key(dag_id, run_id, task_id, at.map_index);
    let (current, tries, version) = load(&api, &ti, at.consistent).await?;
    history(&current, &tries, version.as_deref())
        .into_iter()
        .find(|t| t.try_number == try_number)
        .map(Json)
        .ok_or_else(|| {
            Problem::not_found(format!(
                "`{}` has no try {try_number} (it has had {})",
                ti.task_id, current.try_number
            ))
        })
}
