//! A DAG's own callbacks on workers: a poll hands a worker the pending ones of
//! its queues that it may run (its teams and environments), each taken by a
//! replicated `TakeDagCallback`; `ReportDagCallback` records how they ended.
//! Reads made for them name the run with an empty task id (see `caller::held`).

use std::sync::Arc;

use kairos_proto::v1::{DagCallback, ReportDagCallbackRequest, ReportReply};
use kairos_state::records::DagCallbackRecord;
use kairos_state::{Command, Outcome};
use tonic::Status;

use super::caller::acting_as;
use super::convert::reply;
use super::guard::{check_leader, propose, propose_error};
use crate::leader::Leader;
use crate::leader::placement::Fit;
use crate::node::NodeError;

/// At most this many DAG callbacks go out in one poll.
const PER_POLL: usize = 4;

/// Takes the pending DAG callbacks of `queues` this worker may run; what it
/// took, ready to send.
pub(super) async fn take(
    s: &Arc<Leader>,
    worker: &str,
    queues: &[String],
    fit: &Fit,
) -> Result<Vec<DagCallback>, Status> {
    let mut wanted: Vec<DagCallbackRecord> = Vec::new();
    for queue in queues {
        let pending = s
            .node
            .read_now(|store| store.pending_dag_callbacks(queue, PER_POLL))?;
        for record in pending {
            if wanted.len() < PER_POLL && fits(s, fit, &record)? {
                wanted.push(record);
            }
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut commands = Vec::with_capacity(wanted.len());
    for record in &wanted {
        commands.push(Command::TakeDagCallback {
            dag_id: record.dag_id.clone(),
            run_id: record.run_id.clone(),
            worker: worker.to_string(),
            token: crate::tokens::attempt_token().map_err(Status::unavailable)?,
        });
    }
    let committed = s
        .node
        .propose_here(commands)
        .await
        .map_err(|e| propose_error(s, e))?;
    let mut out = Vec::new();
    for result in committed.results {
        if let Ok(Outcome::DagCallback { callback }) = result {
            if let Some(sent) = build(s, &callback)? {
                out.push(sent);
            }
        }
    }
    Ok(out)
}

/// Whether the worker serves the DAG's team and has its environment.
fn fits(s: &Leader, fit: &Fit, record: &DagCallbackRecord) -> Result<bool, NodeError> {
    let dag = s
        .node
        .read_now(|store| store.version_record(&record.dag_id, record.version))?;
    Ok(dag.is_some_and(|v| {
        let dag = &v.content.dag;
        fit.serves_team(dag.team.as_deref())
            && dag
                .environment
                .as_deref()
                .is_none_or(|e| fit.has_environment(e))
    }))
}

/// What the worker needs to run a taken DAG callback.
fn build(s: &Leader, record: &DagCallbackRecord) -> Result<Option<DagCallback>, Status> {
    let found = s.node.read_now(|store| {
        let run = store.run(&record.dag_id, &record.run_id)?;
        let version = store.version_record(&record.dag_id, record.version)?;
        Ok(run.zip(version))
    })?;
    let Some((run, version)) = found else {
        return Ok(None);
    };
    let mut dag = version.content.dag.clone();
    dag.tasks.clear();
    let encode = |what: &str, e: serde_json::Error| {
        Status::internal(format!("the DAG callback's {what} cannot be encoded: {e}"))
    };
    Ok(Some(DagCallback {
        dag_id: record.dag_id.clone(),
        run_id: record.run_id.clone(),
        token: record.token.clone().unwrap_or_default(),
        kind: record.kind.clone(),
        reason: record.reason.clone(),
        version: record.version,
        dag_json: serde_json::to_string(&dag).map_err(|e| encode("DAG", e))?,
        run_json: serde_json::to_string(&run.facts()).map_err(|e| encode("run", e))?,
        files: version.content.files.clone().into_iter().collect(),
        bundle_version: run.bundle_version.unwrap_or(0),
    }))
}

pub(super) async fn report(
    s: &Leader,
    proven: &Option<String>,
    r: ReportDagCallbackRequest,
) -> Result<ReportReply, Status> {
    check_leader(s)?;
    let worker = acting_as(proven, &r.worker_id)?;
    let held = s
        .node
        .read_now(|store| store.dag_callback(&r.dag_id, &r.run_id))?;
    if held.is_none_or(|c| c.worker.as_deref() != Some(worker.as_str())) {
        return Err(Status::permission_denied(format!(
            "worker `{worker}` runs no DAG callbacks of run {}/{}",
            r.dag_id, r.run_id
        )));
    }
    let command = Command::FinishDagCallback {
        dag_id: r.dag_id,
        run_id: r.run_id,
        token: r.token,
        success: r.success,
        log_tail: r.log_tail,
    };
    let committed = propose(s, vec![command]).await?;
    let Some(result) = committed.results.first() else {
        return Err(Status::internal("no result for the report"));
    };
    Ok(reply(result))
}
