//! Deleting a DAG (`DeleteDag`): its runs, task instances, tries, XComs,
//! versions, backfills and asset schedule go, a bounded number of runs per
//! command, and nothing of it is left in any family; other DAGs keep all they
//! had; a running task instance refuses the first command whole; the DAG pushed
//! again starts anew from version 1, with its new content.

use chrono::{TimeZone, Utc};
use kairos_dag::lifecycle::{Actor, TaskInstanceState as S};
use kairos_state::records::ReprocessBehavior;
use kairos_state::{Command, Outcome, RejectionKind};
use serde_json::json;

use crate::common::*;
use crate::support::*;

const PRODUCER: &str = "
make_a:
  is_paused_upon_creation: false
  tasks:
    write: {operator: bash, bash_command: 'echo a', outlets: ['s3://b/a']}
";

/// Scheduled on two assets (so an event of one stays queued for it), with a
/// chain of two tasks.
const DOOMED: &str = "
doomed:
  is_paused_upon_creation: false
  max_active_runs: 4
  schedule: ['s3://b/a', 's3://b/b']
  tasks:
    first: {operator: bash, bash_command: 'true'}
    second: {operator: bash, bash_command: 'true', dependencies: [first]}
";

const KEPT: &str = "
kept:
  is_paused_upon_creation: false
  tasks:
    only: {operator: bash, bash_command: 'true'}
";

fn delete(dag: &str, limit: u32, unless_running: bool) -> Command {
    Command::DeleteDag {
        dag_id: dag.into(),
        limit,
        unless_running,
    }
}

fn deleted(
    runs: usize,
    task_instances: usize,
    xcoms: usize,
    versions: usize,
    more: bool,
) -> Outcome {
    Outcome::DagDeleted {
        dag_id: "doomed".into(),
        runs,
        task_instances,
        xcoms,
        versions,
        more,
    }
}

/// Runs a task to success with one XCom.
fn succeed_with_xcom(store: &mut TempStore, ti: kairos_state::TaskInstanceKey) {
    let attempt = dispatch(store, ti.clone());
    let r = store.apply(vec![Command::FinishAttempt {
        ti,
        attempt,
        actor: Actor::Worker,
        state: S::Success,
        reason: None,
        xcoms: vec![("return_value".into(), json!(42))],
        log_tail: None,
        follow: None,
        reschedule_at: None,
        no_retry: false,
        outlet_events: vec![],
    }]);
    assert!(r[0].is_ok(), "{r:?}");
}

/// `doomed` in two versions with r1 ended (two XComs), r2 with its first task
/// queued, an asset event queued for it; `kept` with a run of its own.
fn cluster() -> TempStore {
    let mut store = TempStore::new();
    let first = store.apply(vec![
        put(PRODUCER),
        put(&DOOMED.replace("'true'}\n", "'true', retries: 1}\n")),
        put(KEPT),
    ]);
    assert!(first.iter().all(Result::is_ok), "{first:?}");
    let second = store.apply(vec![put(DOOMED)]);
    assert!(
        matches!(second[0], Ok(Outcome::DagVersion { version: 2, .. })),
        "{second:?}"
    );
    store.apply(vec![
        manual("doomed", "r1"),
        manual("doomed", "r2"),
        manual("kept", "k1"),
    ]);
    succeed_with_xcom(&mut store, key("doomed", "r1", "first"));
    succeed_with_xcom(&mut store, key("doomed", "r1", "second"));
    assert_eq!(state(&store, "doomed", "r2", "first"), S::Queued);
    store.apply(vec![manual("make_a", "p1")]);
    run_to(&mut store, key("make_a", "p1", "write"), S::Success);
    assert!(!keys_mentioning(&store, b"doomed").is_empty());
    store
}

#[test]
fn a_dag_goes_with_everything_it_owns_a_bounded_number_of_runs_per_command() {
    let mut store = cluster();
    let kept_before = keys_mentioning(&store, b"kept");

    let first = store.apply(vec![delete("doomed", 1, true)]);
    assert_eq!(
        first[0],
        Ok(deleted(1, 2, 2, 0, true)),
        "r1 went, r2 remains"
    );
    let dag = store.store.dag("doomed").unwrap().expect("still there");
    assert!(
        dag.is_paused,
        "paused, so that nothing of it starts meanwhile"
    );
    let second = store.apply(vec![delete("doomed", 1, false)]);
    assert_eq!(
        second[0],
        Ok(deleted(1, 2, 0, 2, false)),
        "r2, then the rest"
    );

    assert_eq!(
        keys_mentioning(&store, b"doomed"),
        Vec::<(String, String)>::new(),
        "nothing of a deleted DAG may remain in any family"
    );
    assert!(store.store.dag("doomed").unwrap().is_none());
    assert_eq!(
        keys_mentioning(&store, b"kept"),
        kept_before,
        "another DAG keeps what it had"
    );
    assert_counters_match(&store, "kept", &["k1"]);
    // The asset and its event stay (they are the asset's); the event is no
    // longer queued for anyone.
    assert_eq!(
        store
            .store
            .asset_events(Some("s3://b/a"), None)
            .unwrap()
            .len(),
        1
    );

    let missing = store.apply(vec![delete("doomed", 1, true)]);
    assert_eq!(
        missing[0].clone().unwrap_err().kind,
        RejectionKind::NotFound
    );
}

