//! `/dags/{dag_id}/versions`: every version of a DAG, one version's graph and
//! files as they were, a file's text, and the diff between two versions. A run is
//! pinned to its version (`version` on the run), so this is how the API shows a
//! run's graph and code as they were for that run.

use std::collections::BTreeMap;

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use kairos_dag::diff::VersionDiff;
use kairos_state::query::VersionSummary;
use kairos_state::records::VersionRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Role;
use super::problem::Problem;
use super::{Api, Page, ReadOptions};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Version {
    pub version: u32,
    /// `sha256:` of the version's canonical content.
    pub hash: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub tasks: usize,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VersionList {
    pub versions: Vec<Version>,
    /// The `after` of the next page (a version number), if any.
    pub next: Option<String>,
}

/// One task as a node of the graph.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GraphTask {
    pub task_id: String,
    /// Airflow's class name (BashOperator, ...).
    pub operator: String,
    pub upstream: Vec<String>,
    pub trigger_rule: String,
    pub group_id: Option<String>,
    pub mapped: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VersionDetail {
    pub dag_id: String,
    pub version: u32,
    pub hash: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub tasks: Vec<GraphTask>,
    /// File key (path relative to the DAG file's folder) -> content hash.
    pub files: BTreeMap<String, String>,
    /// The whole DAG model as the version holds it.
    #[schema(value_type = Object)]
    pub dag: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FileText {
    pub key: String,
    pub hash: String,
    pub content: String,
}

/// What changed from version `a` to version `b`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Diff {
    pub from: u32,
    pub to: u32,
    #[schema(value_type = Object)]
    pub changes: VersionDiff,
}

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

#[utoipa::path(get, path = "/dags/{dag_id}/versions", params(("dag_id" = String, Path), Page),
    responses((status = 200, body = VersionList), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list_versions(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(dag_id): Path<String>,
    UrlQuery(page): UrlQuery<Page>,
) -> Result<Json<VersionList>, Problem> {
    api.tokens.authorize(&headers, Role::Viewer)?;
    super::dags::load_dag(&api, &dag_id, page.consistent).await?;
    let after = match page.after.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<u32>().map_err(|_| {
            Problem::bad_request(format!(
                "after={text:?}: give the version number the previous page's `next` named"
            ))
        })?),
    };
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
        versions: versions
            .into_iter()
            .map(|v| Version {
                version: v.version,
                hash: v.hash,
                created_at: v.created_at,
                tasks: v.tasks,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/dags/{dag_id}/versions/{version}",
    params(("dag_id" = String, Path), ("version" = u32, Path), ReadOptions),
    responses((status = 200, body = VersionDetail), (status = 404, body = Problem)))]
pub async fn get_version(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((dag_id, version)): Path<(String, u32)>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<VersionDetail>, Problem> {
    api.tokens.authorize(&headers, Role::Viewer)?;
    let record = load_version(&api, &dag_id, version, read.consistent).await?;
    let tasks = record
        .content
        .dag
        .tasks
        .iter()
        .map(|t| GraphTask {
            task_id: t.task_id.clone(),
            operator: t.operator_kind().class_name().to_string(),
            upstream: t.upstream.clone(),
            trigger_rule: t.trigger_rule.to_string(),
            group_id: t.group_id.clone(),
            mapped: t.plain_operator().is_none(),
        })
        .collect();
    Ok(Json(VersionDetail {
        dag_id,
        version: record.version,
        hash: record.hash,
        created_at: record.created_at,
        tasks,
        files: record.content.files.clone(),
        dag: serde_json::to_value(&record.content.dag).unwrap_or_default(),
    }))
}

/// `?key=` names the file (its path relative to the DAG file's folder).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FileKey {
    pub key: String,
}

#[utoipa::path(get, path = "/dags/{dag_id}/versions/{version}/file",
    params(("dag_id" = String, Path), ("version" = u32, Path), FileKey),
    responses((status = 200, body = FileText), (status = 404, body = Problem)))]
pub async fn get_file(
    State(api): State<Api>,
    headers: HeaderMap,
    Path((dag_id, version)): Path<(String, u32)>,
    UrlQuery(file): UrlQuery<FileKey>,
) -> Result<Json<FileText>, Problem> {
    api.tokens.authorize(&headers, Role::Viewer)?;
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
    headers: HeaderMap,
    Path((dag_id, from, to)): Path<(String, u32, u32)>,
) -> Result<Json<Diff>, Problem> {
    api.tokens.authorize(&headers, Role::Viewer)?;
    let a = load_version(&api, &dag_id, from, false).await?;
    let b = load_version(&api, &dag_id, to, false).await?;
    Ok(Json(Diff {
        from,
        to,
        changes: kairos_dag::diff::diff(&a.content, &b.content),
    }))
}
