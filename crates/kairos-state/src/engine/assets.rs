//! Asset events and the runs they trigger, in the same apply as the event: a
//! task with `outlets` succeeds (or the API posts an event), the event is
//! recorded, queued for every DAG scheduled on that asset, and each such DAG
//! whose condition the queued assets now meet gets an `asset_triggered` run
//! carrying the events, its queue emptied (Airflow's asset DAG run queue). A
//! paused DAG keeps its queue until it is unpaused.

use std::collections::BTreeSet;

use kairos_dag::asset::{AssetRef, OutletEvent};
use kairos_dag::identity::TaskInstanceKey;
use kairos_dag::lifecycle::{DagRunState, RunType};
use kairos_dag::model::Dag;
use serde_json::Value;

use super::runs::insert_run;
use super::sched::Sched;
use crate::keys::{self, Cf, assets as akeys};
use crate::records::{AssetEventRecord, AssetRecord, DagRecord, DagRunRecord, TaskInstanceRecord};
use crate::store::StoreError;
use crate::txn::Txn;

/// Records an event of `uri` (known or not) and triggers the DAGs it completes.
/// `n` tells apart the events of one command.
pub(crate) fn record_event(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    uri: &str,
    source: Option<TaskInstanceKey>,
    extra: Value,
    n: usize,
) -> Result<AssetEventRecord, StoreError> {
    if txn.get_raw(Cf::Assets, &akeys::asset(uri))?.is_none() {
        txn.put(
            Cf::Assets,
            akeys::asset(uri),
            &AssetRecord {
                uri: uri.to_string(),
                name: None,
                created_at: sched.stamp(),
            },
        );
    }
    let event = AssetEventRecord {
        id: akeys::event_id(sched.at.index, sched.at.position, n),
        uri: uri.to_string(),
        timestamp: sched.stamp(),
        source,
        extra,
    };
    txn.put(Cf::Assets, akeys::event(uri, &event.id), &event);
    let consumers: Vec<(Vec<u8>, ())> = txn.scan(Cf::Assets, &akeys::consumers_prefix(uri))?;
    let prefix_len = akeys::consumers_prefix(uri).len();
    for (key, ()) in consumers {
        let dag_id = String::from_utf8_lossy(&key[prefix_len..]).into_owned();
        let queue_key = akeys::queued(&dag_id, uri);
        let mut queued: Vec<String> = txn.get(Cf::Assets, &queue_key)?.unwrap_or_default();
        queued.push(event.id.clone());
        txn.put(Cf::Assets, queue_key, &queued);
        trigger_if_met(txn, sched, &dag_id)?;
    }
    Ok(event)
}

/// The events of a task instance's success: one per outlet asset (with the
/// `extra` the task gave it in `events`, the last one it set), then one per
/// event the task added through an outlet alias (its `events` with an alias
/// the outlets hold; others are left out). On every success's path: a task
/// without outlets costs one empty check, no allocation.
pub(crate) fn task_succeeded(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    ti: &TaskInstanceRecord,
    outlets: &[AssetRef],
    events: &[OutletEvent],
) -> Result<(), StoreError> {
    if outlets.is_empty() {
        return Ok(());
    }
    let key = ti.key();
    let mut n = 0;
    for uri in outlets.iter().filter_map(AssetRef::uri) {
        let extra = events
            .iter()
            .rev()
            .find(|e| e.alias.is_none() && e.uri == uri)
            .map_or(Value::Null, |e| e.extra.clone());
        record_event(txn, sched, uri, Some(key.clone()), extra, n)?;
        n += 1;
    }
    for event in events
        .iter()
        .filter(|e| e.alias.is_some() && e.problem(outlets).is_none())
    {
        record_event(
            txn,
            sched,
            &event.uri,
            Some(key.clone()),
            event.extra.clone(),
            n,
        )?;
        n += 1;
    }
    Ok(())
}

