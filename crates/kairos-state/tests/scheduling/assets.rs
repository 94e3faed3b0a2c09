//! Asset-triggered runs: a task with outlets succeeds, the event is recorded and
//! queued for the DAGs scheduled on the asset, and a DAG whose condition the
//! queued assets meet gets an `asset_triggered` run with the events, in the same
//! apply. A paused consumer keeps its queue until it is unpaused; events posted
//! through the API count the same.

use kairos_dag::asset::OutletEvent;
use kairos_dag::lifecycle::{RunType, TaskInstanceState as S};
use kairos_state::records::DagRunRecord;
use kairos_state::{Command, Outcome};
use serde_json::json;

use crate::common::*;
use crate::support::*;

const MAKE_A: &str = "
make_a:
  is_paused_upon_creation: false
  tasks:
    write: {operator: bash, bash_command: 'echo a', outlets: ['s3://b/a']}
";

const MAKE_B: &str = "
make_b:
  is_paused_upon_creation: false
  tasks:
    write: {operator: bash, bash_command: 'echo b', outlets: [{__type__: airflow.sdk.Asset, uri: 's3://b/b', name: b}]}
";

const CONSUMER: &str = "
use_both:
  is_paused_upon_creation: PAUSED
  schedule: ['s3://b/a', 's3://b/b']
  tasks:
    read: {operator: empty, inlets: ['s3://b/a']}
";

fn runs(store: &TempStore, dag: &str) -> Vec<DagRunRecord> {
    store.store.runs(dag, None, None, None).unwrap()
}

/// A producer's run: its bash task succeeds on a worker (empty tasks and time
/// sensors succeed on the server and emit their events the same way).
fn produce(store: &mut TempStore, dag: &str, run: &str) {
    store.apply(vec![manual(dag, run)]);
    run_to(store, key(dag, run, "write"), S::Success);
    assert_eq!(state(store, dag, run, "write"), S::Success);
}

/// Both producers and the consumer pushed, the consumer paused or not.
fn with_producers_and_consumer(paused: bool) -> TempStore {
    let mut store = TempStore::new();
    store.apply_at(
        day(1),
        vec![
            put(MAKE_A),
            put(MAKE_B),
            put(&CONSUMER.replace("PAUSED", &paused.to_string())),
        ],
    );
    store
}

#[test]
fn a_dag_runs_when_all_its_assets_were_updated() {
    let mut store = with_producers_and_consumer(false);
    produce(&mut store, "make_a", "a1");
    produce(&mut store, "make_a", "a2");
    assert!(runs(&store, "use_both").is_empty(), "b not updated yet");
    produce(&mut store, "make_b", "b1");
    let triggered = runs(&store, "use_both");
    assert_eq!(triggered.len(), 1, "{triggered:?}");
    let run = &triggered[0];
    assert_eq!(run.run_type, RunType::AssetTriggered);
    assert!(
        run.run_id.starts_with("asset_triggered__"),
        "{}",
        run.run_id
    );
    assert_eq!(run.logical_date, None);
    let sources: Vec<(&str, &str)> = run
        .triggering_asset_events
        .iter()
        .map(|e| {
            (
                e.uri.as_str(),
                e.source.as_ref().map_or("", |s| s.run_id.as_str()),
            )
        })
        .collect();
    assert_eq!(
        sources,
        vec![("s3://b/a", "a1"), ("s3://b/a", "a2"), ("s3://b/b", "b1")],
        "every queued event, in order"
    );
    // The queue is empty again: one more update of b alone triggers nothing.
    produce(&mut store, "make_b", "b2");
    assert_eq!(runs(&store, "use_both").len(), 1);
    // An event posted through the API completes the condition.
    let r = store.apply(vec![Command::CreateAssetEvent {
        uri: "s3://b/a".into(),
        extra: json!({"rows": 3}),
    }]);
    assert!(matches!(r[0], Ok(Outcome::AssetEvent { .. })), "{r:?}");
    let triggered = runs(&store, "use_both");
    assert_eq!(triggered.len(), 2);
    let api = triggered
        .iter()
        .flat_map(|r| &r.triggering_asset_events)
        .find(|e| e.source.is_none())
        .expect("the API's event");
    assert_eq!(api.extra, json!({"rows": 3}));
    // An asset no DAG names cannot get an event.
    let r = store.apply(vec![Command::CreateAssetEvent {
        uri: "s3://nobody".into(),
        extra: json!(null),
    }]);
    assert!(r[0].is_err(), "{r:?}");
}

