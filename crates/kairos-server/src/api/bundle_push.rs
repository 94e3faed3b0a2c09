//! Pushing a bundle: `POST /files/missing` (which contents the cluster lacks),
//! `POST /files` (those contents, stored by hash in commands of at most 4 MiB),
//! then `POST /bundles/{bundle}/versions` (every file by path and hash). The
//! server validates each DAG file again with the loader the CLI used, reading
//! the bundle's files from its own store, and proposes the bundle version with
//! the DAG versions in one command.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path as FsPath, PathBuf};

use axum::Json;
use axum::extract::State;
use kairos_api::{
    BundlePush, BundlePushResponse, FilesStored, FilesUpload, MissingFiles, MissingFilesRequest,
    PushedDag,
};
use kairos_dag::bundle_content::{BundleContent, is_hash};
use kairos_dag::limits::{MAX_BUNDLE_FILES, MAX_FILES_PER_PROPOSAL_BYTES};
use kairos_dag::load::{LoadOptions, load_bytes, load_evaluated};
use kairos_dag::version::{FileContents, content_hash};
use kairos_state::{Command, Outcome};

use super::Api;
use super::auth::Role;
use super::body::Body;
use super::extract::Path;
use super::problem::Problem;
use super::push::{check_not_anothers, team_of_push};
use super::scope::Scope;

/// Where a bundle is laid out for the loader; only a name, nothing is written.
const ROOT: &str = "/kairos-bundle";

#[utoipa::path(post, path = "/files/missing", request_body = MissingFilesRequest, responses(
    (status = 200, body = MissingFiles), (status = 400, body = Problem)))]
pub async fn missing_files(
    State(api): State<Api>,
    scope: Scope,
    Body(req): Body<MissingFilesRequest>,
) -> Result<Json<MissingFiles>, Problem> {
    scope.require(Role::Operator)?;
    if req.hashes.len() > MAX_BUNDLE_FILES {
        return Err(Problem::bad_request(format!(
            "{} hashes asked about; ask about at most {MAX_BUNDLE_FILES} at a time",
            req.hashes.len()
        )));
    }
    if let Some(bad) = req.hashes.iter().find(|h| !is_hash(h)) {
        return Err(Problem::bad_request(format!(
            "{bad:?} is not a `sha256:<64 hex digits>` content hash"
        )));
    }
    let hashes = req.hashes;
    let missing = api.read(false, move |s| s.missing_files(&hashes)).await?;
    Ok(Json(MissingFiles { missing }))
}

#[utoipa::path(post, path = "/files", request_body = FilesUpload, responses(
    (status = 200, body = FilesStored), (status = 400, body = Problem), (status = 413, body = Problem)))]
pub async fn upload_files(
    State(api): State<Api>,
    scope: Scope,
    Body(req): Body<FilesUpload>,
) -> Result<Json<FilesStored>, Problem> {
    scope.require(Role::Operator)?;
    // Checked here too, so that a wrong file costs no write.
    for (hash, text) in &req.files {
        let actual = content_hash(text.as_bytes());
        if &actual != hash {
            return Err(Problem::bad_request(format!(
                "a file was sent as {hash:?} but its content hashes to {actual}"
            )));
        }
    }
    let mut new = 0;
    let mut chunk = FileContents::new();
    let mut bytes = 0;
    let mut files = req.files.into_iter().peekable();
    while let Some((hash, text)) = files.next() {
        bytes += text.len() + hash.len();
        chunk.insert(hash, text);
        if bytes >= MAX_FILES_PER_PROPOSAL_BYTES || files.peek().is_none() {
            let contents = std::mem::take(&mut chunk);
            bytes = 0;
            if let Outcome::Files { new: n } = api.write(Command::PutFiles { contents }).await? {
                new += n;
            }
        }
    }
    Ok(Json(FilesStored { new }))
}

#[utoipa::path(post, path = "/bundles/{bundle}/versions", params(("bundle" = String, Path)),
    request_body = BundlePush, responses(
    (status = 200, body = BundlePushResponse), (status = 400, body = Problem), (status = 413, body = Problem)))]
