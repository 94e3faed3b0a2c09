//! `RecordLeader`: each new leader's term kept with the entry's stamp and
//! index, newest last; a term not newer than the last is refused (a deposed
//! leader's late record); only the newest 50 are kept.

use chrono::Duration;
use kairos_state::records::LEADER_CHANGES_KEPT;
use kairos_state::{Command, RejectionKind};

use crate::common::*;

fn record(term: u64, node_id: u64) -> Command {
    Command::RecordLeader { term, node_id }
}

#[test]
fn leader_changes_are_kept_in_term_order() {
    let mut store = TempStore::new();
    assert!(store.store.leader_changes().unwrap().is_empty());
    assert!(store.apply_at(t0(), vec![record(2, 1)])[0].is_ok());
    let later = t0() + Duration::seconds(90);
    let results = store.apply_at(later, vec![record(2, 3), record(1, 2), record(5, 3)]);
    for stale in &results[..2] {
        let refusal = stale.as_ref().unwrap_err();
        assert_eq!(refusal.kind, RejectionKind::AlreadyExists);
        assert!(refusal.message.contains("term 2"), "{}", refusal.message);
    }
    assert!(results[2].is_ok(), "{results:?}");
    let changes = store.store.leader_changes().unwrap();
    let seen: Vec<_> = changes
        .iter()
        .map(|c| (c.term, c.node_id, c.at, c.index))
        .collect();
    assert_eq!(seen, vec![(2, 1, t0(), 1), (5, 3, later, 2)]);
}

#[test]
fn only_the_newest_leader_changes_are_kept() {
    let mut store = TempStore::new();
    let total = LEADER_CHANGES_KEPT as u64 + 7;
    for term in 1..=total {
        assert!(store.apply(vec![record(term, term % 3 + 1)])[0].is_ok());
    }
    let changes = store.store.leader_changes().unwrap();
    assert_eq!(changes.len(), LEADER_CHANGES_KEPT);
    assert_eq!(changes.first().unwrap().term, 8);
    assert_eq!(changes.last().unwrap().term, total);
}
