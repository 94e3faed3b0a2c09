//! `ReportFinished` and `PushXCom`: what an attempt produced, proposed as commands
//! that carry its token (the state machine refuses a stale one). A finished or
//! stale attempt's lease is dropped.

use kairos_dag::lifecycle::{Actor, TaskInstanceState};
use kairos_proto::v1::{PushXComRequest, ReportFinishedRequest, ReportReply};
use kairos_state::{Command, RejectionKind};
use tonic::Status;

use super::caller::acting_as;
use super::caps::{check_report, check_xcom};
use super::convert::{key_of, reply};
use super::guard::{check_leader, propose};
use crate::leader::Leader;

pub(super) async fn report_finished(
    s: &Leader,
    proven: &Option<String>,
    r: ReportFinishedRequest,
) -> Result<ReportReply, Status> {
    check_leader(s)?;
    let worker = acting_as(proven, &r.worker_id)?;
    check_report(&r)?;
    let ti = key_of(r.ti)?;
    check_own_attempt(s, &worker, &ti, &r.attempt)?;
    let state = TaskInstanceState::parse(&r.state).ok_or_else(|| {
        Status::invalid_argument(format!(
            "`{}` is not a state a worker reports; use success, failed, skipped, up_for_retry or up_for_reschedule",
            r.state
        ))
    })?;
    let mut xcoms = Vec::with_capacity(r.xcoms.len());
    for x in r.xcoms {
        let value = serde_json::from_str(&x.value_json)
            .map_err(|e| Status::invalid_argument(format!("XCom `{}` is not JSON: {e}", x.key)))?;
        xcoms.push((x.key, value));
    }
    let mut outlet_events = Vec::with_capacity(r.outlet_events.len());
    for e in r.outlet_events {
        let extra = if e.extra_json.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&e.extra_json).map_err(|err| {
                Status::invalid_argument(format!(
                    "the extra of asset event `{}` is not JSON: {err}",
                    e.uri
                ))
            })?
        };
        outlet_events.push(kairos_dag::asset::OutletEvent {
            uri: e.uri,
            alias: (!e.alias.is_empty()).then_some(e.alias),
            extra,
        });
    }
    let command = Command::FinishAttempt {
        ti,
        attempt: r.attempt.clone(),
        actor: Actor::Worker,
        state,
        reason: (!r.reason.is_empty()).then_some(r.reason),
        xcoms,
        log_tail: (!r.log_tail.is_empty()).then_some(r.log_tail),
        follow: r.has_follow.then_some(r.follow),
        reschedule_at: (r.reschedule_at_ms > 0)
            .then(|| chrono::DateTime::from_timestamp_millis(r.reschedule_at_ms))
            .flatten(),
        no_retry: r.no_retry,
        outlet_events,
    };
    let committed = propose(s, vec![command]).await?;
    let Some(result) = committed.results.first() else {
        return Err(Status::internal("no result for the report"));
    };
    match result {
        Err(rejection) if rejection.kind == RejectionKind::StaleAttempt => {
            tracing::warn!(attempt = %crate::tokens::token_tag(&r.attempt), worker = %r.worker_id, "stale report refused: {}", rejection.message);
            s.with_leases(|l| l.remove(&r.attempt));
        }
        Err(rejection) => {
            tracing::warn!(attempt = %crate::tokens::token_tag(&r.attempt), "report refused: {}", rejection.message)
        }
        Ok(_) => s.with_leases(|l| l.remove(&r.attempt)),
    }
    Ok(reply(result))
}

pub(super) async fn push_xcom(
    s: &Leader,
    proven: &Option<String>,
    r: PushXComRequest,
) -> Result<ReportReply, Status> {
    check_leader(s)?;
    let worker = acting_as(proven, &r.worker_id)?;
    let ti = key_of(r.ti)?;
    check_own_attempt(s, &worker, &ti, &r.attempt)?;
    let xcom = r
        .xcom
        .ok_or_else(|| Status::invalid_argument("the XCom is missing"))?;
    check_xcom(&xcom)?;
    let value = serde_json::from_str(&xcom.value_json)
        .map_err(|e| Status::invalid_argument(format!("XCom `{}` is not JSON: {e}", xcom.key)))?;
    let committed = propose(
        s,
        vec![Command::PushXCom {
            ti,
            key: xcom.key,
            value,
            attempt: r.attempt,
        }],
    )
    .await?;
    let result = committed
        .results
        .first()
        .ok_or_else(|| Status::internal("no result for the XCom"))?;
    Ok(reply(result))
}

/// A worker reports only attempts handed to it: when `attempt` is the instance's
/// current attempt, that attempt must be this worker's. (Whether the token is
/// current at all is the state machine's check, made in the same entry.)
fn check_own_attempt(
    s: &Leader,
    worker: &str,
    ti: &kairos_state::TaskInstanceKey,
    attempt: &str,
) -> Result<(), Status> {
    let record = s.node.read_now(|store| store.task_instance(ti))?;
    match record {
        Some(r) if r.attempt.as_deref() == Some(attempt) && r.worker.as_deref() != Some(worker) => {
            Err(Status::permission_denied(format!(
                "task instance {ti}'s current attempt was not handed to worker `{worker}`"
            )))
        }
        _ => Ok(()),
    }
}
