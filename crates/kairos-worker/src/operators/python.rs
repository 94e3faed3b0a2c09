//! PythonOperator, BranchPythonOperator and ShortCircuitOperator: the embedded
//! runner calls the function from the version's file, or imports it from a
//! module of the DAG's bundle (the bundle root first on `sys.path`), in the
//! Python of the task's execution environment (default `python3`). The runner (from the worker binary), the callable's file (checked
//! against its hash) and the call spec are written fresh into the attempt's
//! staging directory for each call, so nothing a task changes there outlives it.

use std::path::PathBuf;

use kairos_dag::operator::{PythonCallable, PythonKind, PythonOperator};
use serde_json::{Value as Json, json};

use super::{Ctx, Report, unclean};
use crate::private_file;
use crate::process::{self, Ended};

/// The runner script Python callables run through.
const RUNNER: &str = include_str!("../runner.py");

/// What a runner call returned.
pub enum Called {
    Returned(Json),
    Skipped,
    Failed(Report),
}

/// The interpreter for this attempt: the task's effective environment (its
/// own, else its DAG's), else `python3` (the one configured under that name,
/// else from `PATH`). A task naming an environment this worker lacks fails
/// rather than running in the wrong Python (the scheduler never sends one here
/// unless an older server did).
fn interpreter(ctx: &Ctx<'_>) -> Result<PathBuf, String> {
    if let Some(layered) = &ctx.layered_python {
        return Ok(layered.clone());
    }
    interpreter_of(ctx.config, ctx.attempt)
}

/// The interpreter of the attempt's execution environment on this worker.
pub fn interpreter_of(
    config: &crate::config::WorkerConfig,
    attempt: &crate::context::Attempt,
) -> Result<PathBuf, String> {
    let envs = &config.envs;
    match attempt.task.environment.as_deref().or(attempt.dag.environment.as_deref()) {
        Some(name) => envs.get(name).cloned().ok_or_else(|| {
            format!(
                "this worker has no execution environment `{name}`: start it with --environment {name}=PATH (a virtualenv's folder or a Python interpreter)"
            )
        }),
        None => Ok(envs
            .get(crate::environments::DEFAULT)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(crate::environments::DEFAULT))),
    }
}

/// Calls `callable` with rendered arguments through the runner.
pub async fn call(
    ctx: &Ctx<'_>,
    callable: &PythonCallable,
    op_args: &[Json],
    op_kwargs: &std::collections::BTreeMap<String, Json>,
    templates_dict: &Option<std::collections::BTreeMap<String, Json>>,
    show_return_value: bool,
) -> Called {
    call_with_dates(
        ctx,
        callable,
        op_args,
        op_kwargs,
        templates_dict,
        show_return_value,
        false,
    )
    .await
}

/// An `execution_date_fn`: called with `logical` (a Python datetime) and the
/// context; the date or dates it returns.
pub async fn call_for_dates(
    ctx: &Ctx<'_>,
    callable: &PythonCallable,
    logical: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<chrono::DateTime<chrono::Utc>>, String> {
    let arg = Json::String(kairos_dag::lifecycle::python_isoformat(logical));
    let returned = match call_with_dates(
        ctx,
        callable,
        &[arg],
        &Default::default(),
        &None,
        true,
        true,
    )
    .await
    {
        Called::Returned(v) => v,
        Called::Skipped => return Err(format!("{} raised AirflowSkipException", callable.name())),
        Called::Failed(report) => return Err(report.reason.unwrap_or_default()),
    };
    let items = match returned {
        Json::Array(items) => items,
        one => vec![one],
    };
    items
        .iter()
        .map(|v| {
            v.as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&chrono::Utc))
                .ok_or_else(|| {
                    format!(
                        "{} returned {v}, not a datetime (with a time zone) or a list of them",
                        callable.name()
                    )
                })
        })
        .collect()
}

