//! The queueing pass: `scheduled` instances become `queued` in priority order while
//! their pool, their DAG's `max_active_tasks`, their task's `max_active_tis_per_dag`
//! and `max_active_tis_per_dagrun`, and the cluster's `parallelism` have room.
//!
//! The same pass runs inside apply after anything frees capacity or makes instances
//! ready (fast-follow) and when the leader asks for it, so a chain's next task never
//! jumps ahead of a higher-priority instance of another DAG that was waiting for the
//! same slot.

use std::collections::HashSet;

use kairos_dag::lifecycle::{Actor, TaskInstanceState as S};

use super::counters;
use super::lookup::load_ti;
use super::sched::Sched;
use super::write::set_state;
use crate::keys::index::{QUEUE_CURSOR, SCHEDULED, counter};
use crate::keys::{self, Cf};
use crate::records::{Candidate, DEFAULT_POOL, PoolRecord};
use crate::store::{StoreError, decode};
use crate::txn::Txn;

/// How many waiting instances one pass looks at. A pass that stops here leaves a
/// cursor; the leader's next tick continues from it, so a long queue is walked in
/// bounded steps and every instance is looked at.
pub const PASS_BUDGET: usize = 4096;

/// A pool by name; the default pool exists even before anyone sets it.
pub(crate) fn pool(txn: &Txn<'_>, name: &str) -> Result<Option<PoolRecord>, StoreError> {
    match txn.get::<PoolRecord>(Cf::Pools, &keys::pool(name))? {
        Some(pool) => Ok(Some(pool)),
        None if name == DEFAULT_POOL => Ok(Some(PoolRecord::default_pool())),
        None => Ok(None),
    }
}

/// Why a candidate cannot be queued now.
pub(crate) enum Blocked {
    /// The whole cluster is at `parallelism`: nothing else can be queued.
    Parallelism(String),
    /// The pool has no free slot at all: no other candidate of it fits either.
    PoolFull(String),
    Other(String),
}

impl Blocked {
    pub fn message(&self) -> &str {
        match self {
            Blocked::Parallelism(m) | Blocked::PoolFull(m) | Blocked::Other(m) => m,
        }
    }
}

/// Why a candidate cannot be queued now, if it cannot.
pub(crate) fn blocked_by(
    txn: &Txn<'_>,
    c: &Candidate,
    parallelism: u32,
) -> Result<Option<Blocked>, StoreError> {
    let global = counters::count(txn, &counter::global())?;
    if global >= i64::from(parallelism) {
        return Ok(Some(Blocked::Parallelism(format!(
            "the cluster runs {global} task instances, its parallelism is {parallelism}"
        ))));
    }
    let Some(pool) = pool(txn, &c.pool)? else {
        return Ok(Some(Blocked::PoolFull(format!(
            "pool `{}` does not exist; create it or change the task's pool",
            c.pool
        ))));
    };
    if let Some(owner) = &pool.team {
        let team = txn
            .get::<crate::records::DagRecord>(Cf::Dags, &keys::dag(&c.ti.dag_id))?
            .and_then(|d| d.team);
        if team.as_ref() != Some(owner) {
            return Ok(Some(Blocked::Other(format!(
                "pool `{}` belongs to team `{owner}`; DAG `{}` ({}) may not use it: \
                 give the task a pool of its own team or a cluster-wide one",
                c.pool,
                c.ti.dag_id,
                team.map_or("no team".to_string(), |t| format!("team `{t}`"))
            ))));
        }
    }
    let used = counters::count(txn, &counter::pool(&c.pool))?;
    if used + i64::from(c.pool_slots) > i64::from(pool.slots) {
        let message = format!(
            "pool `{}` has {} of {} slots in use; the task needs {}",
            c.pool, used, pool.slots, c.pool_slots
        );
        return Ok(Some(if used >= i64::from(pool.slots) {
            Blocked::PoolFull(message)
        } else {
            Blocked::Other(message)
        }));
    }
    let dag_active = counters::count(txn, &counter::dag(&c.ti.dag_id))?;
    if dag_active >= i64::from(c.max_active_tasks) {
        return Ok(Some(Blocked::Other(format!(
            "DAG `{}` has {dag_active} task instances queued or running, its max_active_tasks is {}",
            c.ti.dag_id, c.max_active_tasks
        ))));
    }
    if let Some(limit) = c.max_active_tis_per_dag {
        let n = counters::count(txn, &counter::task(&c.ti.dag_id, &c.ti.task_id))?;
        if n >= i64::from(limit) {
            return Ok(Some(Blocked::Other(format!(
                "task `{}` has {n} instances queued or running, its max_active_tis_per_dag is {limit}",
                c.ti.task_id
            ))));
        }
    }
    if let Some(limit) = c.max_active_tis_per_dagrun {
        let n = counters::count(
            txn,
            &counter::run_task(&c.ti.dag_id, &c.ti.run_id, &c.ti.task_id),
        )?;
        if n >= i64::from(limit) {
            return Ok(Some(Blocked::Other(format!(
                "task `{}` has {n} instances queued or running in this run, its max_active_tis_per_dagrun is {limit}",
                c.ti.task_id
            ))));
        }
    }
    Ok(None)
}

/// Queues what fits, highest priority first. `from_cursor` continues where an
/// earlier pass ran out of budget.
pub(crate) fn pass(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    from_cursor: bool,
) -> Result<(), StoreError> {
    let mut after: Option<Vec<u8>> = if from_cursor {
        txn.get_raw(Cf::Index, QUEUE_CURSOR)?
    } else {
        None
    };
    let parallelism = i64::from(sched.parallelism);
    let mut examined = 0usize;
    // Pools found full in this pass: later candidates of the same pool are skipped
    // without further reads (nothing in a pass frees slots).
    let mut full: HashSet<String> = HashSet::new();
    loop {
        if counters::count(txn, &counter::global())? >= parallelism {
            txn.delete(Cf::Index, QUEUE_CURSOR.to_vec());
            return Ok(());
        }
        let page = txn.scan_index_page(SCHEDULED, after.as_deref(), 256)?;
        if page.is_empty() {
            txn.delete(Cf::Index, QUEUE_CURSOR.to_vec());
            return Ok(());
        }
        for (key, value) in page {
            examined += 1;
            if examined > PASS_BUDGET {
                // Continue after the last key looked at, so this one is not missed.
                if let Some(last) = after {
                    txn.put_raw(Cf::Index, QUEUE_CURSOR.to_vec(), last);
                }
                return Ok(());
            }
            after = Some(key.clone());
            let c: Candidate = decode(Cf::Index, &value)?;
            if full.contains(&c.pool) {
                continue;
            }
            match blocked_by(txn, &c, sched.parallelism)? {
                None => {}
                Some(Blocked::PoolFull(_)) => {
                    full.insert(c.pool.clone());
                    continue;
                }
                Some(Blocked::Parallelism(_)) => {
                    txn.delete(Cf::Index, QUEUE_CURSOR.to_vec());
                    return Ok(());
                }
                Some(Blocked::Other(_)) => continue,
            }
            let Some(mut ti) = load_ti(txn, &c.ti)? else {
                txn.delete(Cf::Index, key);
                continue;
            };
            if ti.state != S::Scheduled {
                txn.delete(Cf::Index, key);
                continue;
            }
            set_state(txn, sched, &mut ti, S::Queued, Actor::Scheduler, None)?;
        }
    }
}
