//! `SetClusterId`: set once, the same id again is a no-op, another is refused, and a
//! snapshot carries it to a node that installs it.

use kairos_state::{Command, RejectionKind, Store};

use crate::common::*;

fn set(id: &str) -> Command {
    Command::SetClusterId {
        cluster_id: id.into(),
    }
}

#[test]
fn a_cluster_is_named_once_and_for_life() {
    let mut store = TempStore::new();
    assert_eq!(store.store.cluster_id().unwrap(), None);
    let results = store.apply(vec![set("Not A Label"), set("c0ffee-01"), set("c0ffee-01")]);
    assert_eq!(
        results[0].as_ref().unwrap_err().kind,
        RejectionKind::Invalid
    );
    assert!(results[1].is_ok() && results[2].is_ok(), "{results:?}");
    let other = store.apply(vec![set("other-cluster")]);
    let refusal = other[0].as_ref().unwrap_err();
    assert_eq!(refusal.kind, RejectionKind::AlreadyExists);
    assert!(refusal.message.contains("c0ffee-01"), "{}", refusal.message);
    assert_eq!(
        store.store.cluster_id().unwrap().as_deref(),
        Some("c0ffee-01")
    );

    // A snapshot carries it.
    let data = store.store.export_snapshot().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let follower = Store::open(dir.path()).unwrap();
    follower.install_snapshot(&data).unwrap();
    assert_eq!(follower.cluster_id().unwrap().as_deref(), Some("c0ffee-01"));
}
