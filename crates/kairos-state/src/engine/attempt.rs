//! The start of an attempt: a new try number and fencing token, and the timer that
//! fails it if nobody reports it long after its `execution_timeout`.

use kairos_dag::lifecycle::TaskInstanceState;

use super::index::{self, Timer};
use super::{Sched, plan_of_ti, ti_key, write_ti};
use crate::keys::Cf;
use crate::records::TaskInstanceRecord;
use crate::store::StoreError;
use crate::txn::Txn;

/// A new attempt: the try number goes up and apply mints the attempt's token from
/// the entry's position, unique across the cluster's history and the same on every node.
pub(crate) fn start_attempt(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    record: &mut TaskInstanceRecord,
    worker: Option<&str>,
) -> Result<(), StoreError> {
    let before = record.state;
    record.try_number += 1;
    record.attempt = Some(format!(
        "{}-{}.{}",
        record.try_number, sched.at.index, sched.at.position
    ));
    record.start_date = Some(sched.stamp());
    record.end_date = None;
    record.worker = worker.map(str::to_string);
    record.next_retry_at = None;
    record.state = TaskInstanceState::Running;
    record.updated_at = sched.stamp();
    record.reason = None;
    write_ti(txn, sched, before, record)?;
    // The leader fails the attempt if nobody reports it well after its
    // execution_timeout (the worker kills it at the timeout itself).
    let key = ti_key(record);
    let timeout = plan_of_ti(txn, &key)?.and_then(|(plan, i)| plan.task(i).execution_timeout);
    let grace = chrono::TimeDelta::seconds(EXECUTION_TIMEOUT_GRACE_SECS);
    let due = timeout.and_then(|t| {
        sched
            .stamp()
            .checked_add_signed(t.to_chrono())
            .and_then(|at| at.checked_add_signed(grace))
    });
    if let Some(at) = due {
        let timer = Timer::ExecutionTimeout {
            ti: key,
            attempt: record.attempt.clone().unwrap_or_default(),
        };
        txn.put(Cf::Index, index::timer(at, &timer), &timer);
    }
    Ok(())
}

/// How long after `execution_timeout` the leader waits for the worker's own report
/// (the worker kills the attempt at the timeout) before failing the attempt itself.
pub const EXECUTION_TIMEOUT_GRACE_SECS: i64 = 30;
