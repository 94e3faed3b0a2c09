//! Same log, same state: random command sequences applied to fresh stores, in
//! different groupings, and through a snapshot, always give the same digest.

mod common;

use chrono::Duration;
use common::*;
use kairos_dag::lifecycle::{Actor, RunType, TaskInstanceState as S};
use kairos_state::records::Settings;
use kairos_state::{Batch, Command, EntryToApply, TaskInstanceKey};
use proptest::prelude::*;
use serde_json::json;

const TASKS: [&str; 3] = ["extract", "transform", "load"];
const STATES: [S; 8] = [
    S::None,
    S::Scheduled,
    S::Queued,
    S::Running,
    S::Success,
    S::Failed,
    S::UpForRetry,
    S::Skipped,
];
const ACTORS: [Actor; 6] = [
    Actor::Scheduler,
    Actor::Worker,
    Actor::LeaseExpiry,
    Actor::RunEnd,
    Actor::Mark,
    Actor::Clear,
];

fn ti(run: u8, task: usize) -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id: "etl".into(),
        run_id: format!("r{run}"),
        task_id: TASKS[task].into(),
        map_index: -1,
    }
}

/// Attempt tokens look like `try-index.position`; a small space makes real ones likely.
fn token() -> impl Strategy<Value = String> {
    (1u32..3, 1u64..12, 0usize..4).prop_map(|(t, i, p)| format!("{t}-{i}.{p}"))
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (0u8..3).prop_map(|v| put(&CHAIN.replace("echo load", &format!("echo load {v}")))),
        any::<bool>().prop_map(|p| Command::SetPaused {
            dag_id: "etl".into(),
            is_paused: p
        }),
        (0u8..4, proptest::option::of(1u32..4)).prop_map(|(r, version)| Command::CreateDagRun {
            dag_id: "etl".into(),
            run_id: format!("r{r}"),
            run_type: RunType::Manual,
            version,
            logical_date: None,
            data_interval_start: None,
            data_interval_end: None,
            run_after: None,
            conf: Default::default(),
            triggered_by: "proptest".into(),
        }),
        (
            0u8..4,
            0usize..3,
            0usize..8,
            0usize..6,
            proptest::option::of(token())
        )
            .prop_map(|(r, t, s, a, attempt)| Command::SetTaskState {
                ti: ti(r, t),
                to: STATES[s],
                actor: ACTORS[a],
                attempt,
                reason: None,
            }),
        (0u8..4, 0usize..3, token(), 0usize..200).prop_map(|(r, t, attempt, n)| {
            Command::PushXCom {
                ti: ti(r, t),
                key: "return_value".into(),
                value: json!("v".repeat(n)),
                attempt,
            }
        }),
        (0u8..4, proptest::collection::vec(0usize..3, 0..3)).prop_map(|(r, ts)| {
            Command::ClearTaskInstances {
                dag_id: "etl".into(),
                run_id: format!("r{r}"),
                task_ids: ts.into_iter().map(|t| TASKS[t].to_string()).collect(),
            }
        }),
        (0u8..3, 0u32..10).prop_map(|(p, slots)| Command::set_pool(format!("p{p}"), slots)),
        (0u8..3).prop_map(|p| Command::DeletePool {
            name: format!("p{p}")
        }),
        (
            proptest::option::of(-5i64..60),
            proptest::option::of(0u32..3),
            1u32..4
        )
            .prop_map(|(minutes, keep_last, limit)| Command::PurgeRuns {
                dag_id: None,
                before: minutes
                    .map(|m| t0() + Duration::minutes(m))
                    .or(keep_last.is_none().then(t0)),
                keep_last,
                limit,
                from_dag: None,
            }),
        (50u64..300).prop_map(|cap| Command::SetSettings {
            settings: Settings {
                xcom_max_bytes: cap,
                ..Settings::default()
            },
        }),
    ]
}

/// A log: entries of 1 to 4 commands, with stamps that sometimes go backwards.
fn log() -> impl Strategy<Value = Vec<Batch>> {
    proptest::collection::vec(
        (proptest::collection::vec(command(), 1..5), -5i64..60).prop_map(|(commands, minutes)| {
            Batch {
                stamp: t0() + Duration::minutes(minutes),
                commands,
            }
        }),
        1..40,
    )
}

