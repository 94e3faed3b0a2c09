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

/// `n` parallel tasks in the default pool (all queued at once).
fn open_wide(n: usize) -> String {
    wide(n, &[]).replace("default_args: {pool: small}", "default_args: {}")
}

fn tokens(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{i:032x}")).collect()
}

fn take(
    after: Vec<kairos_state::TaskInstanceKey>,
    queued: Vec<kairos_state::TaskInstanceKey>,
    n: usize,
) -> Command {
    Command::Take {
        worker: "w".into(),
        log_url: None,
        tokens: tokens(n),
        fit: default_queue(),
        after,
        queued,
    }
}

#[test]
fn a_batch_takes_the_downstream_of_its_reports_first_then_the_queued_it_names() {
    let mut store = TempStore::new();
    store.apply(vec![
        put(CHAIN3),
        manual("chain3", "r"),
        put(&open_wide(3)),
        manual("wide", "x"),
    ]);
    let a = dispatch(&mut store, key("chain3", "r", "a"));
    let w0 = dispatch(&mut store, key("wide", "x", "t00"));
    // Two reports in one entry, then a take of two slots naming the wide
    // run's queued t01 and t02: b (a's downstream) comes first, then t01;
    // t02 waits for a poll (no token left).
    let r = store.apply(vec![
        report(key("chain3", "r", "a"), &a, S::Success, None),
        report(key("wide", "x", "t00"), &w0, S::Success, None),
        take(
            vec![key("chain3", "r", "a"), key("wide", "x", "t00")],
            vec![key("wide", "x", "t01"), key("wide", "x", "t02")],
            2,
        ),
    ]);
    assert!(r[0].is_ok() && r[1].is_ok(), "{r:?}");
    let got = started(&r[2]);
    assert_eq!(
        got.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["b", "t01"]
    );
    assert_eq!(state(&store, "chain3", "r", "b"), S::Running);
    assert_eq!(state(&store, "wide", "x", "t01"), S::Running);
    assert_eq!(state(&store, "wide", "x", "t02"), S::Queued);
    let t01 = store
        .store
        .task_instance(&key("wide", "x", "t01"))
        .unwrap()
        .unwrap();
    assert_eq!(t01.worker.as_deref(), Some("w"));
    assert_eq!(t01.attempt.as_deref(), Some(got[1].1.as_str()));
    // A named instance that is no longer queued (t01 runs now) or gone is
    // skipped, not refused; t02 still queued takes the one token.
    let r = store.apply(vec![take(
        vec![],
        vec![
            key("wide", "x", "t01"),
            key("wide", "x", "nope"),
            key("wide", "x", "t02"),
        ],
        1,
    )]);
    assert_eq!(
        started(&r[0])
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>(),
        ["t02"]
    );
    // The counters behind the pools are shared by both DAGs: the chain ends
    // first, so that the wide DAG's own attempts are all the pool holds.
    let b_token = got[0].1.clone();
    let r = store.apply(vec![report(
        key("chain3", "r", "b"),
        &b_token,
        S::Success,
        None,
    )]);
    assert!(r[0].is_ok(), "{r:?}");
    run_to(&mut store, key("chain3", "r", "c"), S::Success);
    assert_counters_match(&store, "wide", &["x"]);
}

#[test]
fn a_take_with_bad_tokens_or_too_many_names_is_refused_whole() {
    let mut store = TempStore::new();
    store.apply(vec![put(&open_wide(2)), manual("wide", "x")]);
    let mut bad = take(vec![], vec![key("wide", "x", "t00")], 1);
    if let Command::Take { tokens, .. } = &mut bad {
        tokens[0] = "nope".into();
    }
    let r = store.apply(vec![bad]);
    assert!(r[0].is_err(), "{r:?}");
    let many = take(vec![], vec![key("wide", "x", "t00"); 1025], 1);
    let r = store.apply(vec![many]);
    assert!(r[0].is_err(), "{r:?}");
    let r = store.apply(vec![take(vec![], vec![], 257)]);
    assert!(r[0].is_err(), "{r:?}");
    assert_eq!(queued(&store, "wide", "x").len(), 2, "nothing was started");
}

