//! `Tick`: the leader's clock has passed the earliest timer, or a queueing pass
//! ran out of budget; fire what is due and finish the pass.

use super::outcome::{Handled, Reply};
use crate::command::Outcome;
use crate::engine::sched::Sched;
use crate::engine::{queueing, timers};
use crate::keys::Cf;
use crate::keys::index::QUEUE_CURSOR;
use crate::txn::Txn;

pub(super) fn tick(txn: &mut Txn<'_>, sched: &mut Sched) -> Handled {
    let fired = timers::fire_due(txn, sched)?;
    if txn.get_raw(Cf::Index, QUEUE_CURSOR)?.is_some() {
        queueing::pass(txn, sched, true)?;
    }
    Ok(Reply::from(Outcome::Ticked { timers: fired }))
}
