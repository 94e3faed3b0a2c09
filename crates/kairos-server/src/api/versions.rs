//! `/dags/{dag_id}/versions`: every version of a DAG, one version's graph and
//! files as they were, a file's text, and the diff between two versions. A run is
//! pinned to its version (`version` on the run), so this is how the API shows a
//! run's graph and code as they were for that run.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kairos_api::{Diff, FileKey, FileText, Page, ReadOptions, VersionDetail, VersionList};
use kairos_state::query::VersionSummary;
use kairos_state::records::VersionRecord;

use super::Api;
use super::auth::Role;
use super::convert;
use super::problem::Problem;
use super::scope::Scope;

async fn load_version(
    api: &Api,
    dag_id: &str,
    version: u32,
    consistent: bool,
) -> Result<VersionRecord, Problem> {
    let id = dag_id.to_string();
    let record: Option<VersionRecord> = api
        .read(consistent, move |s| {
            Ok(s.version_record(&id, version)?.map(|v| (*v).clone()))
        })
        .await?;
    record.ok_or_else(|| Problem::not_found(format!("DAG `{dag_id}` has no version {version}")))
}

/// A page's `after` as a version number (lists of DAG and bundle versions).
pub(super) fn version_after(page: &Page) -> Result<Option<u32>, Problem> {
    page.after
        .as_deref()
        .map(|text| {
            text.parse::<u32>().map_err(|_| {
                Problem::bad_request(format!(
                    "after={text:?}: give the version number the previous page's `next` named"
                ))
            })
        })
        .transpose()
}

#[utoipa::path(get, path = "/dags/{dag_id}/versions", params(("dag_id" = String, Path), Page),
    responses((status = 200, body = VersionList), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list_versions(
    State(api): State<Api>,
    scope: Scope,
    Path(dag_id): Path<String>,
    UrlQuery(page): UrlQuery<Page>,
) -> Result<Json<VersionList>, Problem> {
    scope.require(Role::Viewer)?;
    super::dags::load_dag(&api, &scope, &dag_id, page.consistent).await?;
    let after = version_after(&page)?;
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let versions: Vec<VersionSummary> = api
        .read(page.consistent, move |s| {
            s.versions_page(&dag_id, after, limit)
        })
        .await?;
    let next = (versions.len() == limit)
        .then(|| versions.last().map(|v| v.version.to_string()))
        .flatten();
    Ok(Json(VersionList {
        next,
        versions: versions.into_iter().map(convert::version).collect(),
    }))
}

#[utoipa::path(get, path = "/dags/{dag_id}/versions/{version}",
    params(("dag_id" = String, Path), ("version" = u32, Path), ReadOptions),
    responses((status = 200, body = VersionDetail), (status = 404, body = Problem)))]
pub async fn get_version(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, version)): Path<(String, u32)>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<VersionDetail>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, read.consistent).await?;
    let record = load_version(&api, &dag_id, version, read.consistent).await?;
    let detail = convert::version_detail(dag_id, record).map_err(|e| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the version's DAG cannot be written as JSON: {e}"),
        )
    })?;
    Ok(Json(detail))
}

#[utoipa::path(get, path = "/dags/{dag_id}/versions/{version}/file",
    params(("dag_id" = String, Path), ("version" = u32, Path), FileKey),
    responses((status = 200, body = FileText), (status = 404, body = Problem)))]
pub async fn get_file(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, version)): Path<(String, u32)>,
    UrlQuery(file): UrlQuery<FileKey>,
) -> Result<Json<FileText>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, false).await?;
    let record = load_version(&api, &dag_id, version, false).await?;
    let hash = record
        .content
        .files
        .get(&file.key)
        .cloned()
        .ok_or_else(|| {
            let keys: Vec<&String> = record.content.files.keys().collect();
            Problem::not_found(format!(
                "version {version} of `{dag_id}` has no file `{}`; it has {keys:?}",
                file.key
            ))
        })?;
    let asked = hash.clone();
    let content: Option<String> = api.read(false, move |s| s.file(&asked)).await?;
    let content =
        content.ok_or_else(|| Problem::not_found(format!("the cluster lost file {hash}")))?;
    Ok(Json(FileText {
        key: file.key,
        hash,
        content,
    }))
}

#[utoipa::path(get, path = "/dags/{dag_id}/versions/{version}/diff/{other}",
    params(("dag_id" = String, Path), ("version" = u32, Path), ("other" = u32, Path)),
    responses((status = 200, body = Diff), (status = 404, body = Problem)))]
pub async fn diff_versions(
    State(api): State<Api>,
    scope: Scope,
    Path((dag_id, from, to)): Path<(String, u32, u32)>,
) -> Result<Json<Diff>, Problem> {
    scope.require(Role::Viewer)?;
    api.check_dag(&scope, &dag_id, false).await?;
    let a = load_version(&api, &dag_id, from, false).await?;
    let b = load_version(&api, &dag_id, to, false).await?;
    Ok(Json(Diff {
        from,
        to,
        changes: convert::version_changes(kairos_dag::diff::diff(&a.content, &b.content)),
    }))
}
