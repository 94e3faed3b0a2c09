//! A DAG's own callbacks (`on_success_callback` / `on_failure_callback` of the
//! DAG) for a run that ended, as a poll hands them over: run like a task's
//! callbacks (the bundle's code, the DAG's execution environment, a scratch
//! directory and log of their own), then reported. They hold no slot and are
//! not spooled: a worker that dies meanwhile leaves them `running`, so they
//! run at most once.

use std::sync::Arc;
use std::time::Duration;

use kairos_dag::callback::CallbackKind;
use kairos_dag::identity::TaskInstanceKey;
use kairos_dag::model::{Dag, Task};
use kairos_dag::template::RunFacts;
use kairos_proto::v1::{DagCallback, ReportDagCallbackRequest};
use tokio::sync::watch;

use super::attempt::{code_of, ctx_of};
use super::shared::Agent;
use crate::context::Attempt;
use crate::logs;
use crate::mask::Secrets;
use crate::operators::callbacks;

/// The task id the callbacks' log is kept under, beside the run's tasks' logs.
const LOG_TASK: &str = "__dag_callbacks__";

/// Runs and reports `cb` in the background.
pub(super) fn start(agent: &Arc<Agent>, cb: DagCallback) {
    let agent = agent.clone();
    tokio::spawn(async move {
        let (success, log_tail) = run(&agent, &cb).await;
        report(&agent, &cb, success, log_tail).await;
    });
}

/// The attempt the callbacks run as: the run, the DAG, a bare task.
fn attempt_of(cb: &DagCallback) -> Result<Attempt, String> {
    let dag: Dag = serde_json::from_str(&cb.dag_json)
        .map_err(|e| format!("the DAG callback's DAG does not decode: {e}"))?;
    let run: RunFacts = serde_json::from_str(&cb.run_json)
        .map_err(|e| format!("the DAG callback's run does not decode: {e}"))?;
    Ok(Attempt {
        ti: TaskInstanceKey {
            dag_id: cb.dag_id.clone(),
            run_id: cb.run_id.clone(),
            task_id: String::new(),
            map_index: -1,
        },
        token: cb.token.clone(),
        try_number: 1,
        dag,
        task: Task::bare(""),
        run,
        files: cb.files.clone().into_iter().collect(),
        map_element: None,
        first_poke_at: None,
        retried_on_failure: false,
    })
}

async fn run(agent: &Arc<Agent>, cb: &DagCallback) -> (bool, String) {
    let log_ti = TaskInstanceKey {
        dag_id: cb.dag_id.clone(),
        run_id: cb.run_id.clone(),
        task_id: LOG_TASK.to_string(),
        map_index: -1,
    };
    let log = logs::log_path(&agent.config.log_dir(), &log_ti, 1);
    if let Some(parent) = log.parent() {
        if let Err(e) = std::fs::create_dir_all(parent) {
            return (false, format!("cannot create the log directory: {e}"));
        }
    }
    let kind = match cb.kind.as_str() {
        "on_success_callback" => CallbackKind::Success,
        "on_failure_callback" => CallbackKind::Failure,
        other => return (false, format!("`{other}` is not a DAG callback")),
    };
    let attempt = match attempt_of(cb) {
        Ok(a) => a,
        Err(e) => return (false, e),
    };
    logs::note(
        &log,
        &format!(
            "{}/{}: the DAG's {} (the run ended: {}) on worker {}",
            cb.dag_id, cb.run_id, cb.kind, cb.reason, agent.config.worker_id
        ),
    );
    let scratch = match agent.scratch.take() {
        Ok(s) => s,
        Err(e) => return (false, format!("cannot create a working directory: {e}")),
    };
    let ok = match code_of(agent, &attempt, cb.bundle_version).await {
        Err(e) => {
            logs::note(
                &log,
                &format!("the bundle's code is not available here: {e}"),
            );
            false
        }
        Ok(code) => {
            let (_never, cancel) = watch::channel(false);
            let ctx = ctx_of(
                agent,
                &attempt,
                &scratch,
                &log,
                cancel,
                Secrets::new(),
                code,
            );
            callbacks::run_dag(&ctx, kind, &cb.reason).await
        }
    };
    drop(scratch);
    let tail = logs::tail(&log)
        .map(super::caps::cut_tail)
        .unwrap_or_else(|e| format!("kairos: cannot read the log {}: {e}\n", log.display()));
    (ok, tail)
}

/// Reports how the callbacks ended, trying for a minute (a failover).
async fn report(agent: &Agent, cb: &DagCallback, success: bool, log_tail: String) {
    let request = ReportDagCallbackRequest {
        worker_id: agent.config.worker_id.clone(),
        dag_id: cb.dag_id.clone(),
        run_id: cb.run_id.clone(),
        token: cb.token.clone(),
        success,
        log_tail,
    };
    let sent = agent
        .conn
        .call(Duration::from_secs(60), |mut c| {
            let request = request.clone();
            async move { c.report_dag_callback(request).await }
        })
        .await;
    match sent {
        Ok(reply) if reply.accepted => {
            tracing::info!(dag = %cb.dag_id, run = %cb.run_id, success, "DAG callbacks reported")
        }
        Ok(reply) => {
            tracing::warn!(dag = %cb.dag_id, run = %cb.run_id, "DAG callbacks' report refused: {}", reply.message)
        }
        Err(e) => {
            tracing::warn!(dag = %cb.dag_id, run = %cb.run_id, "cannot report the DAG callbacks: {e}")
        }
    }
}
