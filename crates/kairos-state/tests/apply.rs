//! What each command does, and what it refuses.

mod common;

use chrono::Duration;
use common::*;
use kairos_dag::lifecycle::{Actor, DagRunState, RunType, TaskInstanceState as S};
use kairos_state::records::{PoolRecord, Settings};
use kairos_state::{Command, Outcome, RejectionKind, TaskInstanceKey};
use serde_json::json;

fn run(dag_id: &str, run_id: &str) -> Command {
    Command::CreateDagRun {
        dag_id: dag_id.into(),
        run_id: run_id.into(),
        run_type: RunType::Manual,
        version: None,
        logical_date: Some(t0()),
        data_interval_start: Some(t0()),
        data_interval_end: Some(t0()),
        run_after: None,
        conf: Default::default(),
        triggered_by: "test".into(),
    }
}

fn ti(task_id: &str) -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id: "etl".into(),
        run_id: "r1".into(),
        task_id: task_id.into(),
        map_index: -1,
    }
}

fn set(task_id: &str, to: S, actor: Actor, attempt: Option<&str>) -> Command {
    Command::SetTaskState {
        ti: ti(task_id),
        to,
        actor,
        attempt: attempt.map(str::to_string),
        reason: None,
    }
}

/// Queues and dispatches a task; returns its attempt token.
fn start(store: &mut TempStore, task_id: &str) -> String {
    let results = store.apply(vec![
        set(task_id, S::Scheduled, Actor::Scheduler, None),
        set(task_id, S::Queued, Actor::Scheduler, None),
        set(task_id, S::Running, Actor::Scheduler, None),
    ]);
    match &results[2] {
        Ok(Outcome::TaskState {
            attempt: Some(attempt),
            ..
        }) => attempt.clone(),
        other => panic!("dispatch failed: {other:?}"),
    }
}

#[test]
fn versions_are_numbered_and_deduplicated_by_content() {
    let mut store = TempStore::new();
    let first = store.apply(vec![put(CHAIN)]);
    let same = store.apply(vec![put(CHAIN)]);
    let changed = store.apply(vec![put(&CHAIN.replace("echo load", "echo loaded"))]);
    let numbers: Vec<(u32, bool)> = [first, same, changed]
        .iter()
        .map(|r| match &r[0] {
            Ok(Outcome::DagVersion {
                version, created, ..
            }) => (*version, *created),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(numbers, [(1, true), (1, false), (2, true)]);
    let versions = store.store.versions("etl").unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_ne!(versions[0].hash, versions[1].hash);
    // The YAML file itself is kept, by hash, and served back.
    let v1 = store.store.version_record("etl", 1).unwrap().unwrap();
    let yaml_hash = v1.content.files.values().next().unwrap();
    assert!(
        store
            .store
            .file(yaml_hash)
            .unwrap()
            .unwrap()
            .contains("echo load'")
    );
    // New DAGs start paused, as in Airflow.
    assert!(store.store.dag("etl").unwrap().unwrap().is_paused);
}

#[test]
fn a_push_without_a_file_the_cluster_lacks_is_refused() {
    let mut store = TempStore::new();
    let (content, _files) = version_of(CHAIN);
    let results = store.apply(vec![Command::PutDagVersion {
        content,
        files: Default::default(),
    }]);
    let err = results[0].clone().unwrap_err();
    assert_eq!(err.kind, RejectionKind::Invalid);
    assert!(
        err.message
            .contains("neither in the push nor in the cluster"),
        "{err}"
    );
    assert!(store.store.dag("etl").unwrap().is_none());
}

#[test]
fn runs_are_pinned_to_the_version_they_were_created_with() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN), run("etl", "r1")]);
    store.apply(vec![put(&CHAIN.replace(
        "    load: {operator: bash, bash_command: 'echo load', dependencies: [transform]}\n",
        "",
    ))]);
    store.apply(vec![run("etl", "r2")]);
    let r1 = store.store.run("etl", "r1").unwrap().unwrap();
    let r2 = store.store.run("etl", "r2").unwrap().unwrap();
    assert_eq!((r1.version, r2.version), (1, 2));
    assert_eq!(store.store.task_instances("etl", "r1").unwrap().len(), 3);
    assert_eq!(store.store.task_instances("etl", "r2").unwrap().len(), 2);
    assert_eq!(r1.state, DagRunState::Queued);
    // A duplicate run id is refused and changes nothing.
    let dup = store.apply(vec![run("etl", "r1")]);
    assert_eq!(
        dup[0].clone().unwrap_err().kind,
        RejectionKind::AlreadyExists
    );
    assert_eq!(store.store.run("etl", "r1").unwrap().unwrap(), r1);
}

