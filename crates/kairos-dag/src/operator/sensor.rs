//! What every sensor shares, and the sensors that wait on time or on another DAG.

use serde::{Deserialize, Serialize};

use super::args::Args;
use crate::duration::Duration;
use crate::lifecycle::{DagRunState, TaskInstanceState};

/// How a sensor waits between checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorMode {
    /// Keeps its worker slot and checks every `poke_interval`.
    Poke,
    /// Gives the slot back between checks (up_for_reschedule).
    Reschedule,
}

/// Airflow's `BaseSensorOperator` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorArgs {
    pub poke_interval: Duration,
    pub timeout: Duration,
    pub mode: SensorMode,
    /// On timeout, mark the task skipped instead of failed.
    pub soft_fail: bool,
    pub exponential_backoff: bool,
    pub max_wait: Option<Duration>,
    /// Airflow's deferrable mode; Kairos waits on the server either way for time sensors.
    pub deferrable: bool,
}

impl SensorArgs {
    pub(super) fn parse(a: &mut Args<'_>) -> Option<SensorArgs> {
        let poke_interval = a
            .duration("poke_interval")
            .unwrap_or(Duration::from_secs(60));
        let timeout = a
            .duration("timeout")
            .unwrap_or(Duration::from_secs(7 * 24 * 3600));
        // Every argument is read before giving up, so that one bad value does not make
        // the others look unknown.
        let mode = match a.string("mode").as_deref() {
            None | Some("poke") => Some(SensorMode::Poke),
            Some("reschedule") => Some(SensorMode::Reschedule),
            Some(other) => {
                a.error(
                    "mode",
                    format!("`mode: {other}` is not a sensor mode"),
                    Some("use `poke` or `reschedule`".into()),
                );
                None
            }
        };
        let soft_fail = a.bool("soft_fail", false);
        let exponential_backoff = a.bool("exponential_backoff", false);
        let max_wait = a.duration("max_wait");
        let deferrable = a.bool("deferrable", false);
        if poke_interval.is_zero() {
            a.error(
                "poke_interval",
                "`poke_interval` must be longer than 0",
                None,
            );
            return None;
        }
        Some(SensorArgs {
            poke_interval,
            timeout,
            mode: mode?,
            soft_fail,
            exponential_backoff,
            max_wait,
            deferrable,
        })
    }
}

/// Waits until `delta` after the end of the run's data interval (Airflow's semantics).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeDeltaSensor {
    pub delta: Duration,
    pub sensor: SensorArgs,
}

impl TimeDeltaSensor {
    pub(super) fn parse(a: &mut Args<'_>) -> Option<TimeDeltaSensor> {
        let delta = a.duration("delta");
        if delta.is_none() && !a.has("delta") {
            a.error(
                "delta",
                "`delta` is required",
                Some("add e.g. `delta: {hours: 1}` or `delta: 1h`".into()),
            );
        }
        let sensor = SensorArgs::parse(a);
        Some(TimeDeltaSensor {
            delta: delta?,
            sensor: sensor?,
        })
    }
}

/// Waits until `target_time` (a template or a date-time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateTimeSensor {
    pub target_time: String,
    pub sensor: SensorArgs,
}

impl DateTimeSensor {
    pub(super) fn parse(a: &mut Args<'_>) -> Option<DateTimeSensor> {
        let target_time =
            a.required_string("target_time", "\"{{ data_interval_end.add(hours=1) }}\"");
        let sensor = SensorArgs::parse(a);
        if let Some(t) = &target_time {
            let templated = t.contains("{{") || t.contains("{%");
            if !templated && crate::date::DateSpec::parse(t, chrono_tz::Tz::UTC).is_err() {
                a.error(
                    "target_time",
                    format!("`target_time: {t}` is neither a template nor a date-time"),
                    Some("write e.g. `2025-01-01T06:00:00+00:00` or a `{{ ... }}` template".into()),
                );
                return None;
            }
            // The server renders it inside apply, on every node: only the bounded
            // part of Jinja is accepted (apply checks again before rendering).
            if templated {
                if let Err(problem) = crate::template::check_server_template(t) {
                    a.error("target_time", problem, None);
                    return None;
                }
            }
        }
        Some(DateTimeSensor {
            target_time: target_time?,
            sensor: sensor?,
        })
    }
}

