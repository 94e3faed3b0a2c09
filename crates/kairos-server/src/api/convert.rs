//! From the state machine's records (and the model's, and the node's status) to
//! the API's wire types (`kairos-api`), and from the wire's few enums back to the
//! state machine's. They are functions, not `From` impls: both sides are other
//! crates' types, and the wire types stay free of the state machine.

use kairos_api::{
    ComponentHealth, Dag, DagRun, Explanation, GraphTask, MarkRunState, NodeHealth, Pool,
    Reprocess, SchedulerHealth, Tag, TaskChange, TaskInstance, TaskTry, Version, VersionChanges,
    VersionDetail, XComEntry,
};
use kairos_dag::diff::VersionDiff;
use kairos_dag::lifecycle::DagRunState;
use kairos_dag::lifecycle::RunType;
use kairos_dag::model::Task;
use kairos_proto::v1::NodeStatus;
use kairos_state::engine::explain::Explanation as StateExplanation;
use kairos_state::query::VersionSummary;
use kairos_state::records::{
    DagRecord, DagRunRecord, PoolRecord, ReprocessBehavior, TaskInstanceRecord, TryRecord,
    VersionRecord, XComRecord,
};

/// The API's view of a DAG.
/// The API's view of a DAG; the fields that come from its newest version
/// are filled by `airflow::dag_fields`.
pub fn dag(d: DagRecord) -> Dag {
    Dag {
        dag_display_name: d.dag_id.clone(),
        dag_id: d.dag_id,
        bundle: d.bundle,
        team: d.team,
        tags: d.tags.into_iter().map(|name| Tag { name }).collect(),
        is_paused: d.is_paused,
        latest_version: d.latest_version,
        created_at: d.created_at,
        updated_at: d.updated_at,
        description: None,
        fileloc: String::new(),
        file_token: d.latest_hash,
        owners: Vec::new(),
        is_active: true,
        is_subdag: false,
        has_import_errors: false,
        has_task_concurrency_limits: false,
        max_active_runs: 0,
        max_active_tasks: 0,
        schedule_interval: None,
        timetable_description: None,
        last_parsed_time: None,
        default_view: "grid".into(),
        next_dagrun: None,
        next_dagrun_data_interval_start: None,
        next_dagrun_data_interval_end: None,
        next_dagrun_create_after: None,
    }
}

/// The API's view of a run.
pub fn dag_run(r: DagRunRecord) -> DagRun {
    DagRun {
        execution_date: r.logical_date,
        external_trigger: r.run_type == RunType::Manual,
        note: None,
        last_scheduling_decision: None,
        dag_id: r.dag_id,
        dag_run_id: r.run_id,
        // Airflow 2's API names Airflow 3's asset-triggered runs after datasets.
        run_type: match r.run_type {
            RunType::AssetTriggered => "dataset_triggered".to_string(),
            other => other.as_str().to_string(),
        },
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
        bundle_version: r.bundle_version,
        dag_callback: None,
    }
}

/// The API's view of a DAG callback record.
pub fn dag_callback(c: kairos_state::records::DagCallbackRecord) -> kairos_api::DagCallback {
    let state = match c.state {
        kairos_state::records::DagCallbackState::Pending => "pending",
        kairos_state::records::DagCallbackState::Running => "running",
        kairos_state::records::DagCallbackState::Success => "success",
        kairos_state::records::DagCallbackState::Failed => "failed",
    };
    kairos_api::DagCallback {
        kind: c.kind,
        reason: c.reason,
        state: state.to_string(),
        worker: c.worker,
        started_at: c.started_at,
        ended_at: c.ended_at,
        log_tail: c.log_tail,
    }
}

