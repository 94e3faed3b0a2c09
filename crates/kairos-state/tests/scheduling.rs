//! The scheduling semantics, deterministically: a controlled clock (the entry
//! stamps), real commands, and the state read back after each step.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use kairos_dag::lifecycle::{Actor, DagRunState, TaskInstanceState as S};
use kairos_state::{Command, Outcome, TaskInstanceKey};

fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap()
}

fn manual(dag_id: &str, run_id: &str) -> Command {
    Command::manual_run(dag_id, run_id, "test")
}

fn key(dag: &str, run: &str, task: &str) -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id: dag.into(),
        run_id: run.into(),
        task_id: task.into(),
        map_index: -1,
    }
}

fn state(store: &TempStore, dag: &str, run: &str, task: &str) -> S {
    store
        .store
        .task_instance(&key(dag, run, task))
        .unwrap()
        .unwrap_or_else(|| panic!("no {dag}/{run}/{task}"))
        .state
}

/// Hands a queued task instance to worker `w` and returns the attempt token.
fn dispatch(store: &mut TempStore, ti: TaskInstanceKey) -> String {
    let r = store.apply(vec![Command::Dispatch {
        ti: ti.clone(),
        worker: "w".into(),
        log_url: None,
    }]);
    match &r[0] {
        Ok(Outcome::TaskState {
            attempt: Some(a), ..
        }) => a.clone(),
        other => panic!("dispatch of {ti:?}: {other:?}"),
    }
}

fn report(ti: TaskInstanceKey, attempt: &str, state: S, follow: Option<Vec<String>>) -> Command {
    Command::FinishAttempt {
        ti,
        attempt: attempt.into(),
        actor: Actor::Worker,
        state,
        reason: None,
        xcoms: vec![],
        log_tail: None,
        follow,
        reschedule_at: None,
    }
}

/// Runs a task to `outcome`: dispatch, then report.
fn run_to(store: &mut TempStore, ti: TaskInstanceKey, outcome: S) {
    let attempt = dispatch(store, ti.clone());
    let r = store.apply(vec![report(ti, &attempt, outcome, None)]);
    assert!(r[0].is_ok(), "{r:?}");
}

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

const WIDE: &str = "
wide:
  is_paused_upon_creation: false
  default_args: {pool: small}
  tasks:
TASKS
";

fn wide(n: usize, weights: &[i32]) -> String {
    let mut tasks = String::new();
    for i in 0..n {
        let w = weights.get(i).copied().unwrap_or(1);
        tasks.push_str(&format!(
            "    t{i:02}: {{operator: bash, bash_command: 'true', priority_weight: {w}}}\n"
        ));
    }
    WIDE.replace("TASKS\n", &tasks)
}

fn queued(store: &TempStore, dag: &str, run: &str) -> Vec<String> {
    store
        .store
        .task_instances(dag, run)
        .unwrap()
        .into_iter()
        .filter(|t| t.state == S::Queued)
        .map(|t| t.task_id)
        .collect()
}

#[test]
fn pools_never_exceed_their_slots() {
    let mut store = TempStore::new();
    store.apply(vec![Command::set_pool("small", 3), put(&wide(10, &[]))]);
    store.apply(vec![manual("wide", "r1")]);
    let mut finished = 0;
    loop {
        let q = queued(&store, "wide", "r1");
        let running = store
            .store
            .task_instances("wide", "r1")
            .unwrap()
            .into_iter()
            .filter(|t| t.state == S::Running)
            .count();
        assert!(
            q.len() + running <= 3,
            "{} queued + {running} running in a 3-slot pool",
            q.len()
        );
        let Some(next) = q.first() else { break };
        run_to(&mut store, key("wide", "r1", next), S::Success);
        finished += 1;
    }
    assert_eq!(finished, 10);
    assert_eq!(
        store.store.run("wide", "r1").unwrap().unwrap().state,
        DagRunState::Success
    );
}

