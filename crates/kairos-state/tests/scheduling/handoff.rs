//! `DispatchDownstream`: the worker that reports a task's end takes the
//! downstream that report queued, in the same entry, when it fits and the
//! instance heads its queue; otherwise the instance waits for a poll.

use kairos_dag::lifecycle::TaskInstanceState as S;
use kairos_state::{Command, Outcome, WorkerFit};

use crate::common::*;
use crate::support::*;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const OTHER_TOKEN: &str = "fedcba9876543210fedcba9876543210";

fn hand_off(after: &str, run: &str, tokens: &[&str], fit: WorkerFit) -> Command {
    Command::DispatchDownstream {
        after: key("chain3", run, after),
        worker: "w".into(),
        log_url: Some("http://127.0.0.1:1".into()),
        tokens: tokens.iter().map(|t| t.to_string()).collect(),
        fit,
    }
}

fn default_queue() -> WorkerFit {
    WorkerFit {
        queues: vec!["default".into()],
        ..WorkerFit::default()
    }
}

fn started(result: &kairos_state::CommandResult) -> Vec<(String, String)> {
    match result {
        Ok(Outcome::Dispatched { attempts }) => attempts
            .iter()
            .map(|(ti, token)| (ti.task_id.clone(), token.clone()))
            .collect(),
        other => panic!("not a hand-off: {other:?}"),
    }
}

#[test]
fn the_reporting_worker_takes_the_next_task_in_the_same_entry() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN3), manual("chain3", "r")]);
    let a = dispatch(&mut store, key("chain3", "r", "a"));
    let r = store.apply(vec![
        report(key("chain3", "r", "a"), &a, S::Success, None),
        hand_off("a", "r", &[TOKEN, OTHER_TOKEN], default_queue()),
    ]);
    assert!(r[0].is_ok(), "{r:?}");
    // One downstream task: one token used.
    assert_eq!(started(&r[1]), [("b".to_string(), TOKEN.to_string())]);
    let b = store
        .store
        .task_instance(&key("chain3", "r", "b"))
        .unwrap()
        .unwrap();
    assert_eq!(b.state, S::Running);
    assert_eq!(b.attempt.as_deref(), Some(TOKEN));
    assert_eq!(b.worker.as_deref(), Some("w"));
    assert_eq!(b.try_number, 1);
    // Its report is accepted with that token, like any dispatched attempt's.
    let done = store.apply(vec![report(
        key("chain3", "r", "b"),
        TOKEN,
        S::Success,
        None,
    )]);
    assert!(done[0].is_ok(), "{done:?}");
    assert_eq!(state(&store, "chain3", "r", "c"), S::Queued);
    assert_counters_match(&store, "chain3", &["r"]);
}

#[test]
fn nothing_is_handed_over_that_the_worker_cannot_take_or_that_would_jump_the_queue() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN3), manual("chain3", "r")]);
    let a = dispatch(&mut store, key("chain3", "r", "a"));
    // Another queue only: b stays queued for a poll.
    let other_queue = WorkerFit {
        queues: vec!["gpu".into()],
        ..WorkerFit::default()
    };
    let r = store.apply(vec![
        report(key("chain3", "r", "a"), &a, S::Success, None),
        hand_off("a", "r", &[TOKEN], other_queue),
    ]);
    assert!(started(&r[1]).is_empty());
    assert_eq!(state(&store, "chain3", "r", "b"), S::Queued);
    // No token (no free slot): nothing, and a repeat after b was taken finds
    // nothing queued.
    let r = store.apply(vec![hand_off("a", "r", &[], default_queue())]);
    assert!(started(&r[0]).is_empty());
    let b = dispatch(&mut store, key("chain3", "r", "b"));
    let r = store.apply(vec![hand_off("a", "r", &[TOKEN], default_queue())]);
    assert!(started(&r[0]).is_empty(), "b is running, not queued");

    // A higher-priority instance waits in the queue: the hand-off leaves c for
    // the poll that takes the queue in order.
    let wide = WIDE.replace(
        "default_args: {pool: small}",
        "default_args: {priority_weight: 100}",
    );
    store.apply(vec![
        put(&wide.replace("TASKS", "    w0: {operator: bash, bash_command: 'true'}")),
        manual("wide", "x"),
    ]);
    assert_eq!(state(&store, "wide", "x", "w0"), S::Queued);
    let r = store.apply(vec![
        report(key("chain3", "r", "b"), &b, S::Success, None),
        hand_off("b", "r", &[TOKEN], default_queue()),
    ]);
    assert!(started(&r[1]).is_empty(), "w0 heads the queue");
    assert_eq!(state(&store, "chain3", "r", "c"), S::Queued);
}

#[test]
fn a_team_or_environment_the_worker_lacks_is_not_handed_over() {
    let yaml = CHAIN3.replace(
        "    c: {operator: bash, bash_command: 'true', dependencies: [b]}",
        "    c: {operator: bash, bash_command: 'true', dependencies: [b], environment: py311}",
    );
    let mut store = TempStore::new();
    store.apply(vec![put(&yaml), manual("chain3", "r")]);
    run_to(&mut store, key("chain3", "r", "a"), S::Success);
    let b = dispatch(&mut store, key("chain3", "r", "b"));
    let r = store.apply(vec![
        report(key("chain3", "r", "b"), &b, S::Success, None),
        hand_off("b", "r", &[TOKEN], default_queue()),
    ]);
    assert!(started(&r[1]).is_empty(), "c needs py311");
    let with_env = WorkerFit {
        environments: vec!["py311".into()],
        ..default_queue()
    };
    let r = store.apply(vec![hand_off("b", "r", &[TOKEN], with_env.clone())]);
    assert_eq!(started(&r[0]), [("c".to_string(), TOKEN.to_string())]);
    // A worker restricted to a team takes nothing of a DAG without one.
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN3), manual("chain3", "r")]);
    let a = dispatch(&mut store, key("chain3", "r", "a"));
    let team_only = WorkerFit {
        teams: vec!["sales".into()],
        ..default_queue()
    };
    let r = store.apply(vec![
        report(key("chain3", "r", "a"), &a, S::Success, None),
        hand_off("a", "r", &[TOKEN], team_only),
    ]);
    assert!(started(&r[1]).is_empty());
    // A token that is not one is refused, as for Dispatch.
    let r = store.apply(vec![hand_off("a", "r", &["nope"], default_queue())]);
    assert!(r[0].is_err(), "{r:?}");
}
