//! A DAG's own callbacks: a run that ends by itself leaves a record for a
//! worker of the DAG's queue (success or failure, with Airflow's reason); one
//! take runs it (a second is refused), only the taker's token ends it; a
//! marked run, or a DAG without them, leaves none; a cleared run that ends
//! again gets them again; deleting the run deletes them.

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::records::{DagCallbackRecord, DagCallbackState};
use kairos_state::{Command, Outcome, RejectionKind};

use crate::common::*;
use crate::support::*;

const NOTIFY: &str = "
notify:
  is_paused_upon_creation: false
  on_success_callback: alerts.done
  on_failure_callback: {callback: alerts.failed, channel: ops}
  tasks:
    work: {operator: bash, bash_command: 'true', queue: team_q}
";

const SILENT: &str = "
silent:
  is_paused_upon_creation: false
  tasks:
    work: {operator: bash, bash_command: 'true'}
";

fn callback(store: &TempStore, run: &str) -> Option<DagCallbackRecord> {
    store.store.dag_callback("notify", run).unwrap()
}

fn take(store: &mut TempStore, run: &str, token: &str) -> Result<Outcome, RejectionKind> {
    let r = store.apply(vec![Command::TakeDagCallback {
        dag_id: "notify".into(),
        run_id: run.into(),
        worker: "w1".into(),
        token: token.into(),
    }]);
    r.into_iter().next().unwrap().map_err(|e| e.kind)
}

fn finish(store: &mut TempStore, run: &str, token: &str) -> Result<Outcome, RejectionKind> {
    let r = store.apply(vec![Command::FinishDagCallback {
        dag_id: "notify".into(),
        run_id: run.into(),
        token: token.into(),
        success: true,
        log_tail: "done\n".into(),
    }]);
    r.into_iter().next().unwrap().map_err(|e| e.kind)
}

#[test]
fn a_run_that_ends_leaves_its_dag_callbacks_for_one_worker() {
    let mut store = TempStore::new();
    store.apply(vec![put(NOTIFY), put(SILENT)]);
    store.apply(vec![manual("notify", "r1"), manual("silent", "r1")]);
    assert!(callback(&store, "r1").is_none(), "not before the run ends");
    run_to(&mut store, key("notify", "r1", "work"), S::Success);
    run_to(&mut store, key("silent", "r1", "work"), S::Success);
    assert!(store.store.dag_callback("silent", "r1").unwrap().is_none());

    let pending = callback(&store, "r1").expect("a record");
    assert_eq!(pending.kind, "on_success_callback");
    assert_eq!(pending.reason, "success");
    assert_eq!(pending.queue, "team_q", "the queue its tasks share");
    assert_eq!(pending.state, DagCallbackState::Pending);
    let listed = store.store.pending_dag_callbacks("team_q", 10).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        store
            .store
            .pending_dag_callbacks("default", 10)
            .unwrap()
            .is_empty()
    );

    assert!(matches!(
        take(&mut store, "r1", "t1"),
        Ok(Outcome::DagCallback { .. })
    ));
    assert_eq!(
        take(&mut store, "r1", "t2"),
        Err(RejectionKind::IllegalTransition)
    );
    assert!(
        store
            .store
            .pending_dag_callbacks("team_q", 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        finish(&mut store, "r1", "t2"),
        Err(RejectionKind::StaleAttempt)
    );
    assert!(finish(&mut store, "r1", "t1").is_ok());
    let done = callback(&store, "r1").expect("kept");
    assert_eq!(done.state, DagCallbackState::Success);
    assert_eq!(done.worker.as_deref(), Some("w1"));
    assert_eq!(done.log_tail.as_deref(), Some("done\n"));
    assert_eq!(
        finish(&mut store, "r1", "t1"),
        Err(RejectionKind::StaleAttempt)
    );

    // Cleared and ended again (failed this time): the failure callbacks, anew.
    store.apply(vec![Command::ClearTaskInstances {
        dag_id: "notify".into(),
        run_id: "r1".into(),
        task_ids: vec!["work".into()],
    }]);
    run_to(&mut store, key("notify", "r1", "work"), S::Failed);
    assert_eq!(run_state(&store, "notify", "r1"), DagRunState::Failed);
    let again = callback(&store, "r1").expect("a new record");
    assert_eq!(again.kind, "on_failure_callback");
    assert_eq!(again.reason, "task_failure");
    assert_eq!(again.state, DagCallbackState::Pending);

    // Deleting the run deletes them.
    store.apply(vec![Command::DeleteDagRun {
        dag_id: "notify".into(),
        run_id: "r1".into(),
    }]);
    assert!(callback(&store, "r1").is_none());
    assert!(
        store
            .store
            .pending_dag_callbacks("team_q", 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_run_marked_by_hand_runs_no_dag_callbacks() {
    let mut store = TempStore::new();
    store.apply(vec![put(NOTIFY)]);
    store.apply(vec![manual("notify", "r1")]);
    store.apply(vec![mark_run("notify", "r1", DagRunState::Failed)]);
    assert_eq!(run_state(&store, "notify", "r1"), DagRunState::Failed);
    assert!(callback(&store, "r1").is_none(), "as in Airflow");
}