#[test]
fn an_empty_task_with_outlets_updates_its_assets_on_the_server() {
    let mut store = TempStore::new();
    let producer = "
mark:
  is_paused_upon_creation: false
  tasks:
    done: {operator: empty, outlets: ['s3://b/a', 's3://b/b']}
";
    store.apply_at(
        day(1),
        vec![put(producer), put(&CONSUMER.replace("PAUSED", "false"))],
    );
    store.apply(vec![manual("mark", "m1")]);
    assert_eq!(state(&store, "mark", "m1", "done"), S::Success);
    let triggered = runs(&store, "use_both");
    assert_eq!(triggered.len(), 1, "both assets at once");
    assert_eq!(triggered[0].triggering_asset_events.len(), 2);
}

#[test]
fn a_paused_consumer_keeps_its_queue_until_unpaused() {
    let mut store = with_producers_and_consumer(true);
    produce(&mut store, "make_a", "a1");
    produce(&mut store, "make_b", "b1");
    assert!(runs(&store, "use_both").is_empty(), "paused");
    store.apply(vec![Command::SetPaused {
        dag_id: "use_both".into(),
        is_paused: false,
    }]);
    let triggered = runs(&store, "use_both");
    assert_eq!(triggered.len(), 1);
    assert_eq!(triggered[0].triggering_asset_events.len(), 2);
}

const EMITS: &str = "
emits:
  is_paused_upon_creation: false
  tasks:
    write:
      operator: bash
      bash_command: 'true'
      outlets: ['s3://b/rows', {__type__: airflow.sdk.AssetAlias, name: daily}]
";

const ON_DAILY: &str = "
on_daily:
  is_paused_upon_creation: false
  schedule: ['s3://b/2026']
  tasks:
    read: {operator: empty}
";

fn outlet_event(uri: &str, alias: Option<&str>, extra: serde_json::Value) -> OutletEvent {
    OutletEvent {
        uri: uri.into(),
        alias: alias.map(str::to_string),
        extra,
    }
}

/// Runs `emits` run `run` to `outcome`, reporting `events` with it.
fn emit(store: &mut TempStore, run: &str, outcome: S, events: Vec<OutletEvent>) {
    store.apply(vec![manual("emits", run)]);
    let ti = key("emits", run, "write");
    let attempt = dispatch(store, ti.clone());
    let mut finish = report(ti, &attempt, outcome, None);
    if let Command::FinishAttempt { outlet_events, .. } = &mut finish {
        *outlet_events = events;
    }
    let r = store.apply(vec![finish]);
    assert!(r[0].is_ok(), "{r:?}");
}

#[test]
fn outlet_events_give_extras_and_events_through_aliases_on_success_only() {
    let mut store = TempStore::new();
    store.apply(vec![put(EMITS), put(ON_DAILY)]);
    let events = vec![
        outlet_event("s3://b/rows", None, json!({"rows": 42})),
        outlet_event("s3://b/2026", Some("daily"), json!({"part": 7})),
        // Not an outlet alias of the task: left out.
        outlet_event("s3://b/other", Some("weekly"), json!({})),
    ];
    emit(&mut store, "e1", S::Failed, events.clone());
    assert!(
        store.store.asset_events(None, None).unwrap().is_empty(),
        "none of a failure"
    );

    emit(&mut store, "e2", S::Success, events);
    let rows = store.store.asset_events(Some("s3://b/rows"), None).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].extra, json!({"rows": 42}));
    let daily = store.store.asset_events(Some("s3://b/2026"), None).unwrap();
    assert_eq!(daily.len(), 1);
    assert_eq!(daily[0].extra, json!({"part": 7}));
    assert_eq!(
        daily[0].source.as_ref().map(|s| s.task_id.as_str()),
        Some("write")
    );
    assert!(
        store
            .store
            .asset_events(Some("s3://b/other"), None)
            .unwrap()
            .is_empty()
    );
    // The asset the alias named triggered the DAG scheduled on it.
    assert_eq!(runs(&store, "on_daily").len(), 1);
}
