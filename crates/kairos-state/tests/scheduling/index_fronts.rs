//! Reads that start past the tombstones at the front of an index (the queued
//! list, the queueing pass, the timers) must still miss nothing.

use chrono::{DateTime, Duration, Utc};
use kairos_dag::lifecycle::TaskInstanceState as S;
use kairos_state::{Command, TaskInstanceKey};

use crate::common::*;
use crate::support::*;

/// A store with pool `small` of `slots`, DAG `wide` (10 tasks of weight 1) and
/// DAG `heavy` (3 tasks of weight 50), both in that pool.
fn wide_and_heavy(slots: u32) -> TempStore {
    let mut store = TempStore::new();
    let heavy = wide(3, &[50, 50, 50]).replacen("wide:", "heavy:", 1);
    store.apply(vec![
        Command::set_pool("small", slots),
        put(&wide(10, &[])),
        put(&heavy),
    ]);
    store
}

/// The queued list a worker's poll reads starts where the live keys begin (past
/// the tombstones of dispatched ones); it must list exactly what a scan from the
/// start of the index lists, when the front is taken, when work of a higher
/// priority (keys below the front) arrives, and when the queue empties and fills.
#[test]
fn the_queued_list_skips_dispatched_keys_yet_misses_nothing() {
    use kairos_state::keys::Cf;
    use kairos_state::keys::index;
    let mut store = wide_and_heavy(1000);
    let full_scan = |store: &TempStore| -> Vec<TaskInstanceKey> {
        store
            .store
            .scan::<TaskInstanceKey>(Cf::Index, &index::queued_prefix("default"), None, 1000)
            .unwrap()
            .into_iter()
            .map(|(_, ti)| ti)
            .collect()
    };
    let same = |store: &TempStore| {
        let hinted = store.store.queued("default", 1000).unwrap();
        assert_eq!(hinted, full_scan(store));
        hinted
    };
    store.apply(vec![manual("wide", "r1")]);
    assert_eq!(same(&store).len(), 10);
    // Take the front five, one poll at a time.
    for _ in 0..5 {
        let first = store.store.queued("default", 2).unwrap()[0].clone();
        dispatch(&mut store, first);
    }
    assert_eq!(same(&store).len(), 5);
    // Higher priority sorts before the front: still seen, and first.
    store.apply(vec![manual("heavy", "h1")]);
    let listed = same(&store);
    assert_eq!(listed.len(), 8);
    assert!(
        listed[..3].iter().all(|t| t.dag_id == "heavy"),
        "{listed:?}"
    );
    // Empty, then filled again.
    for ti in listed {
        dispatch(&mut store, ti);
    }
    assert!(same(&store).is_empty());
    store.apply(vec![manual("wide", "r2")]);
    // Six: the DAG's max_active_tasks (16) with r1's ten still running.
    assert_eq!(same(&store).len(), 6);
}

/// The queueing pass reads the scheduled index from where its live keys begin
/// (past the tombstones of instances it queued before). Work of a higher priority
/// sorts below that point and must still be queued first; the order must be what a
/// plain priority queue gives.
#[test]
fn the_queueing_pass_skips_queued_keys_yet_misses_higher_priority_work() {
    let mut store = wide_and_heavy(1);
    store.apply(vec![manual("wide", "r1")]);
    let mut order = Vec::new();
    let mut next_in_line = |store: &mut TempStore| {
        let q = queued(store, "wide", "r1");
        let (dag, run, task) = match q.first() {
            Some(task) => ("wide", "r1", task.clone()),
            None => ("heavy", "h1", queued(store, "heavy", "h1").first()?.clone()),
        };
        order.push(format!("{dag}.{task}"));
        run_to(store, key(dag, run, &task), S::Success);
        Some(())
    };
    // Five go; the front of the scheduled index is now five tombstones deep.
    for _ in 0..5 {
        next_in_line(&mut store).expect("a queued task");
    }
    // t05 holds the pool's one slot; the heavy run's instances sort first.
    store.apply(vec![manual("heavy", "h1")]);
    assert_eq!(queued(&store, "wide", "r1"), ["t05"]);
    while next_in_line(&mut store).is_some() {}
    assert_eq!(
        order,
        [
            "wide.t00",
            "wide.t01",
            "wide.t02",
            "wide.t03",
            "wide.t04",
            "wide.t05",
            "heavy.t00",
            "heavy.t01",
            "heavy.t02",
            "wide.t06",
            "wide.t07",
            "wide.t08",
            "wide.t09",
        ]
    );
}

/// Timers fire from the front of their index, which the next timer read skips
/// to; a timer set later but due earlier sorts below that point and must still be
/// the next one, and fire first.
#[test]
fn an_earlier_timer_set_after_others_fired_is_still_next() {
    let mut store = TempStore::new();
    let yaml = |dag: &str, delay: u32| {
        CHAIN.replace(
            "etl:\n",
            &format!(
                "{dag}:\n  is_paused_upon_creation: false\n  default_args: {{retries: 3, retry_delay: {delay}}}\n"
            ),
        )
    };
    store.apply_at(
        day(1),
        vec![
            put(&yaml("slow", 600)),
            put(&yaml("fast", 60)),
            manual("slow", "r1"),
        ],
    );
    let fail = |store: &mut TempStore, dag: &str, at: DateTime<Utc>| {
        let ti = key(dag, "r1", "extract");
        let attempt = dispatch(store, ti.clone());
        store.apply_at(at, vec![report(ti, &attempt, S::Failed, None)]);
    };
    // Two retries of `slow` come due and fire: their timers are gone.
    let mut now = day(1);
    for _ in 0..2 {
        fail(&mut store, "slow", now);
        now += Duration::seconds(600);
        assert_eq!(store.store.next_timer().unwrap(), Some(now));
        store.apply_at(now, vec![Command::Tick]);
        assert_eq!(state(&store, "slow", "r1", "extract"), S::Queued);
    }
    // The third retry is due in ten minutes; `fast` fails later, due in one.
    fail(&mut store, "slow", now);
    assert_eq!(
        store.store.next_timer().unwrap(),
        Some(now + Duration::seconds(600))
    );
    store.apply_at(now, vec![manual("fast", "r1")]);
    fail(&mut store, "fast", now + Duration::seconds(5));
    let fast_due = now + Duration::seconds(65);
    assert_eq!(store.store.next_timer().unwrap(), Some(fast_due));
    store.apply_at(fast_due, vec![Command::Tick]);
    assert_eq!(state(&store, "fast", "r1", "extract"), S::Queued);
    assert_eq!(state(&store, "slow", "r1", "extract"), S::UpForRetry);
    assert_eq!(
        store.store.next_timer().unwrap(),
        Some(now + Duration::seconds(600))
    );
}
