//! TriggerDagRunOperator: asks the cluster for a run of another DAG (with conf and
//! a logical date), optionally resets an existing one, and with
//! `wait_for_completion` pokes its state until it reaches an allowed or failed
//! state. The run id is the `trigger_run_id` XCom, as in Airflow.

use std::time::Duration;

use kairos_dag::operator::TriggerDagRunOperator;
use kairos_proto::v1::{RunStateRequest, TriggerRunRequest};
use serde_json::{Value as Json, json};

use super::{Ctx, Report};

const PATIENCE: Duration = Duration::from_secs(30);

pub async fn run(ctx: &Ctx<'_>, op: &TriggerDagRunOperator) -> Report {
    let raw = json!({
        "dag_id": op.trigger_dag_id,
        "run_id": op.trigger_run_id,
        "conf": op.conf,
        "logical_date": op.logical_date,
    });
    let rendered = match ctx
        .render(move |t| {
            Ok(json!({
                "dag_id": t.json("trigger_dag_id", &raw["dag_id"])?,
                "run_id": t.json("trigger_run_id", &raw["run_id"])?,
                "conf": t.json("conf", &raw["conf"])?,
                "logical_date": t.json("logical_date", &raw["logical_date"])?,
            }))
        })
        .await
    {
        Ok(r) => r,
        Err(e) => return Report::failed(e),
    };
    let text = |v: &Json| v.as_str().map(str::to_string).unwrap_or_default();
    let dag_id = text(&rendered["dag_id"]);
    let logical_date = text(&rendered["logical_date"]);
    // The run id and our name are fixed before the first call, so a call retried
    // after it had in fact succeeded finds the run it made instead of a second one.
    let run_id = match text(&rendered["run_id"]) {
        id if !id.is_empty() => id,
        _ => {
            // No date (or a bad one, which the cluster refuses with its name
            // when it reads `logical_date` below) names the run after now.
            let at = chrono::DateTime::parse_from_rfc3339(&logical_date)
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or_else(|_| chrono::Utc::now());
            kairos_dag::lifecycle::RunType::Manual.run_id(at, None)
        }
    };
    let triggered_by = format!(
        "trigger_dag_run:{}.{}:{}:{}",
        ctx.attempt.ti.dag_id,
        ctx.attempt.ti.task_id,
        ctx.attempt.ti.run_id,
        kairos_dag::identity::token_tag(&ctx.attempt.token)
    );
    let request = TriggerRunRequest {
        dag_id: dag_id.clone(),
        run_id,
        conf_json: if rendered["conf"].is_null() {
            String::new()
        } else {
            rendered["conf"].to_string()
        },
        logical_date,
        reset_dag_run: op.reset_dag_run,
        triggered_by: triggered_by.clone(),
        by: Some(ctx.by()),
    };
    let reply = match ctx
        .conn
        .call(PATIENCE, |mut c| {
            let request = request.clone();
            async move { c.trigger_run(request).await }
        })
        .await
    {
        Ok(reply) => reply,
        Err(e) => return Report::failed(format!("cannot trigger `{dag_id}`: {e}")),
    };
    let run_id = reply.run_id.clone();
    let xcom = ("trigger_run_id".to_string(), Json::String(run_id.clone()));
    let ours = reply.existing_triggered_by == triggered_by;
    if !reply.created && !reply.reset && !ours {
        if op.skip_when_already_exists {
            let mut report = Report::skipped(format!("run {run_id} of `{dag_id}` already exists"));
            report.xcoms.push(xcom);
            return report;
        }
        return Report::failed(format!(
            "run {run_id} of `{dag_id}` already exists (set reset_dag_run or skip_when_already_exists)"
        ));
    }
    ctx.note(&format!(
        "{} run {run_id} of `{dag_id}`",
        if reply.reset { "reset" } else { "triggered" }
    ));
    if !op.wait_for_completion {
        let mut report = Report::success();
        report.xcoms.push(xcom);
        return report;
    }
    let interval = Duration::from_millis(op.poke_interval.as_millis().max(100));
    loop {
        let request = RunStateRequest {
            dag_id: dag_id.clone(),
            run_id: run_id.clone(),
            logical_date: String::new(),
            task_ids: Vec::new(),
            by: Some(ctx.by()),
        };
        match ctx
            .conn
            .call(PATIENCE, |mut c| {
                let request = request.clone();
                async move { c.run_state(request).await }
            })
            .await
        {
            Ok(state) if op.allowed_states.contains(&state.state) => {
                ctx.note(&format!("run {run_id} of `{dag_id}` ended {}", state.state));
                let mut report = Report::success();
                report.xcoms.push(xcom);
                return report;
            }
            Ok(state) if op.failed_states.contains(&state.state) => {
                return Report::failed(format!(
                    "the triggered run {run_id} of `{dag_id}` ended {}",
                    state.state
                ));
            }
            Ok(_) => {}
            Err(e) => ctx.note(&format!("cannot read the triggered run's state yet: {e}")),
        }
        let mut cancel = ctx.cancel.clone();
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = cancel.wait_for(|c| *c) => {
                return super::unclean(&crate::process::Ended::Cancelled, None);
            }
        }
    }
}