#[test]
fn a_dag_pushed_again_starts_anew_with_its_new_content() {
    let mut store = cluster();
    // Read its version 1 and plan (the store caches both).
    assert!(store.store.version_record("doomed", 1).unwrap().is_some());
    let gone = store.apply(vec![delete("doomed", 100, true)]);
    assert_eq!(gone[0], Ok(deleted(2, 4, 2, 2, false)));

    let again = "
doomed:
  is_paused_upon_creation: false
  tasks:
    other: {operator: bash, bash_command: 'true'}
";
    // Separate entries: the run reads the version from the store, not from
    // the push's own transaction.
    let pushed = store.apply(vec![put(again)]);
    assert!(
        matches!(
            pushed[0],
            Ok(Outcome::DagVersion {
                version: 1,
                created: true,
                ..
            })
        ),
        "{pushed:?}"
    );
    let triggered = store.apply(vec![manual("doomed", "r1")]);
    assert!(triggered[0].is_ok(), "{triggered:?}");
    let tasks: Vec<String> = store
        .store
        .task_instances("doomed", "r1")
        .unwrap()
        .into_iter()
        .map(|t| t.task_id)
        .collect();
    assert_eq!(
        tasks,
        ["other"],
        "the run follows the new version 1, not the deleted one"
    );
    assert!(!store.store.dag("doomed").unwrap().unwrap().is_paused);
    // Its scheduling works as for any new DAG.
    run_to(&mut store, key("doomed", "r1", "other"), S::Success);
    assert_eq!(
        run_state(&store, "doomed", "r1"),
        kairos_dag::lifecycle::DagRunState::Success
    );
}

#[test]
fn a_running_task_instance_refuses_the_first_command_whole() {
    let mut store = cluster();
    let attempt = dispatch(&mut store, key("doomed", "r2", "first"));
    let before = keys_mentioning(&store, b"doomed");
    let refused = store.apply(vec![delete("doomed", 100, true)]);
    let err = refused[0].clone().unwrap_err();
    assert_eq!(err.kind, RejectionKind::IllegalTransition);
    assert!(err.message.contains("still running"), "{}", err.message);
    assert_eq!(
        keys_mentioning(&store, b"doomed"),
        before,
        "a refusal changes nothing"
    );
    assert!(!store.store.dag("doomed").unwrap().unwrap().is_paused);

    // A later command (the proposer's second) does not ask: the running
    // attempt goes with its run, and its report finds nothing.
    let r = store.apply(vec![delete("doomed", 100, false)]);
    assert!(
        matches!(r[0], Ok(Outcome::DagDeleted { more: false, .. })),
        "{r:?}"
    );
    let late = store.apply(vec![report(
        key("doomed", "r2", "first"),
        &attempt,
        S::Success,
        None,
    )]);
    assert!(late[0].is_err(), "{late:?}");
    assert_eq!(
        keys_mentioning(&store, b"doomed"),
        Vec::<(String, String)>::new()
    );
    assert_counters_match(&store, "kept", &["k1"]);
}

fn backfills(store: &TempStore) -> usize {
    let all = store
        .store
        .scan_raw(kairos_state::keys::Cf::Backfills, b"", None, usize::MAX);
    all.unwrap().len()
}

#[test]
fn backfills_of_the_dag_go_and_bad_commands_are_refused() {
    let mut store = TempStore::new();
    let hourly = "
hourly:
  schedule: '@hourly'
  start_date: 2020-01-01
  catchup: false
  tasks:
    t: {operator: bash, bash_command: 'true'}
";
    store.apply(vec![put(hourly)]);
    let backfill = store.apply(vec![Command::CreateBackfill {
        dag_id: "hourly".into(),
        from_date: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
        to_date: Utc.with_ymd_and_hms(2020, 1, 1, 5, 0, 0).unwrap(),
        reprocess_behavior: ReprocessBehavior::None,
        max_active_runs: 1,
        conf: Default::default(),
        triggered_by: "test".into(),
    }]);
    assert!(backfill[0].is_ok(), "{backfill:?}");
    assert_eq!(backfills(&store), 1);
    for (command, kind) in [
        (delete("hourly", 0, true), RejectionKind::Invalid),
        (delete("hourly", 1_000_000, true), RejectionKind::Invalid),
        (delete("nope", 10, true), RejectionKind::NotFound),
    ] {
        let r = store.apply(vec![command.clone()]);
        assert_eq!(r[0].clone().unwrap_err().kind, kind, "{command:?}");
    }
    assert!(
        store.store.dag("hourly").unwrap().is_some(),
        "refusals change nothing"
    );
    let r = store.apply(vec![delete("hourly", 10_000, true)]);
    assert!(
        matches!(
            r[0],
            Ok(Outcome::DagDeleted {
                more: false,
                versions: 1,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(backfills(&store), 0);
    assert_eq!(
        keys_mentioning(&store, b"hourly"),
        Vec::<(String, String)>::new()
    );
}