/// The API's view of a task instance.
/// The API's view of a task instance; its operator and retries come from the
/// run's version (`airflow::ti_fields`).
pub fn task_instance(t: TaskInstanceRecord) -> TaskInstance {
    let duration = match (t.start_date, t.end_date) {
        (Some(start), Some(end)) => Some((end - start).num_milliseconds() as f64 / 1000.0),
        _ => None,
    };
    TaskInstance {
        execution_date: t.run_date,
        duration,
        max_tries: 0,
        operator: None,
        task_display_name: t.task_id.clone(),
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
pub fn run_state(s: MarkRunState) -> Option<DagRunState> {
    match s {
        MarkRunState::Success => Some(DagRunState::Success),
        MarkRunState::Failed => Some(DagRunState::Failed),
        MarkRunState::Queued => None,
    }
}

/// Why a task instance is not running, as the API shows it.
pub fn explanation(e: StateExplanation) -> Explanation {
    Explanation {
        state: e.state.map(|s| s.as_str().to_string()),
        queue: e.queue,
        environment: e.environment,
        team: e.team,
        reasons: e.reasons,
    }
}

/// The API's view of one XCom.
/// The API's view of one XCom, with its run's logical date (or `run_after`).
pub fn xcom_entry(x: XComRecord, run_date: Option<chrono::DateTime<chrono::Utc>>) -> XComEntry {
    XComEntry {
        key: x.key,
        map_index: x.map_index,
        value: x.value,
        timestamp: x.timestamp,
        dag_id: x.dag_id,
        task_id: x.task_id,
        execution_date: run_date,
    }
}

/// The API's view of a pool, `used` of its slots held.
pub fn pool(p: PoolRecord, used: i64) -> Pool {
    Pool {
        occupied_slots: used,
        open_slots: i64::from(p.slots) - used,
        name: p.name,
        slots: p.slots,
        description: p.description,
        include_deferred: p.include_deferred,
        team: p.team,
    }
}

/// What a backfill does with dates that have a run, as the state machine names it.
pub fn reprocess(r: Reprocess) -> ReprocessBehavior {
    match r {
        Reprocess::None => ReprocessBehavior::None,
        Reprocess::Failed => ReprocessBehavior::Failed,
        Reprocess::Completed => ReprocessBehavior::Completed,
    }
}

/// A version in a DAG's list of versions.
pub fn version(v: VersionSummary) -> Version {
    Version {
        version: v.version,
        hash: v.hash,
        created_at: v.created_at,
        tasks: v.tasks,
    }
}

/// One version as it was: its graph, its files and the whole model (which
/// fails only if the model cannot be written as JSON).
pub fn version_detail(
    dag_id: String,
    v: VersionRecord,
) -> Result<VersionDetail, serde_json::Error> {
    Ok(VersionDetail {
        dag_id,
        version: v.version,
        tasks: v.content.dag.tasks.iter().map(graph_task).collect(),
        dag: serde_json::to_value(&v.content.dag)?,
        files: v.content.files,
        hash: v.hash,
        created_at: v.created_at,
    })
}

/// A task as a node of its version's graph.
pub fn graph_task(t: &Task) -> GraphTask {
    GraphTask {
        task_id: t.task_id.clone(),
        operator: t.operator_name(),
        upstream: t.upstream.clone(),
        trigger_rule: t.trigger_rule.to_string(),
        group_id: t.group_id.clone(),
        mapped: t.plain_operator().is_none(),
    }
}

/// What changed between two versions, as the API shows it.
pub fn version_changes(d: VersionDiff) -> VersionChanges {
    VersionChanges {
        tasks_added: d.tasks_added,
        tasks_removed: d.tasks_removed,
        tasks_changed: d
            .tasks_changed
            .into_iter()
            .map(|t| TaskChange {
                task_id: t.task_id,
                fields: t.fields,
            })
            .collect(),
        dag_fields_changed: d.dag_fields_changed,
        files_added: d.files_added,
        files_removed: d.files_removed,
        files_changed: d.files_changed,
    }
}

/// A node's own view of Raft, as `/health` shows it (leader 0 means none).
pub fn node_health(s: &NodeStatus) -> NodeHealth {
    NodeHealth {
        node_id: s.node_id,
        grpc_addr: s.grpc_addr.clone(),
        http_addr: s.http_addr.clone(),
        role: s.role.clone(),
        term: s.term,
        leader_id: (s.leader_id != 0).then_some(s.leader_id),
        last_log_index: s.last_log_index,
        last_applied: s.last_applied,
        snapshot_index: s.snapshot_index,
        purged_index: s.purged_index,
        initialized: s.initialized,
        cluster_id: (!s.cluster_id.is_empty()).then(|| s.cluster_id.clone()),
        metadatabase: ComponentHealth {
            status: Some(healthy(s.initialized && s.leader_id != 0).into()),
        },
        scheduler: SchedulerHealth {
            status: Some(healthy(s.leader_id != 0).into()),
            latest_scheduler_heartbeat: (s.leader_id != 0)
                .then(|| chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        },
    }
}

fn healthy(ok: bool) -> &'static str {
    if ok { "healthy" } else { "unhealthy" }
}
