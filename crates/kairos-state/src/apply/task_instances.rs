//! Commands about task instances: a state set by a user or a worker, clearing,
//! handing one to a worker (the start of an attempt), and an attempt's end.

use std::collections::BTreeSet;

use kairos_dag::identity::TaskInstanceKey;
use kairos_dag::lifecycle::{Actor, TaskInstanceState, check_transition};

use super::outcome::{ApplyError, Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::engine::attempt::start_attempt;
use crate::engine::finish::{Report, finish};
use crate::engine::gap::record_dispatch_gap;
use crate::engine::lookup::{load_run, load_ti};
use crate::engine::sched::Sched;
use crate::engine::write::{set_state as move_state, write_ti};
use crate::ids::check_id;
use crate::keys::{self, Cf};
use crate::records::{Settings, TaskInstanceRecord, XComRecord};
use crate::txn::Txn;

/// A leader-drawn attempt token: 32 to 64 lowercase hex digits.
fn check_token(token: &str) -> Result<(), ApplyError> {
    let ok = (32..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(refused(
            RejectionKind::Invalid,
            "an attempt token must be 32 to 64 lowercase hex digits (128 random bits or more)",
        ))
    }
}

/// The task instance, if `attempt` is its current attempt's token (when one is
/// asked for); refused otherwise, so that a stale attempt changes nothing. The
/// refusal names neither token: a refusal is shown to whoever sent the report.
pub(super) fn current_attempt(
    txn: &Txn<'_>,
    ti: &TaskInstanceKey,
    attempt: Option<&str>,
) -> Result<TaskInstanceRecord, ApplyError> {
    let Some(record) = load_ti(txn, ti)? else {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no task instance {ti}"),
        ));
    };
    if let Some(attempt) = attempt {
        if record.attempt.as_deref() != Some(attempt) {
            return Err(refused(
                RejectionKind::StaleAttempt,
                format!(
                    "the attempt token sent is not task instance {ti}'s current attempt's \
                     (it is {}, try {}); the report is refused",
                    record.state, record.try_number
                ),
            ));
        }
    }
    Ok(record)
}

/// `Command::SetTaskState`, as asked.
pub(super) struct StateChange<'a> {
    pub ti: &'a TaskInstanceKey,
    pub to: TaskInstanceState,
    pub actor: Actor,
    pub attempt: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// A state set by a user (mark), the scheduler, or a worker about its own attempt
/// (which must carry the attempt's token).
pub(super) fn set_state(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    settings: &Settings,
    change: StateChange<'_>,
) -> Handled {
    let StateChange {
        ti,
        to,
        actor,
        attempt,
        reason,
    } = change;
    let needs_token = matches!(actor, Actor::Worker | Actor::LeaseExpiry);
    if needs_token && attempt.is_none() {
        return Err(refused(
            RejectionKind::StaleAttempt,
            format!("a report about task instance {ti} must carry its attempt's token"),
        ));
    }
    let mut record = current_attempt(txn, ti, if needs_token { attempt } else { None })?;
    if load_run(txn, &ti.dag_id, &ti.run_id)?.is_none() {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no run {}/{}", ti.dag_id, ti.run_id),
        ));
    }
    if let Err(illegal) = check_transition(record.state, to, actor) {
        return Err(refused(
            RejectionKind::IllegalTransition,
            format!("{ti}: {illegal}"),
        ));
    }
    if needs_token {
        let report = Report {
            actor,
            state: to,
            reason,
            xcoms: &[],
            log_tail: None,
            follow: None,
            reschedule_at: None,
            // Marked failed is failed, as in Airflow; not retried.
            no_retry: to == TaskInstanceState::Failed,
            xcom_max_bytes: settings.xcom_max_bytes,
            outlet_events: &[],
        };
        finish(txn, sched, record, report)?;
    } else if to == TaskInstanceState::Running {
        start_attempt(txn, sched, &mut record, None, None)?;
    } else {
        move_state(
            txn,
            sched,
            &mut record,
            to,
            actor,
            reason.map(str::to_string),
        )?;
    }
    Ok(Reply::TaskState(ti.clone()))
}

