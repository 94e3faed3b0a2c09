//! DAG files written in Python, as Airflow users write them: the CLI (never a
//! server) runs the file in a Python of this machine (the bundle's execution
//! environment when `KAIROS_ENVS` has it, else `KAIROS_PYTHON`, else `python3`)
//! with the `kairos_airflow` package serving `import airflow...`,
//! for at most `EVAL_TIMEOUT`. The package prints each DAG the file made as the
//! mapping a Kairos DAG file holds; that text goes through the same loader as
//! YAML, so a Python DAG gets the same checks and messages, placed at the line
//! of the file that made the DAG or task.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kairos_dag::diag::{Diagnostic, Severity};
use kairos_dag::load::{FsReader, LoadOptions, LoadedFile, load_evaluated};
use kairos_dag::yaml::Pos;
use serde_json::Value;

/// The longest a DAG file may take to evaluate.
const EVAL_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether `path` is a Python DAG file: a `.py` file that names `airflow` and
/// makes a DAG (`DAG(` or `@dag`). Airflow's own safe-mode test (`airflow` and
/// `dag` anywhere) would also take the helper modules that YAML DAGs call
/// (they mention `dag_run`), which are no DAG files.
pub(crate) fn is_python_dag_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py")
        && std::fs::read_to_string(path).is_ok_and(|text| makes_a_dag(&text))
}

/// Whether a `.py` file's text reads as a DAG file (see [`is_python_dag_file`]).
pub(crate) fn makes_a_dag(text: &str) -> bool {
    text.contains("airflow") && (text.contains("DAG(") || text.contains("@dag"))
}

/// The Python DAG files among `paths` (files given, or found in folders),
/// each with the folder that is its DAGs root.
pub(crate) fn python_dag_files(paths: &[PathBuf]) -> Vec<(PathBuf, Option<PathBuf>)> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            for entry in ignore::WalkBuilder::new(p).hidden(true).build().flatten() {
                let path = entry.path();
                if path.is_file() && is_python_dag_file(path) {
                    out.push((path.to_path_buf(), Some(p.clone())));
                }
            }
        } else if p.extension().is_some_and(|e| e == "py") {
            out.push((p.clone(), None));
        }
    }
    out.sort();
    out
}

/// Loads one DAG file, YAML or Python (by its extension).
pub(crate) fn load_dag_file(path: &Path, opts: &LoadOptions) -> LoadedFile {
    if path.extension().is_some_and(|e| e == "py") {
        match Sdk::new() {
            Ok(sdk) => load_python(&sdk, path, opts),
            Err(e) => failed(&path.display().to_string(), None, e),
        }
    } else {
        kairos_dag::load::load_file(path, opts)
    }
}

/// Loads the DAGs of a Python DAG file.
pub(crate) fn load_python(sdk: &Sdk, path: &Path, opts: &LoadOptions) -> LoadedFile {
    read_python(sdk, path, opts).0
}

/// Loads the DAGs of a Python DAG file; also the evaluated text a server
/// loads them from (`None` when the file could not be read).
pub(crate) fn read_python(
    sdk: &Sdk,
    path: &Path,
    opts: &LoadOptions,
) -> (LoadedFile, Option<String>) {
    read_python_files(sdk, &[path.to_path_buf()], opts)
        .pop()
        .unwrap_or_else(|| {
            (
                failed(&path.display().to_string(), None, "not read".into()),
                None,
            )
        })
}

/// Loads the DAGs of Python DAG files of one root (`opts.root`, else the
/// first file's folder), each with its evaluated text, in the order given.
/// All are read in one Python process, and read again at once in a second one
/// (the determinism check): two interpreters in all, not two per file.
pub(crate) fn read_python_files(
    sdk: &Sdk,
    paths: &[PathBuf],
    opts: &LoadOptions,
) -> Vec<(LoadedFile, Option<String>)> {
    let root = opts
        .root
        .clone()
        .or_else(|| {
            paths
                .first()
                .and_then(|p| p.parent())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| PathBuf::from("."));
    let python = python_for(opts.environment.as_deref());
    let (first, second) = std::thread::scope(|s| {
        let again = s.spawn(|| evaluate(sdk, &python, paths, &root));
        let first = evaluate(sdk, &python, paths, &root);
        let again = again
            .join()
            .unwrap_or_else(|_| Err("the second reading stopped".to_string()));
        (first, again)
    });
    paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let answer = |reading: &Result<Vec<Value>, String>| match reading {
                Ok(answers) => answers
                    .get(i)
                    .cloned()
                    .ok_or_else(|| "the file was not read".to_string()),
                Err(e) => Err(e.clone()),
            };
            finish(path, answer(&first), answer(&second), opts)
        })
        .collect()
}

