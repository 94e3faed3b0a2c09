//! What holds for every entry: a refused command leaves the others applied,
//! time comes from the entry's stamp, and ids URLs cannot name are refused.

use chrono::Duration;
use kairos_state::{Command, RejectionKind};

use crate::common::*;
use crate::support::*;

#[test]
fn a_refused_command_in_a_batch_leaves_the_others_applied() {
    let mut store = TempStore::new();
    let results = store.apply(vec![
        put(CHAIN),
        Command::SetPaused {
            dag_id: "missing".into(),
            is_paused: false,
        },
        Command::SetPaused {
            dag_id: "etl".into(),
            is_paused: false,
        },
    ]);
    assert!(results[0].is_ok());
    assert_eq!(
        results[1].clone().unwrap_err().kind,
        RejectionKind::NotFound
    );
    assert!(results[2].is_ok());
    assert!(!store.store.dag("etl").unwrap().unwrap().is_paused);
}

#[test]
fn time_comes_from_the_entry_and_never_runs_backwards() {
    let mut store = TempStore::new();
    let later = t0() + Duration::hours(1);
    store.apply_at(later, vec![put(CHAIN)]);
    // A new leader whose clock is behind stamps an earlier time.
    store.apply_at(t0(), vec![run("etl", "r1")]);
    let run = store.store.run("etl", "r1").unwrap().unwrap();
    assert_eq!(run.created_at, later);
    assert_eq!(store.store.versions("etl").unwrap()[0].created_at, later);
}

#[test]
fn ids_of_dots_alone_are_refused_since_urls_cannot_name_them() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN)]);
    for id in [".", ".."] {
        let r = store.apply(vec![Command::manual_run("etl", id, "test")]);
        let rejection = r[0].clone().unwrap_err();
        assert_eq!(rejection.kind, kairos_state::RejectionKind::Invalid);
        assert!(rejection.message.contains("only dots"), "{rejection:?}");
    }
    let r = store.apply(vec![Command::set_pool("..", 1)]);
    assert!(r[0].is_err());
}
