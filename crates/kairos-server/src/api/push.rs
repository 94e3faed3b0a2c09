//! `POST /dagFiles`: upload one DAG file (and the files it references); the
//! server validates it again with the same loader the CLI used, then proposes a
//! version per DAG in it. An unchanged DAG makes no new version.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use kairos_api::{PushRequest, PushResponse, PushedDag};
use kairos_dag::load::{LoadOptions, load_bytes};
use kairos_state::{Command, Outcome};

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::problem::Problem;

/// Where uploads are laid out for the loader; only a name, nothing is written.
const ROOT: &str = "/kairos-upload";

/// A relative path that stays inside the upload (no `..`, not absolute).
fn inside(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let ok = !path.is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    ok.then(|| Path::new(ROOT).join(p))
}

#[utoipa::path(post, path = "/dagFiles", request_body = PushRequest, responses(
    (status = 200, body = PushResponse), (status = 400, body = Problem), (status = 413, body = Problem)))]
pub async fn push(
    State(api): State<Api>,
    headers: HeaderMap,
    Body(req): Body<PushRequest>,
) -> Result<Json<PushResponse>, Problem> {
    api.tokens.authorize(&headers, Role::Operator)?;
    let path = inside(&req.file_name).ok_or_else(|| {
        Problem::bad_request(format!(
            "file_name {:?} must be a relative path inside the bundle (no `..`)",
            req.file_name
        ))
    })?;
    // File keys are relative to the DAG file's folder, as the loader keys them.
    let folder = path.parent().unwrap_or(Path::new(ROOT)).to_path_buf();
    let mut reader: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    for (key, text) in &req.files {
        let at = inside(key).ok_or_else(|| {
            Problem::bad_request(format!("file {key:?} must be a relative path (no `..`)"))
        })?;
        let relative = at.strip_prefix(ROOT).unwrap_or(&at).to_path_buf();
        reader.insert(folder.join(relative), text.as_bytes().to_vec());
    }
    let opts = LoadOptions {
        bundle: req
            .bundle
            .clone()
            .unwrap_or_else(|| kairos_dag::model::defaults::BUNDLE.to_string()),
        team: req.team.clone(),
        environment: None,
    };
    let loaded = load_bytes(
        &req.file_name,
        &path,
        req.content.as_bytes(),
        &reader,
        &opts,
    );
    if loaded.has_errors() {
        let errors = loaded.error_messages();
        return Err(Problem::bad_request(format!(
            "{} is not a valid DAG file: {}",
            req.file_name,
            errors.join("; ")
        )));
    }
    let warnings = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    let mut dags = Vec::new();
    for content in loaded.dags {
        let outcome = api
            .write(Command::PutDagVersion {
                content,
                files: loaded.contents.clone(),
            })
            .await?;
        if let Outcome::DagVersion {
            dag_id,
            version,
            created,
            ..
        } = outcome
        {
            dags.push(PushedDag {
                dag_id,
                version,
                created,
            });
        }
    }
    Ok(Json(PushResponse { dags, warnings }))
}
