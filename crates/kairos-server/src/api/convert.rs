//! From the state machine's records to the API's wire types (`kairos-api`). They
//! are functions, not `From` impls: both sides are other crates' types, and the
//! wire types stay free of the state machine.

use kairos_api::{Dag, DagRun, MarkRunState, TaskInstance, TaskTry};
use kairos_dag::lifecycle::DagRunState;
use kairos_state::records::{DagRecord, DagRunRecord, TaskInstanceRecord, TryRecord};

/// The API's view of a DAG.
pub fn dag(d: DagRecord) -> Dag {
    Dag {
        dag_id: d.dag_id,
        bundle: d.bundle,
        team: d.team,
        tags: d.tags,
        is_paused: d.is_paused,
        latest_version: d.latest_version,
        created_at: d.created_at,
        updated_at: d.updated_at,
    }
}

/// The API's view of a run.
pub fn dag_run(r: DagRunRecord) -> DagRun {
    DagRun {
        dag_id: r.dag_id,
        dag_run_id: r.run_id,
        run_type: r.run_type.as_str().to_string(),
        state: r.state.as_str().to_string(),
        version: r.version,
        logical_date: r.logical_date,
        data_interval_start: r.data_interval_start,
        data_interval_end: r.data_interval_end,
        run_after: r.run_after,
        start_date: r.start_date,
        end_date: r.end_date,
        conf: r.conf,
        triggered_by: r.triggered_by,
        backfill_id: r.backfill_id,
    }
}

/// The API's view of a task instance.
pub fn task_instance(t: TaskInstanceRecord) -> TaskInstance {
    TaskInstance {
        dag_id: t.dag_id,
        dag_run_id: t.run_id,
        task_id: t.task_id,
        map_index: t.map_index,
        state: t.state.as_str().to_string(),
        try_number: t.try_number,
        start_date: t.start_date,
        end_date: t.end_date,
        queue: t.queue,
        pool: t.pool,
        pool_slots: t.pool_slots,
        priority_weight: t.priority_weight,
        hostname: t.worker,
        note: t.reason,
        next_retry_at: t.next_retry_at,
        log_tail: t.log_tail,
    }
}

/// The API's view of one ended try.
pub fn task_try(t: TryRecord) -> TaskTry {
    TaskTry {
        try_number: t.try_number,
        state: t.state.as_str().to_string(),
        note: t.reason,
        hostname: t.worker,
        start_date: t.start_date,
        end_date: t.end_date,
    }
}

/// The state a run is marked with, as the state machine names it.
pub fn run_state(s: MarkRunState) -> DagRunState {
    match s {
        MarkRunState::Success => DagRunState::Success,
        MarkRunState::Failed => DagRunState::Failed,
    }
}
