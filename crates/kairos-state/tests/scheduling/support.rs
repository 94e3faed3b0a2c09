//! What the scheduling tests share: a controlled clock, commands as a worker
//! sends them, the state read back, and DAGs several areas run.

use chrono::{DateTime, TimeZone, Utc};
use kairos_dag::lifecycle::{Actor, DagRunState, TaskInstanceState as S};
use kairos_state::{Command, Outcome, TaskInstanceKey};

use crate::common::*;

pub fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap()
}

pub fn manual(dag_id: &str, run_id: &str) -> Command {
    Command::manual_run(dag_id, run_id, "test")
}

pub fn key(dag: &str, run: &str, task: &str) -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id: dag.into(),
        run_id: run.into(),
        task_id: task.into(),
        map_index: -1,
    }
}

pub fn state(store: &TempStore, dag: &str, run: &str, task: &str) -> S {
    store
        .store
        .task_instance(&key(dag, run, task))
        .unwrap()
        .unwrap_or_else(|| panic!("no {dag}/{run}/{task}"))
        .state
}

/// Hands a queued task instance to worker `w` and returns the attempt token.
pub fn dispatch(store: &mut TempStore, ti: TaskInstanceKey) -> String {
    let r = store.apply(vec![Command::Dispatch {
        ti: ti.clone(),
        worker: "w".into(),
        log_url: None,
        token: None,
    }]);
    match &r[0] {
        Ok(Outcome::TaskState {
            attempt: Some(a), ..
        }) => a.clone(),
        other => panic!("dispatch of {ti:?}: {other:?}"),
    }
}

pub fn report(
    ti: TaskInstanceKey,
    attempt: &str,
    state: S,
    follow: Option<Vec<String>>,
) -> Command {
    Command::FinishAttempt {
        ti,
        attempt: attempt.into(),
        actor: Actor::Worker,
        state,
        reason: None,
        xcoms: vec![],
        log_tail: None,
        follow,
        reschedule_at: None,
        no_retry: false,
        outlet_events: vec![],
    }
}

/// Runs a task to `outcome`: dispatch, then report.
pub fn run_to(store: &mut TempStore, ti: TaskInstanceKey, outcome: S) {
    let attempt = dispatch(store, ti.clone());
    let r = store.apply(vec![report(ti, &attempt, outcome, None)]);
    assert!(r[0].is_ok(), "{r:?}");
}

pub const WIDE: &str = "
wide:
  is_paused_upon_creation: false
  default_args: {pool: small}
  tasks:
TASKS
";

pub fn wide(n: usize, weights: &[i32]) -> String {
    let mut tasks = String::new();
    for i in 0..n {
        let w = weights.get(i).copied().unwrap_or(1);
        tasks.push_str(&format!(
            "    t{i:02}: {{operator: bash, bash_command: 'true', priority_weight: {w}}}\n"
        ));
    }
    WIDE.replace("TASKS\n", &tasks)
}

pub fn queued(store: &TempStore, dag: &str, run: &str) -> Vec<String> {
    store
        .store
        .task_instances(dag, run)
        .unwrap()
        .into_iter()
        .filter(|t| t.state == S::Queued)
        .map(|t| t.task_id)
        .collect()
}

/// The counters behind limits are derived state: recomputed from the task
/// instances, they must equal what apply kept, after any sequence of moves.
pub fn assert_counters_match(store: &TempStore, dag: &str, runs: &[&str]) {
    use kairos_state::keys::Cf;
    use kairos_state::keys::index::counter;
    let get = |key: Vec<u8>| {
        store
            .store
            .get::<i64>(Cf::Index, &key)
            .unwrap()
            .unwrap_or(0)
    };
    let mut pool = std::collections::BTreeMap::<String, i64>::new();
    let mut executing = 0;
    for run in runs {
        let tis = store.store.task_instances(dag, run).unwrap();
        let unfinished = tis.iter().filter(|t| !t.state.is_finished()).count() as i64;
        assert_eq!(
            get(counter::unfinished(dag, run)),
            unfinished,
            "unfinished in {run}"
        );
        for t in tis.iter().filter(|t| t.state.is_executing()) {
            *pool.entry(t.pool.clone()).or_default() += i64::from(t.pool_slots);
            executing += 1;
        }
    }
    for (name, used) in &pool {
        assert_eq!(get(counter::pool(name)), *used, "slots used in pool {name}");
    }
    assert_eq!(
        get(counter::dag(dag)),
        executing,
        "active instances of {dag}"
    );
    assert_eq!(
        get(counter::global()),
        executing,
        "active instances in the cluster"
    );
}

pub fn run_state(store: &TempStore, dag: &str, run: &str) -> DagRunState {
    store.store.run(dag, run).unwrap().unwrap().state
}

pub const CHAIN3: &str = "
chain3:
  is_paused_upon_creation: false
  max_active_runs: 1
  tasks:
    a: {operator: bash, bash_command: 'true'}
    b: {operator: bash, bash_command: 'true', dependencies: [a]}
    c: {operator: bash, bash_command: 'true', dependencies: [b]}
";

pub fn mark_run(dag: &str, run: &str, to: DagRunState) -> Command {
    Command::SetDagRunState {
        dag_id: dag.into(),
        run_id: run.into(),
        state: to,
    }
}

/// Every key in every family that mentions `needle`.
pub fn keys_mentioning(store: &TempStore, needle: &[u8]) -> Vec<(String, String)> {
    use kairos_state::keys::Cf;
    let mut out = Vec::new();
    for cf in Cf::ALL {
        for (k, _) in store.store.scan_raw(cf, b"", None, usize::MAX).unwrap() {
            if k.windows(needle.len()).any(|w| w == needle) {
                out.push((
                    cf.name().to_string(),
                    String::from_utf8_lossy(&k).into_owned(),
                ));
            }
        }
    }
    out
}
