//! What a user does to a whole run: mark it success or failed, or delete it.
//!
//! Both follow Airflow. Marking success marks every task instance that is not
//! already a success; marking failed fails what is running and skips what has not
//! started. Deleting removes the run with everything derived from it (task
//! instances, their tries and XComs, index entries and counters), so that the state
//! afterwards is the state the log would give had the run never existed (its timers
//! go too), and the next run's `depends_on_past` tasks are looked at again.

use kairos_dag::lifecycle::{Actor, DagRunState, TaskInstanceState as S};

use super::index::{self, Timer, counter};
use super::{Sched, load_run, runs, set_state, ti_key};
use crate::command::{CommandResult, Outcome, Rejection, RejectionKind};
use crate::keys::{self, Cf};
use crate::records::{TaskInstanceRecord, TryRecord, XComRecord};
use crate::store::StoreError;
use crate::txn::Txn;

/// Marks a run `to` (success or failed) and its task instances as Airflow does.
pub(crate) fn mark_run(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    run_id: &str,
    to: DagRunState,
) -> Result<CommandResult, StoreError> {
    if !to.is_finished() {
        return Ok(Err(Rejection::new(
            RejectionKind::Invalid,
            format!(
                "a run can be marked success or failed, not {to}; to run it again, clear its task instances"
            ),
        )));
    }
    let Some(mut run) = load_run(txn, dag_id, run_id)? else {
        return Ok(Err(Rejection::new(
            RejectionKind::NotFound,
            format!("no run {dag_id}/{run_id}"),
        )));
    };
    let tis: Vec<(Vec<u8>, TaskInstanceRecord)> =
        txn.scan(Cf::TaskInstances, &keys::run_prefix(dag_id, run_id))?;
    let mut changed = 0;
    for (_, mut ti) in tis {
        let (target, actor) = match to {
            DagRunState::Success => (S::Success, Actor::Mark),
            _ if ti.state.is_finished() => continue,
            _ => match ti.state {
                S::Running | S::Restarting | S::Deferred | S::UpForReschedule => {
                    (S::Failed, Actor::RunEnd)
                }
                _ => (S::Skipped, Actor::RunEnd),
            },
        };
        if ti.state == target || ti.state == S::Removed {
            continue;
        }
        let reason = format!("the run was marked {to}");
        if set_state(txn, sched, &mut ti, target, actor, Some(reason))? {
            changed += 1;
        }
    }
    runs::set_run_state(txn, sched, &mut run, to)?;
    Ok(Ok(Outcome::RunMarked {
        dag_id: dag_id.to_string(),
        run_id: run_id.to_string(),
        state: to,
        task_instances: changed,
    }))
}

/// Deletes a run and everything kept for it. An attempt still running loses its
/// lease on the leader, whose next heartbeat answer tells the worker to stop.
pub(crate) fn delete_run(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    run_id: &str,
) -> Result<CommandResult, StoreError> {
    let Some(run) = load_run(txn, dag_id, run_id)? else {
        return Ok(Err(Rejection::new(
            RejectionKind::NotFound,
            format!("no run {dag_id}/{run_id}"),
        )));
    };
    let tis: Vec<(Vec<u8>, TaskInstanceRecord)> =
        txn.scan(Cf::TaskInstances, &keys::run_prefix(dag_id, run_id))?;
    let mut xcoms = 0;
    for (key, ti) in &tis {
        forget_task_instance(txn, sched, ti)?;
        let tries: Vec<(Vec<u8>, TryRecord)> =
            txn.scan(Cf::Index, &index::tries_prefix(&ti_key(ti)))?;
        for (try_key, _) in tries {
            txn.delete(Cf::Index, try_key);
        }
        let values: Vec<(Vec<u8>, XComRecord)> = txn.scan(
            Cf::XComs,
            &keys::xcom_prefix(dag_id, run_id, &ti.task_id, ti.map_index),
        )?;
        xcoms += values.len();
        for (xcom_key, _) in values {
            txn.delete(Cf::XComs, xcom_key);
        }
        txn.delete(Cf::TaskInstances, key.clone());
    }
    let unfinished = counter::unfinished(dag_id, run_id);
    let left = index::count(txn, &unfinished)?;
    index::add(txn, unfinished, -left)?;
    forget_timers(txn, dag_id, run_id)?;
    reevaluate_next_run(txn, sched, &run)?;

    let group = run.group().to_string();
    match run.state {
        DagRunState::Queued => {
            index::add(txn, counter::queued_runs(dag_id, &group), -1)?;
            txn.delete(
                Cf::Index,
                index::waiting_run(dag_id, &group, run.order_date(), run_id),
            );
        }
        DagRunState::Running => {
            index::add(txn, counter::running_runs(dag_id, &group), -1)?;
            // A slot under max_active_runs is free.
            sched.start_runs(dag_id, &group);
        }
        DagRunState::Success | DagRunState::Failed => {}
    }
    txn.delete(
        Cf::Index,
        index::run_by_date(dag_id, run.order_date(), run_id),
    );
    txn.delete(Cf::Runs, keys::run(dag_id, run_id));
    Ok(Ok(Outcome::RunDeleted {
        dag_id: dag_id.to_string(),
        run_id: run_id.to_string(),
        task_instances: tis.len(),
        xcoms,
    }))
}

