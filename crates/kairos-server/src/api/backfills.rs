//! `POST /backfills`: the runs of a date range at once (Airflow 3's
//! `POST /backfills`), started under the backfill's own `max_active_runs`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use kairos_state::records::ReprocessBehavior;
use kairos_state::{Command, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::problem::Problem;

/// What to do with dates that already have a run.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reprocess {
    /// Leave existing runs alone (Airflow's default).
    #[default]
    None,
    /// Run the failed ones again.
    Failed,
    /// Run every finished one again.
    Completed,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    pub dag_id: String,
    /// The first logical date to cover.
    pub from_date: DateTime<Utc>,
    /// The last logical date to cover (inclusive, as in Airflow).
    pub to_date: DateTime<Utc>,
    #[serde(default)]
    pub reprocess_behavior: Reprocess,
    /// Runs of this backfill running at once (default 10, as in Airflow).
    #[serde(default = "default_max_active_runs")]
    pub max_active_runs: u32,
    /// The conf of every run it creates.
    #[serde(default)]
    pub dag_run_conf: BTreeMap<String, Value>,
}

fn default_max_active_runs() -> u32 {
    10
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Backfill {
    pub id: String,
    pub dag_id: String,
    /// The runs it created, or cleared to run again, in date order.
    pub dag_run_ids: Vec<String>,
    /// Dates left alone because they already had a run.
    pub skipped: usize,
}

#[utoipa::path(post, path = "/backfills", request_body = BackfillRequest, responses(
    (status = 200, body = Backfill), (status = 400, body = Problem), (status = 404, body = Problem),
    (status = 413, body = Problem)))]
pub async fn create_backfill(
    State(api): State<Api>,
    headers: HeaderMap,
    Body(body): Body<BackfillRequest>,
) -> Result<Json<Backfill>, Problem> {
    api.tokens.authorize(&headers, Role::Operator)?;
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
            reprocess_behavior: match body.reprocess_behavior {
                Reprocess::None => ReprocessBehavior::None,
                Reprocess::Failed => ReprocessBehavior::Failed,
                Reprocess::Completed => ReprocessBehavior::Completed,
            },
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