/// Creates an `asset_triggered` run of `dag_id` when its newest version's
/// condition is met by the assets queued for it, and empties its queue.
pub(crate) fn trigger_if_met(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
) -> Result<(), StoreError> {
    let Some(dag) = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))? else {
        return Ok(());
    };
    if dag.is_paused {
        return Ok(());
    }
    let Some(version) = txn.version_record(dag_id, dag.latest_version)? else {
        return Ok(());
    };
    let Some(condition) = &version.content.dag.asset_schedule else {
        return Ok(());
    };
    let prefix = akeys::queued_prefix(dag_id);
    let queued: Vec<(Vec<u8>, Vec<String>)> = txn.scan(Cf::Assets, &prefix)?;
    let updated: BTreeSet<String> = queued
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(&k[prefix.len()..]).into_owned())
        .collect();
    if !condition.is_met(&|uri| updated.contains(uri)) {
        return Ok(());
    }
    let mut events = Vec::new();
    for (key, ids) in queued {
        let uri = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
        for id in ids {
            if let Some(e) = txn.get::<AssetEventRecord>(Cf::Assets, &akeys::event(&uri, &id))? {
                events.push(e);
            }
        }
        txn.delete(Cf::Assets, key);
    }
    events.sort_by(|a, b| a.id.cmp(&b.id));
    let run = DagRunRecord {
        dag_id: dag_id.to_string(),
        // Unique: one entry position makes at most one run of a DAG.
        run_id: format!(
            "asset_triggered__{}_{}.{}",
            sched.stamp().format("%Y-%m-%dT%H:%M:%S%.6f%:z"),
            sched.at.index,
            sched.at.position
        ),
        run_type: RunType::AssetTriggered,
        version: dag.latest_version,
        state: DagRunState::Queued,
        // Airflow 3: an asset-triggered run has no logical date.
        logical_date: None,
        data_interval_start: None,
        data_interval_end: None,
        run_after: sched.stamp(),
        conf: Default::default(),
        created_at: sched.stamp(),
        start_date: None,
        end_date: None,
        triggered_by: "asset".to_string(),
        backfill_id: None,
        bundle_version: dag.bundle_version,
        triggering_asset_events: events,
    };
    if txn
        .get_raw(Cf::Runs, &keys::run(dag_id, &run.run_id))?
        .is_none()
    {
        insert_run(txn, sched, &run)?;
    }
    Ok(())
}

/// Keeps the asset records and the "DAGs scheduled on this asset" index true
/// when `dag` becomes its DAG's newest version (`before`: the previous newest).
pub(crate) fn version_changed(
    txn: &mut Txn<'_>,
    sched: &Sched,
    before: Option<&Dag>,
    dag: &Dag,
) -> Result<(), StoreError> {
    let uris = |d: &Dag| -> BTreeSet<String> {
        d.asset_schedule
            .as_ref()
            .map(|c| c.uris().into_iter().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let old = before.map(uris).unwrap_or_default();
    let new = uris(dag);
    for uri in old.difference(&new) {
        txn.delete(Cf::Assets, akeys::consumer(uri, &dag.dag_id));
        txn.delete(Cf::Assets, akeys::queued(&dag.dag_id, uri));
    }
    for uri in &new {
        txn.put(Cf::Assets, akeys::consumer(uri, &dag.dag_id), &());
    }
    // Every asset the DAG names is known, with the name it gives it.
    let mut named: Vec<(String, Option<String>)> = new.iter().map(|u| (u.clone(), None)).collect();
    for task in &dag.tasks {
        for r in task.outlets.iter().chain(&task.inlets) {
            if let AssetRef::Asset { uri, name } = r {
                named.push((uri.clone(), name.clone()));
            }
        }
    }
    for (uri, name) in named {
        let existing = txn.get::<AssetRecord>(Cf::Assets, &akeys::asset(&uri))?;
        let record = match existing {
            Some(mut a) => {
                if name.is_none() || a.name == name {
                    continue;
                }
                a.name = name;
                a
            }
            None => AssetRecord {
                uri: uri.clone(),
                name,
                created_at: sched.stamp(),
            },
        };
        txn.put(Cf::Assets, akeys::asset(&uri), &record);
    }
    Ok(())
}
