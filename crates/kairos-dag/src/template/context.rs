//! Airflow's template context for a task instance, built from plain facts.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use minijinja::Value;
use serde_json::Value as Json;

use super::datetime::{DateTimeValue, DatetimeClass};
use super::hooks::{TaskInstanceObject, VariableAccessor, VariableSource, XComSource};
use crate::lifecycle::{RunType, python_isoformat};
use crate::model::{Dag, Task};
use crate::timetable::DataInterval;

/// What is known about the run a task instance belongs to. The worker protocol
/// carries it as is (an assignment's `run_json`), so the server and the worker
/// compile against this one type.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunFacts {
    pub run_id: String,
    pub run_type: RunType,
    /// `None` for runs without one (Airflow 3 manual runs may have none).
    pub logical_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub data_interval: Option<DataInterval>,
    pub run_after: DateTime<Utc>,
    #[serde(default)]
    pub conf: BTreeMap<String, Json>,
    /// The data interval of the latest earlier successful run, when known.
    #[serde(default)]
    pub prev_success: Option<DataInterval>,
    /// An `asset_triggered` run: the asset events it was made for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggering_asset_events: Vec<AssetEventFacts>,
}

/// An asset event that triggered a run, as a task sees it (Airflow's
/// `triggering_asset_events`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AssetEventFacts {
    pub uri: String,
    pub timestamp: DateTime<Utc>,
    pub source_dag_id: Option<String>,
    pub source_task_id: Option<String>,
    pub source_run_id: Option<String>,
    pub source_map_index: Option<i32>,
    #[serde(default)]
    pub extra: Json,
}

/// `triggering_asset_events` as Airflow's context has it: each asset's URI to
/// its events, oldest first (empty for runs that no asset triggered).
pub fn events_by_uri(events: &[AssetEventFacts]) -> BTreeMap<String, Vec<AssetEventFacts>> {
    let mut out: BTreeMap<String, Vec<AssetEventFacts>> = BTreeMap::new();
    for e in events {
        out.entry(e.uri.clone()).or_default().push(e.clone());
    }
    out
}

/// What is known about the task instance itself.
#[derive(Debug, Clone)]
pub struct TaskInstanceFacts {
    pub try_number: u32,
    /// `-1` for an unmapped task, as in Airflow.
    pub map_index: i64,
}

/// Where XComs and Variables come from, and what "now" is for `macros.datetime.now()`.
#[derive(Clone)]
pub struct Sources {
    pub xcom: Arc<dyn XComSource>,
    pub variables: Arc<dyn VariableSource>,
    pub now: DateTime<Utc>,
}

impl Sources {
    /// No XComs or Variables (validation, previews).
    pub fn none(now: DateTime<Utc>) -> Sources {
        Sources {
            xcom: Arc::new(super::hooks::NoSources),
            variables: Arc::new(super::hooks::NoSources),
            now,
        }
    }
}

/// `params` as a task sees them: the DAG's, then the task's, then the trigger's conf
/// (Airflow's `dag_run_conf_overrides_params`, on by default), each a key-level update.
pub fn effective_params(
    dag: &Dag,
    task: &Task,
    conf: &BTreeMap<String, Json>,
) -> BTreeMap<String, Json> {
    let mut params = dag.params.clone();
    params.extend(task.params.clone());
    params.extend(conf.clone());
    params
}