/// Clears task instances of a run (all of them when `task_ids` is empty): they run
/// again; a running one is told to stop (`restarting`) and runs again after.
pub(super) fn clear(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    run_id: &str,
    task_ids: &[String],
) -> Handled {
    let Some(run) = load_run(txn, dag_id, run_id)? else {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no run {dag_id}/{run_id}"),
        ));
    };
    let tis: Vec<(Vec<u8>, TaskInstanceRecord)> =
        txn.scan(Cf::TaskInstances, &keys::run_prefix(dag_id, run_id))?;
    let wanted: BTreeSet<&str> = task_ids.iter().map(String::as_str).collect();
    let known: BTreeSet<&str> = tis.iter().map(|(_, ti)| ti.task_id.as_str()).collect();
    let unknown: Vec<&str> = wanted.difference(&known).copied().collect();
    if !unknown.is_empty() {
        return Err(refused(
            RejectionKind::NotFound,
            format!("run {dag_id}/{run_id} has no task {}", unknown.join(", ")),
        ));
    }
    let plan = txn.plan(dag_id, run.version)?;
    let mut cleared = 0;
    for (_, mut ti) in tis {
        if !wanted.is_empty() && !wanted.contains(ti.task_id.as_str()) {
            continue;
        }
        let to = if ti.state == TaskInstanceState::Running {
            TaskInstanceState::Restarting
        } else {
            TaskInstanceState::None
        };
        if ti.state == to || check_transition(ti.state, to, Actor::Clear).is_err() {
            continue;
        }
        let before = ti.state;
        ti.state = to;
        ti.updated_at = sched.stamp();
        ti.end_date = None;
        ti.next_retry_at = None;
        ti.cleared_tries = ti.try_number;
        ti.first_poke_at = None;
        ti.reschedules = 0;
        ti.reason = Some("cleared".to_string());
        for (xcom_key, _) in txn.scan::<XComRecord>(
            Cf::XComs,
            &keys::xcom_prefix(dag_id, run_id, &ti.task_id, ti.map_index),
        )? {
            txn.delete(Cf::XComs, xcom_key);
        }
        write_ti(txn, sched, before, &ti)?;
        if let Some(plan) = &plan {
            if let Some(i) = plan.index_of(&ti.task_id) {
                sched.evaluate(plan, dag_id, run_id, i);
            }
        }
        cleared += 1;
    }
    Ok(Reply::from(Outcome::Cleared {
        task_instances: cleared,
    }))
}

/// Hands a queued instance to a worker: a new attempt starts.
pub(super) fn dispatch(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    ti: &TaskInstanceKey,
    worker: &str,
    log_url: Option<&str>,
    token: Option<&str>,
) -> Handled {
    check_id("worker id", worker)?;
    if let Some(token) = token {
        check_token(token)?;
    }
    let Some(mut record) = load_ti(txn, ti)? else {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no task instance {ti}"),
        ));
    };
    if record.state != TaskInstanceState::Queued {
        return Err(refused(
            RejectionKind::IllegalTransition,
            format!(
                "task instance {ti} is {}, not queued: it cannot be handed to a worker",
                record.state
            ),
        ));
    }
    record.log_url = log_url.filter(|u| !u.is_empty()).map(str::to_string);
    record_dispatch_gap(txn, sched, ti)?;
    start_attempt(txn, sched, &mut record, Some(worker), token)?;
    Ok(Reply::TaskState(ti.clone()))
}

/// The most attempts one `DispatchDownstream` may start.
const MAX_HANDOFF: usize = 256;

/// Who takes a `DispatchDownstream`'s task instances.
pub(super) struct Taker<'a> {
    pub worker: &'a str,
    pub log_url: Option<&'a str>,
    pub tokens: &'a [String],
    pub fit: &'a crate::command::WorkerFit,
}

