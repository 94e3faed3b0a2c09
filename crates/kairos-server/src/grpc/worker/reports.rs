//! `ReportFinished` and `PushXCom`: what an attempt produced, proposed as commands
//! that carry its token (the state machine refuses a stale one). A finished or
//! stale attempt's lease is dropped. A report that offers free slots (`take`)
//! carries a `DispatchDownstream` in the same entry: the downstream it queued
//! goes to this worker at once, leased and answered like a poll's.

use std::sync::Arc;

use kairos_dag::lifecycle::{Actor, TaskInstanceState};
use kairos_proto::v1::{PushXComRequest, ReportFinishedRequest, ReportReply};
use kairos_state::{Command, Outcome, RejectionKind, WorkerFit};
use tonic::Status;

use super::assignment::Assignments;
use super::caller::acting_as;
use super::caps::{check_report, check_xcom};
use super::convert::{key_of, reply};
use super::dispatch::build_all;
use super::guard::{check_leader, propose, propose_error};
use crate::leader::Leader;
use crate::node::{Committed, NodeError};

pub(super) async fn report_finished(
    s: &Arc<Leader>,
    assignments: &Assignments,
    proven: &Option<String>,
    r: ReportFinishedRequest,
) -> Result<ReportReply, Status> {
    check_leader(s)?;
    let worker = acting_as(proven, &r.worker_id)?;
    let (worker_id, take, attempt) = (r.worker_id.clone(), r.take, r.attempt.clone());
    let (ti, command) = finish_command(s, &worker, r)?;
    let handoff = match take {
        0 => None,
        take => hand_off(s, &worker_id, &ti, take as usize)?,
    };
    let mut commands = vec![command];
    commands.extend(handoff.as_ref().map(|h| h.command.clone()));
    let (committed, handed) = propose_and_lease(s, commands, handoff).await?;
    let Some(result) = committed.results.first() else {
        return Err(Status::internal("no result for the report"));
    };
    let mut answer = settle(s, &worker_id, &attempt, result);
    answer.tasks = build_all(s, assignments, &handed)?;
    Ok(answer)
}

/// A finished attempt's report checked (its sizes, that `worker` holds it, its
/// state and JSON) and turned into its `FinishAttempt`.
pub(super) fn finish_command(
    s: &Leader,
    worker: &str,
    r: ReportFinishedRequest,
) -> Result<(kairos_state::TaskInstanceKey, Command), Status> {
    check_report(&r)?;
    let ti = key_of(r.ti)?;
    check_own_attempt(s, worker, &ti, &r.attempt)?;
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
        ti: ti.clone(),
        attempt: r.attempt,
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
    Ok((ti, command))
}

/// A report's result acted on (a finished or stale attempt's lease dropped,
/// a refusal logged) and told to the worker.
pub(super) fn settle(
    s: &Leader,
    worker_id: &str,
    attempt: &str,
    result: &kairos_state::CommandResult,
) -> ReportReply {
    match result {
        Err(rejection) if rejection.kind == RejectionKind::StaleAttempt => {
            tracing::warn!(attempt = %crate::tokens::token_tag(attempt), worker = %worker_id, "stale report refused: {}", rejection.message);
            s.with_leases(|l| l.remove(attempt));
        }
        Err(rejection) => {
            tracing::warn!(attempt = %crate::tokens::token_tag(attempt), "report refused: {}", rejection.message)
        }
        Ok(_) => s.with_leases(|l| l.remove(attempt)),
    }
    reply(result)
}

/// The most attempts one report takes.
const MAX_TAKE: usize = 64;

/// A `DispatchDownstream` for the worker that reports `after`, or `None` when
/// this leader does not know the worker (it registers again, then polls).
struct HandOff {
    command: Command,
    worker: String,
}

fn hand_off(
    s: &Leader,
    worker_id: &str,
    after: &kairos_state::TaskInstanceKey,
    take: usize,
) -> Result<Option<HandOff>, Status> {
    let Some(worker) = s.with_workers(|w| w.touch(worker_id)) else {
        return Ok(None);
    };
    // A leaf's report queues nothing to hand over: no command for it.
    if !s.node.read_now(|store| store.has_downstream(after))? {
        return Ok(None);
    }
    let tokens = (0..take.min(MAX_TAKE))
        .map(|_| crate::tokens::attempt_token())
        .collect::<Result<Vec<_>, _>>()
        .map_err(Status::unavailable)?;
    Ok(Some(HandOff {
        command: Command::DispatchDownstream {
            after: after.clone(),
            worker: worker_id.to_string(),
            log_url: (!worker.log_url.is_empty()).then(|| worker.log_url.clone()),
            tokens,
            fit: worker_fit(&worker),
        },
        worker: worker_id.to_string(),
    }))
}

/// What a worker may take, as the state machine checks it in a hand-off.
pub(super) fn worker_fit(worker: &crate::leader::workers::WorkerInfo) -> WorkerFit {
    WorkerFit {
        queues: worker.queues.clone(),
        environments: worker.environments.clone(),
        teams: worker.teams.clone(),
    }
}

/// Proposes the report (and its hand-off) and leases every attempt handed
/// over, in a task of its own: a worker that gives up on its call must not
/// leave an attempt started with no lease.
async fn propose_and_lease(
    s: &Arc<Leader>,
    commands: Vec<Command>,
    handoff: Option<HandOff>,
) -> Result<(Committed, Vec<(String, kairos_state::TaskInstanceKey)>), Status> {
    let leader = s.clone();
    tokio::spawn(async move {
        let committed = leader.node.propose_here(commands).await?;
        let handed = match (handoff, committed.results.get(1)) {
            (Some(handoff), Some(Ok(Outcome::Dispatched { attempts }))) => {
                leader.lease_handed(&handoff.worker, attempts.iter().cloned())
            }
            _ => Vec::new(),
        };
        Ok::<_, NodeError>((committed, handed))
    })
    .await
    .map_err(|e| Status::internal(format!("a report stopped: {e}")))?
    .map_err(|e| propose_error(s, e))
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
