//! Runs as wholes: created on schedule with or without catchup, held by
//! `max_active_runs`, marked failed or success, and deleted without a trace.

use chrono::Duration;
use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::{Command, Outcome};

use crate::common::*;
use crate::support::*;

const DAILY: &str = "
daily:
  schedule: '@daily'
  start_date: 2026-01-01
  catchup: CATCHUP
  is_paused_upon_creation: false
  tasks:
    only: {operator: bash, bash_command: 'true'}
";

#[test]
fn catchup_over_a_week_of_daily_creates_seven_runs_and_without_catchup_one() {
    for (catchup, expected) in [("true", 7), ("false", 1)] {
        let mut store = TempStore::new();
        store.apply_at(day(1), vec![put(&DAILY.replace("CATCHUP", catchup))]);
        let now = day(8) + Duration::hours(1);
        let due = store.store.due_runs(now).unwrap();
        assert_eq!(due.len(), expected, "catchup {catchup}");
        let results = store.apply_at(now, due);
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
        // Asked again at the same time, nothing more is due.
        assert!(store.store.due_runs(now).unwrap().is_empty());
        let runs = store.store.runs("daily", None, None, None).unwrap();
        assert_eq!(runs.len(), expected);
        let last = runs.iter().map(|r| r.logical_date.unwrap()).max().unwrap();
        assert_eq!(last, day(7), "the newest run covers Jan 7 to Jan 8");
    }
}

#[test]
fn max_active_runs_holds_for_creation_and_for_starting() {
    let mut store = TempStore::new();
    let yaml = DAILY
        .replace("CATCHUP", "true")
        .replace("  tasks:", "  max_active_runs: 2\n  tasks:");
    store.apply_at(day(1), vec![put(&yaml)]);
    let now = day(8) + Duration::hours(1);
    let due = store.store.due_runs(now).unwrap();
    assert_eq!(due.len(), 2, "creation stops at max_active_runs");
    store.apply_at(now, due);
    // Manual runs are created anyway, but wait queued.
    store.apply_at(now, vec![manual("daily", "m1"), manual("daily", "m2")]);
    let running = store
        .store
        .runs("daily", Some(DagRunState::Running), None, None)
        .unwrap();
    assert_eq!(running.len(), 2);
    let first = running[0].run_id.clone();
    assert_eq!(state(&store, "daily", "m1", "only"), S::None);
    run_to(&mut store, key("daily", &first, "only"), S::Success);
    let running = store
        .store
        .runs("daily", Some(DagRunState::Running), None, None)
        .unwrap();
    assert_eq!(running.len(), 2, "a finished run lets the next one start");
    assert!(running.iter().any(|r| r.run_id == "m1"));
    assert_eq!(state(&store, "daily", "m1", "only"), S::Queued);
}

