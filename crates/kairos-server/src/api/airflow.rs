//! Airflow's fields that come from a DAG's version rather than its record:
//! owners, the schedule as `schedule_interval`, `DAGDetail`, a task as
//! Airflow's `Task`, and a task instance's operator and `max_tries`. The
//! records-only conversions are in `convert`.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use kairos_api::{
    ClassReference, Dag, DagDetail, DagTask, ScheduleInterval, TaskInstance, TimeDelta,
};
use kairos_dag::model::{Task, WeightRule};
use kairos_dag::timetable::{DataInterval, Schedule};
use kairos_state::records::VersionRecord;

/// Fills the Airflow fields of `dag` from its newest version (none: a DAG
/// whose version is gone keeps the defaults).
pub fn dag_fields(dag: &mut Dag, version: Option<&VersionRecord>) {
    dag.dag_display_name = dag.dag_id.clone();
    dag.is_active = true;
    dag.default_view = "grid".into();
    let Some(v) = version else { return };
    let model = &v.content.dag;
    if let Some(name) = &model.display_name {
        dag.dag_display_name = name.clone();
    }
    dag.description = model.description.clone();
    dag.fileloc = model.fileloc.clone();
    dag.file_token = v.hash.clone();
    let owners: BTreeSet<&str> = model.tasks.iter().map(|t| t.owner.as_str()).collect();
    dag.owners = owners.into_iter().map(str::to_string).collect();
    dag.has_task_concurrency_limits = model
        .tasks
        .iter()
        .any(|t| t.max_active_tis_per_dag.is_some() || t.max_active_tis_per_dagrun.is_some());
    dag.max_active_runs = model.max_active_runs;
    dag.max_active_tasks = model.max_active_tasks;
    dag.schedule_interval = schedule_interval(&model.schedule);
    dag.timetable_description = Some(model.schedule.describe());
    dag.last_parsed_time = Some(v.created_at);
}

/// The next run the scheduler will create for the DAG whose newest version is
/// `v` and whose last automated run covered `last`, asked at `now` (the same
/// question the leader asks each tick, so the list says what it will do).
pub fn next_dagrun(
    dag: &mut Dag,
    v: &VersionRecord,
    last: Option<&DataInterval>,
    now: DateTime<Utc>,
) {
    let model = &v.content.dag;
    let restriction = model.restriction(v.created_at);
    let Some(info) = model
        .schedule
        .next_dagrun_info(model.timezone, last, &restriction, now)
    else {
        return;
    };
    // A schedule that does not move past the last run makes no further run.
    if last.is_some_and(|l| info.data_interval.start <= l.start) {
        return;
    }
    dag.next_dagrun = Some(info.logical_date());
    dag.next_dagrun_data_interval_start = Some(info.data_interval.start);
    dag.next_dagrun_data_interval_end = Some(info.data_interval.end);
    dag.next_dagrun_create_after = Some(info.run_after);
}

/// Airflow 2's `schedule_interval` for a schedule.
fn schedule_interval(schedule: &Schedule) -> Option<ScheduleInterval> {
    match schedule {
        Schedule::None => None,
        Schedule::Once => Some(ScheduleInterval::cron("@once")),
        Schedule::Cron { cron } | Schedule::CronTrigger { cron, .. } => {
            Some(ScheduleInterval::cron(cron.as_str()))
        }
        Schedule::Delta { delta } => Some(ScheduleInterval::Delta(TimeDelta::from_millis(
            delta.as_millis(),
        ))),
    }
}

/// Airflow's `DAGDetail`: the DAG with its newest version's settings.
pub fn detail(dag: Dag, v: &VersionRecord) -> DagDetail {
    let model = &v.content.dag;
    let resolve = |d: &kairos_dag::date::DateSpec| d.resolve(model.timezone, v.created_at);
    DagDetail {
        dag,
        catchup: model.catchup,
        concurrency: f64::from(model.max_active_tasks),
        dag_run_timeout: model
            .dagrun_timeout
            .map(|d| TimeDelta::from_millis(d.as_millis())),
        doc_md: model.doc_md.clone(),
        start_date: model.start_date.as_ref().map(resolve),
        end_date: model.end_date.as_ref().map(resolve),
        is_paused_upon_creation: model.is_paused_upon_creation,
        last_parsed: Some(v.created_at),
        orientation: "LR".into(),
        params: model.params.clone(),
        render_template_as_native_obj: model.render_template_as_native_obj,
        template_search_path: None,
        timezone: model.timezone.name().to_string(),
    }
}

/// A task of version `v` as Airflow's `Task`.
pub fn task(t: &Task, v: &VersionRecord) -> DagTask {
    let model = &v.content.dag;
    let resolve = |d: &kairos_dag::date::DateSpec| d.resolve(model.timezone, v.created_at);
    let class = t.operator_name();
    let (module_path, class_name) = match class.rsplit_once('.') {
        Some((module, name)) => (module.to_string(), name.to_string()),
        None => (String::new(), class),
    };
    DagTask {
        task_id: t.task_id.clone(),
        task_display_name: t.display_name.clone().unwrap_or_else(|| t.task_id.clone()),
        class_ref: ClassReference {
            class_name,
            module_path,
        },
        owner: t.owner.clone(),
        start_date: model.start_date.as_ref().map(resolve),
        end_date: model.end_date.as_ref().map(resolve),
        trigger_rule: t.trigger_rule.to_string(),
        depends_on_past: t.depends_on_past,
        wait_for_downstream: t.wait_for_downstream,
        retries: f64::from(t.retries),
        queue: Some(t.queue.clone()),
        pool: t.pool.clone(),
        pool_slots: f64::from(t.pool_slots),
        execution_timeout: t
            .execution_timeout
            .map(|d| TimeDelta::from_millis(d.as_millis())),
        retry_delay: TimeDelta::from_millis(t.retry_delay.as_millis()),
        retry_exponential_backoff: t.retry_exponential_backoff,
        priority_weight: f64::from(t.priority_weight),
        weight_rule: match t.weight_rule {
            WeightRule::Downstream => "downstream",
            WeightRule::Upstream => "upstream",
            WeightRule::Absolute => "absolute",
        }
        .into(),
        template_fields: Vec::new(),
        downstream_task_ids: model
            .tasks
            .iter()
            .filter(|d| d.upstream.contains(&t.task_id))
            .map(|d| d.task_id.clone())
            .collect(),
        doc_md: t.doc_md.clone(),
        is_mapped: t.is_mapped(),
        extra_links: Vec::new(),
    }
}

/// Fills a task instance's operator, retries and display name from the run's
/// version.
pub fn ti_fields(ti: &mut TaskInstance, v: Option<&VersionRecord>) {
    ti.task_display_name = ti.task_id.clone();
    let Some(task) = v.and_then(|v| v.content.dag.task(&ti.task_id)) else {
        return;
    };
    ti.operator = Some(task.operator_name());
    ti.max_tries = task.retries;
    if let Some(name) = &task.display_name {
        ti.task_display_name = name.clone();
    }
}