/// One file's DAGs from its two readings.
fn finish(
    path: &Path,
    first: Result<Value, String>,
    second: Result<Value, String>,
    opts: &LoadOptions,
) -> (LoadedFile, Option<String>) {
    let display = path.display().to_string();
    let source = match std::fs::read_to_string(path) {
        Ok(source) => source,
        Err(e) => return (failed(&display, None, format!("cannot read it: {e}")), None),
    };
    let answer = match first {
        Ok(answer) => answer,
        Err(e) => return (failed(&display, None, e), None),
    };
    if let Some(error) = answer.get("error").and_then(Value::as_str) {
        let line = answer.get("line").and_then(Value::as_u64);
        return (failed(&display, line, error.to_string()), None);
    }
    let text = answer["dags_text"].as_str().unwrap_or("{}").to_string();
    // A DAG must be the same every time its file is read, or every push would
    // make a new version (a clock or random value in an id, a date, a command).
    match second {
        Ok(again) if again["dags_text"].as_str() != Some(text.as_str()) => {
            let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::Null);
            let (where_, line) = first_difference(
                &parse(&text),
                &parse(again["dags_text"].as_str().unwrap_or("{}")),
                &answer["lines"],
            );
            let message = format!(
                "the file makes a different DAG each time it is read ({where_} changed \
                 between two readings): it reads a clock, a random number or something \
                 outside the file; give the DAG fixed values (templates such as \
                 `{{{{ ds }}}}` are rendered when the task runs)"
            );
            return (failed(&display, line, message), None);
        }
        Ok(_) => {}
        Err(e) => return (failed(&display, None, e), None),
    }
    let mut loaded = load_evaluated(&display, path, &source, text.as_bytes(), &FsReader, opts);
    // Places in the generated text mean nothing to the user: each problem goes
    // to the line of the file that made its task (or DAG).
    let lines = answer.get("lines").cloned().unwrap_or(Value::Null);
    for d in &mut loaded.diagnostics {
        let dag = d.dag_id.as_deref().map(|id| &lines[id]);
        let line = dag.and_then(|l| {
            d.task_id
                .as_deref()
                .and_then(|t| l["tasks"][t.rsplit('.').next().unwrap_or(t)].as_u64())
                .or_else(|| l["dag"].as_u64())
        });
        d.pos = line.map(|l| Pos {
            line: l as u32,
            col: 1,
        });
    }
    (loaded, Some(text))
}

/// Where two readings of a file differ: the first DAG, else task, else key
/// that changed, and the line that made it.
fn first_difference(first: &Value, again: &Value, lines: &Value) -> (String, Option<u64>) {
    let empty = serde_json::Map::new();
    let a = first.as_object().unwrap_or(&empty);
    let b = again.as_object().unwrap_or(&empty);
    for (dag_id, dag) in a {
        let Some(other) = b.get(dag_id) else {
            return (format!("DAG `{dag_id}`"), lines[dag_id]["dag"].as_u64());
        };
        if dag == other {
            continue;
        }
        let tasks = dag["tasks"].as_object().unwrap_or(&empty);
        for (task, body) in tasks {
            if other["tasks"].get(task) != Some(body) {
                return (
                    format!("task `{task}` of DAG `{dag_id}`"),
                    lines[dag_id]["tasks"][task].as_u64(),
                );
            }
        }
        for (key, value) in dag.as_object().unwrap_or(&empty) {
            if other.get(key) != Some(value) {
                return (
                    format!("`{key}` of DAG `{dag_id}`"),
                    lines[dag_id]["dag"].as_u64(),
                );
            }
        }
        return (format!("DAG `{dag_id}`"), lines[dag_id]["dag"].as_u64());
    }
    ("the DAG ids".to_string(), None)
}

fn failed(display: &str, line: Option<u64>, message: String) -> LoadedFile {
    let mut problem = Diagnostic::file_level(Severity::Error, display, message);
    problem.pos = line.map(|l| Pos {
        line: l as u32,
        col: 1,
    });
    LoadedFile {
        path: display.to_string(),
        dags: Vec::new(),
        contents: Default::default(),
        diagnostics: vec![problem],
    }
}