#[test]
fn marking_a_run_failed_or_success_moves_its_task_instances_as_airflow_does() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN3)]);
    store.apply(vec![manual("chain3", "r1"), manual("chain3", "r2")]);
    // r1 runs `a`; r2 waits behind max_active_runs = 1.
    let attempt = dispatch(&mut store, key("chain3", "r1", "a"));
    assert_eq!(run_state(&store, "chain3", "r2"), DagRunState::Queued);

    let r = store.apply(vec![mark_run("chain3", "r1", DagRunState::Failed)]);
    assert_eq!(
        r[0],
        Ok(Outcome::RunMarked {
            dag_id: "chain3".into(),
            run_id: "r1".into(),
            state: DagRunState::Failed,
            task_instances: 3,
        })
    );
    // Running fails, not started is skipped, and the run's slot goes to r2.
    assert_eq!(state(&store, "chain3", "r1", "a"), S::Failed);
    assert_eq!(state(&store, "chain3", "r1", "b"), S::Skipped);
    assert_eq!(state(&store, "chain3", "r1", "c"), S::Skipped);
    assert_eq!(run_state(&store, "chain3", "r1"), DagRunState::Failed);
    assert_eq!(run_state(&store, "chain3", "r2"), DagRunState::Running);
    assert_eq!(state(&store, "chain3", "r2", "a"), S::Queued);
    let tries = store.store.tries(&key("chain3", "r1", "a")).unwrap();
    assert_eq!(tries.len(), 1, "the interrupted attempt is kept: {tries:?}");
    assert_eq!(tries[0].state, S::Failed);
    // The worker's late report changes nothing: the attempt was already ended.
    let late = store.apply(vec![report(
        key("chain3", "r1", "a"),
        &attempt,
        S::Success,
        None,
    )]);
    assert_eq!(late[0], Ok(Outcome::AlreadyRecorded { state: S::Failed }));
    assert_eq!(state(&store, "chain3", "r1", "a"), S::Failed);
    assert_counters_match(&store, "chain3", &["r1", "r2"]);

    // A failed run marked success: every instance becomes a success.
    let r = store.apply(vec![mark_run("chain3", "r1", DagRunState::Success)]);
    assert!(
        matches!(
            r[0],
            Ok(Outcome::RunMarked {
                task_instances: 3,
                ..
            })
        ),
        "{r:?}"
    );
    for task in ["a", "b", "c"] {
        assert_eq!(state(&store, "chain3", "r1", task), S::Success);
    }
    assert_eq!(run_state(&store, "chain3", "r1"), DagRunState::Success);

    // A running run marked success: what was queued or not started succeeds.
    store.apply(vec![mark_run("chain3", "r2", DagRunState::Success)]);
    for task in ["a", "b", "c"] {
        assert_eq!(state(&store, "chain3", "r2", task), S::Success);
    }
    assert_eq!(run_state(&store, "chain3", "r2"), DagRunState::Success);
    assert_counters_match(&store, "chain3", &["r1", "r2"]);

    let bad = store.apply(vec![
        mark_run("chain3", "r2", DagRunState::Queued),
        mark_run("chain3", "nope", DagRunState::Success),
    ]);
    let kinds: Vec<_> = bad.iter().map(|r| r.clone().unwrap_err().kind).collect();
    assert_eq!(
        kinds,
        vec![
            kairos_state::RejectionKind::Invalid,
            kairos_state::RejectionKind::NotFound
        ]
    );
}

#[test]
fn deleting_a_run_removes_everything_kept_for_it_and_frees_what_it_held() {
    let mut store = TempStore::new();
    store.apply(vec![Command::set_pool("small", 4), put(&wide(6, &[]))]);
    store.apply(vec![manual("wide", "doomed-run")]);
    store.apply(vec![manual("wide", "kept")]);
    // The doomed run holds the pool: 4 queued, then one runs, pushes an XCom and
    // another finishes with a try on record.
    assert_eq!(queued(&store, "wide", "doomed-run").len(), 4);
    assert!(queued(&store, "wide", "kept").is_empty());
    let first = queued(&store, "wide", "doomed-run")[0].clone();
    let attempt = dispatch(&mut store, key("wide", "doomed-run", &first));
    store.apply(vec![Command::PushXCom {
        ti: key("wide", "doomed-run", &first),
        key: "k".into(),
        value: serde_json::json!(1),
        attempt: attempt.clone(),
    }]);
    let second = queued(&store, "wide", "doomed-run")[0].clone();
    run_to(&mut store, key("wide", "doomed-run", &second), S::Success);
    assert!(!keys_mentioning(&store, b"doomed-run").is_empty());

    let r = store.apply(vec![Command::DeleteDagRun {
        dag_id: "wide".into(),
        run_id: "doomed-run".into(),
    }]);
    assert_eq!(
        r[0],
        Ok(Outcome::RunDeleted {
            dag_id: "wide".into(),
            run_id: "doomed-run".into(),
            task_instances: 6,
            xcoms: 1,
        })
    );
    assert!(store.store.run("wide", "doomed-run").unwrap().is_none());
    assert_eq!(
        keys_mentioning(&store, b"doomed-run"),
        Vec::<(String, String)>::new(),
        "nothing of the deleted run may remain"
    );
    // The pool slots it held go to the other run at once.
    assert_eq!(queued(&store, "wide", "kept").len(), 4);
    assert_counters_match(&store, "wide", &["kept"]);
    // Its worker's report is refused, and the same id can be used again.
    let late = store.apply(vec![report(
        key("wide", "doomed-run", &first),
        &attempt,
        S::Success,
        None,
    )]);
    assert!(late[0].is_err(), "{late:?}");
    let again = store.apply(vec![manual("wide", "doomed-run")]);
    assert!(again[0].is_ok(), "{again:?}");
    let missing = store.apply(vec![Command::DeleteDagRun {
        dag_id: "wide".into(),
        run_id: "never".into(),
    }]);
    assert_eq!(
        missing[0].clone().unwrap_err().kind,
        kairos_state::RejectionKind::NotFound
    );
}
