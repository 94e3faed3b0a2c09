//! A folder pushed as a bundle: its manifest (`kairos-bundle.toml`) read, every
//! file not ignored gathered by path and hash, every DAG file validated locally
//! with the loader the server uses (a Python DAG file read by a local Python,
//! its DAGs sent as read beside it); then pushed as the cluster lacks it (only
//! the contents it has no copy of travel), as one bundle version.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use kairos_client::Client;
use kairos_client::api::{BundlePush, BundlePushResponse};
use kairos_dag::bundle::{MANIFEST, Manifest};
use kairos_dag::bundle_content::{BundleContent, MAX_BUNDLE_FILES};
use kairos_dag::load::{LoadOptions, MAX_FILE_BYTES, load_file};
use kairos_dag::version::content_hash;

use super::python_files::{self, Sdk, makes_a_dag};

/// Left out of every bundle, as a `.gitignore` would: version control, caches
/// and virtualenvs.
const ALWAYS_IGNORED: &[&str] = &[
    ".git/",
    ".hg/",
    "__pycache__/",
    "*.pyc",
    ".venv/",
    "venv/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    "node_modules/",
    ".DS_Store",
];

/// The most bytes of contents one upload request carries (the API takes 16 MiB
/// bodies; JSON escaping needs room).
const UPLOAD_BATCH_BYTES: usize = 6 * 1024 * 1024;

/// A folder read as a bundle, ready to push.
pub(crate) struct LocalBundle {
    pub name: String,
    pub dir: PathBuf,
    pub push: BundlePush,
    /// Contents by hash (base64 for binary files).
    contents: BTreeMap<String, String>,
}

/// Reads `dir` as a bundle named by its manifest, else `--bundle`, else the
/// default bundle; every problem, one per line, when it cannot be pushed.
pub(crate) fn read_bundle(dir: &Path, flag: Option<&str>) -> Result<LocalBundle, String> {
    let manifest_path = dir.join(MANIFEST);
    let manifest = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => Manifest::parse(&manifest_path.display().to_string(), &text)
            .map_err(|e| e.to_string())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest::default(),
        Err(e) => return Err(format!("cannot read {}: {e}", manifest_path.display())),
    };
    let name = match (&manifest.name, flag) {
        (Some(named), Some(flag)) if named != flag => {
            return Err(format!(
                "{} names bundle `{named}` but --bundle says `{flag}`; drop one of them",
                manifest_path.display()
            ));
        }
        (Some(named), _) => named.clone(),
        (None, Some(flag)) => flag.to_string(),
        (None, None) => kairos_dag::model::defaults::BUNDLE.to_string(),
    };
    let ignore = ignore_rules(dir, &manifest)?;
    let mut files = BTreeMap::new();
    let mut binary = BTreeSet::new();
    let mut contents = BTreeMap::new();
    let mut dag_files = Vec::new();
    for (relative, path) in walk(dir, &ignore)? {
        let size = std::fs::metadata(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .len();
        if size > MAX_FILE_BYTES as u64 {
            return Err(format!(
                "{} is {size} bytes; a bundle holds files up to {MAX_FILE_BYTES} bytes. \
                 Leave it out with `ignore` in {MANIFEST}",
                path.display()
            ));
        }
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                binary.insert(relative.clone());
                base64::engine::general_purpose::STANDARD.encode(e.into_bytes())
            }
        };
        let hash = content_hash(text.as_bytes());
        let python_dag = relative.ends_with(".py") && makes_a_dag(&text);
        if (is_dag_file(&relative) || python_dag) && !binary.contains(&relative) {
            dag_files.push(relative.clone());
        }
        files.insert(relative, hash.clone());
        contents.insert(hash, text);
        if files.len() > MAX_BUNDLE_FILES {
            return Err(format!(
                "{} holds more than {MAX_BUNDLE_FILES} files, the most a bundle may hold; \
                 leave some out with `ignore` in {MANIFEST}",
                dir.display()
            ));
        }
    }
    // Validated here first: nothing is pushed if a DAG file is broken.
    let opts = LoadOptions {
        bundle: name.clone(),
        team: manifest.team.clone(),
        environment: manifest.environment.clone(),
        root: Some(dir.to_path_buf()),
    };
    let mut problems = Vec::new();
    let python: Vec<&String> = dag_files.iter().filter(|f| f.ends_with(".py")).collect();
    for relative in dag_files.iter().filter(|f| !f.ends_with(".py")) {
        let loaded = load_file(&dir.join(relative), &opts);
        if loaded.has_errors() {
            problems.extend(loaded.error_messages());
        }
    }
    let mut evaluated = BTreeMap::new();
    for (relative, (loaded, text)) in python.iter().zip(read_python_files(dir, &python, &opts)?) {
        if loaded.has_errors() {
            problems.extend(loaded.error_messages());
        } else if let Some(text) = text {
            evaluated.insert((*relative).clone(), text);
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    // What the server checks of the content, checked here first.
    let content = BundleContent {
        name: name.clone(),
        team: manifest.team.clone(),
        environment: manifest.environment.clone(),
        files,
        binary,
        requirements: manifest.requirements,
        wheels: manifest.wheels,
    };
    if let Some(problem) = content.problem() {
        return Err(format!("{}: {problem}", dir.display()));
    }
    Ok(LocalBundle {
        name,
        dir: dir.to_path_buf(),
        push: BundlePush {
            team: content.team,
            environment: content.environment,
            files: content.files,
            binary: content.binary,
            dag_files,
            evaluated,
            requirements: content.requirements,
            wheels: content.wheels,
        },
        contents,
    })
}

/// Reads the Python DAG files `relative` of `dir` (all in one Python, read
/// again at once in a second).
fn read_python_files(
    dir: &Path,
    relative: &[&String],
    opts: &LoadOptions,
) -> Result<Vec<(kairos_dag::load::LoadedFile, Option<String>)>, String> {
    if relative.is_empty() {
        return Ok(Vec::new());
    }
    let sdk = Sdk::new()?;
    let paths: Vec<PathBuf> = relative.iter().map(|r| dir.join(r.as_str())).collect();
    Ok(python_files::read_python_files(&sdk, &paths, opts))
}

/// DAG files: YAML files, except dag-factory's `defaults.yml` and the manifest.
fn is_dag_file(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    (name.ends_with(".yml") || name.ends_with(".yaml"))
        && !matches!(name, "defaults.yml" | "defaults.yaml")
}

fn ignore_rules(dir: &Path, manifest: &Manifest) -> Result<Gitignore, String> {
    let mut builder = GitignoreBuilder::new(dir);
    for pattern in ALWAYS_IGNORED
        .iter()
        .copied()
        .chain(manifest.ignore.iter().map(String::as_str))
    {
        builder.add_line(None, pattern).map_err(|e| {
            format!("{MANIFEST}: ignore pattern {pattern:?} is not a valid pattern: {e}")
        })?;
    }
    builder
        .build()
        .map_err(|e| format!("{MANIFEST}: the ignore patterns do not build: {e}"))
}

/// Every file under `dir` not ignored, by its `/`-separated relative path, in
/// path order. Symbolic links are followed to files, never to folders.
fn walk(dir: &Path, ignore: &Gitignore) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|e| format!("cannot read the folder {}: {e}", folder.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", folder.display()))?;
            let path = entry.path();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if ignore.matched(&path, is_dir).is_ignore() {
                continue;
            }
            if is_dir {
                folders.push(path);
                continue;
            }
            if !path.is_file() {
                continue;
            }
            let relative = path
                .strip_prefix(dir)
                .map_err(|_| format!("{} is outside {}", path.display(), dir.display()))?;
            let parts: Option<Vec<&str>> = relative
                .components()
                .map(|c| c.as_os_str().to_str())
                .collect();
            let Some(parts) = parts else {
                return Err(format!(
                    "{} has a name that is not UTF-8; rename it or leave it out with `ignore`",
                    path.display()
                ));
            };
            out.push((parts.join("/"), path));
        }
    }
    out.sort();
    Ok(out)
}