#[test]
fn a_chain_runs_to_success_with_fenced_reports() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN), run("etl", "r1")]);
    for task in ["extract", "transform", "load"] {
        let attempt = start(&mut store, task);
        assert!(attempt.starts_with("1-"), "{attempt}");
        let done = store.apply(vec![set(task, S::Success, Actor::Worker, Some(&attempt))]);
        assert!(done[0].is_ok(), "{done:?}");
    }
    let r1 = store.store.run("etl", "r1").unwrap().unwrap();
    assert_eq!(r1.state, DagRunState::Success);
    assert!(r1.end_date.is_some());
    assert!(
        store
            .store
            .task_instances("etl", "r1")
            .unwrap()
            .iter()
            .all(|t| t.state == S::Success)
    );
}

#[test]
fn stale_attempts_are_refused() {
    let mut store = TempStore::new();
    // One retry, so that the expired attempt goes up for retry.
    let chain = CHAIN.replace(
        "etl:\n",
        "etl:\n  default_args: {retries: 1, retry_delay: 0}\n",
    );
    store.apply(vec![put(&chain), run("etl", "r1")]);
    let first = start(&mut store, "extract");
    // The lease ran out: the attempt fails and will be retried.
    let expired = store.apply(vec![set(
        "extract",
        S::UpForRetry,
        Actor::LeaseExpiry,
        Some(&first),
    )]);
    assert!(expired[0].is_ok(), "{expired:?}");
    let second = store.apply(vec![
        set("extract", S::Queued, Actor::Scheduler, None),
        set("extract", S::Running, Actor::Scheduler, None),
    ]);
    let Ok(Outcome::TaskState {
        attempt: Some(second),
        try_number: 2,
        ..
    }) = &second[1]
    else {
        panic!("{second:?}")
    };
    // The first attempt's worker wakes up and reports: refused, and nothing changes.
    let zombie = store.apply(vec![
        set("extract", S::Success, Actor::Worker, Some(&first)),
        Command::PushXCom {
            ti: ti("extract"),
            key: "return_value".into(),
            value: json!("stale"),
            attempt: first.clone(),
        },
    ]);
    assert_eq!(
        zombie[0].clone().unwrap_err().kind,
        RejectionKind::StaleAttempt
    );
    assert_eq!(
        zombie[1].clone().unwrap_err().kind,
        RejectionKind::StaleAttempt
    );
    // A report without a token is refused too.
    let bare = store.apply(vec![set("extract", S::Success, Actor::Worker, None)]);
    assert_eq!(
        bare[0].clone().unwrap_err().kind,
        RejectionKind::StaleAttempt
    );
    let ok = store.apply(vec![set(
        "extract",
        S::Success,
        Actor::Worker,
        Some(second),
    )]);
    assert!(ok[0].is_ok());
    // Once recorded, the same report cannot be recorded twice.
    let twice = store.apply(vec![set(
        "extract",
        S::Success,
        Actor::Worker,
        Some(second),
    )]);
    assert_eq!(
        twice[0].clone().unwrap_err().kind,
        RejectionKind::IllegalTransition
    );
    assert!(store.store.xcoms("etl", "r1", None).unwrap().is_empty());
}

