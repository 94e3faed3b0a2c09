//! Airflow's lists of what Kairos never has: import errors (a DAG file that
//! does not load is refused at push, with each problem's line and column) and
//! DAG warnings (nothing produces them after a push). Both answer empty lists,
//! which is true, so that tools checking "no import errors" work unchanged.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use kairos_api::{DagWarningList, ImportErrorList, Page};

use super::auth::Role;
use super::problem::Problem;
use super::scope::Scope;

#[utoipa::path(get, path = "/importErrors", params(Page),
    responses((status = 200, body = ImportErrorList), (status = 401, body = Problem)))]
pub async fn list_import_errors(
    scope: Scope,
    UrlQuery(_page): UrlQuery<Page>,
) -> Result<Json<ImportErrorList>, Problem> {
    scope.require(Role::Viewer)?;
    Ok(Json(ImportErrorList::default()))
}

#[utoipa::path(get, path = "/importErrors/{import_error_id}", params(("import_error_id" = u64, Path)),
    responses((status = 404, body = Problem)))]
pub async fn get_import_error(
    scope: Scope,
    Path(id): Path<u64>,
) -> Result<Json<ImportErrorList>, Problem> {
    scope.require(Role::Viewer)?;
    Err(Problem::not_found(format!(
        "no import error {id}: Kairos keeps none, since a DAG file that does not load is \
         refused at push"
    )))
}

#[utoipa::path(get, path = "/dagWarnings", params(Page),
    responses((status = 200, body = DagWarningList), (status = 401, body = Problem)))]
pub async fn list_dag_warnings(
    scope: Scope,
    UrlQuery(_page): UrlQuery<Page>,
) -> Result<Json<DagWarningList>, Problem> {
    scope.require(Role::Viewer)?;
    Ok(Json(DagWarningList::default()))
}