/// The `kairos_airflow` package written out for one command: every Python
/// file it reads (twice each) shares the folder, removed when this is dropped.
pub(crate) struct Sdk {
    dir: tempfile::TempDir,
}

impl Sdk {
    pub(crate) fn new() -> Result<Sdk, String> {
        let dir = tempfile::Builder::new()
            .prefix("kairos-airflow-sdk-")
            .tempdir()
            .map_err(|e| format!("cannot make a folder for the airflow names: {e}"))?;
        kairos_worker::sdk::write_sdk(dir.path(), |at, bytes| std::fs::write(at, bytes))
            .map_err(|e| format!("cannot write the airflow names: {e}"))?;
        Ok(Sdk { dir })
    }
}

/// The Python that reads a DAG file of a bundle of `environment`: that
/// execution environment when this machine has it (`KAIROS_ENVS`, as a worker
/// and `kairos dev` declare theirs: `NAME=PATH`, a virtualenv's folder or an
/// interpreter), else `KAIROS_PYTHON`, else the `python3` environment, else
/// `python3` from `PATH`.
fn python_for(environment: Option<&str>) -> String {
    let envs: Vec<(String, String)> = std::env::var("KAIROS_ENVS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|part| part.split_once('='))
        .map(|(name, path)| (name.trim().to_string(), path.trim().to_string()))
        .collect();
    let local = |name: &str| {
        envs.iter().find(|(n, _)| n == name).map(|(_, path)| {
            let path = Path::new(path);
            if path.is_dir() {
                path.join("bin").join("python").display().to_string()
            } else {
                path.display().to_string()
            }
        })
    };
    environment
        .and_then(local)
        .or_else(|| {
            std::env::var("KAIROS_PYTHON")
                .ok()
                .filter(|p| !p.is_empty())
        })
        .or_else(|| local("python3"))
        .unwrap_or_else(|| "python3".to_string())
}

/// Each file's JSON answer, in order: the collector run on `paths` in
/// `python`, and again on the files after one that ended the process
/// (`os._exit`, a crash), which gets an error of its own.
fn evaluate(sdk: &Sdk, python: &str, paths: &[PathBuf], root: &Path) -> Result<Vec<Value>, String> {
    let mut out: Vec<Value> = Vec::new();
    while out.len() < paths.len() {
        let rest = &paths[out.len()..];
        let (answers, stderr) = collect(sdk, python, rest, root)?;
        let read = answers.len();
        out.extend(answers);
        if read < rest.len() {
            out.push(serde_json::json!({
                "file": rest[read],
                "error": format!(
                    "the Python reading it ended while reading this file (os._exit, a crash \
                     or a kill): {}",
                    stderr.lines().last().unwrap_or("nothing on stderr")
                ),
            }));
        }
    }
    Ok(out)
}

/// Runs the collector once on `paths`: the answers it printed (fewer than the
/// files when it ended early) and its stderr. The collector bounds each file
/// to `EVAL_TIMEOUT`; this bounds the whole reading.
fn collect(
    sdk: &Sdk,
    python: &str,
    paths: &[PathBuf],
    root: &Path,
) -> Result<(Vec<Value>, String), String> {
    let mut child = Command::new(python)
        .args(["-m", "kairos_airflow._collect"])
        .arg(root)
        .args(paths)
        // The package first; the caller's own path after it.
        .env("PYTHONPATH", python_path(sdk.dir.path()))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("cannot start `{python}` to read this Python DAG file: {e} (set KAIROS_PYTHON)")
        })?;
    // Read while it runs: a DAG of many tasks is more than a pipe holds.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + EVAL_TIMEOUT * (paths.len() as u32).max(1);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "evaluating the file took longer than {} s (a DAG file should only define DAGs)",
                    EVAL_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("cannot wait for `{python}`: {e}")),
        }
    }
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let answers: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v.get("file").is_some())
        .collect();
    Ok((answers, stderr))
}

/// `PYTHONPATH` with `first` before what the caller set.
fn python_path(first: &Path) -> std::ffi::OsString {
    let mut paths = vec![first.to_path_buf()];
    if let Some(old) = std::env::var_os("PYTHONPATH") {
        paths.extend(std::env::split_paths(&old));
    }
    std::env::join_paths(paths).unwrap_or_else(|_| first.as_os_str().to_owned())
}