/// Builds the context Airflow 3 gives a task instance's templates.
pub fn build_context(
    dag: &Dag,
    task: &Task,
    run: &RunFacts,
    ti: &TaskInstanceFacts,
    sources: &Sources,
) -> Value {
    let mut ctx: BTreeMap<&str, Value> = BTreeMap::new();
    let params = effective_params(dag, task, &run.conf);
    ctx.insert("params", Value::from(minijinja::value::Serde(&params)));
    ctx.insert(
        "triggering_asset_events",
        Value::from(minijinja::value::Serde(&events_by_uri(
            &run.triggering_asset_events,
        ))),
    );
    ctx.insert("run_id", Value::from(run.run_id.clone()));
    let dag_run = BTreeMap::from([
        ("run_id", Value::from(run.run_id.clone())),
        ("dag_id", Value::from(dag.dag_id.clone())),
        ("run_type", Value::from(run.run_type.as_str())),
        ("conf", Value::from(minijinja::value::Serde(&run.conf))),
        (
            "logical_date",
            run.logical_date
                .map(DateTimeValue::utc)
                .unwrap_or(Value::from(())),
        ),
        ("run_after", DateTimeValue::utc(run.run_after)),
        (
            "data_interval_start",
            run.data_interval
                .map(|i| DateTimeValue::utc(i.start))
                .unwrap_or(Value::from(())),
        ),
        (
            "data_interval_end",
            run.data_interval
                .map(|i| DateTimeValue::utc(i.end))
                .unwrap_or(Value::from(())),
        ),
    ]);
    ctx.insert("dag_run", Value::from(dag_run));
    ctx.insert(
        "dag",
        Value::from(BTreeMap::from([
            ("dag_id", Value::from(dag.dag_id.clone())),
            ("tags", Value::from(minijinja::value::Serde(&dag.tags))),
            ("owner", Value::from(task.owner.clone())),
            ("timezone", Value::from(dag.timezone.name())),
        ])),
    );
    ctx.insert(
        "task",
        Value::from(BTreeMap::from([
            ("task_id", Value::from(task.task_id.clone())),
            ("owner", Value::from(task.owner.clone())),
            ("retries", Value::from(task.retries)),
            ("queue", Value::from(task.queue.clone())),
            ("pool", Value::from(task.pool.clone())),
        ])),
    );
    let ti_obj = Value::from_object(TaskInstanceObject {
        dag_id: dag.dag_id.clone(),
        task_id: task.task_id.clone(),
        run_id: run.run_id.clone(),
        try_number: ti.try_number,
        map_index: ti.map_index,
        xcom: sources.xcom.clone(),
    });
    ctx.insert("ti", ti_obj.clone());
    ctx.insert("task_instance", ti_obj);
    // Airflow keys it by ds_nodash when the run has a logical date, else by run id.
    let key_suffix = match run.logical_date {
        Some(ld) => ld.format("%Y%m%d").to_string(),
        None => run.run_id.clone(),
    };
    ctx.insert(
        "task_instance_key_str",
        Value::from(format!("{}__{}__{key_suffix}", dag.dag_id, task.task_id)),
    );
    ctx.insert("run_after", DateTimeValue::utc(run.run_after));
    if let Some(ld) = run.logical_date {
        let ds = ld.format("%Y-%m-%d").to_string();
        let ts = python_isoformat(ld);
        ctx.insert("ds_nodash", Value::from(ds.replace('-', "")));
        ctx.insert("ds", Value::from(ds));
        ctx.insert(
            "ts_nodash",
            Value::from(ld.format("%Y%m%dT%H%M%S").to_string()),
        );
        ctx.insert("ts_nodash_with_tz", Value::from(ts.replace(['-', ':'], "")));
        ctx.insert("ts", Value::from(ts));
        ctx.insert("logical_date", DateTimeValue::utc(ld));
        let interval = run.data_interval.unwrap_or(DataInterval::exact(ld));
        ctx.insert("data_interval_start", DateTimeValue::utc(interval.start));
        ctx.insert("data_interval_end", DateTimeValue::utc(interval.end));
    }
    let prev = |f: fn(&DataInterval) -> DateTime<Utc>| {
        run.prev_success
            .as_ref()
            .map(|i| DateTimeValue::utc(f(i)))
            .unwrap_or(Value::from(()))
    };
    ctx.insert("prev_data_interval_start_success", prev(|i| i.start));
    ctx.insert("prev_data_interval_end_success", prev(|i| i.end));
    ctx.insert(
        "macros",
        Value::from(BTreeMap::from([
            (
                "datetime",
                Value::from_object(DatetimeClass { now: sources.now }),
            ),
            ("ds_add", Value::from_function(super::macros::ds_add)),
            ("ds_format", Value::from_function(super::macros::ds_format)),
        ])),
    );
    ctx.insert(
        "var",
        Value::from(BTreeMap::from([
            (
                "value",
                Value::from_object(VariableAccessor {
                    json: false,
                    source: sources.variables.clone(),
                }),
            ),
            (
                "json",
                Value::from_object(VariableAccessor {
                    json: true,
                    source: sources.variables.clone(),
                }),
            ),
        ])),
    );
    Value::from(ctx)
}
