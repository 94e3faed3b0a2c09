//! The end of an attempt, as its worker reports it (or as the leader decides when its
//! lease ran out): XComs and log tail kept, failures turned into retries while tries
//! remain, branch and short-circuit choices applied to the downstream tasks.

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::{Actor, TaskInstanceState as S};
use kairos_dag::model::Task;
use kairos_dag::operator::OperatorKind;
use kairos_dag::retry::{RetryInput, next_retry_at};
use serde_json::Value;

use super::index::{self, Timer};
use super::plan::Plan;
use super::readiness::key;
use super::{Sched, load_run, load_ti, set_state, ti_key};
use crate::apply::put_xcom;
use crate::keys::Cf;
use crate::records::{DagRunRecord, TaskInstanceRecord};
use crate::store::StoreError;
use crate::txn::Txn;

/// The most log kept with a final report.
pub const LOG_TAIL_BYTES: usize = 4096;

/// The last `LOG_TAIL_BYTES` of a log, cut at a character boundary.
pub fn log_tail(log: &str) -> String {
    if log.len() <= LOG_TAIL_BYTES {
        return log.to_string();
    }
    let mut start = log.len() - LOG_TAIL_BYTES;
    while !log.is_char_boundary(start) {
        start += 1;
    }
    log[start..].to_string()
}

/// What a failed attempt becomes: `up_for_retry` with its retry time while tries
/// remain (Airflow's `is_eligible_to_retry`), else `failed`.
fn failure(
    task: Option<&Task>,
    run: &DagRunRecord,
    ti: &TaskInstanceRecord,
    stamp: DateTime<Utc>,
) -> (S, Option<DateTime<Utc>>) {
    let Some(task) = task else {
        return (S::Failed, None);
    };
    let tries_since_clear = ti.try_number.saturating_sub(ti.cleared_tries);
    if tries_since_clear > task.retries {
        return (S::Failed, None);
    }
    let logical = run
        .logical_date
        .map(kairos_dag::lifecycle::python_isoformat)
        .unwrap_or_else(|| run.run_id.clone());
    let at = next_retry_at(
        stamp,
        &RetryInput {
            dag_id: &ti.dag_id,
            task_id: &ti.task_id,
            logical_date: &logical,
            try_number: ti.try_number,
            retry_delay: task.retry_delay,
            exponential_backoff: task.retry_exponential_backoff,
            max_retry_delay: task.max_retry_delay,
        },
    );
    (S::UpForRetry, Some(at))
}

fn plan_of(txn: &Txn<'_>, run: &DagRunRecord) -> Result<Option<std::sync::Arc<Plan>>, StoreError> {
    txn.plan(&run.dag_id, run.version)
}

/// Ends an attempt as failed (retried while tries remain). A cleared attempt
/// (`restarting`) always runs again, at once.
pub(crate) fn fail_attempt(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    mut ti: TaskInstanceRecord,
    actor: Actor,
    reason: String,
) -> Result<S, StoreError> {
    let Some(run) = load_run(txn, &ti.dag_id, &ti.run_id)? else {
        return Ok(ti.state);
    };
    let plan = plan_of(txn, &run)?;
    let task = plan
        .as_ref()
        .and_then(|p| p.index_of(&ti.task_id).map(|i| p.task(i).clone()));
    let (to, retry_at) = if ti.state == S::Restarting {
        (S::UpForRetry, Some(sched.stamp()))
    } else {
        failure(task.as_ref(), &run, &ti, sched.stamp())
    };
    ti.next_retry_at = retry_at;
    set_state(txn, sched, &mut ti, to, actor, Some(reason))?;
    if let Some(at) = retry_at {
        arm_ready(txn, sched, &ti, at, plan.as_deref())?;
    }
    Ok(to)
}

/// Re-evaluates an instance at `at` (now, or by a timer).
fn arm_ready(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    ti: &TaskInstanceRecord,
    at: DateTime<Utc>,
    plan: Option<&Plan>,
) -> Result<(), StoreError> {
    if at <= sched.stamp() {
        if let Some(plan) = plan {
            if let Some(i) = plan.index_of(&ti.task_id) {
                sched.evaluate(plan, &ti.dag_id, &ti.run_id, i);
            }
        }
        return Ok(());
    }
    let timer = Timer::Ready { ti: ti_key(ti) };
    txn.put(Cf::Index, index::timer(at, &timer), &timer);
    Ok(())
}

/// A worker's final report on one attempt (its token already checked).
pub(crate) struct Report<'a> {
    pub actor: Actor,
    pub state: S,
    pub reason: Option<&'a str>,
    pub xcoms: &'a [(String, Value)],
    pub log_tail: Option<&'a str>,
    pub follow: Option<&'a [String]>,
    pub reschedule_at: Option<DateTime<Utc>>,
    pub xcom_max_bytes: u64,
}

