//! Running one attempt of each kind of operator, and what it reports.

mod bash;
pub(crate) mod callbacks;
mod custom;
mod external;
mod http;
mod outlet_events;
pub(crate) mod python;
mod sensor;
mod task_api;
mod trigger;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kairos_dag::model::TaskOperator;
use kairos_dag::operator::Operator;
use kairos_dag::template::Renderer;
use serde_json::Value as Json;
use tokio::sync::watch;

use crate::config::WorkerConfig;
use crate::conn::Conn;
use crate::context::Attempt;
use crate::files::FileCache;
use crate::logs;
use crate::mask::Secrets;
use crate::process::{self, Ended};
use crate::run_as::RunAs;

/// What an attempt ended with (the report minus its ids and log tail).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub state: &'static str,
    pub reason: Option<String>,
    pub xcoms: Vec<(String, Json)>,
    pub follow: Option<Vec<String>>,
    pub reschedule_at_ms: Option<i64>,
    /// A failure not to retry (Airflow's `AirflowFailException`, a sensor's timeout).
    pub no_retry: bool,
    /// What the task wrote to `$KAIROS_OUTLET_EVENTS_FILE` (success only).
    pub outlet_events: Vec<kairos_dag::asset::OutletEvent>,
}

impl Report {
    pub fn success() -> Report {
        Report {
            state: "success",
            reason: None,
            xcoms: Vec::new(),
            follow: None,
            reschedule_at_ms: None,
            no_retry: false,
            outlet_events: Vec::new(),
        }
    }

    pub fn failed(reason: impl Into<String>) -> Report {
        Report {
            state: "failed",
            reason: Some(reason.into()),
            ..Report::success()
        }
    }

    pub fn skipped(reason: impl Into<String>) -> Report {
        Report {
            state: "skipped",
            reason: Some(reason.into()),
            ..Report::success()
        }
    }
}

/// Everything an operator needs to run one attempt.
/// This attempt, as reads made for it name it.
impl Ctx<'_> {
    pub fn by(&self) -> kairos_proto::v1::AttemptRef {
        self.attempt.by(&self.config.worker_id)
    }
}

pub struct Ctx<'a> {
    pub attempt: &'a Attempt,
    pub conn: Arc<Conn>,
    pub files: &'a FileCache,
    pub config: &'a WorkerConfig,
    /// The attempt's own empty working directory.
    pub workdir: PathBuf,
    pub log: PathBuf,
    pub cancel: watch::Receiver<bool>,
    /// Where the task may write JSON lines `{"key": ..., "value": ...}`.
    pub xcom_file: PathBuf,
    /// Where each process's group id is recorded while it runs.
    pub pgid_file: PathBuf,
    /// The worker's directory for what it hands this attempt's processes (the
    /// bash command: not in bash's arguments, which any local user can read in
    /// /proc; the Python runner, callable and call spec).
    pub stage: PathBuf,
    /// What this attempt must not print: its log lines pass through it.
    pub secrets: Arc<Secrets>,
    /// The user its processes run as (`--run-as`).
    pub run_as: Option<RunAs>,
    /// The root directory of the DAG's bundle version as materialized on this
    /// worker: the Python runner puts it first on `sys.path`, so
    /// `python_callable: pkg.mod.func`, custom operator classes and a callable
    /// file's own imports find the bundle's modules. `None` for a DAG pushed
    /// without a bundle (the callable file's folder is then all there is).
    pub bundle_root: Option<PathBuf>,
    /// The interpreter of the virtualenv the bundle's `requirements` layer on the
    /// task's environment, when its manifest names them: Python tasks run in it.
    pub layered_python: Option<PathBuf>,
}

