//! ExternalTaskSensor: waits for tasks (or the whole run) of another DAG's run with
//! the same logical date (minus `execution_delta`) to reach an allowed state; a
//! failed state fails it, a skipped state skips it.

use std::time::Duration;

use kairos_dag::operator::ExternalTaskSensor;
use kairos_proto::v1::RunStateRequest;

use super::sensor::{Poke, poke_until};
use super::{Ctx, Report};

pub async fn run(ctx: &Ctx<'_>, op: &ExternalTaskSensor) -> Report {
    let Some(logical) = ctx.attempt.run.logical_date else {
        return Report::failed(
            "ExternalTaskSensor needs a run with a logical date (this run has none)",
        );
    };
    let at = logical
        - op.execution_delta
            .map(|d| d.to_chrono())
            .unwrap_or_else(chrono::TimeDelta::zero);
    let request = RunStateRequest {
        dag_id: op.external_dag_id.clone(),
        run_id: String::new(),
        logical_date: at.to_rfc3339(),
        task_ids: op.external_task_ids.clone(),
        by: Some(ctx.by()),
    };
    let what = if let Some(group) = &op.external_task_group_id {
        format!(
            "task group `{group}` of `{}` at {}",
            op.external_dag_id,
            at.to_rfc3339()
        )
    } else if op.external_task_ids.is_empty() {
        format!("the run of `{}` at {}", op.external_dag_id, at.to_rfc3339())
    } else {
        format!(
            "{} of `{}` at {}",
            op.external_task_ids.join(", "),
            op.external_dag_id,
            at.to_rfc3339()
        )
    };
    poke_until(ctx, &op.sensor, || {
        let request = request.clone();
        let what = what.clone();
        async move {
            let reply = match ctx
                .conn
                .call(Duration::from_secs(30), |mut c| {
                    let request = request.clone();
                    async move { c.run_state(request).await }
                })
                .await
            {
                Ok(reply) => reply,
                Err(e) => {
                    ctx.note(&format!("cannot ask the cluster yet: {e}"));
                    return Poke::NotYet;
                }
            };
            if !reply.dag_found && op.check_existence {
                return Poke::End(Report::failed(format!(
                    "the external DAG `{}` does not exist",
                    op.external_dag_id
                )));
            }
            if !reply.run_found {
                ctx.note(&format!("no run yet for {what}"));
                return Poke::NotYet;
            }
            let states: Vec<String> = match &op.external_task_group_id {
                // Every task of the group (the request asked for all tasks).
                Some(group) => reply
                    .task_states
                    .iter()
                    .filter(|(id, _)| id.starts_with(&format!("{group}.")))
                    .map(|(_, s)| s.clone())
                    .collect(),
                None if op.external_task_ids.is_empty() => vec![reply.state.clone()],
                None => reply.task_states.values().cloned().collect(),
            };
            if states.is_empty() {
                return Poke::NotYet;
            }
            if states.iter().any(|s| op.failed_states.contains(s)) {
                return Poke::End(Report::failed(format!("{what} failed: {states:?}")));
            }
            if states.iter().any(|s| op.skipped_states.contains(s)) {
                return Poke::End(Report::skipped(format!("{what} was skipped: {states:?}")));
            }
            if states.iter().all(|s| op.allowed_states.contains(s)) {
                Poke::Done
            } else {
                Poke::NotYet
            }
        }
    })
    .await
}