/// Applies a final report; returns the state the instance ended in.
pub(crate) fn finish(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    mut ti: TaskInstanceRecord,
    report: Report<'_>,
) -> Result<S, StoreError> {
    if let Some(tail) = report.log_tail {
        ti.log_tail = Some(log_tail(tail));
    }
    let key = ti_key(&ti);
    for (xcom_key, value) in report.xcoms {
        if let Err(rejection) = put_xcom(
            txn,
            &key,
            xcom_key,
            value,
            report.xcom_max_bytes,
            sched.stamp(),
        ) {
            return fail_attempt(txn, sched, ti, report.actor, rejection.message);
        }
    }
    let reason = report.reason.map(str::to_string);
    match report.state {
        S::Failed | S::UpForRetry => {
            let reason = reason.unwrap_or_else(|| "the attempt failed".to_string());
            fail_attempt(txn, sched, ti, report.actor, reason)
        }
        _ if ti.state == S::Restarting => fail_attempt(
            txn,
            sched,
            ti,
            report.actor,
            "cleared while running: runs again".to_string(),
        ),
        S::UpForReschedule => {
            let Some(run) = load_run(txn, &ti.dag_id, &ti.run_id)? else {
                return Ok(ti.state);
            };
            let plan = plan_of(txn, &run)?;
            let at = report.reschedule_at.unwrap_or(sched.stamp());
            ti.next_retry_at = Some(at);
            set_state(
                txn,
                sched,
                &mut ti,
                S::UpForReschedule,
                report.actor,
                reason,
            )?;
            arm_ready(txn, sched, &ti, at, plan.as_deref())?;
            Ok(S::UpForReschedule)
        }
        S::Success => {
            let Some(run) = load_run(txn, &ti.dag_id, &ti.run_id)? else {
                return Ok(ti.state);
            };
            let plan = plan_of(txn, &run)?;
            if let (Some(plan), Some(follow)) = (&plan, report.follow) {
                if let Some(i) = plan.index_of(&ti.task_id) {
                    if let Err(problem) = check_follow(plan, i, follow) {
                        return fail_attempt(txn, sched, ti, report.actor, problem);
                    }
                    set_state(txn, sched, &mut ti, S::Success, report.actor, reason)?;
                    skip_not_followed(txn, sched, plan, &run, i, follow)?;
                    return Ok(S::Success);
                }
            }
            set_state(txn, sched, &mut ti, S::Success, report.actor, reason)?;
            Ok(S::Success)
        }
        other => {
            set_state(txn, sched, &mut ti, other, report.actor, reason)?;
            Ok(ti.state)
        }
    }
}

/// A branch must name direct downstream tasks of the branching task.
fn check_follow(plan: &Plan, i: usize, follow: &[String]) -> Result<(), String> {
    let kind = plan.task(i).operator_kind();
    if kind == OperatorKind::ShortCircuit {
        return Ok(());
    }
    let downstream: Vec<&str> = plan
        .downstream(i)
        .iter()
        .map(|&d| plan.task(d).task_id.as_str())
        .collect();
    let unknown: Vec<&str> = follow
        .iter()
        .map(String::as_str)
        .filter(|f| !downstream.contains(f))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the branch chose {}, which {} not directly downstream of `{}` (its downstream: {})",
            unknown.join(", "),
            if unknown.len() == 1 { "is" } else { "are" },
            plan.task(i).task_id,
            downstream.join(", ")
        ))
    }
}

/// Branching skips the direct downstream tasks not chosen; a short-circuit (an empty
/// choice from a ShortCircuitOperator) skips every downstream task, or only the
/// direct ones when `ignore_downstream_trigger_rules` is false.
fn skip_not_followed(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    plan: &Plan,
    run: &DagRunRecord,
    i: usize,
    follow: &[String],
) -> Result<(), StoreError> {
    let task = plan.task(i);
    let targets: Vec<usize> = if task.operator_kind() == OperatorKind::ShortCircuit {
        if !follow.is_empty() {
            return Ok(());
        }
        let all = match task.plain_operator() {
            Some(kairos_dag::operator::Operator::Python(p)) => p.ignore_downstream_trigger_rules,
            _ => true,
        };
        if all {
            plan.all_downstream(i)
        } else {
            plan.downstream(i).to_vec()
        }
    } else {
        plan.downstream(i)
            .iter()
            .copied()
            .filter(|&d| !follow.iter().any(|f| f == &plan.task(d).task_id))
            .collect()
    };
    for d in targets {
        let id = &plan.task(d).task_id;
        if let Some(mut down) = load_ti(txn, &key(&run.dag_id, &run.run_id, id))? {
            if matches!(down.state, S::None | S::Scheduled) {
                let reason = format!("skipped by `{}`", task.task_id);
                set_state(
                    txn,
                    sched,
                    &mut down,
                    S::Skipped,
                    Actor::Scheduler,
                    Some(reason),
                )?;
            }
        }
    }
    Ok(())
}
