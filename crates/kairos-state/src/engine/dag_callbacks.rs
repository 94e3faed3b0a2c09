//! A DAG's own `on_success_callback` / `on_failure_callback`: when a run ends
//! by itself (its last task, or its `dagrun_timeout`; not when marked by
//! hand, as in Airflow), a record is left for a worker of the DAG's callback
//! queue to take. A take is one replicated step and only the taker's report
//! ends it, so the callbacks run at most once.

use chrono::{DateTime, Utc};

use crate::engine::sched::Sched;
use crate::keys::{Cf, index};
use crate::records::{DagCallbackRecord, DagCallbackState, DagRunRecord};
use crate::store::StoreError;
use crate::txn::Txn;

/// Leaves the DAG's callbacks of `run`'s end (`reason`: Airflow's) for a
/// worker; nothing when the run's version has none of that kind.
pub(crate) fn run_ended(
    txn: &mut Txn<'_>,
    sched: &Sched,
    run: &DagRunRecord,
    reason: &str,
) -> Result<(), StoreError> {
    let Some(plan) = txn.plan(&run.dag_id, run.version)? else {
        return Ok(());
    };
    let dag = plan.dag();
    let kind = match reason {
        "success" => kairos_dag::callback::CallbackKind::Success,
        _ => kairos_dag::callback::CallbackKind::Failure,
    };
    if dag.callbacks.of(kind).is_empty() {
        return Ok(());
    }
    let queue = dag.callback_queue().to_string();
    // A run cleared and ended again gets its callbacks again; a take of the
    // earlier end no longer counts.
    forget(txn, &run.dag_id, &run.run_id)?;
    let record = DagCallbackRecord {
        dag_id: run.dag_id.clone(),
        run_id: run.run_id.clone(),
        version: run.version,
        kind: kind.key().to_string(),
        reason: reason.to_string(),
        queue: queue.clone(),
        state: DagCallbackState::Pending,
        created_at: sched.stamp(),
        worker: None,
        token: None,
        started_at: None,
        ended_at: None,
        log_tail: None,
    };
    txn.put(
        Cf::Index,
        index::pending_dag_callback(&queue, &run.dag_id, &run.run_id),
        &(),
    );
    txn.put(
        Cf::Index,
        index::dag_callback(&run.dag_id, &run.run_id),
        &record,
    );
    Ok(())
}

/// Removes a run's DAG callback record and its pending entry, if any.
pub(crate) fn forget(txn: &mut Txn<'_>, dag_id: &str, run_id: &str) -> Result<(), StoreError> {
    let key = index::dag_callback(dag_id, run_id);
    if let Some(old) = txn.get::<DagCallbackRecord>(Cf::Index, &key)? {
        txn.delete(
            Cf::Index,
            index::pending_dag_callback(&old.queue, dag_id, run_id),
        );
        txn.delete(Cf::Index, key);
    }
    Ok(())
}

/// A worker takes a pending DAG callback: `None` when it is not pending.
pub(crate) fn take(
    txn: &mut Txn<'_>,
    dag_id: &str,
    run_id: &str,
    worker: &str,
    token: &str,
    at: DateTime<Utc>,
) -> Result<Option<DagCallbackRecord>, StoreError> {
    let key = index::dag_callback(dag_id, run_id);
    let Some(mut record) = txn.get::<DagCallbackRecord>(Cf::Index, &key)? else {
        return Ok(None);
    };
    if record.state != DagCallbackState::Pending {
        return Ok(None);
    }
    txn.delete(
        Cf::Index,
        index::pending_dag_callback(&record.queue, dag_id, run_id),
    );
    record.state = DagCallbackState::Running;
    record.worker = Some(worker.to_string());
    record.token = Some(token.to_string());
    record.started_at = Some(at);
    txn.put(Cf::Index, key, &record);
    Ok(Some(record))
}

/// The taker's report: how the callbacks ended. `None` when the record is gone
/// or the token is not the take's (a report of an earlier end of the run).
pub(crate) fn finish(
    txn: &mut Txn<'_>,
    dag_id: &str,
    run_id: &str,
    token: &str,
    success: bool,
    log_tail: &str,
    at: DateTime<Utc>,
) -> Result<Option<DagCallbackRecord>, StoreError> {
    let key = index::dag_callback(dag_id, run_id);
    let Some(mut record) = txn.get::<DagCallbackRecord>(Cf::Index, &key)? else {
        return Ok(None);
    };
    if record.state != DagCallbackState::Running || record.token.as_deref() != Some(token) {
        return Ok(None);
    }
    record.state = if success {
        DagCallbackState::Success
    } else {
        DagCallbackState::Failed
    };
    record.ended_at = Some(at);
    record.log_tail = Some(log_tail.to_string());
    txn.put(Cf::Index, key, &record);
    Ok(Some(record))
}
