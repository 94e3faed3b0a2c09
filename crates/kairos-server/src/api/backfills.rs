//! `POST /backfills`: the runs of a date range at once (Airflow 3's
//! `POST /backfills`), started under the backfill's own `max_active_runs`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kairos_api::{Backfill, BackfillRequest};
use kairos_state::{Command, Outcome};

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::convert;
use super::problem::Problem;
use super::scope::Scope;

#[utoipa::path(post, path = "/backfills", request_body = BackfillRequest, responses(
    (status = 200, body = Backfill), (status = 400, body = Problem), (status = 404, body = Problem),
    (status = 413, body = Problem)))]
pub async fn create_backfill(
    State(api): State<Api>,
    scope: Scope,
    Body(body): Body<BackfillRequest>,
) -> Result<Json<Backfill>, Problem> {
    scope.require(Role::Operator)?;
    api.check_dag(&scope, &body.dag_id, true).await?;
    if body.max_active_runs == 0 {
        return Err(Problem::bad_request(
            "max_active_runs 0 would never start a run; give it at least 1",
        ));
    }
    let outcome = api
        .write(Command::CreateBackfill {
            dag_id: body.dag_id.clone(),
            from_date: body.from_date,
            to_date: body.to_date,
            reprocess_behavior: convert::reprocess(body.reprocess_behavior),
            max_active_runs: body.max_active_runs,
            conf: body.dag_run_conf,
            triggered_by: "api".into(),
        })
        .await?;
    match outcome {
        Outcome::Backfill {
            backfill_id,
            runs,
            skipped,
        } => Ok(Json(Backfill {
            id: backfill_id,
            dag_id: body.dag_id,
            dag_run_ids: runs,
            skipped,
        })),
        other => Err(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the cluster answered a backfill with {other:?}"),
        )),
    }
}