/// Starts an attempt of each queued direct downstream instance of `after` that
/// the taker fits and that heads its queue, one per token; what is left waits
/// for a poll. An instance that is not there or not queued is no error: the
/// report before it decided what became ready.
pub(super) fn dispatch_downstream(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    after: &TaskInstanceKey,
    taker: Taker<'_>,
) -> Handled {
    check_taker(&taker)?;
    let mut attempts = Vec::new();
    let mut tokens = taker.tokens.iter();
    hand_downstream(txn, sched, after, &taker, &mut tokens, &mut attempts)?;
    Ok(Reply::from(Outcome::Dispatched { attempts }))
}

/// The most task instances one `Take` names (`after` and `queued` each).
const MAX_TAKE_NAMED: usize = 1024;

/// A batch report's `Take`: the downstream of each of `after` first (as
/// `dispatch_downstream`), then each of `queued` still queued, one attempt per
/// token until they run out.
pub(super) fn take(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    taker: Taker<'_>,
    after: &[TaskInstanceKey],
    queued: &[TaskInstanceKey],
) -> Handled {
    check_taker(&taker)?;
    if after.len() > MAX_TAKE_NAMED || queued.len() > MAX_TAKE_NAMED {
        return Err(refused(
            RejectionKind::Invalid,
            format!(
                "a take names at most {MAX_TAKE_NAMED} reported and {MAX_TAKE_NAMED} queued task instances"
            ),
        ));
    }
    let mut attempts = Vec::new();
    let mut tokens = taker.tokens.iter();
    for reported in after {
        hand_downstream(txn, sched, reported, &taker, &mut tokens, &mut attempts)?;
    }
    for ti in queued {
        if tokens.len() == 0 {
            break;
        }
        let Some(mut record) = load_ti(txn, ti)? else {
            continue;
        };
        if record.state != TaskInstanceState::Queued {
            continue;
        }
        let Some(token) = tokens.next() else {
            break;
        };
        record.log_url = taker.log_url.filter(|u| !u.is_empty()).map(str::to_string);
        record_dispatch_gap(txn, sched, ti)?;
        start_attempt(txn, sched, &mut record, Some(taker.worker), Some(token))?;
        attempts.push((ti.clone(), token.clone()));
    }
    Ok(Reply::from(Outcome::Dispatched { attempts }))
}

/// How far down each queue a `TakeQueued` looks, per token, for instances its
/// worker may take: apply stays bounded; what lies deeper waits for a poll.
const TAKE_QUEUED_SCAN_PER_TOKEN: usize = 4;

/// A waiting poll's `TakeQueued`: the queued instances at the head of the
/// taker's queues that it fits, one attempt per token until they run out.
pub(super) fn take_queued(txn: &mut Txn<'_>, sched: &mut Sched, taker: Taker<'_>) -> Handled {
    check_taker(&taker)?;
    let mut attempts = Vec::new();
    let mut tokens = taker.tokens.iter();
    for queue in &taker.fit.queues {
        if tokens.len() == 0 {
            break;
        }
        let head = txn.scan_index_page(
            &keys::index::queued_prefix(queue),
            None,
            tokens.len() * TAKE_QUEUED_SCAN_PER_TOKEN,
        )?;
        for (_, value) in head {
            let ti: TaskInstanceKey = crate::store::decode(Cf::Index, &value)?;
            let Some(mut record) = load_ti(txn, &ti)? else {
                continue;
            };
            if record.state != TaskInstanceState::Queued {
                continue;
            }
            let Some((plan, task)) = crate::engine::lookup::plan_of_ti(txn, &ti)? else {
                continue;
            };
            if !taker.fit.takes(plan.dag(), plan.task(task)) {
                continue;
            }
            let Some(token) = tokens.next() else {
                break;
            };
            record.log_url = taker.log_url.filter(|u| !u.is_empty()).map(str::to_string);
            record_dispatch_gap(txn, sched, &ti)?;
            start_attempt(txn, sched, &mut record, Some(taker.worker), Some(token))?;
            sched.stats.tasks_taken_waiting += 1;
            attempts.push((ti, token.clone()));
        }
    }
    Ok(Reply::from(Outcome::Dispatched { attempts }))
}

