//! When a task instance may run: its trigger rule over the upstream states,
//! `depends_on_past`, its retry time; and what a ready instance becomes (scheduled,
//! or finished on the spot for an EmptyOperator, or deferred for a time sensor).

use chrono::{DateTime, Utc};
use kairos_dag::date::DateSpec;
use kairos_dag::lifecycle::{Actor, TaskInstanceState as S};
use kairos_dag::model::TaskOperator;
use kairos_dag::operator::Operator;
use kairos_dag::template::{Renderer, Sources, TaskInstanceFacts, build_context};
use kairos_dag::trigger_rule::{Readiness, UpstreamCounts, evaluate};

use super::index::{self, Timer};
use super::plan::Plan;
use super::{Sched, load_run, load_ti, set_state};
use crate::command::TaskInstanceKey;
use crate::keys::{self, Cf};
use crate::records::{DagRecord, DagRunRecord, TaskInstanceRecord};
use crate::store::StoreError;
use crate::txn::Txn;

pub(crate) fn key(dag_id: &str, run_id: &str, task_id: &str) -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id: dag_id.to_string(),
        run_id: run_id.to_string(),
        task_id: task_id.to_string(),
        map_index: -1,
    }
}

pub(crate) fn is_paused(txn: &Txn<'_>, dag_id: &str) -> Result<bool, StoreError> {
    Ok(txn
        .get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))?
        .is_none_or(|d| d.is_paused))
}

/// Evaluates the pending tasks of one run, upstream first, until none is left
/// (tasks that finish on the way add their own downstream).
pub(crate) fn evaluate_run(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    run_id: &str,
) -> Result<(), StoreError> {
    let run_key = (dag_id.to_string(), run_id.to_string());
    let run = load_run(txn, dag_id, run_id)?;
    let plan = match &run {
        Some(run) => txn.plan(dag_id, run.version)?,
        None => None,
    };
    let (Some(run), Some(plan)) = (run, plan) else {
        sched.pending.remove(&run_key);
        return Ok(());
    };
    // Airflow examines no run of a paused DAG; unpausing evaluates them again.
    if run.state != kairos_dag::lifecycle::DagRunState::Running || is_paused(txn, dag_id)? {
        sched.pending.remove(&run_key);
        return Ok(());
    }
    loop {
        let next = sched
            .pending
            .get_mut(&run_key)
            .and_then(|set| set.pop_first());
        let Some((_, i)) = next else {
            sched.pending.remove(&run_key);
            return Ok(());
        };
        evaluate_one(txn, sched, &plan, &run, i)?;
        // Fast-follow of what just finished, inside this same pass.
        let finished = std::mem::take(&mut sched.finished);
        for ti in finished {
            after_finish(txn, sched, &ti)?;
        }
    }
}

/// The direct upstream states of task `i` in a run.
pub(crate) fn upstream_states(
    txn: &Txn<'_>,
    plan: &Plan,
    run: &DagRunRecord,
    i: usize,
) -> Result<Vec<(String, S)>, StoreError> {
    let mut out = Vec::new();
    for &u in plan.upstream(i) {
        let task = plan.task(u);
        let mapped = matches!(task.operator, TaskOperator::Mapped(_));
        // A mapped upstream counts once per instance, as in Airflow.
        for state in super::mapping::states_of(txn, run, &task.task_id, mapped)? {
            out.push((task.task_id.clone(), state));
        }
    }
    Ok(out)
}

/// Why `depends_on_past` (and `wait_for_downstream`) holds a task back, if it does.
pub(crate) fn past_holds_back(
    txn: &Txn<'_>,
    plan: &Plan,
    run: &DagRunRecord,
    i: usize,
) -> Result<Option<String>, StoreError> {
    let task = plan.task(i);
    if !task.depends_on_past {
        return Ok(None);
    }
    let here = index::run_by_date(&run.dag_id, run.order_date(), &run.run_id);
    let Some((_, value)) =
        txn.last_before(Cf::Index, &index::runs_by_date_prefix(&run.dag_id), &here)?
    else {
        return Ok(None);
    };
    let previous: String = serde_json::from_slice(&value).unwrap_or_default();
    let mut needed = vec![task.task_id.clone()];
    if task.wait_for_downstream {
        needed.extend(
            plan.downstream(i)
                .iter()
                .map(|&d| plan.task(d).task_id.clone()),
        );
    }
    let Some(previous_run) = load_run(txn, &run.dag_id, &previous)? else {
        return Ok(None);
    };
    for id in needed {
        let mapped = plan
            .index_of(&id)
            .is_some_and(|j| matches!(plan.task(j).operator, TaskOperator::Mapped(_)));
        // A mapped task looks at every instance it had in the previous run; a task
        // the previous run did not have (removed) holds nothing back.
        for state in super::mapping::states_of(txn, &previous_run, &id, mapped)? {
            if state != S::Removed && !state.is_success_like() {
                return Ok(Some(format!(
                    "depends_on_past: `{id}` in the previous run `{previous}` is {state}, not success or skipped"
                )));
            }
        }
    }
    Ok(None)
}

