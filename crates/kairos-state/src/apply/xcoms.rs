//! `PushXCom`: an XCom pushed by a running attempt (its token checked).

use kairos_dag::identity::TaskInstanceKey;
use kairos_dag::lifecycle::TaskInstanceState;

use super::outcome::{Handled, Reply, refused};
use super::task_instances::current_attempt;
use crate::command::{Outcome, RejectionKind};
use crate::engine::sched::Sched;
use crate::engine::xcom::put_xcom;
use crate::records::Settings;
use crate::txn::Txn;

pub(super) fn push(
    txn: &mut Txn<'_>,
    sched: &Sched,
    settings: &Settings,
    ti: &TaskInstanceKey,
    key: &str,
    value: &serde_json::Value,
    attempt: &str,
) -> Handled {
    let record = current_attempt(txn, ti, Some(attempt))?;
    if record.state != TaskInstanceState::Running {
        return Err(refused(
            RejectionKind::StaleAttempt,
            format!(
                "task instance {ti} is {}, not running: its attempt can no longer push XComs",
                record.state
            ),
        ));
    }
    let bytes = put_xcom(txn, ti, key, value, settings.xcom_max_bytes, sched.stamp())?;
    Ok(Reply::from(Outcome::XCom { bytes }))
}
