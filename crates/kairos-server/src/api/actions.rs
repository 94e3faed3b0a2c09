//! Marking a task instance's state by hand (Airflow's task instance PATCH).
//! Clearing is in `clear`, XComs in `xcoms`.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use kairos_api::{MarkRequest, TaskInstance, TaskInstanceQuery};
use kairos_dag::lifecycle::{Actor, TaskInstanceState};
use kairos_state::{Command, TaskInstanceKey};

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::problem::Problem;
use super::scope::Scope;

#[utoipa::path(patch, path = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}",
    params(("dag_id" = String, Path), ("dag_run_id" = String, Path), ("task_id" = String, Path), TaskInstanceQuery),
    request_body = MarkRequest,
    responses((status = 200, body = TaskInstance), (status = 409, body = Problem)))]
pub async fn mark_task_instance(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    UrlQuery(at): UrlQuery<TaskInstanceQuery>,
    Body(req): Body<MarkRequest>,
) -> Result<Json<TaskInstance>, Problem> {
    scope.require(Role::Operator)?;
    let to = match TaskInstanceState::parse(&req.new_state) {
        Some(
            s @ (TaskInstanceState::Success
            | TaskInstanceState::Failed
            | TaskInstanceState::Skipped),
        ) => s,
        _ => {
            return Err(Problem::bad_request(format!(
                "new_state `{}` cannot be set by hand; use success, failed or skipped",
                req.new_state
            )));
        }
    };
    api.check_dag(&scope, &dag_id, true).await?;
    let ti = TaskInstanceKey {
        dag_id,
        run_id,
        task_id,
        map_index: at.map_index.unwrap_or(-1),
    };
    if req.dry_run {
        return Ok(Json(
            super::task_instances::load_view(&api, &ti, true).await?,
        ));
    }
    api.write(Command::SetTaskState {
        ti: ti.clone(),
        to,
        actor: Actor::Mark,
        attempt: None,
        reason: Some(req.note.unwrap_or_else(|| "marked by hand".into())),
    })
    .await?;
    Ok(Json(
        super::task_instances::load_view(&api, &ti, true).await?,
    ))
}