pub async fn push_bundle(
    State(api): State<Api>,
    scope: Scope,
    Path(name): Path<String>,
    Body(req): Body<BundlePush>,
) -> Result<Json<BundlePushResponse>, Problem> {
    scope.require(Role::Operator)?;
    // The team is the caller's: a team's token pushes for its own team only.
    let team = team_of_push(&scope, req.team.as_deref())?;
    let bundle = BundleContent {
        name: name.clone(),
        team,
        environment: req.environment,
        files: req.files,
        binary: req.binary,
        requirements: req.requirements,
        wheels: req.wheels,
    };
    if let Some(problem) = bundle.problem() {
        return Err(Problem::bad_request(problem));
    }
    let dag_files: BTreeSet<String> = req.dag_files.into_iter().collect();
    if let Some(bad) = dag_files
        .iter()
        .find(|f| !bundle.files.contains_key(*f) || bundle.binary.contains(*f))
    {
        return Err(Problem::bad_request(format!(
            "DAG file {bad:?} is not among the bundle's text files"
        )));
    }
    // The loader reads the bundle's text files from the store, as laid out in the
    // folder the CLI pushed.
    let wanted: Vec<(String, String)> = bundle
        .files
        .iter()
        .filter(|(path, _)| !bundle.binary.contains(*path))
        .map(|(p, h)| (p.clone(), h.clone()))
        .collect();
    // Linearizable: the files were just stored through the leader, and this
    // node may be a follower that has not applied them yet.
    let texts: Vec<(String, Option<String>)> = api
        .read(true, move |s| {
            wanted
                .iter()
                .map(|(path, hash)| Ok((path.clone(), s.file(hash)?)))
                .collect()
        })
        .await?;
    let missing: Vec<&str> = texts
        .iter()
        .filter(|(_, t)| t.is_none())
        .map(|(p, _)| p.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Problem::bad_request(format!(
            "{} file(s) of bundle `{name}` are not in the cluster (first: {}); send them with POST /files first",
            missing.len(),
            missing
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let reader: BTreeMap<PathBuf, Vec<u8>> = texts
        .into_iter()
        .filter_map(|(path, text)| Some((FsPath::new(ROOT).join(path), text?.into_bytes())))
        .collect();
    let opts = LoadOptions {
        bundle: name.clone(),
        team: bundle.team.clone(),
        environment: bundle.environment.clone(),
        root: Some(PathBuf::from(ROOT)),
    };
    let mut dags = Vec::new();
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    if let Some(stray) = req.evaluated.keys().find(|f| !dag_files.contains(*f)) {
        return Err(Problem::bad_request(format!(
            "evaluated DAGs came for {stray:?}, which is not among the bundle's DAG files"
        )));
    }
    for file in &dag_files {
        let path = FsPath::new(ROOT).join(file);
        let content = reader.get(&path).cloned().unwrap_or_default();
        let loaded =
            match super::push::python_evaluated(file, req.evaluated.get(file).map(String::as_str))?
            {
                Some(evaluated) => load_evaluated(
                    file,
                    &path,
                    &String::from_utf8_lossy(&content),
                    evaluated.as_bytes(),
                    &reader,
                    &opts,
                ),
                None => load_bytes(file, &path, &content, &reader, &opts),
            };
        if loaded.has_errors() {
            errors.push(format!("{file}: {}", loaded.error_messages().join("; ")));
            continue;
        }
        warnings.extend(loaded.diagnostics.iter().map(|d| d.to_string()));
        for dag in loaded.dags {
            if let Some(other) = seen.insert(dag.dag.dag_id.clone(), file.clone()) {
                errors.push(format!(
                    "DAG `{}` is defined in both {other} and {file}; a DAG id names one DAG",
                    dag.dag.dag_id
                ));
            }
            dags.push(dag);
        }
    }
    if !errors.is_empty() {
        return Err(Problem::bad_request(format!(
            "bundle `{name}` is not valid: {}",
            errors.join(" | ")
        )));
    }
    for dag in &dags {
        check_not_anothers(&api, &scope, &dag.dag.dag_id).await?;
    }
    let outcome = api
        .write(Command::PutBundleVersion { bundle, dags })
        .await?;
    let Outcome::BundleVersion {
        bundle,
        version,
        created,
        dags,
        ..
    } = outcome
    else {
        return Err(Problem::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "the cluster answered a bundle push with something else",
        ));
    };
    Ok(Json(BundlePushResponse {
        bundle,
        version,
        created,
        dags: dags
            .into_iter()
            .map(|d| PushedDag {
                dag_id: d.dag_id,
                version: d.version,
                created: d.created,
            })
            .collect(),
        warnings,
    }))
}