#[test]
fn higher_priority_weight_is_queued_first() {
    let mut store = TempStore::new();
    store.apply(vec![
        Command::set_pool("small", 1),
        put(&wide(4, &[1, 5, 3, 9])),
    ]);
    store.apply(vec![manual("wide", "r1")]);
    let mut order = Vec::new();
    while let Some(next) = queued(&store, "wide", "r1").first().cloned() {
        order.push(next.clone());
        run_to(&mut store, key("wide", "r1", &next), S::Success);
    }
    assert_eq!(order, ["t03", "t01", "t02", "t00"]);
}

#[test]
fn fast_follow_queues_the_next_task_in_the_entry_that_finished_the_previous() {
    let mut store = TempStore::new();
    store.apply(vec![put(
        &CHAIN.replace("etl:\n", "etl:\n  is_paused_upon_creation: false\n")
    )]);
    store.apply(vec![manual("etl", "r1")]);
    assert_eq!(state(&store, "etl", "r1", "extract"), S::Queued);
    let attempt = dispatch(&mut store, key("etl", "r1", "extract"));
    // One entry: the report. Its apply queues `transform`.
    let r = store.apply(vec![report(
        key("etl", "r1", "extract"),
        &attempt,
        S::Success,
        None,
    )]);
    assert!(
        matches!(
            r[0],
            Ok(Outcome::TaskState {
                state: S::Success,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(state(&store, "etl", "r1", "transform"), S::Queued);
    assert_eq!(state(&store, "etl", "r1", "load"), S::None);
    // The same report again is acknowledged and changes nothing.
    let again = store.apply(vec![report(
        key("etl", "r1", "extract"),
        &attempt,
        S::Success,
        None,
    )]);
    assert_eq!(again[0], Ok(Outcome::AlreadyRecorded { state: S::Success }));
}

/// Each trigger rule, end to end through a run: `ok` succeeds, `bad` fails, `skip`
/// is skipped by a branch; `join` depends on the upstreams listed.
#[test]
fn every_trigger_rule_end_to_end() {
    // (rule, upstreams of join, expected state of join)
    let cases: &[(&str, &[&str], S)] = &[
        ("all_success", &["ok", "ok2"], S::Queued),
        ("all_success", &["ok", "bad"], S::UpstreamFailed),
        ("all_success", &["ok", "skip"], S::Skipped),
        ("all_failed", &["bad", "bad2"], S::Queued),
        ("all_failed", &["ok", "bad"], S::Skipped),
        ("all_done", &["ok", "bad"], S::Queued),
        ("all_done_min_one_success", &["ok", "bad"], S::Queued),
        (
            "all_done_min_one_success",
            &["bad", "bad2"],
            S::UpstreamFailed,
        ),
        ("all_skipped", &["skip", "skip2"], S::Queued),
        ("all_skipped", &["ok", "skip"], S::Skipped),
        ("one_success", &["ok", "bad"], S::Queued),
        ("one_success", &["bad", "bad2"], S::UpstreamFailed),
        ("one_failed", &["ok", "bad"], S::Queued),
        ("one_failed", &["ok", "ok2"], S::Skipped),
        ("one_done", &["skip", "bad"], S::Queued),
        ("none_failed", &["ok", "skip"], S::Queued),
        ("none_failed", &["ok", "bad"], S::UpstreamFailed),
        ("none_failed_min_one_success", &["ok", "skip"], S::Queued),
        (
            "none_failed_min_one_success",
            &["skip", "skip2"],
            S::Skipped,
        ),
        ("none_skipped", &["ok", "bad"], S::Queued),
        ("none_skipped", &["ok", "skip"], S::Skipped),
        ("always", &["ok", "bad"], S::Queued),
    ];
    for (n, (rule, ups, expected)) in cases.iter().enumerate() {
        let mut store = TempStore::new();
        let deps = ups.join(", ");
        let yaml = format!(
            "
rules:
  is_paused_upon_creation: false
  tasks:
    branch: {{operator: airflow.operators.python.BranchPythonOperator, python_callable_name: pick, python_callable_file: cb.py}}
    ok: {{operator: bash, bash_command: 'true', dependencies: [branch]}}
    ok2: {{operator: bash, bash_command: 'true', dependencies: [branch]}}
    bad: {{operator: bash, bash_command: 'false', dependencies: [branch]}}
    bad2: {{operator: bash, bash_command: 'false', dependencies: [branch]}}
    skip: {{operator: bash, bash_command: 'true', dependencies: [branch]}}
    skip2: {{operator: bash, bash_command: 'true', dependencies: [branch]}}
    join: {{operator: bash, bash_command: 'true', trigger_rule: {rule}, dependencies: [{deps}]}}
"
        );
        let files = BTreeMap::from([(
            std::path::PathBuf::from("dags/cb.py"),
            b"def pick():\n    return ['ok', 'ok2', 'bad', 'bad2']\n".to_vec(),
        )]);
        let (content, contents) = version_with_files(&yaml, files);
        store.apply(vec![Command::PutDagVersion {
            content,
            files: contents,
        }]);
        store.apply(vec![manual("rules", "r1")]);
        let attempt = dispatch(&mut store, key("rules", "r1", "branch"));
        let follow = vec!["ok".into(), "ok2".into(), "bad".into(), "bad2".into()];
        let r = store.apply(vec![report(
            key("rules", "r1", "branch"),
            &attempt,
            S::Success,
            Some(follow),
        )]);
        assert!(r[0].is_ok(), "{r:?}");
        assert_eq!(state(&store, "rules", "r1", "skip"), S::Skipped, "case {n}");
        for t in ["ok", "ok2"] {
            run_to(&mut store, key("rules", "r1", t), S::Success);
        }
        for t in ["bad", "bad2"] {
            run_to(&mut store, key("rules", "r1", t), S::Failed);
        }
        assert_eq!(
            state(&store, "rules", "r1", "join"),
            *expected,
            "case {n}: {rule} over {ups:?}"
        );
    }
}

#[test]
fn a_failed_attempt_is_retried_after_its_delay_by_a_tick() {
    let mut store = TempStore::new();
    let yaml = CHAIN.replace(
        "etl:\n",
        "etl:\n  is_paused_upon_creation: false\n  default_args: {retries: 1, retry_delay: 60}\n",
    );
    store.apply_at(day(1), vec![put(&yaml), manual("etl", "r1")]);
    let attempt = dispatch(&mut store, key("etl", "r1", "extract"));
    store.apply_at(
        day(1),
        vec![report(
            key("etl", "r1", "extract"),
            &attempt,
            S::Failed,
            None,
        )],
    );
    assert_eq!(state(&store, "etl", "r1", "extract"), S::UpForRetry);
    let due = store.store.next_timer().unwrap().expect("a retry timer");
    assert_eq!(due, day(1) + Duration::seconds(60));
    store.apply_at(day(1) + Duration::seconds(30), vec![Command::Tick]);
    assert_eq!(
        state(&store, "etl", "r1", "extract"),
        S::UpForRetry,
        "not before its time"
    );
    store.apply_at(due, vec![Command::Tick]);
    assert_eq!(state(&store, "etl", "r1", "extract"), S::Queued);
    let second = dispatch(&mut store, key("etl", "r1", "extract"));
    assert!(second.starts_with("2-"), "{second}");
    store.apply_at(
        due,
        vec![report(
            key("etl", "r1", "extract"),
            &second,
            S::Failed,
            None,
        )],
    );
    assert_eq!(
        state(&store, "etl", "r1", "extract"),
        S::Failed,
        "no tries left"
    );
    assert_eq!(state(&store, "etl", "r1", "transform"), S::UpstreamFailed);
    assert_eq!(state(&store, "etl", "r1", "load"), S::UpstreamFailed);
    assert_eq!(
        store.store.run("etl", "r1").unwrap().unwrap().state,
        DagRunState::Failed
    );
    // Both tries are kept, each with its token, its end and when it ended.
    let tries = store.store.tries(&key("etl", "r1", "extract")).unwrap();
    let summary: Vec<(u32, Option<&str>, S, DateTime<Utc>)> = tries
        .iter()
        .map(|t| (t.try_number, t.attempt.as_deref(), t.state, t.end_date))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, Some(attempt.as_str()), S::UpForRetry, day(1)),
            (2, Some(second.as_str()), S::Failed, due),
        ]
    );
    assert!(
        store
            .store
            .tries(&key("etl", "r1", "transform"))
            .unwrap()
            .is_empty(),
        "a task that never ran has no tries"
    );
}

#[test]
fn time_sensors_wait_on_the_server_without_a_worker() {
    let mut store = TempStore::new();
    let yaml = "
waits:
  is_paused_upon_creation: false
  tasks:
    wait: {operator: airflow.sensors.time_delta.TimeDeltaSensor, delta: 3600}
    after: {operator: bash, bash_command: 'true', dependencies: [wait]}
";
    store.apply_at(day(1), vec![put(yaml), manual("waits", "r1")]);
    assert_eq!(state(&store, "waits", "r1", "wait"), S::Deferred);
    assert!(queued(&store, "waits", "r1").is_empty());
    let due = store.store.next_timer().unwrap().expect("a sensor timer");
    assert_eq!(due, day(1) + Duration::hours(1));
    store.apply_at(due, vec![Command::Tick]);
    assert_eq!(state(&store, "waits", "r1", "wait"), S::Success);
    assert_eq!(state(&store, "waits", "r1", "after"), S::Queued);
}

#[test]
fn explain_names_what_holds_a_task_back() {
    let mut store = TempStore::new();
    store.apply(vec![Command::set_pool("small", 1), put(&wide(2, &[2, 1]))]);
    store.apply(vec![manual("wide", "r1")]);
    let e = store.store.explain(&key("wide", "r1", "t01")).unwrap();
    assert_eq!(e.state, Some(S::Scheduled));
    assert!(
        e.reasons[0].contains("pool `small` has 1 of 1 slots in use"),
        "{e:?}"
    );
    let e = store.store.explain(&key("wide", "r1", "t00")).unwrap();
    assert!(e.reasons[0].contains("queued in queue `default`"), "{e:?}");
    store.apply(vec![Command::SetPaused {
        dag_id: "wide".into(),
        is_paused: true,
    }]);
    let e = store.store.explain(&key("wide", "r1", "t01")).unwrap();
    assert!(e.reasons.iter().any(|r| r.contains("is paused")), "{e:?}");
}

/// The counters behind limits are derived state: recomputed from the task
/// instances, they must equal what apply kept, after any sequence of moves.
fn assert_counters_match(store: &TempStore, dag: &str, runs: &[&str]) {
    use kairos_state::keys::Cf;
    use kairos_state::keys::index::counter;
    let get = |key: Vec<u8>| {
        store
            .store
            .get::<i64>(Cf::Index, &key)
            .unwrap()
            .unwrap_or(0)
    };
    let mut pool = std::collections::BTreeMap::<String, i64>::new();
    let mut executing = 0;
    for run in runs {
        let tis = store.store.task_instances(dag, run).unwrap();
        let unfinished = tis.iter().filter(|t| !t.state.is_finished()).count() as i64;
        assert_eq!(
            get(counter::unfinished(dag, run)),
            unfinished,
            "unfinished in {run}"
        );
        for t in tis.iter().filter(|t| t.state.is_executing()) {
            *pool.entry(t.pool.clone()).or_default() += i64::from(t.pool_slots);
            executing += 1;
        }
    }
    for (name, used) in &pool {
        assert_eq!(get(counter::pool(name)), *used, "slots used in pool {name}");
    }
    assert_eq!(
        get(counter::dag(dag)),
        executing,
        "active instances of {dag}"
    );
    assert_eq!(
        get(counter::global()),
        executing,
        "active instances in the cluster"
    );
}

#[test]
fn counters_equal_what_the_task_instances_say_after_every_kind_of_move() {
    let mut store = TempStore::new();
    let yaml = wide(6, &[]).replace(
        "  default_args: {pool: small}",
        "  default_args: {pool: small, retries: 1, retry_delay: 0}",
    );
    store.apply(vec![Command::set_pool("small", 4), put(&yaml)]);
    store.apply(vec![manual("wide", "r1"), manual("wide", "r2")]);
    let runs = ["r1", "r2"];
    assert_counters_match(&store, "wide", &runs);
    let mut step = 0;
    while let Some((run, task)) = runs
        .iter()
        .find_map(|r| queued(&store, "wide", r).first().map(|t| (*r, t.clone())))
    {
        let ti = key("wide", run, &task);
        let attempt = dispatch(&mut store, ti.clone());
        assert_counters_match(&store, "wide", &runs);
        // Fail every third attempt (retried at once), clear every fifth, else succeed.
        let command = match step % 5 {
            0 => Command::ClearTaskInstances {
                dag_id: "wide".into(),
                run_id: run.into(),
                task_ids: vec![task.clone()],
            },
            _ if step % 3 == 0 => report(ti.clone(), &attempt, S::Failed, None),
            _ => report(ti.clone(), &attempt, S::Success, None),
        };
        store.apply(vec![command]);
        if step % 5 == 0 {
            // The cleared attempt reports; it runs again.
            store.apply(vec![report(ti, &attempt, S::Success, None)]);
        }
        assert_counters_match(&store, "wide", &runs);
        step += 1;
        assert!(step < 200, "the runs do not finish");
    }
    for run in runs {
        assert!(
            store
                .store
                .run("wide", run)
                .unwrap()
                .unwrap()
                .state
                .is_finished()
        );
    }
    assert_counters_match(&store, "wide", &runs);
}

fn mapped_key(dag: &str, run: &str, task: &str, map_index: i32) -> TaskInstanceKey {
    TaskInstanceKey {
        map_index,
        ..key(dag, run, task)
    }
}

const MAPPED: &str = "
mapped:
  is_paused_upon_creation: false
  tasks:
    make: {operator: bash, bash_command: 'echo'}
    each:
      operator: bash
      expand: {bash_command: make.output}
      dependencies: [make]
    after: {operator: bash, bash_command: 'true', dependencies: [each]}
    fixed:
      operator: bash
      expand: {bash_command: ['echo 1', 'echo 2']}
";

/// Reports `make` as succeeded, returning `value`.
fn make_returns(store: &mut TempStore, run: &str, value: serde_json::Value) {
    let ti = key("mapped", run, "make");
    let attempt = dispatch(store, ti.clone());
    let mut finish = report(ti, &attempt, S::Success, None);
    if let Command::FinishAttempt { xcoms, .. } = &mut finish {
        xcoms.push(("return_value".into(), value));
    }
    let r = store.apply(vec![finish]);
    assert!(r[0].is_ok(), "{r:?}");
}

#[test]
fn a_mapped_task_expands_over_an_upstream_list_and_downstream_waits_for_every_instance() {
    let mut store = TempStore::new();
    store.apply_at(day(1), vec![put(MAPPED), manual("mapped", "r1")]);
    // A literal list expands as soon as the task is ready; an XCom one waits.
    let tis = store.store.task_instances("mapped", "r1").unwrap();
    let fixed: Vec<(i32, S)> = tis
        .iter()
        .filter(|t| t.task_id == "fixed")
        .map(|t| (t.map_index, t.state))
        .collect();
    assert_eq!(fixed, [(-1, S::Removed), (0, S::Queued), (1, S::Queued)]);
    assert_eq!(state(&store, "mapped", "r1", "each"), S::None);

    make_returns(
        &mut store,
        "r1",
        serde_json::json!(["echo a", "echo b", "echo c"]),
    );
    assert_eq!(state(&store, "mapped", "r1", "each"), S::Removed);
    let each: Vec<_> = store
        .store
        .task_instances("mapped", "r1")
        .unwrap()
        .into_iter()
        .filter(|t| t.task_id == "each" && t.map_index >= 0)
        .collect();
    assert_eq!(each.len(), 3);
    for (i, ti) in each.iter().enumerate() {
        assert_eq!(ti.map_index, i as i32);
        assert_eq!(
            ti.state,
            S::Queued,
            "expanded in the entry make finished in"
        );
        let element = ti.map_element.clone().expect("its element");
        assert_eq!(
            element.get("bash_command"),
            Some(&serde_json::json!(["echo a", "echo b", "echo c"][i]))
        );
    }
    assert_counters_match(&store, "mapped", &["r1"]);
    // `after` waits for all three.
    run_to(
        &mut store,
        mapped_key("mapped", "r1", "each", 0),
        S::Success,
    );
    run_to(
        &mut store,
        mapped_key("mapped", "r1", "each", 2),
        S::Success,
    );
    assert_eq!(state(&store, "mapped", "r1", "after"), S::None);
    run_to(
        &mut store,
        mapped_key("mapped", "r1", "each", 1),
        S::Success,
    );
    assert_eq!(state(&store, "mapped", "r1", "after"), S::Queued);
    run_to(&mut store, key("mapped", "r1", "after"), S::Success);
    run_to(
        &mut store,
        mapped_key("mapped", "r1", "fixed", 0),
        S::Success,
    );
    run_to(
        &mut store,
        mapped_key("mapped", "r1", "fixed", 1),
        S::Failed,
    );
    // A failed instance of a mapped leaf fails the run.
    assert_eq!(
        store.store.run("mapped", "r1").unwrap().unwrap().state,
        DagRunState::Failed
    );
    assert_counters_match(&store, "mapped", &["r1"]);
}

#[test]
fn an_empty_or_bad_expansion_skips_or_fails_the_mapped_task() {
    let mut store = TempStore::new();
    store.apply_at(
        day(1),
        vec![
            put(MAPPED),
            manual("mapped", "empty"),
            manual("mapped", "bad"),
        ],
    );
    make_returns(&mut store, "empty", serde_json::json!([]));
    assert_eq!(state(&store, "mapped", "empty", "each"), S::Skipped);
    assert_eq!(state(&store, "mapped", "empty", "after"), S::Skipped);

    make_returns(&mut store, "bad", serde_json::json!("not a list"));
    let each = store
        .store
        .task_instance(&key("mapped", "bad", "each"))
        .unwrap()
        .unwrap();
    assert_eq!(each.state, S::Failed);
    let reason = each.reason.unwrap_or_default();
    assert!(
        reason.contains("needs a list") && reason.contains("a string"),
        "{reason}"
    );
    assert_eq!(state(&store, "mapped", "bad", "after"), S::UpstreamFailed);
    assert_counters_match(&store, "mapped", &["empty", "bad"]);
}

fn clear(dag: &str, run: &str, tasks: &[&str]) -> Command {
    Command::ClearTaskInstances {
        dag_id: dag.into(),
        run_id: run.into(),
        task_ids: tasks.iter().map(|t| t.to_string()).collect(),
    }
}

fn run_state(store: &TempStore, dag: &str, run: &str) -> DagRunState {
    store.store.run(dag, run).unwrap().unwrap().state
}

#[test]
fn a_cleared_mapped_task_expands_again_shorter_or_empty_without_leaving_anything_behind() {
    let mut store = TempStore::new();
    store.apply_at(day(1), vec![put(MAPPED), manual("mapped", "r1")]);
    make_returns(&mut store, "r1", serde_json::json!(["a", "b", "c"]));
    for i in 0..3 {
        run_to(
            &mut store,
            mapped_key("mapped", "r1", "each", i),
            S::Success,
        );
    }
    run_to(&mut store, key("mapped", "r1", "after"), S::Success);
    run_to(
        &mut store,
        mapped_key("mapped", "r1", "fixed", 0),
        S::Success,
    );
    run_to(
        &mut store,
        mapped_key("mapped", "r1", "fixed", 1),
        S::Success,
    );
    assert_eq!(run_state(&store, "mapped", "r1"), DagRunState::Success);

    // Shorter: the third instance is removed and does not hold `after` back.
    store.apply(vec![clear("mapped", "r1", &["make", "each", "after"])]);
    make_returns(&mut store, "r1", serde_json::json!(["x", "y"]));
    let each: Vec<(i32, S)> = store
        .store
        .task_instances("mapped", "r1")
        .unwrap()
        .into_iter()
        .filter(|t| t.task_id == "each")
        .map(|t| (t.map_index, t.state))
        .collect();
    assert_eq!(
        each,
        [
            (-1, S::Removed),
            (0, S::Queued),
            (1, S::Queued),
            (2, S::Removed)
        ]
    );
    run_to(
        &mut store,
        mapped_key("mapped", "r1", "each", 0),
        S::Success,
    );
    run_to(
        &mut store,
        mapped_key("mapped", "r1", "each", 1),
        S::Success,
    );
    assert_eq!(state(&store, "mapped", "r1", "after"), S::Queued);
    run_to(&mut store, key("mapped", "r1", "after"), S::Success);
    assert_eq!(run_state(&store, "mapped", "r1"), DagRunState::Success);
    assert_counters_match(&store, "mapped", &["r1"]);

    // Empty: the task is skipped and its old instances are removed; the run ends.
    store.apply(vec![clear("mapped", "r1", &["make", "each", "after"])]);
    make_returns(&mut store, "r1", serde_json::json!([]));
    assert_eq!(state(&store, "mapped", "r1", "each"), S::Skipped);
    let leftovers: Vec<(i32, S)> = store
        .store
        .task_instances("mapped", "r1")
        .unwrap()
        .into_iter()
        .filter(|t| t.task_id == "each" && t.state != S::Removed && t.map_index >= 0)
        .map(|t| (t.map_index, t.state))
        .collect();
    assert_eq!(leftovers, []);
    assert!(run_state(&store, "mapped", "r1").is_finished());
    assert_counters_match(&store, "mapped", &["r1"]);
}

#[test]
fn depends_on_past_looks_at_every_instance_of_a_mapped_task_in_the_previous_run() {
    let mut store = TempStore::new();
    let yaml = "
past:
  is_paused_upon_creation: false
  tasks:
    fixed:
      operator: bash
      depends_on_past: true
      expand: {bash_command: ['echo 1', 'echo 2']}
";
    store.apply_at(day(1), vec![put(yaml), manual("past", "r1")]);
    store.apply_at(day(2), vec![manual("past", "r2")]);
    let waiting = |store: &TempStore| {
        store
            .store
            .task_instances("past", "r2")
            .unwrap()
            .into_iter()
            .filter(|t| t.map_index >= 0)
            .count()
    };
    assert_eq!(waiting(&store), 0, "r1's instances have not succeeded yet");
    run_to(&mut store, mapped_key("past", "r1", "fixed", 0), S::Success);
    assert_eq!(waiting(&store), 0, "one of r1's instances is still queued");
    run_to(&mut store, mapped_key("past", "r1", "fixed", 1), S::Success);
    assert_eq!(
        waiting(&store),
        2,
        "r2 expands once every r1 instance succeeded"
    );
}

const CHAIN3: &str = "
chain3:
  is_paused_upon_creation: false
  max_active_runs: 1
  tasks:
    a: {operator: bash, bash_command: 'true'}
    b: {operator: bash, bash_command: 'true', dependencies: [a]}
    c: {operator: bash, bash_command: 'true', dependencies: [b]}
";

fn mark_run(dag: &str, run: &str, to: DagRunState) -> Command {
    Command::SetDagRunState {
        dag_id: dag.into(),
        run_id: run.into(),
        state: to,
    }
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

/// Every key in every family that mentions `needle`.
fn keys_mentioning(store: &TempStore, needle: &[u8]) -> Vec<(String, String)> {
    use kairos_state::keys::Cf;
    let mut out = Vec::new();
    for cf in Cf::ALL {
        for (k, _) in store.store.scan_raw(cf, b"", None, usize::MAX).unwrap() {
            if k.windows(needle.len()).any(|w| w == needle) {
                out.push((
                    cf.name().to_string(),
                    String::from_utf8_lossy(&k).into_owned(),
                ));
            }
        }
    }
    out
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

#[test]
fn apply_counts_runs_queued_tasks_and_task_to_task_gaps() {
    use kairos_state::EntryToApply;
    use kairos_state::command::Batch;
    let store = TempStore::new();
    let apply = |index: u64, stamp: DateTime<Utc>, commands: Vec<Command>| {
        let batch = Batch { stamp, commands };
        store
            .store
            .apply_counted(&[EntryToApply {
                index,
                batch: Some(&batch),
                raft_meta: vec![],
            }])
            .expect("apply")
    };
    let t = t0();
    let (_, stats) = apply(1, t, vec![put(CHAIN3), manual("chain3", "r1")]);
    assert_eq!(
        (stats.commands, stats.runs_created, stats.tasks_queued),
        (2, 1, 1)
    );
    // `a` runs and ends at t+1s; `b` is queued in the same entry and handed out at t+1.25s.
    let dispatch = |ti: TaskInstanceKey| Command::Dispatch {
        ti,
        worker: "w".into(),
        log_url: None,
    };
    let (results, stats) = apply(2, t, vec![dispatch(key("chain3", "r1", "a"))]);
    assert!(stats.task_gaps.is_empty(), "a root task has no gap");
    let attempt = match &results[0][0] {
        Ok(Outcome::TaskState {
            attempt: Some(a), ..
        }) => a.clone(),
        other => panic!("{other:?}"),
    };
    let (_, stats) = apply(
        3,
        t + Duration::seconds(1),
        vec![report(key("chain3", "r1", "a"), &attempt, S::Success, None)],
    );
    assert_eq!(stats.tasks_queued, 1, "b is queued by fast-follow");
    let (_, stats) = apply(
        4,
        t + Duration::milliseconds(1250),
        vec![
            dispatch(key("chain3", "r1", "b")),
            mark_run("chain3", "missing", DagRunState::Success),
        ],
    );
    assert_eq!(stats.task_gaps, vec![0.25]);
    assert_eq!((stats.commands, stats.refused), (2, 1));
}

const DOP: &str = "
dop:
  is_paused_upon_creation: false
  default_args: {depends_on_past: true}
  tasks:
    a: {operator: bash, bash_command: 'true'}
";

fn dated_run(dag: &str, run: &str, d: u32) -> Command {
    Command::CreateDagRun {
        dag_id: dag.into(),
        run_id: run.into(),
        run_type: kairos_dag::lifecycle::RunType::Manual,
        version: None,
        logical_date: Some(day(d)),
        data_interval_start: Some(day(d)),
        data_interval_end: Some(day(d)),
        run_after: None,
        conf: BTreeMap::new(),
        triggered_by: "test".into(),
    }
}

/// r1's `a` fails, so r2's `a` (depends_on_past) waits; `fix` must free it.
fn blocked_by_a_failed_past(fix: Command) -> TempStore {
    let mut store = TempStore::new();
    store.apply(vec![put(DOP)]);
    store.apply(vec![dated_run("dop", "r1", 1), dated_run("dop", "r2", 2)]);
    run_to(&mut store, key("dop", "r1", "a"), S::Failed);
    assert_eq!(
        state(&store, "dop", "r2", "a"),
        S::None,
        "waits on the past"
    );
    store.apply(vec![fix]);
    store
}

#[test]
fn marking_the_past_success_or_deleting_it_frees_depends_on_past() {
    let store = blocked_by_a_failed_past(mark_run("dop", "r1", DagRunState::Success));
    assert_eq!(state(&store, "dop", "r2", "a"), S::Queued);
    let store = blocked_by_a_failed_past(Command::DeleteDagRun {
        dag_id: "dop".into(),
        run_id: "r1".into(),
    });
    assert_eq!(state(&store, "dop", "r2", "a"), S::Queued);
}

#[test]
fn a_deleted_run_s_timers_do_not_fire_on_a_new_run_with_its_id() {
    let mut store = TempStore::new();
    let t = t0();
    let yaml = "
timed:
  is_paused_upon_creation: false
  dagrun_timeout: 3600
  tasks:
    a: {operator: bash, bash_command: 'true'}
";
    store.apply_at(t, vec![put(yaml), manual("timed", "again")]);
    assert_eq!(run_state(&store, "timed", "again"), DagRunState::Running);
    store.apply_at(
        t + Duration::minutes(10),
        vec![Command::DeleteDagRun {
            dag_id: "timed".into(),
            run_id: "again".into(),
        }],
    );
    store.apply_at(t + Duration::minutes(30), vec![manual("timed", "again")]);
    // The first run's timeout was due at t + 60 min; the new run's is at t + 90.
    store.apply_at(t + Duration::minutes(61), vec![Command::Tick]);
    assert_eq!(run_state(&store, "timed", "again"), DagRunState::Running);
    store.apply_at(t + Duration::minutes(91), vec![Command::Tick]);
    assert_eq!(run_state(&store, "timed", "again"), DagRunState::Failed);
}

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
