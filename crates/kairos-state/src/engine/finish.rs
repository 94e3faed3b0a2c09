//! The end of an attempt, as its worker reports it (or as the leader decides when its
//! lease ran out): XComs and log tail kept, failures turned into retries while tries
//! remain, branch and short-circuit choices applied to the downstream tasks.

use chrono::{DateTime, Utc};
use kairos_dag::identity::TaskInstanceKey;
use kairos_dag::lifecycle::{Actor, TaskInstanceState as S};
use kairos_dag::operator::OperatorKind;
use serde_json::Value;

use super::assets;
use super::attempt::{arm_ready, fail_attempt, fail_attempt_with};
use super::lookup::{load_run, load_ti, plan_of_run};
use super::sched::Sched;
use super::write::set_state;
use super::xcom::put_xcom;
use crate::plan::Plan;
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

/// A worker's final report on one attempt (its token already checked).
pub(crate) struct Report<'a> {
    pub actor: Actor,
    pub state: S,
    pub reason: Option<&'a str>,
    pub xcoms: &'a [(String, Value)],
    pub log_tail: Option<&'a str>,
    pub follow: Option<&'a [String]>,
    pub reschedule_at: Option<DateTime<Utc>>,
    /// A failure that must not be retried.
    pub no_retry: bool,
    pub xcom_max_bytes: u64,
    /// The task's `outlet_events`, recorded with its success.
    pub outlet_events: &'a [kairos_dag::asset::OutletEvent],
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
    let key = ti.key();
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
            fail_attempt_with(txn, sched, ti, report.actor, reason, !report.no_retry)
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
            let plan = plan_of_run(txn, &run)?;
            let at = report.reschedule_at.unwrap_or(sched.stamp());
            ti.next_retry_at = Some(at);
            if ti.first_poke_at.is_none() {
                ti.first_poke_at = ti.start_date;
            }
            ti.reschedules += 1;
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
            let plan = plan_of_run(txn, &run)?;
            if let (Some(plan), Some(follow)) = (&plan, report.follow) {
                if let Some(i) = plan.index_of(&ti.task_id) {
                    if let Err(problem) = check_follow(plan, i, follow) {
                        return fail_attempt(txn, sched, ti, report.actor, problem);
                    }
                    set_state(txn, sched, &mut ti, S::Success, report.actor, reason)?;
                    skip_not_followed(txn, sched, plan, &run, i, follow)?;
                    let outlets = &plan.task(i).outlets;
                    assets::task_succeeded(txn, sched, &ti, outlets, report.outlet_events)?;
                    return Ok(S::Success);
                }
            }
            set_state(txn, sched, &mut ti, S::Success, report.actor, reason)?;
            if let Some(plan) = &plan {
                if let Some(i) = plan.index_of(&ti.task_id) {
                    let outlets = &plan.task(i).outlets;
                    assets::task_succeeded(txn, sched, &ti, outlets, report.outlet_events)?;
                }
            }
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
        if let Some(mut down) =
            load_ti(txn, &TaskInstanceKey::new(&run.dag_id, &run.run_id, id, -1))?
        {
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
