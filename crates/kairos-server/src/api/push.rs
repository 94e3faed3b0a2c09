//! `POST /dagFiles`: upload one DAG file (and the files it references); the
//! server validates it again with the same loader the CLI used, then proposes a
//! version per DAG in it. An unchanged DAG makes no new version.
//!
//! The DAGs' team is the caller's: a team's token pushes for its own team only
//! (a request naming another team is refused, 403), and never over a DAG id of
//! another team or of none (403: DAG ids are cluster-wide, so the pusher learns
//! the id is taken, not by whom). A cluster-wide token pushes for the team the
//! request names, or none.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kairos_api::{PushRequest, PushResponse, PushedDag};
use kairos_dag::load::{LoadOptions, load_bytes, load_evaluated};
use kairos_state::{Command, Outcome};

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::problem::Problem;
use super::scope::Scope;

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
    scope: Scope,
    Body(req): Body<PushRequest>,
) -> Result<Json<PushResponse>, Problem> {
    scope.require(Role::Operator)?;
    let team = team_of_push(&scope, req.team.as_deref())?;
    let path = inside(&req.file_name).ok_or_else(|| {
        Problem::bad_request(format!(
            "file_name {:?} must be a relative path inside the bundle (no `..`)",
            req.file_name
        ))
    })?;
    // File keys are relative to the DAGs root, as the loader keys them; the file
    // name is its place below that root.
    let mut reader: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    for (key, text) in &req.files {
        let at = inside(key).ok_or_else(|| {
            Problem::bad_request(format!("file {key:?} must be a relative path (no `..`)"))
        })?;
        reader.insert(at, text.as_bytes().to_vec());
    }
    let opts = LoadOptions {
        bundle: req
            .bundle
            .clone()
            .unwrap_or_else(|| kairos_dag::model::defaults::BUNDLE.to_string()),
        team: team.clone(),
        environment: None,
        root: Some(PathBuf::from(ROOT)),
    };
    let loaded = match python_evaluated(&req.file_name, req.evaluated.as_deref())? {
        Some(evaluated) => load_evaluated(
            &req.file_name,
            &path,
            &req.content,
            evaluated.as_bytes(),
            &reader,
            &opts,
        ),
        None => load_bytes(
            &req.file_name,
            &path,
            req.content.as_bytes(),
            &reader,
            &opts,
        ),
    };
    if loaded.has_errors() {
        let errors = loaded.error_messages();
        return Err(Problem::bad_request(format!(
            "{} is not a valid DAG file: {}",
            req.file_name,
            errors.join("; ")
        )));
    }
    let warnings = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    if scope.team.is_some() {
        for content in &loaded.dags {
            check_not_anothers(&api, &scope, &content.dag.dag_id).await?;
        }
    }
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

/// The team pushed DAGs belong to: a team's caller's own (naming another is
/// refused), or what a cluster-wide caller names.
pub(super) fn team_of_push(scope: &Scope, asked: Option<&str>) -> Result<Option<String>, Problem> {
    match (&scope.team, asked) {
        (None, asked) => Ok(asked.map(str::to_string)),
        (Some(mine), None) => Ok(Some(mine.clone())),
        (Some(mine), Some(asked)) if asked == mine => Ok(Some(mine.clone())),
        (Some(mine), Some(asked)) => Err(Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "a token of team `{mine}` pushes DAGs of team `{mine}` only, not of `{asked}`; \
                 leave the team out or name `{mine}`"
            ),
        )),
    }
}

/// 403 when DAG `dag_id` exists outside the team-scoped caller's team.
pub(super) async fn check_not_anothers(
    api: &Api,
    scope: &Scope,
    dag_id: &str,
) -> Result<(), Problem> {
    let id = dag_id.to_string();
    let existing: Option<kairos_state::records::DagRecord> =
        api.read(true, move |s| s.dag(&id)).await?;
    match existing {
        Some(dag) if !scope.sees(dag.team.as_deref()) => Err(Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "DAG id `{dag_id}` is taken outside team `{}` (DAG ids are cluster-wide); \
                 rename the DAG",
                scope.team.as_deref().unwrap_or_default()
            ),
        )),
        _ => Ok(()),
    }
}

/// A Python DAG file's evaluated DAGs (`Some`), or `None` for a YAML file. A
/// `.py` file must come with them: servers never run Python.
pub(super) fn python_evaluated<'e>(
    file: &str,
    evaluated: Option<&'e str>,
) -> Result<Option<&'e str>, Problem> {
    match (file.ends_with(".py"), evaluated) {
        (true, Some(e)) => Ok(Some(e)),
        (true, None) => Err(Problem::bad_request(format!(
            "{file} is a Python DAG file sent without its evaluated DAGs; servers never run \
             Python: push it with `kairos dags push` (or `kairos dev`), which reads it locally"
        ))),
        (false, Some(_)) => Err(Problem::bad_request(format!(
            "{file} is not a Python DAG file (`.py`) but came with evaluated DAGs; send a \
             YAML file's text alone"
        ))),
        (false, None) => Ok(None),
    }
}
