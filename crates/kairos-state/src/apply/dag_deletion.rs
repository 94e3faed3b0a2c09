//! `DeleteDag`: a DAG with everything it owns, as Airflow's `DELETE
//! /dags/{dag_id}`. Runs go as `DeleteDagRun` removes them
//! (`engine::run_removal`), at most `limit` per command so that one entry's
//! apply stays short; once none remain, the same command deletes the versions,
//! the backfills, the asset schedule's entries and the DAG itself. File texts
//! stay: they are stored by content and may be shared with other DAGs' versions
//! and with bundle versions. Asset events the DAG produced stay too: they belong
//! to their asset (Airflow keeps them as well).

use super::outcome::{Handled, Reply, refused};
use super::retention::MAX_PURGE_LIMIT;
use crate::command::{Outcome, RejectionKind};
use crate::engine::run_removal::remove_run;
use crate::engine::sched::Sched;
use crate::keys::index::RUNNING;
use crate::keys::{self, Cf, assets as akeys};
use crate::records::{BackfillRecord, DagRecord, DagRunRecord};
use crate::txn::Txn;

pub(super) fn delete(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    limit: u32,
    unless_running: bool,
) -> Handled {
    if limit == 0 || limit > MAX_PURGE_LIMIT {
        return Err(refused(
            RejectionKind::Invalid,
            format!(
                "a DAG deletion deletes between 1 and {MAX_PURGE_LIMIT} runs per command, not {limit}"
            ),
        ));
    }
    let Some(mut dag) = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))? else {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no DAG `{dag_id}`"),
        ));
    };
    if unless_running {
        let mut running = RUNNING.to_vec();
        running.extend_from_slice(&keys::dag_prefix(dag_id));
        if !txn.scan_page(Cf::Index, &running, None, 1)?.is_empty() {
            return Err(refused(
                RejectionKind::IllegalTransition,
                format!(
                    "task instances of DAG `{dag_id}` are still running; wait for them to end, \
                     or mark them (or their runs) failed, then delete the DAG"
                ),
            ));
        }
    }
    // Nothing of it starts while the rest goes (a paused DAG neither creates
    // scheduled runs nor schedules task instances).
    if !dag.is_paused {
        dag.is_paused = true;
        dag.updated_at = sched.stamp();
        txn.put(Cf::Dags, keys::dag(dag_id), &dag);
    }

    let mut deleted = Deleted::default();
    let runs = txn.scan_page(
        Cf::Runs,
        &keys::dag_prefix(dag_id),
        None,
        limit as usize + 1,
    )?;
    let more = runs.len() > limit as usize;
    for (_, bytes) in runs.into_iter().take(limit as usize) {
        let run: DagRunRecord = crate::store::decode(Cf::Runs, &bytes)?;
        let removed = remove_run(txn, sched, &run)?;
        deleted.runs += 1;
        deleted.task_instances += removed.task_instances;
        deleted.xcoms += removed.xcoms;
    }
    if !more {
        deleted.versions = delete_the_rest(txn, &dag)?;
    }
    Ok(Reply::from(Outcome::DagDeleted {
        dag_id: dag_id.to_string(),
        runs: deleted.runs,
        task_instances: deleted.task_instances,
        xcoms: deleted.xcoms,
        versions: deleted.versions,
        more,
    }))
}

#[derive(Default)]
struct Deleted {
    runs: usize,
    task_instances: usize,
    xcoms: usize,
    versions: usize,
}

/// Once no run is left: the versions, backfills, asset schedule entries and
/// the DAG record. Answers how many versions went.
fn delete_the_rest(txn: &mut Txn<'_>, dag: &DagRecord) -> Result<usize, crate::store::StoreError> {
    let dag_id = dag.dag_id.as_str();
    // The asset schedule of the newest version (older versions' entries went
    // when they stopped being the newest): the "DAGs scheduled on this asset"
    // entries, and the events queued for the DAG.
    if let Some(latest) = txn.version_record(dag_id, dag.latest_version)? {
        if let Some(schedule) = &latest.content.dag.asset_schedule {
            for uri in schedule.uris() {
                txn.delete(Cf::Assets, akeys::consumer(uri, dag_id));
                txn.delete(Cf::Assets, akeys::queued(dag_id, uri));
            }
        }
    }
    let backfills: Vec<(Vec<u8>, BackfillRecord)> = txn.scan(Cf::Backfills, b"")?;
    for (key, backfill) in backfills {
        if backfill.dag_id == dag_id {
            txn.delete(Cf::Backfills, key);
        }
    }
    let versions = txn.scan_page(Cf::Versions, &keys::dag_prefix(dag_id), None, usize::MAX)?;
    let count = versions.len();
    for (key, _) in versions {
        txn.delete(Cf::Versions, key);
    }
    txn.delete(Cf::Dags, keys::dag(dag_id));
    Ok(count)
}