const TWO_QUEUES: &str = "
two_queues:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    elsewhere: {operator: bash, bash_command: 'true', queue: other}
    b: {operator: bash, bash_command: 'true'}
    c: {operator: bash, bash_command: 'true'}
    d: {operator: bash, bash_command: 'true'}
";

fn take_queued(n: usize, fit: WorkerFit) -> Command {
    Command::TakeQueued {
        worker: "w".into(),
        log_url: None,
        tokens: tokens(n),
        fit,
    }
}

fn task_ids(started: Vec<(String, String)>) -> Vec<String> {
    let mut ids: Vec<String> = started.into_iter().map(|(t, _)| t).collect();
    ids.sort();
    ids
}

#[test]
fn a_waiting_polls_take_starts_what_its_own_entry_queued() {
    let mut store = TempStore::new();
    store.apply(vec![put(TWO_QUEUES)]);
    // The trigger queues four tasks; the take after it, in the same entry,
    // starts two of the three on the worker's queue (two tokens).
    let r = store.apply(vec![
        manual("two_queues", "r"),
        take_queued(2, default_queue()),
    ]);
    assert!(r[0].is_ok(), "{r:?}");
    let first = started(&r[1]);
    assert_eq!(first.len(), 2, "{first:?}");
    for (task, token) in &first {
        let ti = store
            .store
            .task_instance(&key("two_queues", "r", task))
            .unwrap()
            .unwrap();
        assert_eq!(ti.state, S::Running);
        assert_eq!(ti.worker.as_deref(), Some("w"));
        assert_eq!(ti.attempt.as_deref(), Some(token.as_str()));
    }
    let mut waiting = queued(&store, "two_queues", "r");
    waiting.sort();
    assert_eq!(waiting.len(), 2, "{waiting:?}");
    assert!(waiting.contains(&"elsewhere".to_string()), "{waiting:?}");
    // More tokens than fitting instances: the last of the queue; the task
    // on another queue is not this worker's.
    let r = store.apply(vec![take_queued(3, default_queue())]);
    let second = task_ids(started(&r[0]));
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(queued(&store, "two_queues", "r"), ["elsewhere"]);
    let mut all = task_ids(first);
    all.extend(second);
    all.sort();
    assert_eq!(all, ["b", "c", "d"]);
    // Nothing queued that fits: nothing changes.
    let r = store.apply(vec![take_queued(3, default_queue())]);
    assert!(started(&r[0]).is_empty(), "{r:?}");
    assert_eq!(state(&store, "two_queues", "r", "elsewhere"), S::Queued);
    // A worker of that queue takes it.
    let other = WorkerFit {
        queues: vec!["other".into()],
        ..WorkerFit::default()
    };
    let r = store.apply(vec![take_queued(1, other)]);
    assert_eq!(task_ids(started(&r[0])), ["elsewhere"]);
    assert_counters_match(&store, "two_queues", &["r"]);
}

#[test]
fn a_waiting_polls_take_with_a_bad_token_is_refused_whole() {
    let mut store = TempStore::new();
    store.apply(vec![put(TWO_QUEUES), manual("two_queues", "r")]);
    let mut bad = take_queued(2, default_queue());
    if let Command::TakeQueued { tokens, .. } = &mut bad {
        tokens[1] = "nope".into();
    }
    let r = store.apply(vec![bad]);
    assert!(r[0].is_err(), "{r:?}");
    let r = store.apply(vec![take_queued(257, default_queue())]);
    assert!(r[0].is_err(), "{r:?}");
    assert_eq!(
        queued(&store, "two_queues", "r").len(),
        4,
        "nothing started"
    );
}
