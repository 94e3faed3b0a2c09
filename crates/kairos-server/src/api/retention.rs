//! `POST /cluster/purge`: deletes old ended runs with everything derived from
//! them (`kairos db clean`), through `crate::retention`'s bounded commands. A
//! DAG's operator may purge that DAG; all DAGs at once is a cluster admin's.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use kairos_api::{PurgeRequest, PurgeResult};

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::problem::Problem;
use super::scope::Scope;

/// The longest age a purge takes, in days (about 1,000 years).
const MAX_DAYS: f64 = 365_000.0;

/// How long one request purges before it answers with `more` (a client asks
/// again): a request stays well inside HTTP clients' timeouts whatever the
/// history.
const REQUEST_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Deletes ended runs that ended before `before` (or `older_than_days` ago by
/// this node's clock), beyond each DAG's newest `keep_last`, for up to 10 s;
/// `more` says runs to delete remain: send the same request again (with the
/// `before` answered, so that the cutoff does not move).
#[utoipa::path(post, path = "/cluster/purge", request_body = PurgeRequest, responses(
    (status = 200, body = PurgeResult), (status = 400, body = Problem),
    (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn purge(
    State(api): State<Api>,
    scope: Scope,
    Body(body): Body<PurgeRequest>,
) -> Result<Json<PurgeResult>, Problem> {
    match &body.dag_id {
        Some(dag_id) => {
            scope.require(Role::Operator)?;
            api.check_dag(&scope, dag_id, true).await?;
        }
        None => scope.require_cluster(Role::Admin)?,
    }
    let before = match (body.before, body.older_than_days) {
        (Some(_), Some(_)) => {
            return Err(Problem::bad_request(
                "give `before` or `older_than_days`, not both",
            ));
        }
        (Some(before), None) => Some(before),
        (None, Some(days)) => {
            if !(0.0..=MAX_DAYS).contains(&days) {
                return Err(Problem::bad_request(format!(
                    "older_than_days must be between 0 and {MAX_DAYS}, not {days}"
                )));
            }
            let age = chrono::Duration::milliseconds((days * 86_400_000.0) as i64);
            Some(Utc::now() - age)
        }
        (None, None) => None,
    };
    if before.is_none() && body.keep_last.is_none() {
        return Err(Problem::bad_request(
            "say which runs go: `older_than_days` or `before` (an age), `keep_last` (runs kept per DAG), or both",
        ));
    }
    let purged = crate::retention::purge(
        |command| {
            let api = api.clone();
            // A purge sent again deletes what still qualifies.
            async move { api.write_resent(command).await.0 }
        },
        body.dag_id.clone(),
        before,
        body.keep_last,
        Some(REQUEST_BUDGET),
    )
    .await?;
    Ok(Json(PurgeResult {
        before,
        runs: purged.runs,
        task_instances: purged.task_instances,
        xcoms: purged.xcoms,
        commands: purged.commands,
        more: purged.more,
    }))
}