fn evaluate_one(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    plan: &Plan,
    run: &DagRunRecord,
    i: usize,
) -> Result<(), StoreError> {
    let task = plan.task(i);
    let Some(placeholder) = load_ti(txn, &key(&run.dag_id, &run.run_id, &task.task_id))? else {
        return Ok(());
    };
    let mapped = matches!(task.operator, TaskOperator::Mapped(_));
    // An expanded task's instances are what waits (a retry, a clear); otherwise
    // the one instance.
    let candidates = if mapped && placeholder.state == S::Removed {
        super::mapping::instances(txn, &run.dag_id, &run.run_id, &task.task_id)?
    } else {
        vec![placeholder]
    };
    let waiting: Vec<TaskInstanceRecord> = candidates
        .into_iter()
        .filter(|ti| match ti.state {
            S::None => true,
            S::UpForRetry | S::UpForReschedule => {
                ti.next_retry_at.is_none_or(|t| t <= sched.stamp())
            }
            _ => false,
        })
        .collect();
    if waiting.is_empty() {
        return Ok(());
    }
    let upstream = upstream_states(txn, plan, run, i)?;
    let counts = UpstreamCounts::from_states(upstream.iter().map(|(_, s)| *s));
    let rule = task.trigger_rule;
    let readiness = evaluate(rule, counts, mapped);
    if readiness == Readiness::Wait
        || (readiness == Readiness::Ready && past_holds_back(txn, plan, run, i)?.is_some())
    {
        return Ok(());
    }
    for mut ti in waiting {
        match readiness {
            Readiness::Wait => {}
            Readiness::Skip | Readiness::UpstreamFailed => {
                let to = if readiness == Readiness::Skip {
                    S::Skipped
                } else {
                    S::UpstreamFailed
                };
                let reason = format!("trigger rule `{rule}`: {}", describe_upstream(&upstream));
                if mapped && ti.map_index < 0 {
                    super::mapping::retire_instances(txn, sched, &ti, &reason)?;
                }
                set_state(txn, sched, &mut ti, to, Actor::Scheduler, Some(reason))?;
            }
            Readiness::Ready if mapped && ti.map_index < 0 => {
                super::mapping::expand(txn, sched, plan, run, i, &mut ti)?;
            }
            Readiness::Ready => start_ready(txn, sched, plan, run, i, &mut ti)?,
        }
    }
    Ok(())
}

/// `upstream a success, each 2 success 1 failed`: a mapped upstream's instances
/// are counted by state, not listed one by one.
pub(crate) fn describe_upstream(upstream: &[(String, S)]) -> String {
    let mut parts: Vec<(String, std::collections::BTreeMap<S, usize>)> = Vec::new();
    for (id, state) in upstream {
        match parts.iter_mut().find(|(p, _)| p == id) {
            Some((_, counts)) => *counts.entry(*state).or_default() += 1,
            None => parts.push((id.clone(), std::collections::BTreeMap::from([(*state, 1)]))),
        }
    }
    let text: Vec<String> = parts
        .iter()
        .map(|(id, counts)| {
            let states: Vec<String> = counts
                .iter()
                .map(|(s, n)| {
                    if *n == 1 {
                        s.to_string()
                    } else {
                        format!("{n} {s}")
                    }
                })
                .collect();
            format!("{id} {}", states.join(" "))
        })
        .collect();
    format!("upstream {}", text.join(", "))
}

