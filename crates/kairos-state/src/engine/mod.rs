//! The scheduler's deterministic half: readiness, trigger-rule propagation, limits
//! and queueing, run lifecycle and timers, all inside apply.
//!
//! A command that changes task or run states leaves work in a [`Sched`]; before the
//! command ends, [`settle`] carries it through: the downstream tasks of every task
//! instance that finished are evaluated (fast-follow: a chain's next task is queued
//! in the entry that recorded the previous one's success), runs that can finish do,
//! queued runs start when `max_active_runs` allows, and one queueing pass hands free
//! capacity to `scheduled` instances in priority order, exactly as the leader's
//! periodic pass would. The leader's own loop only adds what needs a clock: new runs
//! from schedules and [`crate::Command::Tick`]s when timers come due.

pub(crate) mod attempt;
pub(crate) mod backfill;
pub(crate) mod due;
pub mod explain;
pub(crate) mod finish;
pub(crate) mod gap;
pub mod index;
pub(crate) mod mapping;
pub(crate) mod plan;
pub(crate) mod queueing;
pub(crate) mod readiness;
pub(crate) mod run_edit;
pub(crate) mod runs;
pub(crate) mod timers;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::{Actor, TaskInstanceState, check_transition};

use crate::command::TaskInstanceKey;
use crate::keys::{self, Cf};
use crate::records::{DagRunRecord, TaskInstanceRecord};
use crate::store::StoreError;
use crate::txn::Txn;
use index::{Candidate, RunningAttempt, counter};

/// Where a command sits in the log: its time and its place, which together name
/// anything it creates uniquely and identically on every node.
pub(crate) struct At {
    pub stamp: DateTime<Utc>,
    pub index: u64,
    pub position: usize,
}

type RunKey = (String, String);

/// Work a command leaves for the scheduler.
pub(crate) struct Sched {
    pub at: At,
    pub parallelism: u32,
    /// Tasks to evaluate, per run, as (topological position, task index).
    pending: BTreeMap<RunKey, BTreeSet<(usize, usize)>>,
    /// Task instances that reached a finished state.
    finished: Vec<TaskInstanceKey>,
    /// Runs whose count of unfinished task instances changed.
    touched: BTreeSet<RunKey>,
    /// (DAG, group) whose queued runs may start.
    start: BTreeSet<RunKey>,
    /// Whether capacity was freed or instances became scheduled.
    queue_pass: bool,
    /// What this command did, for metrics (kept only if the command is accepted).
    pub stats: crate::stats::ApplyStats,
}

impl Sched {
    pub fn new(at: At, parallelism: u32) -> Sched {
        Sched {
            at,
            parallelism,
            pending: BTreeMap::new(),
            finished: Vec::new(),
            touched: BTreeSet::new(),
            start: BTreeSet::new(),
            queue_pass: false,
            stats: crate::stats::ApplyStats::default(),
        }
    }

    pub fn stamp(&self) -> DateTime<Utc> {
        self.at.stamp
    }

    /// Asks for task `i` of a run to be evaluated.
    pub fn evaluate(&mut self, plan: &plan::Plan, dag_id: &str, run_id: &str, i: usize) {
        self.pending
            .entry((dag_id.to_string(), run_id.to_string()))
            .or_default()
            .insert((plan.topo.get(i).copied().unwrap_or(i), i));
    }

    pub fn start_runs(&mut self, dag_id: &str, group: &str) {
        self.start.insert((dag_id.to_string(), group.to_string()));
    }

    pub fn touch(&mut self, dag_id: &str, run_id: &str) {
        self.touched
            .insert((dag_id.to_string(), run_id.to_string()));
    }

    pub fn request_queue_pass(&mut self) {
        self.queue_pass = true;
    }
}

pub(crate) fn ti_key(ti: &TaskInstanceRecord) -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id: ti.dag_id.clone(),
        run_id: ti.run_id.clone(),
        task_id: ti.task_id.clone(),
        map_index: ti.map_index,
    }
}

