//! Loading dag-factory YAML files into validated DAGs and their version content.
//!
//! A file maps `dag_id -> DAG config`, with an optional `default:` block merged
//! under every DAG of the file. Loading never stops at the first problem: every
//! problem of the file comes back as a [`Diagnostic`] with its line and column,
//! and every DAG without errors comes back as the content of a DAG version.

mod aliases;
mod assets;
mod callbacks;
mod dag;
mod default_args;
mod defaults_files;
mod deps;
mod files;
mod groups;
mod keys;
mod merge;
mod objects;
mod options;
mod read;
mod sink;
mod task;
mod timetable;

pub use dag::is_valid_id;
pub use defaults_files::is_defaults_file;
pub use files::{FileRefs, FsReader, MAX_FILE_BYTES, SourceReader, relative_key};
pub use options::LoadOptions;
pub use timetable::schedule_from_str;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Severity};
use crate::version::{FileContents, VersionContent};
use crate::yaml;

use sink::{Scope, Sink};

/// What one file gave: its valid DAGs, the contents of the files they reference
/// (each distinct content once, by hash), and every problem found.
#[derive(Debug)]
pub struct LoadedFile {
    pub path: String,
    pub dags: Vec<VersionContent>,
    pub contents: FileContents,
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadedFile {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Every error, as it prints (file, line, column, message, hint).
    pub fn error_messages(&self) -> Vec<String> {
        self.diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect()
    }

    /// The content of one of a version's files, by key.
    pub fn file<'a>(&'a self, version: &VersionContent, key: &str) -> Option<&'a str> {
        version
            .files
            .get(key)
            .and_then(|hash| self.contents.get(hash))
            .map(String::as_str)
    }
}

/// Loads one YAML file from disk (its referenced files too).
pub fn load_file(path: &Path, opts: &LoadOptions) -> LoadedFile {
    let display = path.display().to_string();
    // Files are keyed relative to the DAG file's folder: resolve it against the current
    // directory once, so that `../dags/x.yml` and absolute references agree.
    let located = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut opts = opts.clone();
    if let Some(root) = &opts.root {
        opts.root = Some(std::path::absolute(root).unwrap_or_else(|_| root.clone()));
    }
    match std::fs::read(path) {
        Ok(bytes) => load_bytes(&display, &located, &bytes, &FsReader, &opts),
        Err(e) => LoadedFile {
            path: display.clone(),
            dags: Vec::new(),
            contents: FileContents::new(),
            diagnostics: vec![file_error(&display, format!("cannot read the file: {e}"))],
        },
    }
}

/// Loads a YAML file's bytes. `path` locates it (`opts.root`, or else its folder,
/// is `$CONFIG_ROOT_DIR`); referenced files are read through `reader`.
pub fn load_bytes(
    display: &str,
    path: &Path,
    bytes: &[u8],
    reader: &dyn SourceReader,
    opts: &LoadOptions,
) -> LoadedFile {
    let mut sink = Sink::new(display);
    let (dags, contents) = load_into(path, bytes, None, reader, opts, &mut sink);
    LoadedFile {
        path: display.to_string(),
        dags,
        contents,
        diagnostics: dedup(sink.diagnostics),
    }
}

/// A DAG file another program evaluated (a Python DAG file, read by the CLI):
/// `evaluated` is the mapping it made (JSON or YAML text), checked as a YAML
/// file's is; the versions keep `source` (the file as written) under the file's
/// name, and no `defaults.yml` applies (those are dag-factory's, not Airflow's).
pub fn load_evaluated(
    display: &str,
    path: &Path,
    source: &str,
    evaluated: &[u8],
    reader: &dyn SourceReader,
    opts: &LoadOptions,
) -> LoadedFile {
    let mut sink = Sink::new(display);
    let (dags, contents) = load_into(path, evaluated, Some(source), reader, opts, &mut sink);
    LoadedFile {
        path: display.to_string(),
        dags,
        contents,
        diagnostics: dedup(sink.diagnostics),
    }
}