/// Deletes the run's timers. Timers are keyed by time, so this reads them all; there
/// are as many as task instances waiting on a clock, which is few. Left behind, a
/// timer would fire on a new run given the same id.
fn forget_timers(txn: &mut Txn<'_>, dag_id: &str, run_id: &str) -> Result<(), StoreError> {
    let timers: Vec<(Vec<u8>, Timer)> = txn.scan(Cf::Index, index::TIMERS)?;
    for (key, timer) in timers {
        let (d, r) = match &timer {
            Timer::Ready { ti }
            | Timer::SensorDue { ti }
            | Timer::SensorTimeout { ti }
            | Timer::ExecutionTimeout { ti, .. } => (ti.dag_id.as_str(), ti.run_id.as_str()),
            Timer::RunTimeout { dag_id, run_id } => (dag_id.as_str(), run_id.as_str()),
        };
        if d == dag_id && r == run_id {
            txn.delete(Cf::Index, key);
        }
    }
    Ok(())
}

/// With the run gone, the next run by date has a new "previous run": its
/// `depends_on_past` tasks are evaluated again.
fn reevaluate_next_run(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    run: &crate::records::DagRunRecord,
) -> Result<(), StoreError> {
    let Some(next) = runs::next_run_by_date(txn, run)? else {
        return Ok(());
    };
    if next.state != DagRunState::Running {
        return Ok(());
    }
    if let Some(plan) = txn.plan(&run.dag_id, next.version)? {
        for i in 0..plan.len() {
            if plan.task(i).depends_on_past {
                sched.evaluate(&plan, &run.dag_id, &next.run_id, i);
            }
        }
    }
    Ok(())
}

/// Removes a task instance's entries from the scheduler's indexes and gives back
/// what it held in the pool and concurrency counters.
fn forget_task_instance(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    ti: &TaskInstanceRecord,
) -> Result<(), StoreError> {
    match ti.state {
        S::Scheduled => txn.delete(Cf::Index, index::scheduled(ti)),
        S::Queued => txn.delete(Cf::Index, index::queued(ti)),
        S::Running | S::Restarting => txn.delete(Cf::Index, index::running(&ti_key(ti))),
        _ => {}
    }
    if ti.state.is_executing() {
        index::add(txn, counter::pool(&ti.pool), -i64::from(ti.pool_slots))?;
        index::add(txn, counter::dag(&ti.dag_id), -1)?;
        index::add(txn, counter::task(&ti.dag_id, &ti.task_id), -1)?;
        index::add(
            txn,
            counter::run_task(&ti.dag_id, &ti.run_id, &ti.task_id),
            -1,
        )?;
        index::add(txn, counter::global(), -1)?;
        sched.request_queue_pass();
    }
    Ok(())
}
