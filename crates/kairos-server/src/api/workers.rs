//! `GET /workers`: the live workers, from the leader (a follower asks it):
//! their queues, slots, execution environments, teams and when each was last
//! heard from. A team's caller sees the workers that serve its team (those of
//! every team included).

use axum::Json;
use axum::extract::State;
use kairos_api::WorkerList;

use super::Api;
use super::auth::Role;
use super::problem::Problem;
use super::scope::Scope;

#[utoipa::path(get, path = "/workers", responses((status = 200, body = WorkerList)))]
pub async fn list_workers(
    State(api): State<Api>,
    scope: Scope,
) -> Result<Json<WorkerList>, Problem> {
    scope.require(Role::Viewer)?;
    let mut workers = crate::workers_view::workers(&api.node, &api.leader)
        .await
        .map_err(Problem::from_node)?;
    if let Some(team) = &scope.team {
        workers.retain(|w| w.teams.is_empty() || w.teams.contains(team));
    }
    Ok(Json(WorkerList {
        workers,
        leader_id: api.node.leader_route().map(|(id, _)| id),
    }))
}
