//! `TriggerRun`: a TriggerDagRunOperator asks for a manual run of another DAG. An
//! existing run of that id is left alone, or cleared to run again when the
//! operator asks to reset it (unless this same operator made it). A DAG of
//! another team than the caller's is answered as absent.

use kairos_proto::v1::{TriggerRunReply, TriggerRunRequest};
use kairos_state::{Command, RejectionKind};
use tonic::Status;

use super::caller::{held, same_team};
use super::convert::parse_time;
use super::guard::{check_leader, propose};
use crate::leader::Leader;
use crate::trigger::Trigger;

pub(super) async fn trigger_run(
    s: &Leader,
    proven: &Option<String>,
    r: TriggerRunRequest,
) -> Result<TriggerRunReply, Status> {
    check_leader(s)?;
    let by = held(&s.node, proven, r.by.clone())?;
    if !same_team(&s.node, &by.dag_id, &r.dag_id)? {
        return Err(Status::not_found(format!("no DAG `{}`", r.dag_id)));
    }
    let conf = if r.conf_json.trim().is_empty() {
        Default::default()
    } else {
        serde_json::from_str(&r.conf_json)
            .map_err(|e| Status::invalid_argument(format!("conf must be a JSON object: {e}")))?
    };
    let trigger = Trigger {
        dag_id: r.dag_id.clone(),
        run_id: (!r.run_id.is_empty()).then(|| r.run_id.clone()),
        logical_date: parse_time("logical_date", &r.logical_date)?,
        conf,
        triggered_by: if r.triggered_by.is_empty() {
            "trigger_dag_run".to_string()
        } else {
            r.triggered_by.clone()
        },
    };
    let run_id = trigger.run_id(chrono::Utc::now());
    let committed = propose(s, vec![trigger.command(run_id.clone())]).await?;
    match committed.results.into_iter().next() {
        Some(Ok(_)) => Ok(TriggerRunReply {
            run_id,
            created: true,
            reset: false,
            existing_triggered_by: String::new(),
        }),
        Some(Err(rejection)) if rejection.kind == RejectionKind::AlreadyExists => {
            let (existing, task_ids) = s.node.read_now(|store| {
                let existing = store.run(&r.dag_id, &run_id)?.map(|run| run.triggered_by);
                let task_ids: Vec<String> = store
                    .task_instances(&r.dag_id, &run_id)?
                    .into_iter()
                    .map(|t| t.task_id)
                    .collect();
                Ok((existing.unwrap_or_default(), task_ids))
            })?;
            let ours = !r.triggered_by.is_empty() && existing == r.triggered_by;
            if !r.reset_dag_run || ours {
                return Ok(TriggerRunReply {
                    run_id,
                    created: false,
                    reset: false,
                    existing_triggered_by: existing,
                });
            }
            let cleared = propose(
                s,
                vec![Command::ClearTaskInstances {
                    dag_id: r.dag_id.clone(),
                    run_id: run_id.clone(),
                    task_ids,
                }],
            )
            .await?;
            match cleared.results.into_iter().next() {
                Some(Ok(_)) => Ok(TriggerRunReply {
                    run_id,
                    created: false,
                    reset: true,
                    existing_triggered_by: existing,
                }),
                Some(Err(rejection)) => Err(Status::failed_precondition(rejection.message)),
                None => Err(Status::internal("no result for the clear")),
            }
        }
        Some(Err(rejection)) => Err(Status::failed_precondition(rejection.message)),
        None => Err(Status::internal("no result for the trigger")),
    }
}
