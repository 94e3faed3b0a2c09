//! The run lifecycle: queued runs start under `max_active_runs`, a run finishes when
//! its last task instance does (failed if a leaf failed), a cleared run reopens, and
//! `dagrun_timeout` fails a run and what it left unfinished.

use kairos_dag::lifecycle::{Actor, DagRunState, TaskInstanceState as S};

use super::counters;
use super::lookup::{load_run, states_of};
use super::sched::Sched;
use super::write::set_state;
use crate::keys::index::{self, counter};
use crate::keys::{self, Cf};
use crate::records::{BackfillRecord, DagRecord, DagRunRecord, TaskInstanceRecord, Timer};
use crate::store::{StoreError, decode};
use crate::txn::Txn;

/// Moves a run to `to`, keeping its counters, the queue of waiting runs and its
/// timeout timer in step.
pub(crate) fn set_run_state(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    run: &mut DagRunRecord,
    to: DagRunState,
) -> Result<(), StoreError> {
    let from = run.state;
    if from == to {
        return Ok(());
    }
    let group = run.group().to_string();
    let waiting = index::waiting_run(&run.dag_id, &group, run.order_date(), &run.run_id);
    match from {
        DagRunState::Queued => {
            counters::add(txn, counter::queued_runs(&run.dag_id, &group), -1)?;
            txn.delete(Cf::Index, waiting.clone());
        }
        DagRunState::Running => {
            counters::add(txn, counter::running_runs(&run.dag_id, &group), -1)?;
        }
        _ => {}
    }
    match to {
        DagRunState::Queued => {
            counters::add(txn, counter::queued_runs(&run.dag_id, &group), 1)?;
            txn.put(Cf::Index, waiting, &run.run_id);
            run.end_date = None;
            sched.start_runs(&run.dag_id, &group);
        }
        DagRunState::Running => {
            counters::add(txn, counter::running_runs(&run.dag_id, &group), 1)?;
            if run.start_date.is_none() {
                run.start_date = Some(sched.stamp());
            }
            if let Some(plan) = txn.plan(&run.dag_id, run.version)? {
                if let Some(timeout) = plan.dag().dagrun_timeout {
                    let base = run.start_date.unwrap_or(sched.stamp());
                    if let Some(at) = base.checked_add_signed(timeout.to_chrono()) {
                        let timer = Timer::RunTimeout {
                            dag_id: run.dag_id.clone(),
                            run_id: run.run_id.clone(),
                        };
                        txn.put(Cf::Index, index::timer(at, &timer), &timer);
                    }
                }
            }
        }
        DagRunState::Success | DagRunState::Failed => {
            run.end_date = Some(sched.stamp());
            sched.start_runs(&run.dag_id, &group);
        }
    }
    run.state = to;
    txn.put(Cf::Runs, keys::run(&run.dag_id, &run.run_id), run);
    Ok(())
}

/// The run after `run` by date (logical date, else run-after), if any: the one
/// whose `depends_on_past` looks at `run`.
pub(crate) fn next_run_by_date(
    txn: &Txn<'_>,
    run: &DagRunRecord,
) -> Result<Option<DagRunRecord>, StoreError> {
    let here = index::run_by_date(&run.dag_id, run.order_date(), &run.run_id);
    let next = txn.scan_page(
        Cf::Index,
        &index::runs_by_date_prefix(&run.dag_id),
        Some(&here),
        1,
    )?;
    let Some((_, value)) = next.first() else {
        return Ok(None);
    };
    let next_id: String = decode(Cf::Index, value)?;
    load_run(txn, &run.dag_id, &next_id)
}

/// The `max_active_runs` of a group: the DAG's newest version's, or the backfill's.
fn max_active_runs(txn: &Txn<'_>, dag: &DagRecord, group: &str) -> Result<u32, StoreError> {
    if group.is_empty() {
        return Ok(match txn.plan(&dag.dag_id, dag.latest_version)? {
            Some(plan) => plan.dag().max_active_runs,
            None => kairos_dag::model::defaults::MAX_ACTIVE_RUNS,
        });
    }
    Ok(txn
        .get::<BackfillRecord>(Cf::Backfills, &keys::backfill(group))?
        .map_or(1, |b| b.max_active_runs))
}

/// Starts queued runs of a group, oldest logical date first, while
/// `max_active_runs` allows (none while the DAG is paused).
pub(crate) fn start_queued_runs(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    group: &str,
) -> Result<(), StoreError> {
    let Some(dag) = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))? else {
        return Ok(());
    };
    if dag.is_paused {
        return Ok(());
    }
    let limit = i64::from(max_active_runs(txn, &dag, group)?);
    let mut running = counters::count(txn, &counter::running_runs(dag_id, group))?;
    while running < limit {
        let first = txn.scan_page(Cf::Index, &index::waiting_prefix(dag_id, group), None, 1)?;
        let Some((waiting_key, value)) = first.into_iter().next() else {
            return Ok(());
        };
        let run_id: String = serde_json::from_slice(&value).unwrap_or_default();
        let Some(mut run) = load_run(txn, dag_id, &run_id)? else {
            txn.delete(Cf::Index, waiting_key);
            continue;
        };
        set_run_state(txn, sched, &mut run, DagRunState::Running)?;
        running += 1;
        if let Some(plan) = txn.plan(dag_id, run.version)? {
            for i in 0..plan.len() {
                sched.evaluate(&plan, dag_id, &run_id, i);
            }
        }
        // A run with no task instances finishes at once.
        sched.touch(dag_id, &run_id);
    }
    Ok(())
}

