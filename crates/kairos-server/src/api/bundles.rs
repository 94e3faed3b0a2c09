//! `/bundles`: the bundles of the cluster, each one's versions, and one version
//! with its files (what `kairos bundles versions` and `diff` read). A run's
//! `bundle_version` names the version whose code it runs.

use super::extract::{Path, Query as UrlQuery};
use axum::Json;
use axum::extract::State;
use kairos_api::{
    Bundle, BundleList, BundleVersion, BundleVersionDetail, BundleVersionList, Page, ReadOptions,
};
use kairos_state::records::{BundleRecord, BundleVersionRecord};

use super::Api;
use super::auth::Role;
use super::problem::Problem;
use super::scope::Scope;

fn bundle_view(b: BundleRecord) -> Bundle {
    Bundle {
        name: b.name,
        team: b.team,
        environment: b.environment,
        latest_version: b.latest_version,
        created_at: b.created_at,
        updated_at: b.updated_at,
    }
}

/// The bundle, when the caller may see it (another team's answers as absent).
pub(super) async fn load_bundle(
    api: &Api,
    scope: &Scope,
    name: &str,
    consistent: bool,
) -> Result<BundleRecord, Problem> {
    let owned = name.to_string();
    api.read(consistent, move |s| s.bundle(&owned))
        .await?
        .filter(|b| scope.sees(b.team.as_deref()))
        .ok_or_else(|| Problem::not_found(format!("no bundle `{name}`; push a folder to make one")))
}

#[utoipa::path(get, path = "/bundles", params(Page),
    responses((status = 200, body = BundleList), (status = 400, body = Problem)))]
pub async fn list_bundles(
    State(api): State<Api>,
    scope: Scope,
    UrlQuery(page): UrlQuery<Page>,
) -> Result<Json<BundleList>, Problem> {
    scope.require(Role::Viewer)?;
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let after = page.after.clone();
    let bundles = api
        .read(page.consistent, move |s| {
            s.bundles(after.as_deref(), Some(limit))
        })
        .await?;
    let next = (bundles.len() == limit)
        .then(|| bundles.last().map(|b| b.name.clone()))
        .flatten();
    Ok(Json(BundleList {
        bundles: bundles
            .into_iter()
            .filter(|b| scope.sees(b.team.as_deref()))
            .map(bundle_view)
            .collect(),
        next,
    }))
}

#[utoipa::path(get, path = "/bundles/{bundle}", params(("bundle" = String, Path), ReadOptions),
    responses((status = 200, body = Bundle), (status = 404, body = Problem)))]
pub async fn get_bundle(
    State(api): State<Api>,
    scope: Scope,
    Path(name): Path<String>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<Bundle>, Problem> {
    scope.require(Role::Viewer)?;
    Ok(Json(bundle_view(
        load_bundle(&api, &scope, &name, read.consistent).await?,
    )))
}

#[utoipa::path(get, path = "/bundles/{bundle}/versions", params(("bundle" = String, Path), Page),
    responses((status = 200, body = BundleVersionList), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list_bundle_versions(
    State(api): State<Api>,
    scope: Scope,
    Path(name): Path<String>,
    UrlQuery(page): UrlQuery<Page>,
) -> Result<Json<BundleVersionList>, Problem> {
    scope.require(Role::Viewer)?;
    load_bundle(&api, &scope, &name, page.consistent).await?;
    let after = super::versions::version_after(&page)?;
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let versions = api
        .read(page.consistent, move |s| {
            s.bundle_versions(&name, after, Some(limit))
        })
        .await?;
    let next = (versions.len() == limit)
        .then(|| versions.last().map(|v| v.version.to_string()))
        .flatten();
    Ok(Json(BundleVersionList {
        versions: versions
            .into_iter()
            .map(|v| BundleVersion {
                bundle: v.bundle,
                version: v.version,
                hash: v.hash,
                created_at: v.created_at,
                files: v.files,
                dags: v.dags,
            })
            .collect(),
        next,
    }))
}

#[utoipa::path(get, path = "/bundles/{bundle}/versions/{version}",
    params(("bundle" = String, Path), ("version" = u32, Path), ReadOptions),
    responses((status = 200, body = BundleVersionDetail), (status = 404, body = Problem)))]
pub async fn get_bundle_version(
    State(api): State<Api>,
    scope: Scope,
    Path((name, version)): Path<(String, u32)>,
    UrlQuery(read): UrlQuery<ReadOptions>,
) -> Result<Json<BundleVersionDetail>, Problem> {
    scope.require(Role::Viewer)?;
    load_bundle(&api, &scope, &name, read.consistent).await?;
    let owned = name.clone();
    let record: BundleVersionRecord = api
        .read(read.consistent, move |s| s.bundle_version(&owned, version))
        .await?
        .ok_or_else(|| Problem::not_found(format!("bundle `{name}` has no version {version}")))?;
    let c = record.content;
    Ok(Json(BundleVersionDetail {
        bundle: c.name,
        version: record.version,
        hash: record.hash,
        created_at: record.created_at,
        team: c.team,
        environment: c.environment,
        files: c.files,
        binary: c.binary,
        requirements: c.requirements,
        wheels: c.wheels,
        dags: record.dags,
    }))
}
