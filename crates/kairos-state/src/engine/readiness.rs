//! When a task instance may run: its trigger rule over the upstream states,
//! `depends_on_past`, its retry time; and fast-follow, what a finished instance
//! makes worth evaluating. What a ready instance becomes is `start`.

use kairos_dag::identity::TaskInstanceKey;
use kairos_dag::lifecycle::{Actor, TaskInstanceState as S};
use kairos_dag::model::TaskOperator;
use kairos_dag::trigger_rule::{Readiness, UpstreamCounts, evaluate};

use super::lookup::{instances, is_paused, load_run, load_ti, plan_of_run, states_of};
use super::mapping::{expand, retire_instances};
use super::runs::next_run_by_date;
use super::sched::Sched;
use super::start::start_ready;
use super::write::set_state;
use crate::keys::{Cf, index};
use crate::plan::Plan;
use crate::records::{DagRunRecord, TaskInstanceRecord};
use crate::store::{StoreError, decode};
use crate::txn::Txn;

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
        Some(run) => plan_of_run(txn, run)?,
        None => None,
    };
    let (Some(run), Some(plan)) = (run, plan) else {
        sched.drop_pending(&run_key);
        return Ok(());
    };
    // Airflow examines no run of a paused DAG; unpausing evaluates them again.
    if run.state != kairos_dag::lifecycle::DagRunState::Running || is_paused(txn, dag_id)? {
        sched.drop_pending(&run_key);
        return Ok(());
    }
    while let Some(i) = sched.pop_pending(&run_key) {
        evaluate_one(txn, sched, &plan, &run, i)?;
        // Fast-follow of what just finished, inside this same pass.
        for ti in sched.take_finished() {
            after_finish(txn, sched, &ti)?;
        }
    }
    Ok(())
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
        for state in states_of(txn, run, &task.task_id, mapped)? {
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
    let previous: String = decode(Cf::Index, &value)?;
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
        for state in states_of(txn, &previous_run, &id, mapped)? {
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
    let Some(placeholder) = load_ti(
        txn,
        &TaskInstanceKey::new(&run.dag_id, &run.run_id, &task.task_id, -1),
    )?
    else {
        return Ok(());
    };
    let mapped = matches!(task.operator, TaskOperator::Mapped(_));
    // An expanded task's instances are what waits (a retry, a clear); otherwise
    // the one instance.
    let candidates = if mapped && placeholder.state == S::Removed {
        instances(txn, &run.dag_id, &run.run_id, &task.task_id)?
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
                    retire_instances(txn, sched, &ti, &reason)?;
                }
                set_state(txn, sched, &mut ti, to, Actor::Scheduler, Some(reason))?;
            }
            Readiness::Ready if mapped && ti.map_index < 0 => {
                expand(txn, sched, plan, run, i, &mut ti)?;
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
    let Some(next) = next_run_by_date(txn, &run)? else {
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