#[test]
fn illegal_transitions_are_refused_with_the_states_named() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN), run("etl", "r1")]);
    let results = store.apply(vec![set("extract", S::Running, Actor::Scheduler, None)]);
    let err = results[0].clone().unwrap_err();
    assert_eq!(err.kind, RejectionKind::IllegalTransition);
    assert!(
        err.message.contains("none") && err.message.contains("running"),
        "{err}"
    );
}

#[test]
fn xcoms_have_a_size_cap() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN), run("etl", "r1")]);
    let attempt = start(&mut store, "extract");
    let push = |value: serde_json::Value| Command::PushXCom {
        ti: ti("extract"),
        key: "return_value".into(),
        value,
        attempt: attempt.clone(),
    };
    let small = store.apply(vec![push(json!({"rows": 12}))]);
    assert!(small[0].is_ok());
    let big = store.apply(vec![push(json!("x".repeat(70_000)))]);
    let err = big[0].clone().unwrap_err();
    assert_eq!(err.kind, RejectionKind::TooLarge);
    assert!(
        err.message.contains("65536") && err.message.contains("xcom_max_bytes"),
        "{err}"
    );
    // The earlier value is still there.
    assert_eq!(
        store.store.xcoms("etl", "r1", Some("extract")).unwrap()[0].value,
        json!({"rows": 12})
    );
    // The cap is a cluster setting.
    store.apply(vec![Command::SetSettings {
        settings: Settings {
            xcom_max_bytes: 100_000,
            ..Settings::default()
        },
    }]);
    let now_fits = store.apply(vec![push(json!("x".repeat(70_000)))]);
    assert!(now_fits[0].is_ok(), "{now_fits:?}");
}

#[test]
fn clearing_reruns_tasks_and_reopens_the_run() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN), run("etl", "r1")]);
    for task in ["extract", "transform", "load"] {
        let attempt = start(&mut store, task);
        store.apply(vec![set(task, S::Success, Actor::Worker, Some(&attempt))]);
    }
    assert_eq!(
        store.store.run("etl", "r1").unwrap().unwrap().state,
        DagRunState::Success
    );
    let cleared = store.apply(vec![Command::ClearTaskInstances {
        dag_id: "etl".into(),
        run_id: "r1".into(),
        task_ids: vec!["transform".into(), "load".into()],
    }]);
    assert_eq!(cleared[0], Ok(Outcome::Cleared { task_instances: 2 }));
    let run = store.store.run("etl", "r1").unwrap().unwrap();
    assert_eq!(run.state, DagRunState::Queued);
    let states: Vec<S> = store
        .store
        .task_instances("etl", "r1")
        .unwrap()
        .iter()
        .map(|t| t.state)
        .collect();
    // Task instances come back in task-id order: extract, load, transform.
    assert_eq!(states, [S::Success, S::None, S::None]);
    let unknown = store.apply(vec![Command::ClearTaskInstances {
        dag_id: "etl".into(),
        run_id: "r1".into(),
        task_ids: vec!["nope".into()],
    }]);
    assert!(unknown[0].clone().unwrap_err().message.contains("nope"));
}

#[test]
fn a_refused_command_in_a_batch_leaves_the_others_applied() {
    let mut store = TempStore::new();
    let results = store.apply(vec![
        put(CHAIN),
        Command::SetPaused {
            dag_id: "missing".into(),
            is_paused: false,
        },
        Command::SetPaused {
            dag_id: "etl".into(),
            is_paused: false,
        },
    ]);
    assert!(results[0].is_ok());
    assert_eq!(
        results[1].clone().unwrap_err().kind,
        RejectionKind::NotFound
    );
    assert!(results[2].is_ok());
    assert!(!store.store.dag("etl").unwrap().unwrap().is_paused);
}