/// The worker id and tokens a hand-over carries, checked.
fn check_taker(taker: &Taker<'_>) -> Result<(), ApplyError> {
    check_id("worker id", taker.worker)?;
    if taker.tokens.len() > MAX_HANDOFF {
        return Err(refused(
            RejectionKind::Invalid,
            format!("at most {MAX_HANDOFF} attempts are handed over at once"),
        ));
    }
    for token in taker.tokens {
        check_token(token)?;
    }
    Ok(())
}

/// Starts attempts of the queued direct downstream of `after` that the taker
/// fits and that head their queues, one per token from `tokens`.
fn hand_downstream(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    after: &TaskInstanceKey,
    taker: &Taker<'_>,
    tokens: &mut std::slice::Iter<'_, String>,
    attempts: &mut Vec<(TaskInstanceKey, String)>,
) -> Result<(), ApplyError> {
    if tokens.len() == 0 {
        return Ok(());
    }
    let Some((plan, upstream)) = crate::engine::lookup::plan_of_ti(txn, after)? else {
        return Ok(());
    };
    for &d in plan.downstream(upstream) {
        let task = plan.task(d);
        if !taker.fit.takes(plan.dag(), task) {
            continue;
        }
        let instances: Vec<(Vec<u8>, TaskInstanceRecord)> = txn.scan(
            Cf::TaskInstances,
            &keys::task_prefix(&after.dag_id, &after.run_id, &task.task_id),
        )?;
        for (_, mut record) in instances {
            if record.state != TaskInstanceState::Queued || !heads_its_queue(txn, &record)? {
                continue;
            }
            let Some(token) = tokens.next() else {
                return Ok(());
            };
            let ti = record.key();
            record.log_url = taker.log_url.filter(|u| !u.is_empty()).map(str::to_string);
            record_dispatch_gap(txn, sched, &ti)?;
            start_attempt(txn, sched, &mut record, Some(taker.worker), Some(token))?;
            sched.stats.tasks_handed_off += 1;
            attempts.push((ti, token.clone()));
        }
    }
    Ok(())
}

/// Whether no instance waits before `record` in its queue (priority, then date,
/// as polls take them).
fn heads_its_queue(
    txn: &Txn<'_>,
    record: &TaskInstanceRecord,
) -> Result<bool, crate::store::StoreError> {
    let head = txn.scan_index_page(&crate::keys::index::queued_prefix(&record.queue), None, 1)?;
    Ok(head
        .first()
        .is_none_or(|(key, _)| *key == crate::keys::index::queued(record)))
}

/// An attempt's final report, from its worker or from the leader when its lease
/// ran out; a repeat of the same report is recorded once.
pub(super) fn finish_attempt(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    ti: &TaskInstanceKey,
    attempt: &str,
    report: Report<'_>,
) -> Handled {
    if !matches!(report.actor, Actor::Worker | Actor::LeaseExpiry) {
        return Err(refused(
            RejectionKind::Invalid,
            "an attempt is finished by its worker or by lease expiry",
        ));
    }
    let record = current_attempt(txn, ti, Some(attempt))?;
    if !matches!(
        record.state,
        TaskInstanceState::Running | TaskInstanceState::Restarting
    ) {
        // The same attempt reported again (a retry after a lost answer, a
        // failover): it is already recorded.
        return Ok(Reply::from(Outcome::AlreadyRecorded {
            state: record.state,
        }));
    }
    finish(txn, sched, record, report)?;
    Ok(Reply::TaskState(ti.clone()))
}
