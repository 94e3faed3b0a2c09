//! Task instances through their attempts: fenced reports, stale and illegal
//! ones refused, XComs and their cap, clearing, and marking by hand.

use chrono::Duration;
use kairos_dag::lifecycle::{Actor, DagRunState, TaskInstanceState as S};
use kairos_state::records::Settings;
use kairos_state::{Command, Outcome, RejectionKind};
use serde_json::json;

use crate::common::*;
use crate::support::*;

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
fn a_dispatch_stores_the_token_the_leader_drew_and_refusals_never_name_tokens() {
    let mut store = TempStore::new();
    store.apply(vec![put(CHAIN), run("etl", "r1")]);
    // Scheduled, then queued by the same entry's queueing pass.
    let queued = store.apply(vec![set("extract", S::Scheduled, Actor::Scheduler, None)]);
    assert!(
        matches!(
            &queued[0],
            Ok(Outcome::TaskState {
                state: S::Queued,
                ..
            })
        ),
        "{queued:?}"
    );
    let dispatch = |token: &str| Command::Dispatch {
        ti: ti("extract"),
        worker: "w".into(),
        log_url: None,
        token: Some(token.to_string()),
    };
    // A token that is not 128 random bits in hex is refused.
    let bad = store.apply(vec![dispatch("1-2.0")]);
    assert_eq!(bad[0].clone().unwrap_err().kind, RejectionKind::Invalid);
    let token = "8f14e45fceea167a5a36dedd4bea2543";
    let started = store.apply(vec![dispatch(token)]);
    match &started[0] {
        Ok(Outcome::TaskState {
            attempt: Some(attempt),
            state: S::Running,
            ..
        }) => assert_eq!(attempt, token),
        other => panic!("{other:?}"),
    }
    // A forged token is refused, and the refusal names neither token.
    let forged = "00000000000000000000000000000000";
    let refused = store.apply(vec![set(
        "extract",
        S::Success,
        Actor::Worker,
        Some(forged),
    )]);
    let rejection = refused[0].clone().unwrap_err();
    assert_eq!(rejection.kind, RejectionKind::StaleAttempt);
    assert!(!rejection.message.contains(token), "{rejection}");
    assert!(!rejection.message.contains(forged), "{rejection}");
    // The holder's report is accepted.
    let done = store.apply(vec![set("extract", S::Success, Actor::Worker, Some(token))]);
    assert!(done[0].is_ok(), "{done:?}");
}