impl Ctx<'_> {
    /// Renders templated arguments with the attempt's context, on a blocking thread
    /// (`xcom_pull` and `var` call the cluster).
    pub async fn render<T, F>(&self, render: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&Templates) -> Result<T, String> + Send + 'static,
    {
        let attempt = self.attempt.clone();
        let conn = self.conn.clone();
        let by = self.by();
        let secrets = self.secrets.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let templates = Templates {
                ctx: attempt.template_context(conn, runtime, by, secrets),
                renderer: Renderer::new(),
                native: attempt.dag.render_template_as_native_obj,
            };
            render(&templates)
        })
        .await
        .map_err(|e| format!("rendering stopped: {e}"))?
    }

    /// The base of every process spec: the attempt's directory, log, masker,
    /// user, timeout and clean environment (see `env.rs`).
    pub fn process_spec(&self, program: PathBuf, args: Vec<String>) -> process::Spec {
        let mut env = crate::env::base(self.run_as.as_ref());
        env.extend(self.attempt_env());
        process::Spec {
            program,
            args,
            cwd: self.workdir.clone(),
            env,
            log: self.log.clone(),
            masker: self.secrets.live_masker(),
            run_as: self.run_as.clone(),
            pgid_file: Some(self.pgid_file.clone()),
            timeout: self
                .attempt
                .task
                .execution_timeout
                .map(|t| Duration::from_millis(t.as_millis())),
            grace: self.config.kill_grace,
        }
    }

    /// Where the task may write JSON lines `{"uri": ..., "alias": ..., "extra":
    /// ...}`: Airflow's `outlet_events` (the runner writes them for Python).
    pub fn outlet_events_file(&self) -> PathBuf {
        self.workdir.join("outlet_events.jsonl")
    }

    /// The attempt's own variables: `AIRFLOW_CTX_*`, `KAIROS_*`, `KAIROS_XCOM_FILE`, `KAIROS_OUTLET_EVENTS_FILE`,
    /// and `KAIROS_BUNDLE_ROOT` (the bundle version's folder) for DAGs of a bundle.
    pub fn attempt_env(&self) -> Vec<(String, String)> {
        let mut env = self.attempt.env_vars();
        env.push((
            "KAIROS_XCOM_FILE".into(),
            self.xcom_file.display().to_string(),
        ));
        env.push((
            "KAIROS_OUTLET_EVENTS_FILE".into(),
            self.outlet_events_file().display().to_string(),
        ));
        if let Some(root) = &self.bundle_root {
            env.push(("KAIROS_BUNDLE_ROOT".into(), root.display().to_string()));
        }
        env
    }

    /// A line of the worker's own in the attempt's log, masked.
    pub fn note(&self, line: &str) {
        logs::note(&self.log, &self.secrets.mask(line));
    }

    /// What the Python runner puts first on `sys.path`: the bundle root, if any.
    pub fn sys_path(&self) -> Vec<String> {
        self.bundle_root
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    /// The task's direct upstream task ids, and the `return_value` XComs they
    /// pushed (asked of the cluster only when there are upstream tasks), for
    /// `ti.xcom_pull` in Python code.
    pub async fn upstream_xcoms(&self) -> Result<(Vec<String>, BTreeMap<String, Json>), String> {
        let upstream = self.attempt.task.upstream.clone();
        if upstream.is_empty() {
            return Ok((upstream, BTreeMap::new()));
        }
        let attempt = self.attempt.clone();
        let conn = self.conn.clone();
        let by = self.by();
        let runtime = tokio::runtime::Handle::current();
        let values =
            tokio::task::spawn_blocking(move || attempt.upstream_return_values(conn, runtime, by))
                .await
                .map_err(|e| format!("reading upstream XComs stopped: {e}"))??;
        Ok((upstream, values))
    }

    /// The content of one of the version's files, checked against its hash.
    pub async fn file(&self, key: &str) -> Result<Vec<u8>, String> {
        let hash = self.attempt.files.get(key).ok_or_else(|| {
            format!("the DAG version ships no file `{key}`; push it with the DAG")
        })?;
        self.files.get(&self.conn, key, hash, &self.by()).await
    }
}

/// The renderer and context of one attempt.
pub struct Templates {
    ctx: minijinja::Value,
    renderer: Renderer,
    /// The DAG's `render_template_as_native_obj`.
    native: bool,
}

impl Templates {
    /// A templated text field (`bash_command`, `env` values, `cwd`).
    pub fn text(&self, field: &str, template: &str) -> Result<String, String> {
        self.renderer
            .render(template, &self.ctx)
            .map_err(|e| format!("cannot render `{field}`: {e}"))
    }

    /// A templated structured field (`op_args`, `op_kwargs`, `templates_dict`):
    /// every string inside is rendered; with native rendering a lone `{{ expr }}`
    /// keeps its value's type.
    pub fn json(&self, field: &str, value: &Json) -> Result<Json, String> {
        let rendered = if self.native {
            self.native_json(value)
        } else {
            self.renderer.render_json(value, &self.ctx)
        };
        rendered.map_err(|e| format!("cannot render `{field}`: {e}"))
    }

