//! Dynamic task mapping: expansion over an upstream's list, empty and bad
//! lists, clearing and expanding again, and `depends_on_past` over instances.

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::{Command, TaskInstanceKey};

use crate::common::*;
use crate::support::*;

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