#[test]
fn pools_can_be_set_and_deleted_but_not_the_default() {
    let mut store = TempStore::new();
    assert_eq!(store.store.pools().unwrap(), [PoolRecord::default_pool()]);
    let pool = PoolRecord {
        name: "db".into(),
        slots: 4,
        description: None,
        include_deferred: false,
    };
    store.apply(vec![Command::SetPool { pool: pool.clone() }]);
    assert_eq!(store.store.pools().unwrap().len(), 2);
    let del_default = store.apply(vec![Command::DeletePool {
        name: "default_pool".into(),
    }]);
    assert_eq!(
        del_default[0].clone().unwrap_err().kind,
        RejectionKind::Invalid
    );
    store.apply(vec![Command::DeletePool { name: "db".into() }]);
    assert_eq!(store.store.pools().unwrap(), [PoolRecord::default_pool()]);
}

#[test]
fn variables_are_set_listed_read_and_deleted() {
    let mut store = TempStore::new();
    let var = |key: &str, value: &str| kairos_state::records::VariableRecord {
        key: key.into(),
        value: value.into(),
        description: None,
        encrypted: false,
    };
    let results = store.apply(vec![
        Command::SetVariable {
            variable: var("region", "eu-west-1"),
        },
        Command::SetVariable {
            variable: var("bucket", "raw"),
        },
        Command::SetVariable {
            variable: var("", "x"),
        },
    ]);
    assert!(results[0].is_ok() && results[1].is_ok());
    assert_eq!(results[2].clone().unwrap_err().kind, RejectionKind::Invalid);
    let listed: Vec<String> = store
        .store
        .variables(None, None)
        .unwrap()
        .into_iter()
        .map(|v| v.key)
        .collect();
    assert_eq!(listed, ["bucket", "region"]);
    assert_eq!(
        store.store.variable("region").unwrap().map(|v| v.value),
        Some("eu-west-1".to_string())
    );
    store.apply(vec![Command::DeleteVariable {
        key: "region".into(),
    }]);
    assert_eq!(store.store.variable("region").unwrap(), None);
    let missing = store.apply(vec![Command::DeleteVariable {
        key: "region".into(),
    }]);
    assert_eq!(
        missing[0].clone().unwrap_err().kind,
        RejectionKind::NotFound
    );
}

#[test]
fn marking_a_task_that_never_started_finished_stamps_its_start_and_end_as_airflow_does() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN), run("etl", "r1")]);
    let later = t0() + Duration::minutes(5);
    let results = store.apply_at(later, vec![set("extract", S::Success, Actor::Mark, None)]);
    assert!(results[0].is_ok(), "{:?}", results[0]);
    let marked = store.store.task_instance(&ti("extract")).unwrap().unwrap();
    assert_eq!(marked.state, S::Success);
    assert_eq!(marked.start_date, Some(later));
    assert_eq!(marked.end_date, Some(later));
}

#[test]
fn time_comes_from_the_entry_and_never_runs_backwards() {
    let mut store = TempStore::new();
    let later = t0() + Duration::hours(1);
    store.apply_at(later, vec![put(CHAIN)]);
    // A new leader whose clock is behind stamps an earlier time.
    store.apply_at(t0(), vec![run("etl", "r1")]);
    let run = store.store.run("etl", "r1").unwrap().unwrap();
    assert_eq!(run.created_at, later);
    assert_eq!(store.store.versions("etl").unwrap()[0].created_at, later);
}

#[test]
fn runs_can_be_listed_by_state_a_page_at_a_time() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN)]);
    let runs: Vec<Command> = (0..30).map(|i| run("etl", &format!("r{i:02}"))).collect();
    store.apply(runs);
    // Finish every third run by marking its tasks.
    for i in (0..30).step_by(3) {
        let run_id = format!("r{i:02}");
        let marks = ["extract", "transform", "load"]
            .iter()
            .map(|t| Command::SetTaskState {
                ti: TaskInstanceKey {
                    dag_id: "etl".into(),
                    run_id: run_id.clone(),
                    task_id: t.to_string(),
                    map_index: -1,
                },
                to: S::Success,
                actor: Actor::Mark,
                attempt: None,
                reason: None,
            })
            .collect();
        store.apply(marks);
    }
    let done = store
        .store
        .runs("etl", Some(DagRunState::Success), None, Some(4))
        .unwrap();
    assert_eq!(
        done.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        ["r00", "r03", "r06", "r09"]
    );
    let next = store
        .store
        .runs("etl", Some(DagRunState::Success), Some("r09"), Some(4))
        .unwrap();
    assert_eq!(
        next.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        ["r12", "r15", "r18", "r21"]
    );
    assert_eq!(
        store
            .store
            .runs("etl", Some(DagRunState::Queued), None, Some(1000))
            .unwrap()
            .len(),
        20
    );
}