/// What a push sent and made.
pub(crate) struct Pushed {
    pub answer: BundlePushResponse,
    pub files: usize,
    pub uploaded: usize,
}

impl LocalBundle {
    /// Sends the contents the cluster lacks, then the version.
    pub(crate) async fn push(&self, api: &Client) -> Result<Pushed, String> {
        let at = |e: kairos_client::Error| format!("{}: {e}", self.dir.display());
        let hashes: Vec<String> = self.contents.keys().cloned().collect();
        let mut missing = Vec::new();
        for chunk in hashes.chunks(MAX_BUNDLE_FILES) {
            missing.extend(api.missing_files(chunk.to_vec()).await.map_err(at)?);
        }
        let mut batch = BTreeMap::new();
        let mut bytes = 0;
        for (n, hash) in missing.iter().enumerate() {
            let text = &self.contents[hash];
            bytes += text.len() + hash.len();
            batch.insert(hash.clone(), text.clone());
            if bytes >= UPLOAD_BATCH_BYTES || n + 1 == missing.len() {
                api.upload_files(std::mem::take(&mut batch))
                    .await
                    .map_err(at)?;
                bytes = 0;
            }
        }
        let answer = api.push_bundle(&self.name, &self.push).await.map_err(at)?;
        Ok(Pushed {
            answer,
            files: self.push.files.len(),
            uploaded: missing.len(),
        })
    }
}

/// `bundle: new version V` and a line per DAG.
pub(crate) fn describe_bundle_push(pushed: &Pushed) -> Vec<String> {
    let a = &pushed.answer;
    let mut lines = vec![format!(
        "bundle {}: {} version {} ({} files, {} uploaded)",
        a.bundle,
        if a.created { "new" } else { "unchanged, still" },
        a.version,
        pushed.files,
        pushed.uploaded
    )];
    for dag in &a.dags {
        lines.push(format!(
            "{}: {} version {}",
            dag.dag_id,
            if dag.created {
                "new"
            } else {
                "unchanged, still"
            },
            dag.version
        ));
    }
    lines
}
