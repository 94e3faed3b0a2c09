//! One attempt from assignment to spooled result: it holds a slot, runs its
//! operator in a working directory of its own with its log, writes the attempt
//! log's start and end lines, and hands its result to the spool (reported and
//! written to disk at once).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kairos_dag::identity::TaskInstanceKey;
use kairos_proto::v1::Assignment;
use tokio::sync::watch;

use super::shared::Agent;
use crate::attempt_log::AttemptEvent;
use crate::context::Attempt;
use crate::logs;
use crate::mask::Secrets;
use crate::operators::{self, Ctx, Report, callbacks};
use crate::spool::Finished;
use kairos_dag::callback::CallbackKind;

/// Starts one attempt in the background, unless this worker already holds it
/// (`Agent::claim_attempt`: a poll and a report's answer may both bring it).
pub(super) fn start(agent: &Arc<Agent>, assignment: Assignment) {
    let (cancel_tx, cancel) = watch::channel(false);
    if !agent.claim_attempt(&assignment.attempt, cancel_tx) {
        return;
    }
    let agent = agent.clone();
    tokio::spawn(async move {
        let token = assignment.attempt.clone();
        let ti = assignment
            .ti
            .as_ref()
            .map(TaskInstanceKey::from)
            .unwrap_or_else(unknown_ti);
        let task = tokio::spawn({
            let agent = agent.clone();
            let assignment = assignment.clone();
            async move { run_attempt(&agent, &assignment, cancel).await }
        });
        // A bug that panics in an operator still ends the attempt (failed) and frees
        // its slot.
        let finished = task.await.unwrap_or_else(|e| Finished {
            ti,
            attempt: token.clone(),
            state: "failed".into(),
            reason: Some(format!("the worker hit a bug running this attempt: {e}")),
            xcoms: Vec::new(),
            log_tail: String::new(),
            follow: None,
            reschedule_at_ms: None,
            no_retry: false,
            outlet_events: Vec::new(),
            try_number: assignment.try_number,
        });
        // Held for the reporter at once, and written to the spool at the same
        // time as it is first reported: the report does not wait for the disk
        // (two fsyncs), and a result acknowledged first is never written. Until
        // it is on disk, the result is as exposed to a crash of the worker as
        // it was while its process ran.
        agent.spool.hold(finished);
        agent.running().remove(&token);
        agent.changed.notify_waiters();
        let mut backoff = Duration::from_millis(200);
        loop {
            let persisted = tokio::task::spawn_blocking({
                let agent = agent.clone();
                let token = token.clone();
                move || agent.spool.persist(&token)
            })
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
            let Err(e) = persisted else {
                break;
            };
            tracing::error!(attempt = %kairos_dag::identity::token_tag(&token), "cannot spool the result, retrying: {e}");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    });
}

async fn run_attempt(
    agent: &Agent,
    assignment: &Assignment,
    cancel: watch::Receiver<bool>,
) -> Finished {
    let ti = assignment
        .ti
        .as_ref()
        .map(TaskInstanceKey::from)
        .unwrap_or_else(unknown_ti);
    let log = logs::log_path(&agent.config.log_dir(), &ti, assignment.try_number);
    let log_dir = match log.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|e| {
            format!(
                "cannot create the attempt's log directory {}: {e}",
                parent.display()
            )
        }),
        None => Ok(()),
    };
    // A directory of its own, emptied and handed back when this function ends.
    // What an earlier life of this worker left running was stopped at start.
    let scratch = agent.scratch.take();
    let secrets = Secrets::new();
    let report = match (Attempt::decode(assignment), &scratch, log_dir) {
        (Err(e), _, _) => Report::failed(e),
        (_, Err(e), _) => Report::failed(format!("cannot create the attempt's directory: {e}")),
        (_, _, Err(e)) => Report::failed(e),
        (Ok(attempt), Ok(scratch), Ok(())) => {
            logs::note(
                &log,
                &format!(
                    "{ti} try {} (attempt {}) on worker {}",
                    attempt.try_number,
                    kairos_dag::identity::token_tag(&attempt.token),
                    agent.config.worker_id
                ),
            );
            record(agent, assignment, &ti, "start", None, None);
            // `params` and `conf` values under secret-looking names.
            secrets.add_named_in(&attempt.python_context());
            match code_of(agent, &attempt, assignment.bundle_version).await {
                Err(e) => Report::failed(format!(
                    "the code of bundle `{}` version {} is not available on this worker: {e}",
                    attempt.dag.bundle, assignment.bundle_version
                )),
                Ok(code) => {
                    let ctx = ctx_of(
                        agent,
                        &attempt,
                        scratch,
                        &log,
                        cancel,
                        secrets.clone(),
                        code,
                    );
                    callbacks::run(&ctx, CallbackKind::Execute, None).await;
                    let report = operators::run(&ctx).await;
                    if let Some(kind) = callbacks::after_kind(&ctx, &report) {
                        callbacks::run(&ctx, kind, callbacks::exception_of(&report)).await;
                    }
                    report
                }
            }
        }
    };
    // The reason travels to the cluster: masked as the log is.
    let report = Report {
        reason: report.reason.map(|r| secrets.mask(&r)),
        ..report
    };
    // Within the limits the server takes (an oversized XCom fails the attempt).
    let report = super::caps::bounded(report, &log);
    logs::note(
        &log,
        &format!(
            "finished: {}{}",
            report.state,
            report
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
    );
    drop(scratch);
    let return_value = report
        .xcoms
        .iter()
        .find(|(k, _)| k == "return_value")
        .map(|(_, v)| v.clone());
    record(
        agent,
        assignment,
        &ti,
        "end",
        Some(report.state.to_string()),
        return_value,
    );
    // The tail is what the cluster keeps of the log: when it cannot be read, it
    // says why instead of arriving empty.
    let log_tail = logs::tail(&log).map(super::caps::cut_tail).unwrap_or_else(|e| {
        tracing::warn!(ti = %ti, log = %log.display(), "cannot read the log's tail for the report: {e}");
        format!("kairos: cannot read the log {}: {e}\n", log.display())
    });
    Finished {
        ti,
        attempt: assignment.attempt.clone(),
        state: report.state.to_string(),
        reason: report.reason,
        xcoms: report.xcoms,
        log_tail,
        follow: report.follow,
        reschedule_at_ms: report.reschedule_at_ms,
        no_retry: report.no_retry,
        outlet_events: report.outlet_events,
        try_number: assignment.try_number,
    }
}