/// [`call`]; with `dates`, the runner hands the arguments over as Python
/// datetimes and returns datetimes as ISO text.
async fn call_with_dates(
    ctx: &Ctx<'_>,
    callable: &PythonCallable,
    op_args: &[Json],
    op_kwargs: &std::collections::BTreeMap<String, Json>,
    templates_dict: &Option<std::collections::BTreeMap<String, Json>>,
    show_return_value: bool,
    dates: bool,
) -> Called {
    let runner = match stage_runner(ctx) {
        Ok(path) => path,
        Err(e) => return Called::Failed(Report::failed(e)),
    };
    let target = match stage_callable(ctx, callable).await {
        Ok(target) => target,
        Err(e) => return Called::Failed(Report::failed(e)),
    };
    let raw = json!({
        "op_args": op_args,
        "op_kwargs": op_kwargs,
        "templates_dict": templates_dict,
    });
    let rendered = match ctx
        .render(move |t| {
            Ok(json!({
                "op_args": t.xcom_args(&t.json("op_args", &raw["op_args"])?)?,
                "op_kwargs": t.xcom_args(&t.json("op_kwargs", &raw["op_kwargs"])?)?,
                "templates_dict": t.json("templates_dict", &raw["templates_dict"])?,
            }))
        })
        .await
    {
        Ok(r) => r,
        Err(e) => return Called::Failed(Report::failed(e)),
    };
    let (upstream, xcoms) = match ctx.upstream_xcoms().await {
        Ok(pulled) => pulled,
        Err(e) => return Called::Failed(Report::failed(e)),
    };
    // Values under secret-looking names are masked in the log.
    ctx.secrets.add_named_in(&rendered);
    let spec = json!({
        "mode": "call",
        "file": target.get("file"),
        "module": target.get("module"),
        "name": callable.name(),
        "sys_path": ctx.sys_path(),
        "op_args": rendered["op_args"],
        "op_kwargs": rendered["op_kwargs"],
        "templates_dict": rendered["templates_dict"],
        "context": ctx.attempt.python_context(),
        "xcom_upstream": upstream,
        "xcoms": xcoms,
        "show_return_value": show_return_value,
        "dates": dates,
    });
    let (outcome, result, timeout) = match run_runner(ctx, &runner, spec).await {
        Ok(ran) => ran,
        Err(report) => return Called::Failed(report),
    };
    match outcome {
        Ended::Exited(0) => read_result(&result),
        Ended::Exited(99) => Called::Skipped,
        Ended::Exited(97) => Called::Failed(Report {
            no_retry: true,
            ..Report::failed(format!(
                "{} raised AirflowFailException: failed without retrying (see the log)",
                callable.name()
            ))
        }),
        Ended::Exited(98) => Called::Failed(Report::failed(format!(
            "{} returned a value that is not JSON-serializable (see the log)",
            callable.name()
        ))),
        Ended::Exited(code) => Called::Failed(Report::failed(match callable {
            PythonCallable::File { file, name } => format!(
                "{name} raised an exception, or `{file}` could not be loaded (exit code {code}; \
                 the traceback is in the log)"
            ),
            PythonCallable::Module { module, name } => format!(
                "{module}.{name} raised an exception, or module `{module}` could not be imported \
                 (exit code {code}; the traceback and the import path are in the log)"
            ),
        })),
        ended => Called::Failed(unclean(&ended, timeout)),
    }
}

/// Where the runner finds `callable`: `{"name", "file"}` or `{"name",
/// "module"}`. The file form's file (checked against its hash) is staged under
/// its own name for readable tracebacks; the module form is imported from the
/// bundle (`sys_path`).
pub(super) async fn stage_callable(
    ctx: &Ctx<'_>,
    callable: &PythonCallable,
) -> Result<Json, String> {
    let mut target = json!({"name": callable.name()});
    match callable {
        PythonCallable::File { file, .. } => {
            let bytes = ctx.file(file).await?;
            let name = std::path::Path::new(file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| n != "call.json" && n != "runner.py")
                .unwrap_or_else(|| "callable.py".to_string());
            let file_path = ctx.stage.join(&name);
            private_file::write(&file_path, &bytes, ctx.run_as.as_ref())
                .map_err(|e| format!("cannot write {} for the runner: {e}", file_path.display()))?;
            target["file"] = json!(file_path);
        }
        PythonCallable::Module { module, .. } => target["module"] = json!(module),
    }
    Ok(target)
}

/// Writes a fresh copy of the runner and of the `kairos_airflow` package (in
/// `sdk/`) into the attempt's staging directory.
pub(super) fn stage_runner(ctx: &Ctx<'_>) -> Result<PathBuf, String> {
    let runner = ctx.stage.join("runner.py");
    private_file::write(&runner, RUNNER.as_bytes(), ctx.run_as.as_ref())
        .map_err(|e| format!("cannot write {} for the runner: {e}", runner.display()))?;
    let sdk = sdk_dir(ctx);
    match std::fs::remove_dir_all(&sdk) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot clear {}: {e}", sdk.display())),
    }
    crate::sdk::write_sdk(&sdk, |at, bytes| {
        private_file::write(at, bytes, ctx.run_as.as_ref())
    })?;
    Ok(runner)
}