/// A problem in the `default:` block is found once per DAG that inherits it; report
/// it once (under the first DAG), not once per DAG.
fn dedup(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = std::collections::HashSet::new();
    diagnostics
        .into_iter()
        .filter(|d| seen.insert((d.pos, d.message.clone(), d.task_id.clone(), d.is_error())))
        .collect()
}

fn file_error(file: &str, message: String) -> Diagnostic {
    Diagnostic::file_level(Severity::Error, file, message)
}

fn load_into(
    path: &Path,
    bytes: &[u8],
    source: Option<&str>,
    reader: &dyn SourceReader,
    opts: &LoadOptions,
    sink: &mut Sink,
) -> (Vec<VersionContent>, FileContents) {
    let top = Scope::default();
    let Ok(text) = std::str::from_utf8(bytes) else {
        sink.diagnostics
            .push(file_error(sink.file(), "the file is not UTF-8 text".into()));
        return Default::default();
    };
    if bytes.len() > MAX_FILE_BYTES {
        sink.diagnostics.push(file_error(
            sink.file(),
            format!(
                "the file is {} bytes; DAG files may be up to {MAX_FILE_BYTES} bytes",
                bytes.len()
            ),
        ));
        return Default::default();
    }
    let mut doc = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) => {
            sink.error(&top, e.pos, format!("invalid YAML: {}", e.message), None);
            return Default::default();
        }
    };
    if let Err((pos, message)) = objects::normalize(&mut doc) {
        sink.error(&top, pos, message, None);
        return Default::default();
    }
    // dag-factory's dataset definitions (`datasets: [{name, uri}]`), which DAG
    // files name with `file:`: not a DAG file.
    if assets::is_definitions_file(&doc) {
        return Default::default();
    }
    if doc.is_null() {
        sink.warn(&top, doc.pos, "the file defines no DAGs", None);
        return Default::default();
    }
    let Some(entries) = doc.as_map() else {
        sink.error(
            &top,
            doc.pos,
            format!(
                "a DAG file maps dag ids to DAGs; this one is {}",
                doc.value.kind()
            ),
            Some("start the file with `my_dag_id:` and indent the DAG's keys under it".into()),
        );
        return Default::default();
    };
    // Duplicate dag ids at the top level: reported here, and only the first is read.
    let mut first_at: std::collections::HashMap<&str, crate::yaml::Pos> =
        std::collections::HashMap::new();
    let mut repeated = vec![false; entries.len()];
    for (i, (k, _)) in entries.iter().enumerate() {
        match first_at.get(k.name.as_str()) {
            Some(first) => {
                repeated[i] = true;
                sink.error(
                    &Scope::dag(&k.name),
                    k.pos,
                    format!(
                        "DAG `{}` is defined twice in this file (first at line {})",
                        k.name, first.line
                    ),
                    None,
                );
            }
            None => {
                first_at.insert(k.name.as_str(), k.pos);
            }
        }
    }
    let mut default = entries
        .iter()
        .find(|(k, _)| k.name == "default")
        .map(|(_, v)| v.clone());
    if let Some(d) = &mut default {
        if !d.is_null() && d.as_map().is_none() {
            sink.error(
                &top,
                d.pos,
                format!("`default` must be a mapping, found {}", d.value.kind()),
                None,
            );
            return Default::default();
        }
    }
    // A problem in the default block itself makes every DAG of the file unusable.
    let default_mark = sink.mark();
    if let Some(d) = &mut default {
        aliases::canonicalize_dag(d, sink, &top);
    }
    let default_ok = !sink.errors_since(default_mark);
    // A bare file name has an empty parent: its folder is the current one.
    let here = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let root = opts
        .root
        .clone()
        .filter(|r| relative_key(r, path).is_some())
        .unwrap_or_else(|| here.clone());
    let fileloc = relative_key(&root, path).unwrap_or_else(|| {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dag.yml".into())
    });
    let mut refs = FileRefs::below(&root, &here, reader);
    refs.insert(&fileloc, source.unwrap_or(text).to_string());
    // dag-factory's defaults files, under the file's own `default:` block.
    let inherited = match source {
        None => defaults_files::inherit(&root, &here, &mut refs, sink),
        Some(_) => defaults_files::Inherited::default(),
    };
    let default_ok = default_ok && !inherited.broken;
    let default = match (default, inherited.node) {
        (Some(own), Some(base)) if !own.is_null() => Some(merge::merge_over(&own, &base)),
        (Some(own), None) => Some(own),
        (_, base) => base,
    };

    let mut out = Vec::new();
    for (i, (key, value)) in entries.iter().enumerate() {
        match key.name.as_str() {
            "default" => continue,
            "task_groups" => {
                sink.warn(
                    &top,
                    key.pos,
                    "a top-level `task_groups` is not a DAG and is ignored (as dag-factory does)",
                    Some("put `task_groups` inside the DAG that uses them".into()),
                );
                continue;
            }
            _ => {}
        }
        if repeated[i] {
            continue;
        }
        let mark = sink.mark();
        let mut own = value.clone();
        aliases::canonicalize_dag(&mut own, sink, &Scope::dag(&key.name));
        let merged = match &default {
            Some(d) if !d.is_null() => merge::merge_over(&own, d),
            _ => own,
        };
        if let Some(read) = dag::read_dag(
            mark, &key.name, key.pos, &merged, &fileloc, &mut refs, opts, sink,
        ) && default_ok
        {
            let mut keys: Vec<String> = read.files.clone();
            keys.push(fileloc.clone());
            keys.extend(inherited.keys.iter().cloned());
            let files: BTreeMap<String, String> = refs.subset(&keys);
            out.push(VersionContent {
                dag: read.dag,
                files,
            });
        }
    }
    // Keep the contents the valid DAGs refer to.
    let used: std::collections::BTreeSet<&String> =
        out.iter().flat_map(|v| v.files.values()).collect();
    let contents = refs
        .into_contents()
        .into_iter()
        .filter(|(hash, _)| used.contains(hash))
        .collect();
    (out, contents)
}