fn entries(log: &[Batch]) -> Vec<EntryToApply<'_>> {
    log.iter()
        .enumerate()
        .map(|(i, batch)| EntryToApply {
            index: i as u64 + 1,
            batch: Some(batch),
            raft_meta: vec![("last_applied".into(), format!("{}", i + 1).into_bytes())],
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn same_log_same_state(log in log(), split in 0usize..40) {
        let entries = entries(&log);
        // Node A applies entry by entry; node B in two groups, as Raft may hand them over.
        let a = TempStore::new();
        let mut results_a = Vec::new();
        for entry in &entries {
            results_a.extend(a.store.apply(std::slice::from_ref(entry)).unwrap());
        }
        let b = TempStore::new();
        let split = split.min(entries.len());
        let mut results_b = b.store.apply(&entries[..split]).unwrap();
        results_b.extend(b.store.apply(&entries[split..]).unwrap());
        prop_assert_eq!(&results_a, &results_b);
        let digest = a.store.digest().unwrap();
        prop_assert_eq!(&digest, &b.store.digest().unwrap());

        // A third node gets A's state as a snapshot, over some state of its own.
        let c = TempStore::new();
        c.store.apply(&entries[..split]).unwrap();
        c.store.install_snapshot(&a.store.export_snapshot().unwrap()).unwrap();
        prop_assert_eq!(&digest, &c.store.digest().unwrap());
        prop_assert_eq!(a.store.applied_index().unwrap(), c.store.applied_index().unwrap());
    }
}

/// An entry as a node receives it after `hops` trips through JSON (the leader reads
/// its own log once; a follower's copy went through the leader's log, the network and
/// its own log).
fn through_the_wire(batch: &Batch, hops: usize) -> Batch {
    let mut batch = batch.clone();
    for _ in 0..hops {
        let json = serde_json::to_vec(&batch).unwrap();
        batch = serde_json::from_slice(&json).unwrap();
    }
    batch
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Floats in conf and XComs come out the same however many times they crossed the wire.
    #[test]
    fn floats_are_the_same_on_every_node(values in proptest::collection::vec(any::<f64>().prop_filter("finite", |f| f.is_finite()), 1..20)) {
        let conf: std::collections::BTreeMap<String, serde_json::Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("k{i}"), json!(v)))
            .collect();
        let batch = Batch {
            stamp: t0(),
            commands: vec![
                put(CHAIN),
                Command::CreateDagRun {
                    dag_id: "etl".into(),
                    run_id: "floats".into(),
                    run_type: RunType::Manual,
                    version: None,
                    logical_date: None,
                    data_interval_start: None,
                    data_interval_end: None,
                    run_after: None,
                    conf,
                    triggered_by: "proptest".into(),
                },
            ],
        };
        let mut digests = Vec::new();
        for hops in [1, 3] {
            let store = TempStore::new();
            let received = through_the_wire(&batch, hops);
            store.store.apply(&[EntryToApply { index: 1, batch: Some(&received), raft_meta: vec![] }]).unwrap();
            digests.push(store.store.digest().unwrap());
        }
        prop_assert_eq!(&digests[0], &digests[1]);
    }
}

#[test]
fn a_damaged_snapshot_is_refused_and_changes_nothing() {
    let mut source = TempStore::new();
    source.apply(vec![put(CHAIN)]);
    let mut data = source.store.export_snapshot().unwrap();
    let target = TempStore::new();
    let before = target.store.digest().unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0x55;
    let err = target.store.install_snapshot(&data).unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
    assert!(target.store.install_snapshot(b"not a snapshot").is_err());
    assert_eq!(target.store.digest().unwrap(), before);
}

#[test]
fn the_digest_sees_every_change() {
    let mut store = TempStore::new();
    let empty = store.store.digest().unwrap();
    store.apply(vec![put(CHAIN)]);
    let one = store.store.digest().unwrap();
    store.apply(vec![Command::SetPaused {
        dag_id: "etl".into(),
        is_paused: false,
    }]);
    let two = store.store.digest().unwrap();
    assert_ne!(empty, one);
    assert_ne!(one, two);
}
