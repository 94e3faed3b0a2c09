//! When a task becomes ready: fast-follow in the finishing entry, every
//! trigger rule, and `depends_on_past`.

use std::collections::BTreeMap;

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::{Command, Outcome};

use crate::common::*;
use crate::support::*;

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
