//! `PurgeRuns`: retention. Ended runs that ended before a cutoff, beyond each
//! DAG's newest N runs, deleted with everything derived from them
//! (`engine::run_removal`, as `DeleteDagRun`), oldest first, at most `limit` per
//! command so that one entry's apply stays short. Running and queued runs are
//! never touched, and a DAG's scheduling does not read its old runs (its last
//! automated interval is on the DAG), so deleting them never makes a run again.

use chrono::{DateTime, Utc};
use kairos_dag::lifecycle::DagRunState;

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::engine::lookup::load_run;
use crate::engine::run_removal::remove_run;
use crate::engine::sched::Sched;
use crate::keys::{self, Cf, index};
use crate::records::{DagRecord, DagRunRecord};
use crate::txn::Txn;

/// The most runs one command deletes.
pub const MAX_PURGE_LIMIT: u32 = 10_000;

/// What a `PurgeRuns` asks for.
pub(super) struct Purge<'a> {
    pub dag_id: Option<&'a str>,
    pub before: Option<DateTime<Utc>>,
    pub keep_last: Option<u32>,
    pub limit: u32,
    pub from_dag: Option<&'a str>,
}

/// DAG ids read per page when a purge walks all DAGs.
const DAG_PAGE: usize = 256;

pub(super) fn purge(txn: &mut Txn<'_>, sched: &mut Sched, purge: Purge<'_>) -> Handled {
    if purge.before.is_none() && purge.keep_last.is_none() {
        return Err(refused(
            RejectionKind::Invalid,
            "a purge needs an age (runs ended before a time) or a count (runs kept per DAG), or both",
        ));
    }
    if purge.limit == 0 || purge.limit > MAX_PURGE_LIMIT {
        return Err(refused(
            RejectionKind::Invalid,
            format!(
                "a purge deletes between 1 and {MAX_PURGE_LIMIT} runs per command, not {}",
                purge.limit
            ),
        ));
    }
    let mut purged = Purged::default();
    match purge.dag_id {
        Some(dag_id) => {
            if txn
                .get::<DagRecord>(Cf::Dags, &keys::dag(dag_id))?
                .is_none()
            {
                return Err(refused(
                    RejectionKind::NotFound,
                    format!("no DAG `{dag_id}`"),
                ));
            }
            purge_dag(txn, sched, dag_id, &purge, &mut purged)?;
        }
        None => purge_all(txn, sched, &purge, &mut purged)?,
    }
    Ok(Reply::from(Outcome::RunsPurged {
        runs: purged.runs,
        task_instances: purged.task_instances,
        xcoms: purged.xcoms,
        more: purged.more,
        resume_at: purged.resume_at,
    }))
}

/// Every DAG in id order from `from_dag` (inclusive), a page of ids at a time
/// (the keys of the DAG family are the ids: no record is read to list them),
/// until the command's limit.
fn purge_all(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    purge: &Purge<'_>,
    purged: &mut Purged,
) -> Result<(), crate::store::StoreError> {
    let mut after: Option<Vec<u8>> = None;
    if let Some(first) = purge.from_dag {
        if txn.get_raw(Cf::Dags, &keys::dag(first))?.is_some()
            && !purge_dag(txn, sched, first, purge, purged)?
        {
            purged.resume_at = Some(first.to_string());
            return Ok(());
        }
        after = Some(keys::dag(first));
    }
    loop {
        let page = txn.scan_page(Cf::Dags, b"", after.as_deref(), DAG_PAGE)?;
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        after = Some(last.clone());
        for (key, _) in page {
            let dag_id = String::from_utf8_lossy(&key).into_owned();
            if !purge_dag(txn, sched, &dag_id, purge, purged)? {
                purged.resume_at = Some(dag_id);
                return Ok(());
            }
        }
    }
}

#[derive(Default)]
struct Purged {
    runs: usize,
    task_instances: usize,
    xcoms: usize,
    more: bool,
    resume_at: Option<String>,
}

/// Deletes what `purge` asks of one DAG's runs, oldest first; false once the
/// command's limit is reached.
fn purge_dag(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    purge: &Purge<'_>,
    purged: &mut Purged,
) -> Result<bool, crate::store::StoreError> {
    // The DAG's runs by date, oldest first; the newest `keep_last` stay.
    let by_date: Vec<(Vec<u8>, String)> =
        txn.scan(Cf::Index, &index::runs_by_date_prefix(dag_id))?;
    let keep = purge.keep_last.map_or(0, |n| n as usize);
    let candidates = by_date.len().saturating_sub(keep);
    for (_, run_id) in by_date.into_iter().take(candidates) {
        let Some(run) = load_run(txn, dag_id, &run_id)? else {
            continue;
        };
        if !expired(&run, purge.before) {
            continue;
        }
        if purged.runs == purge.limit as usize {
            purged.more = true;
            return Ok(false);
        }
        let removed = remove_run(txn, sched, &run)?;
        purged.runs += 1;
        purged.task_instances += removed.task_instances;
        purged.xcoms += removed.xcoms;
    }
    Ok(true)
}

/// Whether an ended run is old enough to go: it ended before `before` (a run
/// marked ended without an end date counts from its logical date, or when it
/// was due).
fn expired(run: &DagRunRecord, before: Option<DateTime<Utc>>) -> bool {
    if !matches!(run.state, DagRunState::Success | DagRunState::Failed) {
        return false;
    }
    before.is_none_or(|before| run.end_date.unwrap_or_else(|| run.order_date()) < before)
}
