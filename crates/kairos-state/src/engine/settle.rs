//! Carries out everything a command's changes imply, in a fixed order, until nothing
//! is left: fast-follow of finished instances, evaluation of pending tasks, runs
//! that can finish or reopen, queued runs that may start, and one queueing pass.

use super::sched::Sched;
use super::{queueing, readiness, runs};
use crate::store::StoreError;
use crate::txn::Txn;

/// Runs once per accepted command, after its handler.
pub(crate) fn settle(txn: &mut Txn<'_>, sched: &mut Sched) -> Result<(), StoreError> {
    loop {
        let finished = sched.take_finished();
        if !finished.is_empty() {
            for ti in finished {
                readiness::after_finish(txn, sched, &ti)?;
            }
            continue;
        }
        if let Some((dag_id, run_id)) = sched.next_pending_run() {
            readiness::evaluate_run(txn, sched, &dag_id, &run_id)?;
            continue;
        }
        if let Some((dag_id, run_id)) = sched.pop_touched() {
            runs::complete_or_reopen(txn, sched, &dag_id, &run_id)?;
            continue;
        }
        if let Some((dag_id, group)) = sched.pop_start() {
            runs::start_queued_runs(txn, sched, &dag_id, &group)?;
            continue;
        }
        if sched.take_queue_pass() {
            queueing::pass(txn, sched, false)?;
            continue;
        }
        return Ok(());
    }
}
