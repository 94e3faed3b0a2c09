//! `SetSettings`: the replicated cluster settings (parallelism, XCom size cap, ...),
//! which change what apply accepts and so cannot be per-node configuration.

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::engine::sched::Sched;
use crate::keys::{Cf, meta};
use crate::records::Settings;
use crate::txn::Txn;

pub(super) fn set(
    txn: &mut Txn<'_>,
    settings: &mut Settings,
    sched: &mut Sched,
    new: &Settings,
) -> Handled {
    if new.parallelism == 0 {
        return Err(refused(
            RejectionKind::Invalid,
            "parallelism 0 would never run a task; give it at least 1",
        ));
    }
    let raised = new.parallelism > settings.parallelism;
    *settings = new.clone();
    sched.parallelism = new.parallelism;
    if raised {
        sched.request_queue_pass();
    }
    txn.put(Cf::Meta, meta::SETTINGS.to_vec(), new);
    Ok(Reply::from(Outcome::Done))
}
