//! What a ready task instance becomes: an EmptyOperator succeeds at once (as
//! Airflow does), a time sensor waits on the server (deferred, with its timers),
//! anything else is scheduled for a worker.

use chrono::{DateTime, Utc};
use kairos_dag::date::DateSpec;
use kairos_dag::lifecycle::{Actor, TaskInstanceState as S};
use kairos_dag::model::TaskOperator;
use kairos_dag::operator::Operator;
use kairos_dag::template::{Renderer, Sources, TaskInstanceFacts, build_context, render_on_server};

use super::sched::Sched;
use super::write::set_state;
use crate::keys::{Cf, index};
use crate::plan::Plan;
use crate::records::{DagRunRecord, TaskInstanceRecord, Timer};
use crate::store::StoreError;
use crate::txn::Txn;

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
            super::assets::task_succeeded(txn, sched, ti, &task.outlets, &[])?;
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
        super::assets::task_succeeded(txn, sched, ti, &task.outlets, &[])?;
        return Ok(());
    }
    if !set_state(txn, sched, ti, S::Deferred, Actor::Scheduler, Some(reason))? {
        return Ok(());
    }
    let ti_key = ti.key();
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
/// Only the bounded part of Jinja is rendered (`template::render_on_server`): the
/// loader refuses anything else, but a version stored before that check, or a
/// `PutDagVersion` proposed without the loader (its model is plain JSON), reaches
/// here unchecked, so it is checked again and refused (the instance fails with the
/// reason) instead of rendered.
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
        render_on_server(&Renderer::new(), template, &ctx)?
    } else {
        template.to_string()
    };
    DateSpec::parse(text.trim(), dag.timezone)
        .map(|d| d.resolve(dag.timezone, stamp))
        .map_err(|e| format!("`{}` is not a date-time: {e}", text.trim()))
}
