//! Backfills (Airflow 3's `backfill create`): the runs of a date range, created at
//! once and started under the backfill's own `max_active_runs`. Dates that already
//! have a run are left alone, or run again when `reprocess_behavior` says so.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::{
    Actor, DagRunState, RunType, TaskInstanceState as S, check_transition,
};
use kairos_dag::timetable::Restriction;
use serde_json::Value;

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::engine::lookup::load_run;
use crate::engine::runs::{insert_run, set_run_state};
use crate::engine::sched::Sched;
use crate::engine::write::write_ti;
use crate::keys::index;
use crate::keys::{self, Cf};
use crate::records::{
    BackfillRecord, DagRecord, DagRunRecord, ReprocessBehavior, TaskInstanceRecord,
};
use crate::store::{StoreError, decode};
use crate::txn::Txn;

/// The most runs one backfill may create (see `kairos_dag::limits`).
pub const MAX_BACKFILL_RUNS: usize = kairos_dag::limits::MAX_BACKFILL_RUNS;

pub(super) struct Request<'a> {
    pub dag_id: &'a str,
    pub from_date: DateTime<Utc>,
    pub to_date: DateTime<Utc>,
    pub reprocess: ReprocessBehavior,
    pub max_active_runs: u32,
    pub conf: &'a BTreeMap<String, Value>,
    pub triggered_by: &'a str,
}

pub(super) fn create(txn: &mut Txn<'_>, sched: &mut Sched, req: Request<'_>) -> Handled {
    let dag_id = req.dag_id;
    let Some(dag) = txn.get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))? else {
        return Err(refused(
            RejectionKind::NotFound,
            format!("no DAG `{dag_id}`; push it first"),
        ));
    };
    if req.from_date > req.to_date {
        return Err(refused(
            RejectionKind::Invalid,
            format!(
                "the backfill starts ({}) after it ends ({})",
                req.from_date, req.to_date
            ),
        ));
    }
    if req.to_date > sched.stamp() {
        return Err(refused(
            RejectionKind::Invalid,
            format!(
                "a backfill cannot reach into the future: --end {} is after now ({})",
                req.to_date,
                sched.stamp()
            ),
        ));
    }
    if req.max_active_runs == 0 {
        return Err(refused(
            RejectionKind::Invalid,
            "max_active_runs must be at least 1",
        ));
    }
    let Some(plan) = txn.plan(dag_id, dag.latest_version)? else {
        return Err(refused(
            RejectionKind::NotFound,
            format!("DAG `{dag_id}` has no version"),
        ));
    };
    let model = plan.dag();
    if !model.schedule.is_periodic() {
        return Err(refused(
            RejectionKind::Invalid,
            format!(
                "DAG `{dag_id}` has schedule {}: a backfill needs a periodic schedule (cron or timedelta)",
                model.schedule.describe()
            ),
        ));
    }
    let restriction = Restriction {
        earliest: Some(req.from_date),
        latest: Some(req.to_date),
        catchup: true,
    };
    let mut infos = Vec::new();
    let mut last = None;
    while let Some(info) =
        model
            .schedule
            .next_dagrun_info(model.timezone, last.as_ref(), &restriction, sched.stamp())
    {
        if last.is_some_and(|l: kairos_dag::timetable::DataInterval| {
            info.data_interval.start <= l.start
        }) || info.logical_date() > req.to_date
        {
            break;
        }
        if infos.len() >= MAX_BACKFILL_RUNS {
            return Err(refused(
                RejectionKind::TooLarge,
                format!(
                    "the range holds more than {MAX_BACKFILL_RUNS} runs, the most one backfill \
                     may create (see docs/limits.md); split it into shorter ranges"
                ),
            ));
        }
        last = Some(info.data_interval);
        infos.push(info);
    }
    let backfill_id = format!("backfill-{}.{}", sched.at.index, sched.at.position);
    let mut created = Vec::new();
    let mut skipped = 0;
    for info in infos {
        let logical = info.logical_date();
        let existing = existing_run(txn, dag_id, logical)?;
        if let Some(mut run) = existing {
            let rerun = match req.reprocess {
                ReprocessBehavior::None => false,
                ReprocessBehavior::Failed => run.state == DagRunState::Failed,
                ReprocessBehavior::Completed => run.state.is_finished(),
            };
            if !rerun {
                skipped += 1;
                continue;
            }
            // Airflow 3 clears the existing run and hands it to the backfill.
            run.backfill_id = Some(backfill_id.clone());
            txn.put(Cf::Runs, keys::run(dag_id, &run.run_id), &run);
            clear_all(txn, sched, &run)?;
            if run.state.is_finished() {
                set_run_state(txn, sched, &mut run, DagRunState::Queued)?;
            }
            created.push(run.run_id.clone());
            continue;
        }
        let run_id = RunType::Backfill.run_id(logical, None);
        let run = DagRunRecord {
            dag_id: dag_id.to_string(),
            run_id: run_id.clone(),
            run_type: RunType::Backfill,
            version: dag.latest_version,
            state: DagRunState::Queued,
            logical_date: Some(logical),
            data_interval_start: Some(info.data_interval.start),
            data_interval_end: Some(info.data_interval.end),
            run_after: info.run_after,
            conf: req.conf.clone(),
            created_at: sched.stamp(),
            start_date: None,
            end_date: None,
            triggered_by: req.triggered_by.to_string(),
            backfill_id: Some(backfill_id.clone()),
            bundle_version: dag.bundle_version,
            triggering_asset_events: Vec::new(),
        };
        insert_run(txn, sched, &run)?;
        created.push(run_id);
    }
    txn.put(
        Cf::Backfills,
        keys::backfill(&backfill_id),
        &BackfillRecord {
            backfill_id: backfill_id.clone(),
            dag_id: dag_id.to_string(),
            from_date: req.from_date,
            to_date: req.to_date,
            max_active_runs: req.max_active_runs,
            reprocess_behavior: req.reprocess,
            created_at: sched.stamp(),
            runs: created.len() as u32,
        },
    );
    sched.start_runs(dag_id, &backfill_id);
    Ok(Reply::from(Outcome::Backfill {
        backfill_id,
        runs: created,
        skipped,
    }))
}