/// Where the runner finds the `kairos_airflow` package.
fn sdk_dir(ctx: &Ctx<'_>) -> PathBuf {
    ctx.stage.join("sdk")
}

/// Runs the staged runner on `spec` (its `result` path is added) in the
/// attempt's interpreter: how the process ended, where its result is, and the
/// timeout it ran under. A result left by an earlier call is removed first.
pub(super) async fn run_runner(
    ctx: &Ctx<'_>,
    runner: &std::path::Path,
    mut spec: Json,
) -> Result<(Ended, PathBuf, Option<std::time::Duration>), Report> {
    let result = ctx.workdir.join("result.json");
    // A result left from an earlier call would be read as this call's.
    if let Err(e) = std::fs::remove_file(&result) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(Report::failed(format!(
                "cannot remove an earlier result {}: {e}",
                result.display()
            )));
        }
    }
    spec["result"] = json!(result);
    spec["sdk"] = json!(sdk_dir(ctx));
    let spec_path = ctx.stage.join("call.json");
    if let Err(e) =
        private_file::write(&spec_path, spec.to_string().as_bytes(), ctx.run_as.as_ref())
    {
        return Err(Report::failed(format!("cannot write the call spec: {e}")));
    }
    let python = match interpreter(ctx) {
        Ok(python) => python,
        Err(e) => return Err(Report::failed(e)),
    };
    let mut process_spec = ctx.process_spec(
        python.clone(),
        vec![
            runner.display().to_string(),
            spec_path.display().to_string(),
        ],
    );
    // Variable.get/set, BaseHook.get_connection and ti.xcom_pull of any task,
    // answered while the process runs.
    let api = super::task_api::serve(ctx).map_err(Report::failed)?;
    process_spec
        .env
        .push(("KAIROS_TASK_API".into(), api.path().display().to_string()));
    match process::run(&process_spec, ctx.cancel.clone()).await {
        Ok(o) => Ok((o.ended, result, process_spec.timeout)),
        Err(e) => Err(Report::failed(format!(
            "cannot start {}: {e} (check the worker's --environment NAME=PATH)",
            python.display(),
        ))),
    }
}

/// The `return_value` the runner wrote.
pub(super) fn read_result(result: &std::path::Path) -> Called {
    let text = match private_file::read_to_string(result) {
        Ok(t) => t,
        Err(e) => {
            return Called::Failed(Report::failed(format!("the runner wrote no result: {e}")));
        }
    };
    match serde_json::from_str::<Json>(&text) {
        Ok(mut v) => Called::Returned(
            v.get_mut("return_value")
                .map(Json::take)
                .unwrap_or(Json::Null),
        ),
        Err(e) => Called::Failed(Report::failed(format!("the result is not JSON: {e}"))),
    }
}

/// Python truthiness of a JSON value.
pub fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

pub async fn run(ctx: &Ctx<'_>, op: &PythonOperator) -> Report {
    let returned = match call(
        ctx,
        &op.callable,
        &op.op_args,
        &op.op_kwargs,
        &op.templates_dict,
        op.show_return_value_in_logs,
    )
    .await
    {
        Called::Returned(v) => v,
        Called::Skipped => return Report::skipped("the callable raised AirflowSkipException"),
        Called::Failed(report) => return report,
    };
    let mut report = Report::success();
    if ctx.attempt.task.do_xcom_push && !returned.is_null() {
        if op.multiple_outputs {
            if let Json::Object(map) = &returned {
                for (k, v) in map {
                    report.xcoms.push((k.clone(), v.clone()));
                }
            }
        }
        report.xcoms.push(("return_value".into(), returned.clone()));
    }
    match op.kind {
        PythonKind::Plain => {}
        PythonKind::Branch => {
            let follow = match &returned {
                Json::Null => Vec::new(),
                Json::String(id) => vec![id.clone()],
                Json::Array(ids) if ids.iter().all(Json::is_string) => ids
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                other => {
                    return Report::failed(format!(
                        "a branch callable returns a task id or a list of them, not {other}"
                    ));
                }
            };
            report.follow = Some(follow);
        }
        PythonKind::ShortCircuit => {
            if !truthy(&returned) {
                ctx.note("the condition is falsy: downstream tasks are skipped");
                report.follow = Some(Vec::new());
            }
        }
    }
    report
}
