//! Commands about a DAG's own callbacks: a worker's take and its report.

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::engine::dag_callbacks;
use crate::engine::finish::log_tail as bounded_tail;
use crate::engine::sched::Sched;
use crate::txn::Txn;

pub(super) fn take(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    run_id: &str,
    worker: &str,
    token: &str,
) -> Handled {
    match dag_callbacks::take(txn, dag_id, run_id, worker, token, sched.stamp())? {
        Some(callback) => Ok(Reply::from(Outcome::DagCallback { callback })),
        None => Err(refused(
            RejectionKind::IllegalTransition,
            format!("the DAG callbacks of run {dag_id}/{run_id} are not waiting for a worker"),
        )),
    }
}

pub(super) fn finish(
    txn: &mut Txn<'_>,
    sched: &mut Sched,
    dag_id: &str,
    run_id: &str,
    token: &str,
    success: bool,
    log_tail: &str,
) -> Handled {
    let tail = bounded_tail(log_tail);
    match dag_callbacks::finish(txn, dag_id, run_id, token, success, &tail, sched.stamp())? {
        Some(callback) => Ok(Reply::from(Outcome::DagCallback { callback })),
        None => Err(refused(
            RejectionKind::StaleAttempt,
            format!(
                "no DAG callbacks of run {dag_id}/{run_id} are running under this token (the run ended again since, or was deleted)"
            ),
        )),
    }
}
