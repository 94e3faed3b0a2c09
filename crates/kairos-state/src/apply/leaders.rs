//! `RecordLeader`: a new leader says it leads, so that every node can show the
//! same recent leader changes (term, node, when, at which index) without
//! anyone keeping a history outside the log.

use super::outcome::{Handled, Reply, refused};
use crate::command::{Outcome, RejectionKind};
use crate::engine::sched::Sched;
use crate::keys::{Cf, meta};
use crate::records::{LEADER_CHANGES_KEPT, LeaderChange};
use crate::txn::Txn;

pub(super) fn record(txn: &mut Txn<'_>, sched: &Sched, term: u64, node_id: u64) -> Handled {
    let mut changes: Vec<LeaderChange> =
        txn.get(Cf::Meta, meta::LEADER_CHANGES)?.unwrap_or_default();
    if let Some(last) = changes.last()
        && last.term >= term
    {
        return Err(refused(
            RejectionKind::AlreadyExists,
            format!(
                "term {term} is not newer than the last recorded leader's (node {} in term {})",
                last.node_id, last.term
            ),
        ));
    }
    changes.push(LeaderChange {
        term,
        node_id,
        at: sched.stamp(),
        index: sched.index(),
    });
    if changes.len() > LEADER_CHANGES_KEPT {
        changes.drain(..changes.len() - LEADER_CHANGES_KEPT);
    }
    txn.put(Cf::Meta, meta::LEADER_CHANGES.to_vec(), &changes);
    Ok(Reply::from(Outcome::Done))
}
