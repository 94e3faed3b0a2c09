//! Retention (`PurgeRuns`): ended runs older than a cutoff and beyond each DAG's
//! newest N go, with everything derived from them, a bounded number per command;
//! queued and running runs stay; bad requests are refused and change nothing.

use kairos_dag::lifecycle::DagRunState;
use kairos_state::{Command, Outcome, RejectionKind};

use crate::common::*;
use crate::support::*;

const DAG: &str = "
DAG_ID:
  is_paused_upon_creation: false
  max_active_runs: 16
  tasks:
    first: {operator: bash, bash_command: 'true'}
    second: {operator: bash, bash_command: 'true', dependencies: [first]}
";

fn purge(before: Option<u32>, keep_last: Option<u32>, dag: Option<&str>, limit: u32) -> Command {
    Command::PurgeRuns {
        dag_id: dag.map(str::to_string),
        before: before.map(day),
        keep_last,
        limit,
        from_dag: None,
    }
}

/// A purge of all DAGs that starts at `from` (where the one before stopped).
fn purge_from(before: u32, from: &str, limit: u32) -> Command {
    Command::PurgeRuns {
        dag_id: None,
        before: Some(day(before)),
        keep_last: None,
        limit,
        from_dag: Some(from.to_string()),
    }
}

fn purged(runs: usize, task_instances: usize, more: bool) -> Outcome {
    Outcome::RunsPurged {
        runs,
        task_instances,
        xcoms: 0,
        more,
        resume_at: None,
    }
}

/// A purge of all DAGs stopped at its limit, in DAG `at`.
fn stopped(runs: usize, task_instances: usize, at: &str) -> Outcome {
    Outcome::RunsPurged {
        runs,
        task_instances,
        xcoms: 0,
        more: true,
        resume_at: Some(at.to_string()),
    }
}

/// The counters of one DAG (its runs' unfinished instances, its executing
/// ones) equal what its task instances say: a purge gives back exactly what
/// the runs it deleted held. (`assert_counters_match` checks pools and the
/// cluster's total, which two DAGs share here.)
fn assert_dag_counters(store: &TempStore, dag: &str, runs: &[&str]) {
    use kairos_state::keys::Cf;
    use kairos_state::keys::index::counter;
    let get = |key: Vec<u8>| {
        store
            .store
            .get::<i64>(Cf::Index, &key)
            .unwrap()
            .unwrap_or(0)
    };
    let mut executing = 0;
    for run in runs {
        let tis = store.store.task_instances(dag, run).unwrap();
        let unfinished = tis.iter().filter(|t| !t.state.is_finished()).count() as i64;
        assert_eq!(
            get(counter::unfinished(dag, run)),
            unfinished,
            "unfinished in {run}"
        );
        executing += tis.iter().filter(|t| t.state.is_executing()).count() as i64;
    }
    assert_eq!(
        get(counter::dag(dag)),
        executing,
        "active instances of {dag}"
    );
}

fn run_ids(store: &TempStore, dag: &str) -> Vec<String> {
    let mut ids: Vec<String> = store
        .store
        .runs(dag, None, None, None)
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    ids.sort();
    ids
}

/// DAGs `a` and `b`, each with runs r1..r5 created on Jan 1: r1 to r4 marked
/// ended on Jan 2 to Jan 5 (r1 failed, the others success), r5 left running.
/// (Entries in time order: apply never lets time run backwards.)
fn history() -> TempStore {
    let mut store = TempStore::new();
    for dag in ["a", "b"] {
        store.apply_at(day(1), vec![put(&DAG.replace("DAG_ID", dag))]);
        for r in 1..=5 {
            let created = store.apply_at(day(1), vec![manual(dag, &format!("r{r}"))]);
            assert!(created[0].is_ok(), "{created:?}");
        }
    }
    for r in 1..=4u32 {
        let to = if r == 1 {
            DagRunState::Failed
        } else {
            DagRunState::Success
        };
        for dag in ["a", "b"] {
            let marked = store.apply_at(day(r + 1), vec![mark_run(dag, &format!("r{r}"), to)]);
            assert!(marked[0].is_ok(), "{marked:?}");
        }
    }
    store
}

