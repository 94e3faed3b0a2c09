//! Runs listed a page at a time: by state, and newest first by date whatever
//! their ids.

use kairos_dag::lifecycle::{Actor, DagRunState, TaskInstanceState as S};
use kairos_state::{Command, TaskInstanceKey};

use crate::common::*;
use crate::support::*;

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
