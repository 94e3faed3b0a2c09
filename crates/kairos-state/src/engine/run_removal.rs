//! Deleting a run: the run with everything derived from it (task instances, their
//! tries and XComs, index entries and counters) goes, so that the state afterwards
//! is the state the log would give had the run never existed (its timers go too),
//! and the next run's `depends_on_past` tasks are looked at again.

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};

use super::counters;
use super::runs;
use super::sched::Sched;
use crate::keys::index::{self, counter};
use crate::keys::{self, Cf};
use crate::records::{DagRunRecord, TaskInstanceRecord, Timer, TryRecord, XComRecord};
use crate::store::StoreError;
use crate::txn::Txn;

/// What a deletion removed.
pub(crate) struct Removed {
    pub task_instances: usize,
    pub xcoms: usize,
}

/// Deletes `run` and everything kept for it. An attempt still running loses its
/// lease on the leader, whose next heartbeat answer tells the worker to stop.
pub(crate) fn remove_run(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    run: &DagRunRecord,
) -> Result<Removed, StoreError> {
    let (dag_id, run_id) = (run.dag_id.as_str(), run.run_id.as_str());
    let tis: Vec<(Vec<u8>, TaskInstanceRecord)> =
        txn.scan(Cf::TaskInstances, &keys::run_prefix(dag_id, run_id))?;
    let mut xcoms = 0;
    for (key, ti) in &tis {
        forget_task_instance(txn, sched, ti)?;
        let tries: Vec<(Vec<u8>, TryRecord)> =
            txn.scan(Cf::Index, &index::tries_prefix(&ti.key()))?;
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
    let left = counters::count(txn, &unfinished)?;
    counters::add(txn, unfinished, -left)?;
    forget_timers(txn, dag_id, run_id)?;
    reevaluate_next_run(txn, sched, run)?;

    let group = run.group().to_string();
    match run.state {
        DagRunState::Queued => {
            counters::add(txn, counter::queued_runs(dag_id, &group), -1)?;
            txn.delete(
                Cf::Index,
                index::waiting_run(dag_id, &group, run.order_date(), run_id),
            );
        }
        DagRunState::Running => {
            counters::add(txn, counter::running_runs(dag_id, &group), -1)?;
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
    super::dag_callbacks::forget(txn, dag_id, run_id)?;
    Ok(Removed {
        task_instances: tis.len(),
        xcoms,
    })
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
    run: &DagRunRecord,
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
        S::Running | S::Restarting => txn.delete(Cf::Index, index::running(&ti.key())),
        _ => {}
    }
    if ti.state.is_executing() {
        counters::add(txn, counter::pool(&ti.pool), -i64::from(ti.pool_slots))?;
        counters::add(txn, counter::dag(&ti.dag_id), -1)?;
        counters::add(txn, counter::task(&ti.dag_id, &ti.task_id), -1)?;
        counters::add(
            txn,
            counter::run_task(&ti.dag_id, &ti.run_id, &ti.task_id),
            -1,
        )?;
        counters::add(txn, counter::global(), -1)?;
        sched.request_queue_pass();
    }
    Ok(())
}
