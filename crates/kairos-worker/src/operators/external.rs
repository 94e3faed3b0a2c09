//! ExternalTaskSensor: waits for tasks (or the whole run) of another DAG's run with
//! the same logical date (minus `execution_delta`, or the dates its
//! `execution_date_fn` returns: every one of them) to reach an allowed state; a
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
    let dates = match &op.execution_date_fn {
        // Airflow calls it on every poke; its answer depends on the logical
        // date alone in every use we know of, so once is enough.
        Some(callable) => match super::python::call_for_dates(ctx, callable, logical).await {
            Ok(dates) if !dates.is_empty() => dates,
            Ok(_) => {
                return Report::failed(format!(
                    "execution_date_fn {} returned no date",
                    callable.describe()
                ));
            }
            Err(e) => return Report::failed(format!("execution_date_fn: {e}")),
        },
        None => vec![
            logical
                - op.execution_delta
                    .map(|d| d.to_chrono())
                    .unwrap_or_else(chrono::TimeDelta::zero),
        ],
    };
    let mut left = Vec::new();
    for at in dates {
        left.push(watch_one(op, at, ctx));
    }
    let left = std::sync::Mutex::new(left);
    poke_until(ctx, &op.sensor, || {
        let left = &left;
        async move {
            let pending: Vec<Watch> =
                std::mem::take(&mut *left.lock().unwrap_or_else(|p| p.into_inner()));
            let mut still = Vec::new();
            let mut end = None;
            for watch in pending {
                match poke_one(ctx, op, &watch).await {
                    Poke::Done => {}
                    Poke::NotYet => still.push(watch),
                    Poke::End(report) => {
                        end = Some(report);
                        break;
                    }
                }
            }
            if let Some(report) = end {
                return Poke::End(report);
            }
            let done = still.is_empty();
            *left.lock().unwrap_or_else(|p| p.into_inner()) = still;
            if done { Poke::Done } else { Poke::NotYet }
        }
    })
    .await
}

/// One run of the other DAG to watch: the request, and how messages name it.
#[derive(Clone)]
struct Watch {
    request: RunStateRequest,
    what: String,
}

fn watch_one(op: &ExternalTaskSensor, at: chrono::DateTime<chrono::Utc>, ctx: &Ctx<'_>) -> Watch {
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
    Watch { request, what }
}

async fn poke_one(ctx: &Ctx<'_>, op: &ExternalTaskSensor, watch: &Watch) -> Poke {
    let (request, what) = (&watch.request, &watch.what);
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
