//! A task's callbacks (`on_execute_callback` before its work; after it,
//! `on_success`, `on_failure`, `on_retry` or `on_skipped` by the outcome), run
//! as Airflow 3 runs them: in the task's own attempt, in the Python of its
//! execution environment, with the task's context. Their output and outcome
//! go to the attempt's log; a callback that raises never changes the task's
//! state, and the attempt reports only once they are done. A DAG's own
//! callbacks run through here too (`run_dag`), for a run that ended.

use kairos_dag::callback::{Callback, CallbackKind};
use serde_json::json;

use super::python::{run_runner, stage_callable, stage_runner};
use super::{Ctx, Report};
use crate::process::Ended;

/// The kind of callback the attempt's outcome calls for, if any.
pub fn after_kind(ctx: &Ctx<'_>, report: &Report) -> Option<CallbackKind> {
    match report.state {
        "success" => Some(CallbackKind::Success),
        "skipped" => Some(CallbackKind::Skipped),
        "failed" if ctx.attempt.retried_on_failure && !report.no_retry => Some(CallbackKind::Retry),
        "failed" => Some(CallbackKind::Failure),
        _ => None,
    }
}

/// Runs the task's callbacks of `kind` (none: nothing to do); `exception` is
/// the failure's reason, for the context's `exception`.
pub async fn run(ctx: &Ctx<'_>, kind: CallbackKind, exception: Option<&str>) {
    let callbacks = ctx.attempt.task.callbacks.of(kind);
    // A cancelled attempt (cleared, marked, timed out) ends without them.
    if callbacks.is_empty() || *ctx.cancel.borrow() {
        return;
    }
    run_these(ctx, kind, callbacks, exception, None).await;
}

/// Runs the DAG's own callbacks of `kind` for a run that ended for `reason`
/// (the context has no `ti`, as Airflow's DAG callbacks have none); whether
/// all of them returned.
pub async fn run_dag(ctx: &Ctx<'_>, kind: CallbackKind, reason: &str) -> bool {
    let callbacks = ctx.attempt.dag.callbacks.of(kind);
    run_these(ctx, kind, callbacks, None, Some(reason)).await
}

async fn run_these(
    ctx: &Ctx<'_>,
    kind: CallbackKind,
    callbacks: &[Callback],
    exception: Option<&str>,
    dag_reason: Option<&str>,
) -> bool {
    let (ok, outcome) = match call(ctx, kind, callbacks, exception, dag_reason).await {
        Ok(Ended::Exited(0)) => (true, "done".to_string()),
        Ok(Ended::Exited(_)) => (false, "one or more raised (see above)".to_string()),
        Ok(ended) => (false, format!("did not finish: {ended:?}")),
        Err(e) => (false, format!("could not run: {e}")),
    };
    let effect = if dag_reason.is_some() {
        "the run's state is not changed by it"
    } else {
        "the task's state is not changed by it"
    };
    ctx.note(&format!(
        "{} ({}): {outcome}; {effect}",
        kind.key(),
        callbacks
            .iter()
            .map(Callback::describe)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    ok
}

async fn call(
    ctx: &Ctx<'_>,
    kind: CallbackKind,
    callbacks: &[Callback],
    exception: Option<&str>,
    dag_reason: Option<&str>,
) -> Result<Ended, String> {
    let runner = stage_runner(ctx)?;
    let mut targets = Vec::new();
    for callback in callbacks {
        let mut target = stage_callable(ctx, &callback.target).await?;
        target["kwargs"] = json!(callback.kwargs);
        targets.push(target);
    }
    let (upstream, xcoms) = ctx.upstream_xcoms().await?;
    let spec = json!({
        "mode": "callbacks",
        "kind": kind.key(),
        "callbacks": targets,
        "exception": exception,
        "dag_reason": dag_reason,
        "sys_path": ctx.sys_path(),
        "context": ctx.attempt.python_context(),
        "xcom_upstream": upstream,
        "xcoms": xcoms,
    });
    let (ended, _, _) = run_runner(ctx, &runner, spec)
        .await
        .map_err(|report| report.reason.unwrap_or_default())?;
    Ok(ended)
}

/// The reason a report's failure gives the callback's `exception`.
pub fn exception_of(report: &Report) -> Option<&str> {
    (report.state == "failed").then(|| report.reason.as_deref().unwrap_or("the task failed"))
}
