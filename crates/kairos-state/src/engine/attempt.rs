//! An attempt's two ends that are not a worker's success: its start (a new try
//! number and fencing token, and the timer that fails it if nobody reports it long
//! after its `execution_timeout`) and its failure (retried while tries remain, by a
//! worker's report, a lost lease or that timer).

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::{Actor, TaskInstanceState, TaskInstanceState as S};
use kairos_dag::model::Task;
use kairos_dag::retry::{RetryInput, next_retry_at};

use super::lookup::{load_run, plan_of_run, plan_of_ti};
use super::sched::Sched;
use super::write::{set_state, write_ti};
use crate::keys::{Cf, index};
use crate::plan::Plan;
use crate::records::{DagRunRecord, TaskInstanceRecord, Timer};
use crate::store::StoreError;
use crate::txn::Txn;

/// A new attempt: the try number goes up and the attempt gets its fencing token:
/// the one the leader drew into the command, or (for commands that carry none)
/// one made from the entry's position, unique across the cluster's history and
/// the same on every node, but guessable.
pub(crate) fn start_attempt(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    record: &mut TaskInstanceRecord,
    worker: Option<&str>,
    token: Option<&str>,
) -> Result<(), StoreError> {
    let before = record.state;
    record.try_number += 1;
    record.attempt = Some(match token {
        Some(token) => token.to_string(),
        None => format!(
            "{}-{}.{}",
            record.try_number, sched.at.index, sched.at.position
        ),
    });
    record.start_date = Some(sched.stamp());
    record.end_date = None;
    record.worker = worker.map(str::to_string);
    record.next_retry_at = None;
    record.state = TaskInstanceState::Running;
    record.updated_at = sched.stamp();
    record.reason = None;
    write_ti(txn, sched, before, record)?;
    // The leader fails the attempt if nobody reports it well after its
    // execution_timeout (the worker kills it at the timeout itself).
    let key = record.key();
    let timeout = plan_of_ti(txn, &key)?.and_then(|(plan, i)| plan.task(i).execution_timeout);
    let grace = chrono::TimeDelta::seconds(EXECUTION_TIMEOUT_GRACE_SECS);
    let due = timeout.and_then(|t| {
        sched
            .stamp()
            .checked_add_signed(t.to_chrono())
            .and_then(|at| at.checked_add_signed(grace))
    });
    if let Some(at) = due {
        let timer = Timer::ExecutionTimeout {
            ti: key,
            attempt: record.attempt.clone().unwrap_or_default(),
        };
        txn.put(Cf::Index, index::timer(at, &timer), &timer);
    }
    Ok(())
}

/// How long after `execution_timeout` the leader waits for the worker's own report
/// (the worker kills the attempt at the timeout) before failing the attempt itself.
pub const EXECUTION_TIMEOUT_GRACE_SECS: i64 = 30;

/// Ends an attempt as failed (retried while tries remain). A cleared attempt
/// (`restarting`) always runs again, at once.
pub(crate) fn fail_attempt(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    ti: TaskInstanceRecord,
    actor: Actor,
    reason: String,
) -> Result<S, StoreError> {
    fail_attempt_with(txn, sched, ti, actor, reason, true)
}

/// A failed attempt; with `retry` false it fails for good whatever tries remain
/// (Airflow's `AirflowFailException` and a sensor's timeout).
pub(crate) fn fail_attempt_with(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    mut ti: TaskInstanceRecord,
    actor: Actor,
    reason: String,
    retry: bool,
) -> Result<S, StoreError> {
    let Some(run) = load_run(txn, &ti.dag_id, &ti.run_id)? else {
        return Ok(ti.state);
    };
    let plan = plan_of_run(txn, &run)?;
    let task = plan
        .as_ref()
        .and_then(|p| p.index_of(&ti.task_id).map(|i| p.task(i).clone()));
    let (to, retry_at) = if ti.state == S::Restarting {
        (S::UpForRetry, Some(sched.stamp()))
    } else if !retry {
        (S::Failed, None)
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
    if !ti.retried_on_failure(task.retries) {
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

/// Re-evaluates an instance at `at` (now, or by a timer).
pub(crate) fn arm_ready(
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
    let timer = Timer::Ready { ti: ti.key() };
    txn.put(Cf::Index, index::timer(at, &timer), &timer);
    Ok(())
}
