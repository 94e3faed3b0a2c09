//! Every write of a task instance after its creation: the record, and in the same
//! step the indexes and counters derived from its state, and the history of its
//! ended tries. Nothing else writes a task instance's state.

use kairos_dag::lifecycle::{Actor, TaskInstanceState, check_transition};

use super::counters;
use super::lookup;
use super::sched::Sched;
use crate::keys::index::{self, counter};
use crate::keys::{self, Cf};
use crate::records::{Candidate, RunningAttempt, TaskInstanceRecord};
use crate::store::StoreError;
use crate::txn::Txn;

/// Writes a task instance whose state was `before`, keeping the indexes and
/// counters in step. Every task-instance write after creation goes through here.
pub(crate) fn write_ti(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    before: TaskInstanceState,
    ti: &TaskInstanceRecord,
) -> Result<(), StoreError> {
    let after = ti.state;
    let (was, is) = (before.is_executing(), after.is_executing());
    if was != is {
        let d: i64 = if is { 1 } else { -1 };
        counters::add(txn, counter::pool(&ti.pool), d * i64::from(ti.pool_slots))?;
        counters::add(txn, counter::dag(&ti.dag_id), d)?;
        counters::add(txn, counter::task(&ti.dag_id, &ti.task_id), d)?;
        counters::add(
            txn,
            counter::run_task(&ti.dag_id, &ti.run_id, &ti.task_id),
            d,
        )?;
        counters::add(txn, counter::global(), d)?;
        if !is {
            sched.request_queue_pass();
        }
    }
    let (was_done, is_done) = (before.is_finished(), after.is_finished());
    if was_done != is_done {
        counters::add(
            txn,
            counter::unfinished(&ti.dag_id, &ti.run_id),
            if is_done { -1 } else { 1 },
        )?;
        sched.touch(&ti.dag_id, &ti.run_id);
    }
    // Any move into a finished state (failed -> success by a mark, too) may free
    // what waits on it: downstream tasks, and `depends_on_past` in the next run.
    if is_done && before != after {
        sched.finished(ti.key());
    }
    if before != after {
        let holds = |s: TaskInstanceState| {
            matches!(
                s,
                TaskInstanceState::Running | TaskInstanceState::Restarting
            )
        };
        match before {
            TaskInstanceState::Scheduled => txn.delete(Cf::Index, index::scheduled(ti)),
            TaskInstanceState::Queued => txn.delete(Cf::Index, index::queued(ti)),
            s if holds(s) && !holds(after) => {
                txn.delete(Cf::Index, index::running(&ti.key()));
                // The attempt ended: keep it in the task instance's history.
                let record = crate::records::TryRecord {
                    try_number: ti.try_number,
                    attempt: ti.attempt.clone(),
                    state: after,
                    reason: ti.reason.clone(),
                    worker: ti.worker.clone(),
                    start_date: ti.start_date,
                    end_date: sched.stamp(),
                    log_url: ti.log_url.clone(),
                };
                txn.put(Cf::Index, index::try_key(&ti.key(), ti.try_number), &record);
            }
            _ => {}
        }
        match after {
            TaskInstanceState::Scheduled => {
                let candidate = candidate_of(txn, ti)?;
                txn.put(Cf::Index, index::scheduled(ti), &candidate);
                sched.request_queue_pass();
            }
            TaskInstanceState::Queued => {
                sched.stats.tasks_queued += 1;
                txn.put(Cf::Index, index::queued(ti), &ti.key())
            }
            s if holds(s) => txn.put(
                Cf::Index,
                index::running(&ti.key()),
                &RunningAttempt {
                    ti: ti.key(),
                    attempt: ti.attempt.clone().unwrap_or_default(),
                    worker: ti.worker.clone(),
                },
            ),
            _ => {}
        }
    }
    txn.put(
        Cf::TaskInstances,
        keys::task_instance(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index),
        ti,
    );
    Ok(())
}

/// The limits a `scheduled` instance is checked against, from its run's version.
fn candidate_of(txn: &Txn<'_>, ti: &TaskInstanceRecord) -> Result<Candidate, StoreError> {
    let plan = match lookup::load_run(txn, &ti.dag_id, &ti.run_id)? {
        Some(run) => txn.plan(&ti.dag_id, run.version)?,
        None => None,
    };
    let (max_active_tasks, per_dag, per_run) = match &plan {
        Some(plan) => {
            let task = plan.index_of(&ti.task_id).map(|i| plan.task(i));
            (
                plan.dag().max_active_tasks,
                task.and_then(|t| t.max_active_tis_per_dag),
                task.and_then(|t| t.max_active_tis_per_dagrun),
            )
        }
        None => (kairos_dag::model::defaults::MAX_ACTIVE_TASKS, None, None),
    };
    Ok(Candidate {
        ti: ti.key(),
        pool: ti.pool.clone(),
        pool_slots: ti.pool_slots,
        max_active_tasks,
        max_active_tis_per_dag: per_dag,
        max_active_tis_per_dagrun: per_run,
    })
}

/// Moves a task instance to `to` as `actor`, if the model allows it; returns whether
/// it moved.
pub(crate) fn set_state(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    ti: &mut TaskInstanceRecord,
    to: TaskInstanceState,
    actor: Actor,
    reason: Option<String>,
) -> Result<bool, StoreError> {
    if check_transition(ti.state, to, actor).is_err() {
        return Ok(false);
    }
    let before = ti.state;
    let stamp = sched.stamp();
    if to.is_finished() {
        ti.end_date = Some(stamp);
        if ti.start_date.is_none() {
            ti.start_date = Some(stamp);
        }
    }
    ti.state = to;
    ti.updated_at = stamp;
    ti.reason = reason;
    write_ti(txn, sched, before, ti)?;
    Ok(true)
}