pub(crate) fn load_ti(
    txn: &Txn<'_>,
    ti: &TaskInstanceKey,
) -> Result<Option<TaskInstanceRecord>, StoreError> {
    txn.get(
        Cf::TaskInstances,
        &keys::task_instance(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index),
    )
}

pub(crate) fn load_run(
    txn: &Txn<'_>,
    dag_id: &str,
    run_id: &str,
) -> Result<Option<DagRunRecord>, StoreError> {
    txn.get(Cf::Runs, &keys::run(dag_id, run_id))
}

/// The plan of a task instance's run, with the task's index in it.
pub(crate) fn plan_of_ti(
    txn: &Txn<'_>,
    ti: &TaskInstanceKey,
) -> Result<Option<(std::sync::Arc<plan::Plan>, usize)>, StoreError> {
    let Some(run) = load_run(txn, &ti.dag_id, &ti.run_id)? else {
        return Ok(None);
    };
    Ok(txn
        .plan(&ti.dag_id, run.version)?
        .and_then(|plan| plan.index_of(&ti.task_id).map(|i| (plan, i))))
}

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
        index::add(txn, counter::pool(&ti.pool), d * i64::from(ti.pool_slots))?;
        index::add(txn, counter::dag(&ti.dag_id), d)?;
        index::add(txn, counter::task(&ti.dag_id, &ti.task_id), d)?;
        index::add(
            txn,
            counter::run_task(&ti.dag_id, &ti.run_id, &ti.task_id),
            d,
        )?;
        index::add(txn, counter::global(), d)?;
        if !is {
            sched.queue_pass = true;
        }
    }
    let (was_done, is_done) = (before.is_finished(), after.is_finished());
    if was_done != is_done {
        index::add(
            txn,
            counter::unfinished(&ti.dag_id, &ti.run_id),
            if is_done { -1 } else { 1 },
        )?;
        sched.touch(&ti.dag_id, &ti.run_id);
    }
    // Any move into a finished state (failed -> success by a mark, too) may free
    // what waits on it: downstream tasks, and `depends_on_past` in the next run.
    if is_done && before != after {
        sched.finished.push(ti_key(ti));
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
                txn.delete(Cf::Index, index::running(&ti_key(ti)));
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
                txn.put(
                    Cf::Index,
                    index::try_key(&ti_key(ti), ti.try_number),
                    &record,
                );
            }
            _ => {}
        }
        match after {
            TaskInstanceState::Scheduled => {
                let candidate = candidate_of(txn, ti)?;
                txn.put(Cf::Index, index::scheduled(ti), &candidate);
                sched.queue_pass = true;
            }
            TaskInstanceState::Queued => {
                sched.stats.tasks_queued += 1;
                txn.put(Cf::Index, index::queued(ti), &ti_key(ti))
            }
            s if holds(s) => txn.put(
                Cf::Index,
                index::running(&ti_key(ti)),
                &RunningAttempt {
                    ti: ti_key(ti),
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
    let plan = match load_run(txn, &ti.dag_id, &ti.run_id)? {
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
        ti: ti_key(ti),
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

/// Carries out everything the command's changes imply, until nothing is left.
pub(crate) fn settle(txn: &mut Txn<'_>, sched: &mut Sched) -> Result<(), StoreError> {
    loop {
        if !sched.finished.is_empty() {
            let finished = std::mem::take(&mut sched.finished);
            for ti in finished {
                readiness::after_finish(txn, sched, &ti)?;
            }
            continue;
        }
        if let Some(run) = sched.pending.keys().next().cloned() {
            readiness::evaluate_run(txn, sched, &run.0, &run.1)?;
            continue;
        }
        if let Some((dag_id, run_id)) = sched.touched.pop_first() {
            runs::complete_or_reopen(txn, sched, &dag_id, &run_id)?;
            continue;
        }
        if let Some((dag_id, group)) = sched.start.pop_first() {
            runs::start_queued_runs(txn, sched, &dag_id, &group)?;
            continue;
        }
        if sched.queue_pass {
            sched.queue_pass = false;
            queueing::pass(txn, sched, false)?;
            continue;
        }
        return Ok(());
    }
}