#[test]
fn runs_that_ended_before_the_cutoff_go_a_limited_number_per_command() {
    let mut store = history();
    // Ended before Jan 4: r1 (Jan 2) and r2 (Jan 3) of both DAGs, four runs.
    let first = store.apply_at(day(10), vec![purge(Some(4), None, None, 3)]);
    assert_eq!(
        first[0],
        Ok(stopped(3, 6, "b")),
        "stopped at its limit, in `b`"
    );
    // The next command starts where that one stopped; from a DAG past every
    // one, it finds nothing.
    let past = store.apply_at(day(10), vec![purge_from(4, "c", 3)]);
    assert_eq!(past[0], Ok(purged(0, 0, false)));
    let second = store.apply_at(day(10), vec![purge_from(4, "b", 3)]);
    assert_eq!(second[0], Ok(purged(1, 2, false)));
    let third = store.apply_at(day(10), vec![purge(Some(4), None, None, 3)]);
    assert_eq!(third[0], Ok(purged(0, 0, false)), "nothing left to do");
    for dag in ["a", "b"] {
        assert_eq!(run_ids(&store, dag), ["r3", "r4", "r5"], "{dag}");
        assert_dag_counters(&store, dag, &["r3", "r4", "r5"]);
    }
    for gone in [b"r1".as_slice(), b"r2"] {
        assert_eq!(
            keys_mentioning(&store, gone),
            Vec::<(String, String)>::new(),
            "nothing of a purged run may remain"
        );
    }
    assert_eq!(run_state(&store, "a", "r5"), DagRunState::Running);
}

#[test]
fn keep_last_keeps_each_dags_newest_runs_and_never_touches_a_running_one() {
    let mut store = history();
    // Keep one per DAG: r5 is the newest (and running); r1..r4 of `a` go.
    let r = store.apply_at(day(10), vec![purge(None, Some(1), Some("a"), 100)]);
    assert_eq!(r[0], Ok(purged(4, 8, false)));
    assert_eq!(run_ids(&store, "a"), ["r5"]);
    assert_eq!(run_ids(&store, "b").len(), 5, "another DAG's runs stay");
    // Keep none: still the running run stays.
    let r = store.apply_at(day(10), vec![purge(None, Some(0), Some("a"), 100)]);
    assert_eq!(r[0], Ok(purged(0, 0, false)));
    assert_eq!(run_ids(&store, "a"), ["r5"]);
    // Both rules: ended before Jan 5 and beyond the newest 2 (r4, r5) of `b`.
    let r = store.apply_at(day(10), vec![purge(Some(5), Some(2), None, 100)]);
    assert_eq!(r[0], Ok(purged(3, 6, false)));
    assert_eq!(run_ids(&store, "b"), ["r4", "r5"]);
    assert_dag_counters(&store, "b", &["r4", "r5"]);
    // The DAG still runs: a new run is made and queued as before.
    let again = store.apply_at(day(11), vec![manual("b", "r1")]);
    assert!(again[0].is_ok(), "{again:?}");
}

#[test]
fn a_purge_without_a_rule_a_limit_or_a_known_dag_is_refused() {
    let mut store = history();
    let before = (run_ids(&store, "a"), run_ids(&store, "b"));
    for (command, kind) in [
        (purge(None, None, None, 10), RejectionKind::Invalid),
        (purge(Some(9), None, None, 0), RejectionKind::Invalid),
        (
            purge(Some(9), None, None, 1_000_000),
            RejectionKind::Invalid,
        ),
        (
            purge(Some(9), None, Some("nope"), 10),
            RejectionKind::NotFound,
        ),
    ] {
        let r = store.apply_at(day(10), vec![command.clone()]);
        assert_eq!(r[0].clone().unwrap_err().kind, kind, "{command:?}");
    }
    assert_eq!(
        (run_ids(&store, "a"), run_ids(&store, "b")),
        before,
        "refusals change nothing"
    );
}
