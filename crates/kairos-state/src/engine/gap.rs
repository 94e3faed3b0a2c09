//! The task-to-task gap of a dispatch: how long after its upstream tasks ended a
//! task instance was handed to a worker. Measured for metrics only; it reads the
//! few upstream instances and writes nothing.

use chrono::{DateTime, Utc};

use super::lookup::plan_of_ti;
use super::sched::Sched;
use crate::command::TaskInstanceKey;
use crate::keys::{self, Cf};
use crate::records::TaskInstanceRecord;
use crate::stats::GAP_MAX_UPSTREAM;
use crate::store::{StoreError, decode};
use crate::txn::Txn;

/// Upstream mapped tasks with more instances than this are not measured.
const MAX_INSTANCES_READ: usize = 64;

/// Records the gap between the latest end of `ti`'s direct upstream instances and
/// now (the entry's stamp), when `ti` has between 1 and [`GAP_MAX_UPSTREAM`]
/// upstream tasks.
pub(crate) fn record_dispatch_gap(
    txn: &Txn<'_>,
    sched: &mut Sched,
    ti: &TaskInstanceKey,
) -> Result<(), StoreError> {
    let Some((plan, i)) = plan_of_ti(txn, ti)? else {
        return Ok(());
    };
    let upstream = plan.upstream(i);
    if upstream.is_empty() || upstream.len() > GAP_MAX_UPSTREAM {
        return Ok(());
    }
    let mut latest: Option<DateTime<Utc>> = None;
    for &u in upstream {
        let prefix = keys::task_prefix(&ti.dag_id, &ti.run_id, &plan.task(u).task_id);
        let instances = txn.scan_page(Cf::TaskInstances, &prefix, None, MAX_INSTANCES_READ)?;
        if instances.len() == MAX_INSTANCES_READ {
            return Ok(());
        }
        for (_, raw) in instances {
            let up: TaskInstanceRecord = decode(Cf::TaskInstances, &raw)?;
            latest = latest.max(up.end_date);
        }
    }
    if let Some(end) = latest {
        let gap = (sched.stamp() - end).num_microseconds().unwrap_or(0).max(0);
        sched.stats.task_gaps.push(gap as f64 / 1e6);
    }
    Ok(())
}