/// A ready task instance: an EmptyOperator succeeds at once (as Airflow does), a
/// time sensor waits on the server, anything else is scheduled for a worker.
pub(crate) fn start_ready(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    plan: &Plan,
    run: &DagRunRecord,
    i: usize,
    ti: &mut TaskInstanceRecord,
) -> Result<(), StoreError> {
    let task = plan.task(i);
    // A mapped instance's operator is built from its element, so that mapped time
    // sensors wait on the server too (pure: the same on every node).
    let instantiated = match (&task.operator, &ti.map_element) {
        (TaskOperator::Mapped(m), Some(element)) => {
            m.instantiate(element, &plan.version.content.files).ok()
        }
        _ => None,
    };
    let target = match task.plain_operator().or(instantiated.as_ref()) {
        Some(Operator::Empty) => {
            ti.try_number += 1;
            set_state(txn, sched, ti, S::Success, Actor::Scheduler, None)?;
            return Ok(());
        }
        Some(Operator::TimeDeltaSensor(s)) => {
            let base = run.data_interval_end.unwrap_or(run.run_after);
            Some((
                base.checked_add_signed(s.delta.to_chrono())
                    .ok_or_else(|| "the target time is out of range".to_string()),
                &s.sensor,
            ))
        }
        Some(Operator::DateTimeSensor(s)) => Some((
            render_target(plan, run, i, ti, &s.target_time, sched.stamp()),
            &s.sensor,
        )),
        _ => None,
    };
    let Some((target, sensor)) = target else {
        set_state(txn, sched, ti, S::Scheduled, Actor::Scheduler, None)?;
        return Ok(());
    };
    let target = match target {
        Ok(t) => t,
        Err(error) => {
            ti.try_number += 1;
            set_state(
                txn,
                sched,
                ti,
                S::Failed,
                Actor::Scheduler,
                Some(format!("the sensor's target time: {error}")),
            )?;
            return Ok(());
        }
    };
    // The wait counts as an attempt, as a deferred task's does in Airflow.
    ti.try_number += 1;
    ti.start_date = Some(sched.stamp());
    ti.end_date = None;
    let reason = format!("waiting on the server until {}", target.to_rfc3339());
    if target <= sched.stamp() {
        set_state(txn, sched, ti, S::Success, Actor::Scheduler, None)?;
        return Ok(());
    }
    if !set_state(txn, sched, ti, S::Deferred, Actor::Scheduler, Some(reason))? {
        return Ok(());
    }
    let ti_key = super::ti_key(ti);
    let timeout_at = sched
        .stamp()
        .checked_add_signed(sensor.timeout.to_chrono())
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if timeout_at < target {
        txn.put(
            Cf::Index,
            index::timer(timeout_at, &Timer::SensorTimeout { ti: ti_key.clone() }),
            &Timer::SensorTimeout { ti: ti_key },
        );
    } else {
        txn.put(
            Cf::Index,
            index::timer(target, &Timer::SensorDue { ti: ti_key.clone() }),
            &Timer::SensorDue { ti: ti_key },
        );
    }
    Ok(())
}

/// A DateTimeSensor's `target_time`, rendered with the run's context (no XComs or
/// Variables on the server; "now" is the entry's stamp, so every node agrees).
fn render_target(
    plan: &Plan,
    run: &DagRunRecord,
    i: usize,
    ti: &TaskInstanceRecord,
    template: &str,
    stamp: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    let dag = plan.dag();
    let text = if template.contains("{{") || template.contains("{%") {
        let facts = run.facts();
        let ctx = build_context(
            dag,
            plan.task(i),
            &facts,
            &TaskInstanceFacts {
                try_number: ti.try_number + 1,
                map_index: i64::from(ti.map_index),
            },
            &Sources::none(stamp),
        );
        Renderer::new()
            .render(template, &ctx)
            .map_err(|e| e.to_string())?
    } else {
        template.to_string()
    };
    DateSpec::parse(text.trim(), dag.timezone)
        .map(|d| d.resolve(dag.timezone, stamp))
        .map_err(|e| format!("`{}` is not a date-time: {e}", text.trim()))
}

/// Fast-follow: what a finished task instance makes worth evaluating: its direct
/// downstream in its run, and for `depends_on_past` the same task (and, for
/// `wait_for_downstream`, its upstream) in the next run.
pub(crate) fn after_finish(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    ti: &TaskInstanceKey,
) -> Result<(), StoreError> {
    let Some(run) = load_run(txn, &ti.dag_id, &ti.run_id)? else {
        return Ok(());
    };
    let Some(plan) = txn.plan(&ti.dag_id, run.version)? else {
        return Ok(());
    };
    let Some(i) = plan.index_of(&ti.task_id) else {
        return Ok(());
    };
    for &d in plan.downstream(i) {
        sched.evaluate(&plan, &ti.dag_id, &ti.run_id, d);
    }
    let task = plan.task(i);
    let waiting_upstream: Vec<usize> = plan
        .upstream(i)
        .iter()
        .copied()
        .filter(|&u| plan.task(u).wait_for_downstream)
        .collect();
    if !task.depends_on_past && waiting_upstream.is_empty() {
        return Ok(());
    }
    let Some(next) = super::runs::next_run_by_date(txn, &run)? else {
        return Ok(());
    };
    if let Some(next_plan) = txn.plan(&ti.dag_id, next.version)? {
        let mut ids = vec![task.task_id.clone()];
        ids.extend(
            waiting_upstream
                .iter()
                .map(|&u| plan.task(u).task_id.clone()),
        );
        for id in ids {
            if let Some(j) = next_plan.index_of(&id) {
                sched.evaluate(&next_plan, &ti.dag_id, &next.run_id, j);
            }
        }
    }
    Ok(())
}