#[test]
fn ids_of_dots_alone_are_refused_since_urls_cannot_name_them() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN)]);
    for id in [".", ".."] {
        let r = store.apply(vec![Command::manual_run("etl", id, "test")]);
        let rejection = r[0].clone().unwrap_err();
        assert_eq!(rejection.kind, kairos_state::RejectionKind::Invalid);
        assert!(rejection.message.contains("only dots"), "{rejection:?}");
    }
    let r = store.apply(vec![Command::set_pool("..", 1)]);
    assert!(r[0].is_err());
}

/// A manual run of `dag_id` on `date` (logical date and data interval).
fn run_on(dag_id: &str, run_id: &str, date: chrono::DateTime<chrono::Utc>) -> Command {
    let mut command = run(dag_id, run_id);
    if let Command::CreateDagRun {
        logical_date,
        data_interval_start,
        data_interval_end,
        ..
    } = &mut command
    {
        *logical_date = Some(date);
        *data_interval_start = Some(date);
        *data_interval_end = Some(date);
    }
    command
}

#[test]
fn runs_are_listed_newest_first_a_page_at_a_time_whatever_their_ids() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN), put(&CHAIN.replacen("etl:", "etl2:", 1))]);
    let hour = chrono::Duration::hours(1);
    // Ids sort against their dates; two share a date; another DAG's runs sit
    // right after these in the index.
    store.apply(vec![
        run_on("etl", "zz", t0()),
        run_on("etl", "mm", t0() + hour),
        run_on("etl", "aa", t0() + hour * 2),
        run_on("etl", "bb", t0() + hour * 2),
        run_on("etl", "00", t0() + hour * 3),
        run_on("etl2", "other", t0() + hour * 9),
    ]);
    let ids = |runs: Vec<kairos_state::records::DagRunRecord>| -> Vec<String> {
        runs.into_iter().map(|r| r.run_id).collect()
    };
    let newest = |after: Option<&str>, limit| {
        ids(store
            .store
            .runs_by_date("etl", None, after, Some(limit), true)
            .unwrap())
    };
    assert_eq!(newest(None, 2), ["00", "bb"]);
    assert_eq!(newest(Some("bb"), 2), ["aa", "mm"]);
    assert_eq!(newest(Some("mm"), 2), ["zz"]);
    assert_eq!(newest(None, 100), ["00", "bb", "aa", "mm", "zz"]);
    // A cursor naming a run that is not there ends the list.
    assert!(newest(Some("gone"), 2).is_empty());
    let oldest = ids(store
        .store
        .runs_by_date("etl", None, Some("mm"), Some(100), false)
        .unwrap());
    assert_eq!(oldest, ["aa", "bb", "00"]);
    // The last DAG in the index: the reverse scan starts at its end.
    let other = ids(store
        .store
        .runs_by_date("etl2", None, None, Some(25), true)
        .unwrap());
    assert_eq!(other, ["other"]);
    // Filtered by state, through the same order.
    for run_id in ["zz", "aa"] {
        let marked = store.apply(vec![Command::SetDagRunState {
            dag_id: "etl".into(),
            run_id: run_id.into(),
            state: DagRunState::Success,
        }]);
        assert!(marked[0].is_ok(), "{marked:?}");
    }
    let done = ids(store
        .store
        .runs_by_date("etl", Some(DagRunState::Success), None, Some(100), true)
        .unwrap());
    assert_eq!(done, ["aa", "zz"]);
}
