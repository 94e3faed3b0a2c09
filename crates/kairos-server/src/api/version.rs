//! `GET /version`: which Kairos answers (Airflow's clients ask it; the number
//! is Kairos's own, not an Airflow version).

use axum::Json;
use kairos_api::VersionInfo;

use super::auth::Role;
use super::problem::Problem;
use super::scope::Scope;

#[utoipa::path(get, path = "/version", responses((status = 200, body = VersionInfo),
    (status = 401, body = Problem)))]
pub async fn version(scope: Scope) -> Result<Json<VersionInfo>, Problem> {
    scope.require(Role::Viewer)?;
    Ok(Json(VersionInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_version: option_env!("KAIROS_GIT_VERSION").map(str::to_string),
    }))
}