/// Finishes a run whose task instances have all finished (failed if a leaf failed,
/// as Airflow decides), and reopens a finished run one of whose instances starts over.
pub(crate) fn complete_or_reopen(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    run_id: &str,
) -> Result<(), StoreError> {
    let Some(mut run) = load_run(txn, dag_id, run_id)? else {
        return Ok(());
    };
    let unfinished = counters::count(txn, &counter::unfinished(dag_id, run_id))?;
    if unfinished > 0 {
        if run.state.is_finished() {
            set_run_state(txn, sched, &mut run, DagRunState::Queued)?;
        }
        return Ok(());
    }
    // A queued run can finish too: every task instance was marked by hand.
    if run.state.is_finished() {
        return Ok(());
    }
    let Some(plan) = txn.plan(dag_id, run.version)? else {
        return Ok(());
    };
    let mut failed = false;
    for i in (0..plan.len()).filter(|&i| plan.is_leaf(i)) {
        let task = plan.task(i);
        let mapped = matches!(task.operator, kairos_dag::model::TaskOperator::Mapped(_));
        // A mapped leaf fails the run when any of its instances failed.
        for state in states_of(txn, &run, &task.task_id, mapped)? {
            failed |= state.is_failure();
        }
    }
    let to = if failed {
        DagRunState::Failed
    } else {
        DagRunState::Success
    };
    set_run_state(txn, sched, &mut run, to)?;
    let reason = if failed { "task_failure" } else { "success" };
    super::dag_callbacks::run_ended(txn, sched, &run, reason)
}

/// `dagrun_timeout`: attempts still going are failed, instances not started are
/// skipped (as Airflow does), and the run fails.
pub(crate) fn time_out(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    run_id: &str,
) -> Result<(), StoreError> {
    let Some(mut run) = load_run(txn, dag_id, run_id)? else {
        return Ok(());
    };
    if run.state != DagRunState::Running {
        return Ok(());
    }
    let timeout = txn
        .plan(dag_id, run.version)?
        .and_then(|p| p.dag().dagrun_timeout)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let tis: Vec<(Vec<u8>, TaskInstanceRecord)> =
        txn.scan(Cf::TaskInstances, &keys::run_prefix(dag_id, run_id))?;
    for (_, mut ti) in tis {
        if ti.state.is_finished() {
            continue;
        }
        let to = if matches!(ti.state, S::None | S::Scheduled) {
            S::Skipped
        } else {
            S::Failed
        };
        let reason = format!("the run exceeded its dagrun_timeout of {timeout}");
        set_state(txn, sched, &mut ti, to, Actor::RunEnd, Some(reason))?;
    }
    set_run_state(txn, sched, &mut run, DagRunState::Failed)?;
    super::dag_callbacks::run_ended(txn, sched, &run, "timed_out")
}

/// Stores a new run (queued) with one task instance per task, each carrying what
/// ordering and limits need; returns how many task instances it made. The run
/// starts when its group's `max_active_runs` allows.
pub(crate) fn insert_run(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    run: &DagRunRecord,
) -> Result<usize, StoreError> {
    let Some(plan) = txn.plan(&run.dag_id, run.version)? else {
        return Ok(0);
    };
    let group = run.group().to_string();
    sched.stats.runs_created += 1;
    txn.put(Cf::Runs, keys::run(&run.dag_id, &run.run_id), run);
    txn.put(
        Cf::Index,
        index::run_by_date(&run.dag_id, run.order_date(), &run.run_id),
        &run.run_id,
    );
    counters::add(txn, counter::queued_runs(&run.dag_id, &group), 1)?;
    txn.put(
        Cf::Index,
        index::waiting_run(&run.dag_id, &group, run.order_date(), &run.run_id),
        &run.run_id,
    );
    for (i, task) in plan.dag().tasks.iter().enumerate() {
        let ti = TaskInstanceRecord {
            dag_id: run.dag_id.clone(),
            run_id: run.run_id.clone(),
            task_id: task.task_id.clone(),
            map_index: -1,
            state: S::None,
            try_number: 0,
            attempt: None,
            start_date: None,
            end_date: None,
            updated_at: sched.stamp(),
            reason: None,
            queue: task.queue.clone(),
            pool: task.pool.clone(),
            pool_slots: task.pool_slots,
            priority_weight: plan.weights.get(i).copied().unwrap_or(task.priority_weight),
            run_date: Some(run.order_date()),
            next_retry_at: None,
            worker: None,
            log_tail: None,
            cleared_tries: 0,
            map_element: None,
            log_url: None,
            first_poke_at: None,
            reschedules: 0,
        };
        txn.put(
            Cf::TaskInstances,
            keys::task_instance(&run.dag_id, &run.run_id, &task.task_id, -1),
            &ti,
        );
    }
    counters::add(
        txn,
        counter::unfinished(&run.dag_id, &run.run_id),
        plan.len() as i64,
    )?;
    sched.start_runs(&run.dag_id, &group);
    Ok(plan.len())
}