/// The DAG files under `paths` (files as given; folders searched for `*.yml` and
/// `*.yaml`, sorted). dag-factory's `defaults.yml` files are not DAG files: each
/// DAG file below one reads it.
pub fn collect_dag_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut files, &mut problems);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            problems.push(file_error(
                &p.display().to_string(),
                "no such file or folder".into(),
            ));
        }
    }
    // A file named twice (`x.yml` and its folder) is read once.
    let mut seen = std::collections::BTreeSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    (files, problems)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<Diagnostic>) {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            problems.push(file_error(
                &dir.display().to_string(),
                format!("cannot read the folder: {e}"),
            ));
            return;
        }
    };
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, files, problems);
        } else if name.ends_with(".yml") || name.ends_with(".yaml") {
            if is_defaults_file(&name) {
                continue;
            }
            files.push(path);
        }
    }
}

/// Loads every DAG file under `paths` and checks that dag ids are unique across them.
pub fn load_paths(paths: &[PathBuf], opts: &LoadOptions) -> (Vec<LoadedFile>, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let mut loaded: Vec<LoadedFile> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in paths {
        let (files, found) = collect_dag_files(std::slice::from_ref(p));
        problems.extend(found);
        // A folder given is the DAGs root of the files in it; a file given has
        // the caller's root (`$CONFIG_ROOT_DIR`), or else its own folder.
        let mut opts = opts.clone();
        if p.is_dir() {
            opts.root = Some(p.clone());
        }
        for f in files {
            if seen.insert(std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone())) {
                loaded.push(load_file(&f, &opts));
            }
        }
    }
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for file in &loaded {
        for v in &file.dags {
            if let Some(first) = owner.insert(v.dag.dag_id.as_str(), file.path.as_str()) {
                let mut d = file_error(
                    &file.path,
                    format!("dag id `{}` is also defined in {first}", v.dag.dag_id),
                )
                .with_hint("dag ids must be unique across the folder");
                d.dag_id = Some(v.dag.dag_id.clone());
                problems.push(d);
            }
        }
    }
    (loaded, problems)
}

#[cfg(test)]
mod tests;
