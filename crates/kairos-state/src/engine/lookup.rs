//! The engine's reads through the write set: a task instance, a run, the plan of
//! a run's version, whether a DAG is paused, and the instances (and states) a
//! mapped task has in a run.

use std::sync::Arc;

use kairos_dag::identity::TaskInstanceKey;
use kairos_dag::lifecycle::TaskInstanceState as S;

use crate::keys::{self, Cf};
use crate::plan::Plan;
use crate::records::{DagRecord, DagRunRecord, TaskInstanceRecord};
use crate::store::StoreError;
use crate::txn::Txn;

pub(crate) fn load_ti(
    txn: &Txn<'_>,
    ti: &TaskInstanceKey,
) -> Result<Option<TaskInstanceRecord>, StoreError> {
    txn.get(Cf::TaskInstances, &keys::ti(ti))
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
) -> Result<Option<(Arc<Plan>, usize)>, StoreError> {
    let Some(run) = load_run(txn, &ti.dag_id, &ti.run_id)? else {
        return Ok(None);
    };
    Ok(txn
        .plan(&ti.dag_id, run.version)?
        .and_then(|plan| plan.index_of(&ti.task_id).map(|i| (plan, i))))
}

/// The plan of a run's version.
pub(crate) fn plan_of_run(
    txn: &Txn<'_>,
    run: &DagRunRecord,
) -> Result<Option<Arc<Plan>>, StoreError> {
    txn.plan(&run.dag_id, run.version)
}

/// Whether a DAG is paused (a DAG that does not exist counts as paused).
pub(crate) fn is_paused(txn: &Txn<'_>, dag_id: &str) -> Result<bool, StoreError> {
    Ok(txn
        .get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))?
        .is_none_or(|d| d.is_paused))
}

/// Every mapped instance (map index >= 0) of a task in a run, by map index.
pub(crate) fn instances(
    txn: &Txn<'_>,
    dag_id: &str,
    run_id: &str,
    task_id: &str,
) -> Result<Vec<TaskInstanceRecord>, StoreError> {
    Ok(txn
        .scan::<TaskInstanceRecord>(
            Cf::TaskInstances,
            &keys::task_prefix(dag_id, run_id, task_id),
        )?
        .into_iter()
        .map(|(_, ti)| ti)
        .filter(|ti| ti.map_index >= 0)
        .collect())
}

/// The states a downstream task sees for `task_id`: each mapped instance once the
/// task was expanded, else its one instance (`removed` when it has none).
pub(crate) fn states_of(
    txn: &Txn<'_>,
    run: &DagRunRecord,
    task_id: &str,
    mapped: bool,
) -> Result<Vec<S>, StoreError> {
    let placeholder = load_ti(
        txn,
        &TaskInstanceKey::new(&run.dag_id, &run.run_id, task_id, -1),
    )?;
    match placeholder {
        // Instances a shorter expansion removed no longer count.
        Some(p) if mapped && p.state == S::Removed => {
            Ok(instances(txn, &run.dag_id, &run.run_id, task_id)?
                .into_iter()
                .map(|ti| ti.state)
                .filter(|s| *s != S::Removed)
                .collect())
        }
        Some(p) => Ok(vec![p.state]),
        None => Ok(vec![S::Removed]),
    }
}
