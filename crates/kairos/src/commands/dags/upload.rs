//! Single DAG files read, validated and uploaded: what `dags push FILE` and
//! `dags test` share (a folder is a bundle: `bundle.rs`). A Python file goes up
//! as written, with its DAGs as read here. Nothing is uploaded that does not
//! validate locally first.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kairos_client::Client;
use kairos_client::api::{PushRequest, PushResponse};
use kairos_dag::load::{LoadOptions, load_file};

use super::python_files::{Sdk, read_python};

/// dag-factory's `CONFIG_ROOT_DIR`, when set: the DAGs root of DAG files given
/// one by one (a folder given is its own root).
pub(crate) fn config_root() -> Option<PathBuf> {
    std::env::var_os("CONFIG_ROOT_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// One DAG file read and validated locally, ready to upload.
pub(crate) struct Upload {
    pub path: PathBuf,
    file_name: String,
    content: String,
    /// A Python file's DAGs as read here.
    evaluated: Option<String>,
    files: BTreeMap<String, String>,
}

/// Reads and validates a DAG file, gathering the files it references; the
/// problems, one per line, when it is not valid.
pub(crate) fn prepare(path: &std::path::Path, opts: &LoadOptions) -> Result<Upload, String> {
    let (loaded, evaluated) = if path.extension().is_some_and(|e| e == "py") {
        read_python(&Sdk::new()?, path, opts)
    } else {
        (load_file(path, opts), None)
    };
    if loaded.has_errors() {
        return Err(loaded.error_messages().join("\n"));
    }
    if evaluated.is_some() {
        own_classes_need_a_bundle(path, &loaded)?;
    }
    let mut files = BTreeMap::new();
    for version in &loaded.dags {
        for key in version.files.keys() {
            if let Some(text) = loaded.file(version, key) {
                files.insert(key.clone(), text.to_string());
            }
        }
    }
    let content = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Its place below the DAGs root, as the loader keyed it.
    let file_name = loaded
        .dags
        .first()
        .map(|v| v.dag.fileloc.clone())
        .or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    Ok(Upload {
        path: path.to_path_buf(),
        file_name,
        content,
        evaluated,
        files,
    })
}

impl Upload {
    /// Uploads the file; the server's answer, or the error after the file's path.
    pub(crate) async fn push(
        &self,
        client: &Client,
        bundle: Option<&str>,
    ) -> Result<PushResponse, String> {
        self.push_for(client, bundle, None).await
    }

    /// Uploads the file for `team` (the server keeps a team's token to its own
    /// team whatever is named here).
    pub(crate) async fn push_for(
        &self,
        client: &Client,
        bundle: Option<&str>,
        team: Option<&str>,
    ) -> Result<PushResponse, String> {
        let push = PushRequest {
            file_name: self.file_name.clone(),
            content: self.content.clone(),
            evaluated: self.evaluated.clone(),
            files: self.files.clone(),
            bundle: bundle.map(str::to_string),
            team: team.map(str::to_string),
        };
        client
            .push_dag_file(&push)
            .await
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

/// `dag: new version V` lines for a push answer.
pub(crate) fn describe_push(answer: &PushResponse) -> Vec<String> {
    answer
        .dags
        .iter()
        .map(|dag| {
            format!(
                "{}: {} version {}",
                dag.dag_id,
                if dag.created {
                    "new"
                } else {
                    "unchanged, still"
                },
                dag.version
            )
        })
        .collect()
}

/// A Python file pushed alone carries its functions in its version, but a
/// worker imports a class by module from a bundle: a custom operator or sensor
/// the file defines itself runs only when its folder is pushed.
fn own_classes_need_a_bundle(
    path: &std::path::Path,
    loaded: &kairos_dag::load::LoadedFile,
) -> Result<(), String> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    for version in &loaded.dags {
        for task in &version.dag.tasks {
            let kairos_dag::model::TaskOperator::Plain {
                operator: kairos_dag::operator::Operator::Custom { class, .. },
            } = &task.operator
            else {
                continue;
            };
            if class
                .rsplit_once('.')
                .is_some_and(|(module, _)| module == stem)
            {
                return Err(format!(
                    "{}: task `{}` of DAG `{}` uses `{class}`, a class this file defines; a \
                     worker imports classes from a bundle, so push the file's folder \
                     (`kairos dags push {}`), or move the class to a module beside it and \
                     push the folder",
                    path.display(),
                    task.task_id,
                    version.dag.dag_id,
                    path.parent()
                        .map(|p| p.display().to_string())
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| ".".into())
                ));
            }
        }
    }
    Ok(())
}
