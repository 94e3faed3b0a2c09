//! Commands about runs: create one (manual, scheduled or asset-triggered), mark a
//! whole run success or failed as Airflow does, delete one with everything derived
//! from it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::{Actor, DagRunState, RunType, TaskInstanceState as S};
use kairos_dag::timetable::DataInterval;
use serde_json::Value;

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::engine::lookup::load_run;
use crate::engine::run_removal::remove_run;
use crate::engine::runs::{insert_run, set_run_state};
use crate::engine::sched::Sched;
use crate::engine::write::set_state;
use crate::ids::check_id;
use crate::keys::{self, Cf};
use crate::records::{DagRecord, DagRunRecord, TaskInstanceRecord};
use crate::txn::Txn;

/// A run to create, as `Command::CreateDagRun` asks for it.
pub(super) struct NewRun<'a> {
    pub dag_id: &'a String,
    pub run_id: &'a String,
    pub run_type: RunType,
    pub version: Option<u32>,
    pub logical_date: Option<DateTime<Utc>>,
    pub data_interval_start: Option<DateTime<Utc>>,
    pub data_interval_end: Option<DateTime<Utc>>,
    pub run_after: Option<DateTime<Utc>>,
    pub conf: &'a BTreeMap<String, Value>,
    pub triggered_by: &'a String,
}

/// A new run, queued, with its task instances; a scheduled run also moves the
/// DAG's last automated data interval.
pub(super) fn create(txn: &mut Txn<'_>, sched: &mut Sched, new: NewRun<'_>) -> Handled {
    let NewRun {
        dag_id,
        run_id,
        run_type,
        version,
        logical_date,
        data_interval_start,
        data_interval_end,
        run_after,
        conf,
        triggered_by,
    } = new;
    check_id("run id", run_id)?;
    let Some(dag) = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))? else {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no DAG `{dag_id}`; push it first"),
        ));
    };
    let version = version.unwrap_or(dag.latest_version);
    let Some(pinned) = txn.version_record(dag_id, version)? else {
        return Err(refused(
            RejectionKind::NotFound,
            format!(
                "DAG `{dag_id}` has no version {version}; its versions are 1 to {}",
                dag.latest_version
            ),
        ));
    };
    // The newest version runs the bundle's newest code; an older one, the code it
    // was pushed with.
    let bundle_version = if version == dag.latest_version {
        dag.bundle_version
    } else {
        pinned.bundle_version
    };
    if txn.get_raw(Cf::Runs, &keys::run(dag_id, run_id))?.is_some() {
        return Err(refused(
            RejectionKind::AlreadyExists,
            format!("DAG `{dag_id}` already has a run `{run_id}`; choose another run id"),
        ));
    }
    if let (Some(start), Some(end)) = (data_interval_start, data_interval_end) {
        if start > end {
            return Err(refused(
                RejectionKind::Invalid,
                format!(
                    "the data interval of run `{run_id}` starts ({start}) after it ends ({end})"
                ),
            ));
        }
    }
    let run = DagRunRecord {
        dag_id: dag_id.clone(),
        run_id: run_id.clone(),
        run_type,
        version,
        state: DagRunState::Queued,
        logical_date,
        data_interval_start,
        data_interval_end,
        run_after: run_after.unwrap_or(sched.stamp()),
        conf: conf.clone(),
        created_at: sched.stamp(),
        start_date: None,
        end_date: None,
        triggered_by: triggered_by.clone(),
        backfill_id: None,
        bundle_version,
        triggering_asset_events: Vec::new(),
    };
    let task_instances = insert_run(txn, sched, &run)?;
    if run_type == RunType::Scheduled {
        if let (Some(start), Some(end)) = (data_interval_start, data_interval_end) {
            let mut dag = dag;
            if dag.last_automated.is_none_or(|last| last.start < start) {
                dag.last_automated = Some(DataInterval { start, end });
                txn.put(Cf::Dags, keys::dag(dag_id), &dag);
            }
        }
    }
    Ok(Reply::from(Outcome::DagRun {
        dag_id: dag_id.clone(),
        run_id: run_id.clone(),
        version,
        task_instances,
    }))
}

/// Marks a run `to` (success or failed) and its task instances as Airflow does.
pub(super) fn mark(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    run_id: &str,
    to: DagRunState,
) -> Handled {
    if !to.is_finished() {
        return Err(refused(
            RejectionKind::Invalid,
            format!(
                "a run can be marked success or failed, not {to}; to run it again, clear its task instances"
            ),
        ));
    }
    let Some(mut run) = load_run(txn, dag_id, run_id)? else {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no run {dag_id}/{run_id}"),
        ));
    };
    let tis: Vec<(Vec<u8>, TaskInstanceRecord)> =
        txn.scan(Cf::TaskInstances, &keys::run_prefix(dag_id, run_id))?;
    let mut changed = 0;
    for (_, mut ti) in tis {
        let (target, actor) = match to {
            DagRunState::Success => (S::Success, Actor::Mark),
            _ if ti.state.is_finished() => continue,
            _ => match ti.state {
                S::Running | S::Restarting | S::Deferred | S::UpForReschedule => {
                    (S::Failed, Actor::RunEnd)
                }
                _ => (S::Skipped, Actor::RunEnd),
            },
        };
        if ti.state == target || ti.state == S::Removed {
            continue;
        }
        let reason = format!("the run was marked {to}");
        if set_state(txn, sched, &mut ti, target, actor, Some(reason))? {
            changed += 1;
        }
    }
    set_run_state(txn, sched, &mut run, to)?;
    Ok(Reply::from(Outcome::RunMarked {
        dag_id: dag_id.to_string(),
        run_id: run_id.to_string(),
        state: to,
        task_instances: changed,
    }))
}

/// Deletes a run and everything kept for it.
pub(super) fn delete(txn: &mut Txn<'_>, sched: &mut Sched, dag_id: &str, run_id: &str) -> Handled {
    let Some(run) = load_run(txn, dag_id, run_id)? else {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no run {dag_id}/{run_id}"),
        ));
    };
    let removed = remove_run(txn, sched, &run)?;
    Ok(Reply::from(Outcome::RunDeleted {
        dag_id: dag_id.to_string(),
        run_id: run_id.to_string(),
        task_instances: removed.task_instances,
        xcoms: removed.xcoms,
    }))
}
