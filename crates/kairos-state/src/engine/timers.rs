//! Timers that came due: retry and reschedule times, server-side sensor waits and
//! their timeouts, execution timeouts of attempts nobody reported, run timeouts.
//! The leader proposes a `Tick` when the earliest timer's time has passed; apply
//! fires every timer due at the entry's stamp.

use kairos_dag::lifecycle::{Actor, TaskInstanceState as S};

use super::attempt::fail_attempt;
use super::lookup::{load_ti, plan_of_ti};
use super::runs;
use super::sched::Sched;
use super::write::set_state;
use crate::keys::Cf;
use crate::keys::index::{self, TIMERS};
use crate::records::Timer;
use crate::store::{StoreError, decode};
use crate::txn::Txn;

/// At most this many timers fire per entry; the rest fire on the next tick.
const FIRE_BUDGET: usize = 4096;

pub(crate) fn fire_due(txn: &mut Txn<'_>, sched: &mut Sched) -> Result<usize, StoreError> {
    let mut fired = 0;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = txn.scan_index_page(TIMERS, after.as_deref(), 256)?;
        if page.is_empty() {
            return Ok(fired);
        }
        for (key, value) in page {
            let due = index::timer_due(&key);
            if due.is_none_or(|t| t > sched.stamp()) || fired >= FIRE_BUDGET {
                return Ok(fired);
            }
            after = Some(key.clone());
            txn.delete(Cf::Index, key);
            fired += 1;
            let timer: Timer = decode(Cf::Index, &value)?;
            fire(txn, sched, timer)?;
        }
    }
}

fn fire(txn: &mut Txn<'_>, sched: &mut Sched, timer: Timer) -> Result<(), StoreError> {
    match timer {
        Timer::Ready { ti } => {
            let Some(record) = load_ti(txn, &ti)? else {
                return Ok(());
            };
            if !matches!(record.state, S::UpForRetry | S::UpForReschedule) {
                return Ok(());
            }
            if let Some((plan, i)) = plan_of_ti(txn, &ti)? {
                sched.evaluate(&plan, &ti.dag_id, &ti.run_id, i);
            }
        }
        Timer::SensorDue { ti } => {
            if let Some(mut record) = load_ti(txn, &ti)? {
                if record.state == S::Deferred {
                    set_state(txn, sched, &mut record, S::Success, Actor::Scheduler, None)?;
                    if let Some((plan, i)) = plan_of_ti(txn, &ti)? {
                        super::assets::task_succeeded(
                            txn,
                            sched,
                            &record,
                            &plan.task(i).outlets,
                            &[],
                        )?;
                    }
                }
            }
        }
        Timer::SensorTimeout { ti } => {
            let Some(mut record) = load_ti(txn, &ti)? else {
                return Ok(());
            };
            if record.state != S::Deferred {
                return Ok(());
            }
            let soft_fail = plan_of_ti(txn, &ti)?
                .and_then(|(plan, i)| {
                    plan.task(i)
                        .plain_operator()
                        .and_then(|o| o.sensor())
                        .map(|s| s.soft_fail)
                })
                .unwrap_or(false);
            let to = if soft_fail { S::Skipped } else { S::Failed };
            set_state(
                txn,
                sched,
                &mut record,
                to,
                Actor::Scheduler,
                Some("the sensor timed out".to_string()),
            )?;
        }
        Timer::ExecutionTimeout { ti, attempt } => {
            let Some(record) = load_ti(txn, &ti)? else {
                return Ok(());
            };
            if record.attempt.as_deref() == Some(attempt.as_str())
                && matches!(record.state, S::Running | S::Restarting)
            {
                fail_attempt(
                    txn,
                    sched,
                    record,
                    Actor::LeaseExpiry,
                    "execution_timeout passed and the worker did not report the attempt"
                        .to_string(),
                )?;
            }
        }
        Timer::RunTimeout { dag_id, run_id } => runs::time_out(txn, sched, &dag_id, &run_id)?,
    }
    Ok(())
}
