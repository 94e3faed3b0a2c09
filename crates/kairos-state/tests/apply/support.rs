//! What the command tests share: a run of `etl`, its task instances, state
//! changes as each actor sends them, and a task started by hand.

use kairos_dag::lifecycle::{Actor, RunType, TaskInstanceState as S};
use kairos_state::{Command, Outcome, TaskInstanceKey};

use crate::common::*;

pub fn run(dag_id: &str, run_id: &str) -> Command {
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

pub fn ti(task_id: &str) -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id: "etl".into(),
        run_id: "r1".into(),
        task_id: task_id.into(),
        map_index: -1,
    }
}

pub fn set(task_id: &str, to: S, actor: Actor, attempt: Option<&str>) -> Command {
    Command::SetTaskState {
        ti: ti(task_id),
        to,
        actor,
        attempt: attempt.map(str::to_string),
        reason: None,
    }
}

/// Queues and dispatches a task; returns its attempt token.
pub fn start(store: &mut TempStore, task_id: &str) -> String {
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