/// A run of the DAG with this logical date, if any.
fn existing_run(
    txn: &Txn<'_>,
    dag_id: &str,
    logical: DateTime<Utc>,
) -> Result<Option<DagRunRecord>, StoreError> {
    let prefix = index::runs_by_date_at(dag_id, logical);
    for (_, value) in txn.scan_page(Cf::Index, &prefix, None, 16)? {
        let run_id: String = decode(Cf::Index, &value)?;
        if let Some(run) = load_run(txn, dag_id, &run_id)? {
            if run.logical_date == Some(logical) {
                return Ok(Some(run));
            }
        }
    }
    Ok(None)
}

fn clear_all(txn: &mut Txn<'_>, sched: &mut Sched, run: &DagRunRecord) -> Result<(), StoreError> {
    let tis: Vec<(Vec<u8>, TaskInstanceRecord)> = txn.scan(
        Cf::TaskInstances,
        &keys::run_prefix(&run.dag_id, &run.run_id),
    )?;
    for (_, mut ti) in tis {
        if check_transition(ti.state, S::None, Actor::Clear).is_err() || ti.state == S::None {
            continue;
        }
        let before = ti.state;
        ti.state = S::None;
        ti.end_date = None;
        ti.next_retry_at = None;
        ti.cleared_tries = ti.try_number;
        ti.first_poke_at = None;
        ti.reschedules = 0;
        ti.reason = Some("cleared by a backfill".to_string());
        ti.updated_at = sched.stamp();
        write_ti(txn, sched, before, &ti)?;
    }
    Ok(())
}
