//! The counts apply returns for metrics: commands, runs created, tasks queued,
//! refusals and task-to-task gaps.

use chrono::{DateTime, Duration, Utc};
use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::{Command, Outcome, TaskInstanceKey};

use crate::common::*;
use crate::support::*;

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
        token: None,
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