    /// `value` with every TaskFlow argument that is another task's result (an
    /// `XComArg` marker the loader wrote) replaced by that XCom's value, pulled
    /// from the cluster. The values are not rendered again, as in Airflow.
    pub fn xcom_args(&self, value: &Json) -> Result<Json, String> {
        if let Some(x) = kairos_dag::operator::XComArg::from_marker(value) {
            // Task ids and keys are checked at load time: letters, digits, `_-.`.
            let pull = format!(
                "{{{{ ti.xcom_pull(task_ids='{}', key='{}') }}}}",
                x.task_id, x.key
            );
            return self
                .renderer
                .render_native(&pull, &self.ctx)
                .map_err(|e| format!("cannot pull `{}` of task `{}`: {e}", x.key, x.task_id));
        }
        Ok(match value {
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|v| self.xcom_args(v))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.xcom_args(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    fn native_json(&self, value: &Json) -> Result<Json, kairos_dag::template::TemplateError> {
        Ok(match value {
            Json::String(s) if s.contains("{{") || s.contains("{%") => {
                self.renderer.render_native(s, &self.ctx)?
            }
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|v| self.native_json(v))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.native_json(v)?)))
                    .collect::<Result<_, kairos_dag::template::TemplateError>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// Runs the attempt to its end.
pub async fn run(ctx: &Ctx<'_>) -> Report {
    let instantiated;
    let operator = match &ctx.attempt.task.operator {
        TaskOperator::Plain { operator } => operator,
        TaskOperator::Mapped(mapped) => {
            let Some(element) = &ctx.attempt.map_element else {
                return Report::failed(
                    "a mapped task reached the worker without its element; this is a bug",
                );
            };
            // The instance's operator: the fixed arguments plus its own element,
            // checked as the file's arguments were.
            instantiated = match mapped.instantiate(element, &ctx.attempt.files) {
                Ok(op) => op,
                Err(errors) => {
                    let why: Vec<String> = errors
                        .iter()
                        .map(|e| match &e.key {
                            Some(key) => format!("`{key}`: {}", e.message),
                            None => e.message.clone(),
                        })
                        .collect();
                    return Report::failed(format!(
                        "mapped instance {}: its arguments are not valid: {}",
                        ctx.attempt.ti.map_index,
                        why.join("; ")
                    ));
                }
            };
            &instantiated
        }
    };
    let report = match operator {
        Operator::Empty => Report::success(),
        Operator::Bash(op) => bash::run(ctx, op).await,
        Operator::Python(op) => python::run(ctx, op).await,
        Operator::BashSensor(op) => sensor::bash(ctx, op).await,
        Operator::PythonSensor(op) => sensor::python(ctx, op).await,
        Operator::TimeDeltaSensor(_) | Operator::DateTimeSensor(_) => Report::failed(
            "time sensors wait on the server and are never sent to workers; this is a bug",
        ),
        Operator::ExternalTaskSensor(op) => external::run(ctx, op).await,
        Operator::TriggerDagRun(op) => trigger::run(ctx, op).await,
        Operator::Http(op) => http::run(ctx, op).await,
        Operator::Custom { class, args } => custom::run(ctx, class, args).await,
    };
    let report = match read_xcom_file(&ctx.xcom_file) {
        Ok(pushed) if report.state == "success" || report.state == "skipped" => Report {
            xcoms: pushed.into_iter().chain(report.xcoms).collect(),
            ..report
        },
        Ok(_) => report,
        Err(e) => return Report::failed(e),
    };
    if report.state != "success" {
        return report;
    }
    match outlet_events::read(&ctx.outlet_events_file(), &ctx.attempt.task.outlets) {
        Ok(outlet_events) => Report {
            outlet_events,
            ..report
        },
        Err(e) => Report::failed(e),
    }
}

/// What the task wrote to `$KAIROS_XCOM_FILE`: one `{"key": ..., "value": ...}`
/// per line.
pub fn read_xcom_file(path: &Path) -> Result<Vec<(String, Json)>, String> {
    let text = match crate::private_file::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read $KAIROS_XCOM_FILE: {e}")),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || {
            format!(
                "line {} of $KAIROS_XCOM_FILE is not {{\"key\": \"...\", \"value\": ...}}: {line:.200}",
                i + 1
            )
        };
        let parsed: Json = serde_json::from_str(line).map_err(|_| bad())?;
        let key = parsed
            .get("key")
            .and_then(Json::as_str)
            .ok_or_else(bad)?
            .to_string();
        let value = parsed.get("value").cloned().ok_or_else(bad)?;
        out.push((key, value));
    }
    Ok(out)
}

/// A process's end as a report (for everything but a clean exit, which each
/// operator reads its own way).
pub fn unclean(ended: &Ended, timeout: Option<Duration>) -> Report {
    match ended {
        Ended::Exited(code) => Report::failed(format!("the process exited with code {code}")),
        Ended::Signalled(signal) => {
            Report::failed(format!("the process was killed by signal {signal}"))
        }
        Ended::TimedOut => Report::failed(format!(
            "execution_timeout of {} s exceeded: the process group was stopped",
            timeout.map_or(0, |t| t.as_secs())
        )),
        Ended::Cancelled => {
            Report::failed("stopped: the cluster cancelled this attempt (cleared or marked)")
        }
    }
}

#[cfg(test)]
mod bundle_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xcom_file_gives_keys_and_values_or_says_which_line_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xcom.jsonl");
        assert_eq!(read_xcom_file(&path).unwrap(), vec![]);
        std::fs::write(
            &path,
            "{\"key\": \"rows\", \"value\": 42}\n\n{\"key\": \"files\", \"value\": [\"a\"]}\n",
        )
        .unwrap();
        assert_eq!(
            read_xcom_file(&path).unwrap(),
            vec![
                ("rows".to_string(), serde_json::json!(42)),
                ("files".to_string(), serde_json::json!(["a"]))
            ]
        );
        std::fs::write(&path, "{\"key\": \"rows\", \"value\": 1}\nrows=2\n").unwrap();
        let err = read_xcom_file(&path).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }
}