/// Appends to the attempt log, when there is one.
fn record(
    agent: &Agent,
    assignment: &Assignment,
    ti: &TaskInstanceKey,
    event: &str,
    state: Option<String>,
    return_value: Option<serde_json::Value>,
) {
    let Some(log) = &agent.attempt_log else {
        return;
    };
    let now = chrono::Utc::now();
    log.record(&AttemptEvent {
        event: event.to_string(),
        worker: agent.config.worker_id.clone(),
        dag_id: ti.dag_id.clone(),
        run_id: ti.run_id.clone(),
        task_id: ti.task_id.clone(),
        map_index: ti.map_index,
        try_number: assignment.try_number,
        // The token's tag: the log is testimony, not a credential.
        attempt: kairos_dag::identity::token_tag(&assignment.attempt),
        at_ms: now.timestamp_millis(),
        at_us: now.timestamp_micros(),
        state,
        return_value,
    });
}

fn unknown_ti() -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id: String::new(),
        run_id: String::new(),
        task_id: String::new(),
        map_index: -1,
    }
}

/// The code an attempt (or a DAG's callbacks) runs: the bundle version's root
/// as laid out on this worker, and the interpreter that layers the bundle's
/// own packages on the environment; neither for a DAG pushed without a bundle.
pub(super) struct Code {
    root: Option<PathBuf>,
    python: Option<PathBuf>,
}

/// The code of bundle version `version` (0: none) of `attempt`'s DAG; the
/// bundle's packages are layered on the environment once per worker and lock.
pub(super) async fn code_of(
    agent: &Agent,
    attempt: &Attempt,
    version: u32,
) -> Result<Code, String> {
    if version == 0 {
        return Ok(Code {
            root: None,
            python: None,
        });
    }
    let root = agent
        .bundles
        .root(
            &agent.conn,
            &attempt.by(&agent.config.worker_id),
            &attempt.dag.bundle,
            version,
        )
        .await?;
    let python = layered_python(agent, attempt, &root).await?;
    Ok(Code {
        root: Some(root.root),
        python,
    })
}

/// What the operators see of `attempt`, run in `scratch` with its `log`.
pub(super) fn ctx_of<'a>(
    agent: &'a Agent,
    attempt: &'a Attempt,
    scratch: &crate::scratch::ScratchDir<'_>,
    log: &Path,
    cancel: watch::Receiver<bool>,
    secrets: Arc<Secrets>,
    code: Code,
) -> Ctx<'a> {
    Ctx {
        attempt,
        conn: agent.conn.clone(),
        files: &agent.files,
        config: &agent.config,
        xcom_file: scratch.dir.join("xcom.jsonl"),
        workdir: scratch.dir.clone(),
        log: log.to_path_buf(),
        cancel,
        pgid_file: scratch.pgid_file.clone(),
        stage: scratch.stage.clone(),
        secrets,
        run_as: agent.config.run_as.clone(),
        bundle_root: code.root,
        layered_python: code.python,
    }
}

/// The interpreter of the virtualenv that layers the bundle's `requirements`
/// (and `wheels`) on the task's environment, built on first use; `None` when
/// the bundle's manifest names no lock.
async fn layered_python(
    agent: &Agent,
    attempt: &crate::context::Attempt,
    root: &crate::bundle::BundleRoot,
) -> Result<Option<std::path::PathBuf>, String> {
    let Some((lock, wheels)) = root.layer()? else {
        return Ok(None);
    };
    let base = crate::operators::python::interpreter_of(&agent.config, attempt)?;
    let cache = agent.config.layered_envs_dir();
    tokio::task::spawn_blocking(move || crate::layered_env::ensure(&base, &lock, &wheels, &cache))
        .await
        .map_err(|e| format!("the layered environment's build stopped: {e}"))?
        .map(Some)
}
