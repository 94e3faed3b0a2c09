//! What a command handler answers: an outcome at once, or a task instance whose
//! state is read after everything the command implied has settled; or a refusal
//! (the command changes nothing), or a store error (the entry stops).

use kairos_dag::identity::TaskInstanceKey;

use crate::command::{Outcome, Rejection, RejectionKind};
use crate::engine::lookup::{load_run, load_ti};
use crate::store::StoreError;
use crate::txn::Txn;
use kairos_dag::lifecycle::DagRunState;

/// A handler's answer, before the command settles.
pub(crate) enum Reply {
    Now(Outcome),
    /// The instance's state, try and attempt, and its run's state, after settling.
    TaskState(TaskInstanceKey),
}

impl From<Outcome> for Reply {
    fn from(outcome: Outcome) -> Reply {
        Reply::Now(outcome)
    }
}

/// Why a handler stopped.
pub(crate) enum ApplyError {
    /// The command is refused: its writes are rolled back, the entry goes on.
    Refused(Rejection),
    /// The store failed: the whole entry stops (and the node with it).
    Store(StoreError),
}

impl From<Rejection> for ApplyError {
    fn from(rejection: Rejection) -> ApplyError {
        ApplyError::Refused(rejection)
    }
}

impl From<StoreError> for ApplyError {
    fn from(error: StoreError) -> ApplyError {
        ApplyError::Store(error)
    }
}

pub(crate) type Handled = Result<Reply, ApplyError>;

/// A refusal, for `return Err(refused(...))`.
pub(crate) fn refused(kind: RejectionKind, message: impl Into<String>) -> ApplyError {
    ApplyError::Refused(Rejection::new(kind, message))
}

/// The outcome a reply stands for, read after the command settled.
pub(crate) fn resolve(
    txn: &Txn<'_>,
    reply: Reply,
) -> Result<Result<Outcome, Rejection>, StoreError> {
    let ti = match reply {
        Reply::Now(outcome) => return Ok(Ok(outcome)),
        Reply::TaskState(ti) => ti,
    };
    let Some(record) = load_ti(txn, &ti)? else {
        return Ok(Err(Rejection::new(
            RejectionKind::NotFound,
            format!("no task instance {ti}"),
        )));
    };
    let run_state = load_run(txn, &ti.dag_id, &ti.run_id)?.map_or(DagRunState::Failed, |r| r.state);
    Ok(Ok(Outcome::TaskState {
        state: record.state,
        try_number: record.try_number,
        attempt: record.attempt,
        run_state,
    }))
}