/// Waits for a task (or a whole run) of another DAG to reach an allowed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalTaskSensor {
    pub external_dag_id: String,
    /// Task ids to watch; empty means the DAG run itself.
    pub external_task_ids: Vec<String>,
    pub external_task_group_id: Option<String>,
    pub allowed_states: Vec<String>,
    pub skipped_states: Vec<String>,
    pub failed_states: Vec<String>,
    /// The other run's logical date is this much before this run's.
    pub execution_delta: Option<Duration>,
    /// Airflow's `execution_date_fn: module.fn`: called on the worker with this
    /// run's logical date (and the context), it returns the other run's logical
    /// date, or a list of them (all must reach an allowed state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_date_fn: Option<super::PythonCallable>,
    pub check_existence: bool,
    pub sensor: SensorArgs,
}

impl ExternalTaskSensor {
    pub(super) fn parse(a: &mut Args<'_>) -> Option<ExternalTaskSensor> {
        let external_dag_id = a.required_string("external_dag_id", "upstream_dag");
        let single = a.string("external_task_id");
        let many = a.string_list("external_task_ids");
        let external_task_group_id = a.string("external_task_group_id");
        if single.is_some() && many.is_some() {
            a.error(
                "external_task_ids",
                "give `external_task_id` or `external_task_ids`, not both",
                None,
            );
        }
        let external_task_ids = match (single, many) {
            (Some(t), _) => vec![t],
            (None, Some(ts)) => ts,
            (None, None) => Vec::new(),
        };
        if external_task_group_id.is_some() && !external_task_ids.is_empty() {
            a.error(
                "external_task_group_id",
                "give task ids or `external_task_group_id`, not both",
                None,
            );
        }
        let watching_tasks = !external_task_ids.is_empty() || external_task_group_id.is_some();
        let allowed_states = states(a, "allowed_states", watching_tasks)
            .unwrap_or_else(|| vec!["success".to_string()]);
        let skipped_states = states(a, "skipped_states", watching_tasks).unwrap_or_default();
        let failed_states = states(a, "failed_states", watching_tasks).unwrap_or_default();
        let execution_delta = a.duration("execution_delta");
        let execution_date_fn =
            a.string("execution_date_fn")
                .and_then(|path| match super::split_dotted(path.trim()) {
                    Ok((module, name)) => Some(super::PythonCallable::Module { module, name }),
                    Err(why) => {
                        a.error(
                            "execution_date_fn",
                            format!("`execution_date_fn: {path}`: {why}"),
                            Some(
                                "write the import path of a function of the DAG's bundle, \
                             `package.module.function`, or use `execution_delta`"
                                    .into(),
                            ),
                        );
                        None
                    }
                });
        if execution_delta.is_some() && execution_date_fn.is_some() {
            a.error(
                "execution_date_fn",
                "give `execution_delta` or `execution_date_fn`, not both (as Airflow requires)",
                None,
            );
        }
        let check_existence = a.bool("check_existence", false);
        let sensor = SensorArgs::parse(a);
        Some(ExternalTaskSensor {
            external_dag_id: external_dag_id?,
            external_task_ids,
            external_task_group_id,
            allowed_states,
            skipped_states,
            failed_states,
            execution_delta,
            execution_date_fn,
            check_existence,
            sensor: sensor?,
        })
    }
}

/// A list of task-instance states (when watching tasks) or run states (when watching
/// the whole run), each checked against the real state names.
fn states(a: &mut Args<'_>, key: &'static str, task_states: bool) -> Option<Vec<String>> {
    let list = a.string_list(key)?;
    for s in &list {
        let ok = if task_states {
            TaskInstanceState::parse(s).is_some()
        } else {
            serde_json::from_value::<DagRunState>(serde_json::Value::String(s.clone())).is_ok()
        };
        if !ok {
            let what = if task_states {
                "task instance state"
            } else {
                "DAG run state (no task ids are given, so the sensor watches the run)"
            };
            a.error(key, format!("`{s}` in `{key}` is not a {what}"), None);
        }
    }
    Some(list)
}
