//! Dynamic task mapping (Airflow's `expand`): a mapped task has one placeholder
//! instance (map index -1) until it is ready; then the scheduler resolves its
//! expanded arguments (lists written in the file, or the `return_value` XCom of an
//! upstream task), creates one instance per element (map index 0, 1, ...; several
//! expanded arguments give their cross product) carrying its element, and marks
//! the placeholder `removed`. An empty expansion skips the task, as in Airflow.
//! Downstream tasks see the state of every mapped instance, so they wait for all.

use kairos_dag::lifecycle::{Actor, TaskInstanceState as S};
use kairos_dag::model::{MapSource, MappedOperator, TaskOperator};
use serde_json::Value;

use super::counters;
use super::lookup::instances;
use super::sched::Sched;
use super::start::start_ready;
use super::write::{set_state, write_ti};
use crate::keys::index::counter;
use crate::keys::{self, Cf};
use crate::plan::Plan;
use crate::records::{DagRunRecord, TaskInstanceRecord, XComRecord};
use crate::store::StoreError;
use crate::txn::Txn;

/// The most instances one expansion may make (Airflow's `max_map_length`).
pub const MAX_MAP_LENGTH: usize = 1024;

/// The values one expanded argument takes, or why it cannot be expanded.
fn resolve(
    txn: &Txn<'_>,
    run: &DagRunRecord,
    arg: &str,
    source: &MapSource,
) -> Result<Result<Vec<Value>, String>, StoreError> {
    Ok(match source {
        MapSource::Literal { values } => Ok(values.clone()),
        MapSource::Xcom { task_id } => {
            let record: Option<XComRecord> = txn.get(
                Cf::XComs,
                &keys::xcom(&run.dag_id, &run.run_id, task_id, -1, "return_value"),
            )?;
            // A mapped upstream's output is the list of its instances' values.
            let value = match record {
                Some(r) => Some(r.value),
                None => {
                    let values: Vec<Value> = txn
                        .scan::<XComRecord>(
                            Cf::XComs,
                            &keys::task_prefix(&run.dag_id, &run.run_id, task_id),
                        )?
                        .into_iter()
                        .map(|(_, x)| x)
                        .filter(|x| x.map_index >= 0 && x.key == "return_value")
                        .map(|x| x.value)
                        .collect();
                    (!values.is_empty()).then_some(Value::Array(values))
                }
            };
            match value {
                Some(Value::Array(values)) => Ok(values),
                Some(other) => Err(format!(
                    "`expand` of `{arg}` needs a list, but `{task_id}` returned {}",
                    kind(&other)
                )),
                None => Err(format!(
                    "`expand` of `{arg}` needs `{task_id}`'s return_value XCom, and it pushed none"
                )),
            }
        }
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A task whose expansion cannot be made fails, counting as a try.
fn fail(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    placeholder: &mut TaskInstanceRecord,
    why: String,
) -> Result<(), StoreError> {
    placeholder.try_number += 1;
    retire_instances(txn, sched, placeholder, "the task could not be expanded")?;
    set_state(
        txn,
        sched,
        placeholder,
        S::Failed,
        Actor::Scheduler,
        Some(why),
    )?;
    Ok(())
}

/// Marks `removed` every instance of an earlier expansion that is not at work, so
/// that a task which ends without expanding (failed, skipped, upstream failed, an
/// empty list after a clear) leaves nothing unfinished behind. Their XComs go too.
pub(crate) fn retire_instances(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    placeholder: &TaskInstanceRecord,
    why: &str,
) -> Result<(), StoreError> {
    let existing = instances(
        txn,
        &placeholder.dag_id,
        &placeholder.run_id,
        &placeholder.task_id,
    )?;
    retire(txn, sched, existing.into_iter(), why)
}

fn retire(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    gone: impl Iterator<Item = TaskInstanceRecord>,
    why: &str,
) -> Result<(), StoreError> {
    for mut ti in gone.filter(|t| t.state != S::Removed && !at_work(t.state)) {
        for (xcom_key, _) in txn.scan::<XComRecord>(
            Cf::XComs,
            &keys::xcom_prefix(&ti.dag_id, &ti.run_id, &ti.task_id, ti.map_index),
        )? {
            txn.delete(Cf::XComs, xcom_key);
        }
        let before = ti.state;
        ti.state = S::Removed;
        ti.reason = Some(why.to_string());
        ti.updated_at = sched.stamp();
        write_ti(txn, sched, before, &ti)?;
    }
    Ok(())
}

/// An instance a worker (or the server's timer queue) holds: it is left to end.
fn at_work(state: S) -> bool {
    state.is_executing() || state == S::Deferred
}

/// Expands the ready placeholder of mapped task `i` into its instances.
pub(crate) fn expand(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    plan: &Plan,
    run: &DagRunRecord,
    i: usize,
    placeholder: &mut TaskInstanceRecord,
) -> Result<(), StoreError> {
    let TaskOperator::Mapped(mapped) = &plan.task(i).operator else {
        return Ok(());
    };
    let mut resolved = Vec::with_capacity(mapped.expand.len());
    for (arg, source) in &mapped.expand {
        match resolve(txn, run, arg, source)? {
            Ok(values) => resolved.push((arg.clone(), values)),
            Err(why) => return fail(txn, sched, placeholder, why),
        }
    }
    // Counted before the product is built, so a huge product is never built.
    let total = resolved
        .iter()
        .try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()))
        .unwrap_or(usize::MAX);
    if total > MAX_MAP_LENGTH {
        let why =
            format!("`expand` would make {total} instances; at most {MAX_MAP_LENGTH} are allowed");
        return fail(txn, sched, placeholder, why);
    }
    let elements = MappedOperator::elements(&resolved);
    if elements.is_empty() {
        let why = "`expand` got an empty list: no instance to run".to_string();
        retire_instances(txn, sched, placeholder, "the expansion is empty")?;
        set_state(
            txn,
            sched,
            placeholder,
            S::Skipped,
            Actor::Scheduler,
            Some(why),
        )?;
        return Ok(());
    }
    let existing = instances(txn, &run.dag_id, &run.run_id, &placeholder.task_id)?;
    for (n, element) in elements.iter().enumerate() {
        let map_index = i32::try_from(n).unwrap_or(i32::MAX);
        let before = existing.iter().find(|e| e.map_index == map_index);
        // An instance at work (cleared while running) is left to finish; any
        // other, waiting for a retry included, starts over with its new element.
        if before.is_some_and(|b| at_work(b.state)) {
            continue;
        }
        let mut ti = TaskInstanceRecord {
            map_index,
            state: S::None,
            try_number: before.map_or(0, |b| b.try_number),
            cleared_tries: before.map_or(0, |b| b.try_number),
            attempt: None,
            start_date: None,
            end_date: None,
            updated_at: sched.stamp(),
            reason: None,
            next_retry_at: None,
            worker: None,
            log_tail: None,
            log_url: None,
            map_element: Some(element.clone()),
            first_poke_at: None,
            reschedules: 0,
            ..placeholder.clone()
        };
        match before {
            Some(b) => write_ti(txn, sched, b.state, &ti)?,
            None => {
                txn.put(
                    Cf::TaskInstances,
                    keys::task_instance(&ti.dag_id, &ti.run_id, &ti.task_id, map_index),
                    &ti,
                );
                counters::add(txn, counter::unfinished(&ti.dag_id, &ti.run_id), 1)?;
            }
        }
        start_ready(txn, sched, plan, run, i, &mut ti)?;
    }
    // Instances beyond a shorter new expansion (after a clear) no longer exist.
    let count = elements.len();
    retire(
        txn,
        sched,
        existing
            .into_iter()
            .filter(|e| usize::try_from(e.map_index).is_ok_and(|m| m >= count)),
        "the expansion got shorter",
    )?;
    let why = format!("expanded into {} mapped instances", elements.len());
    set_state(
        txn,
        sched,
        placeholder,
        S::Removed,
        Actor::Scheduler,
        Some(why),
    )?;
    Ok(())
}
