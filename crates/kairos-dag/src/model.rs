//! The DAG model: what a DAG file means once parsed and validated.
//!
//! A [`Dag`] is plain data with Airflow's field names and Airflow's defaults
//! filled in. It is what a DAG version stores (with the files it references) and
//! what the scheduler, the API and the workers read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::date::DateSpec;
use crate::duration::Duration;
use crate::operator::{ArgError, FileSet, Operator, OperatorKind};
use crate::timetable::{Restriction, Schedule};
use crate::trigger_rule::TriggerRule;

/// Airflow's defaults, in one place.
pub mod defaults {
    use crate::duration::Duration;

    pub const OWNER: &str = "airflow";
    pub const RETRIES: u32 = 0;
    pub const RETRY_DELAY: Duration = Duration::from_secs_const(300);
    pub const QUEUE: &str = "default";
    pub const POOL: &str = "default_pool";
    pub const BUNDLE: &str = "default";
    /// `[core] max_active_runs_per_dag`.
    pub const MAX_ACTIVE_RUNS: u32 = 16;
    /// `[core] max_active_tasks_per_dag`.
    pub const MAX_ACTIVE_TASKS: u32 = 16;
    /// `[scheduler] catchup_by_default` in Airflow 3.
    pub const CATCHUP: bool = false;
}

/// A DAG, parsed and validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dag {
    pub dag_id: String,
    /// The bundle the DAG was pushed in (teams own bundles; a bundle names the
    /// execution environment its tasks run in).
    pub bundle: String,
    /// The team that owns the bundle, when known.
    pub team: Option<String>,
    /// The execution environment the DAG's tasks need, unless a task names its
    /// own: the DAG file's `environment`, else its bundle manifest's. `None`: any
    /// worker, in its default `python3`. See docs/environments.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub doc_md: Option<String>,
    pub schedule: Schedule,
    /// The assets whose updates trigger runs (`asset_triggered`), besides any
    /// time `schedule` (assets or time). See [`crate::asset`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_schedule: Option<crate::asset::AssetCondition>,
    /// The DAG's own `on_success_callback` / `on_failure_callback`: run by a
    /// worker when a run ends that way.
    #[serde(default, skip_serializing_if = "crate::callback::Callbacks::is_empty")]
    pub callbacks: crate::callback::Callbacks,
    pub timezone: Tz,
    pub start_date: Option<DateSpec>,
    pub end_date: Option<DateSpec>,
    pub catchup: bool,
    pub max_active_runs: u32,
    pub max_active_tasks: u32,
    pub dagrun_timeout: Option<Duration>,
    pub tags: Vec<String>,
    pub params: BTreeMap<String, Value>,
    /// `None`: the cluster's setting decides (Airflow: `dags_are_paused_at_creation`).
    pub is_paused_upon_creation: Option<bool>,
    pub render_template_as_native_obj: bool,
    /// The key of the DAG's YAML file among the version's files.
    pub fileloc: String,
    pub groups: Vec<TaskGroup>,
    /// Tasks in the order the file declares them.
    pub tasks: Vec<Task>,
}

/// A task group: a name space and a unit for dependencies, nothing at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskGroup {
    /// The full id (`parent.child` when prefixed, as Airflow builds it).
    pub group_id: String,
    pub parent: Option<String>,
    pub tooltip: Option<String>,
    pub prefix_group_id: bool,
}

/// How a task's priority weight adds up (Airflow's `weight_rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightRule {
    /// Its own weight plus every task downstream of it (Airflow's default).
    Downstream,
    /// Its own weight plus every task upstream of it.
    Upstream,
    /// Its own weight only.
    Absolute,
}

/// One task, with Airflow's `BaseOperator` settings resolved (task, then
/// `default_args`, then Airflow's default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The full id, with the group prefix Airflow adds (`group.task`).
    pub task_id: String,
    pub group_id: Option<String>,
    pub operator: TaskOperator,
    /// Direct upstream task ids, sorted.
    pub upstream: Vec<String>,
    pub display_name: Option<String>,
    pub doc_md: Option<String>,
    pub owner: String,
    pub retries: u32,
    pub retry_delay: Duration,
    pub retry_exponential_backoff: bool,
    pub max_retry_delay: Option<Duration>,
    pub execution_timeout: Option<Duration>,
    pub queue: String,
    pub pool: String,
    pub pool_slots: u32,
    pub priority_weight: i32,
    pub weight_rule: WeightRule,
    pub depends_on_past: bool,
    pub wait_for_downstream: bool,
    pub trigger_rule: TriggerRule,
    pub do_xcom_push: bool,
    pub params: BTreeMap<String, Value>,
    pub max_active_tis_per_dag: Option<u32>,
    pub max_active_tis_per_dagrun: Option<u32>,
    /// The execution environment this task needs (its own `environment`, else
    /// `default_args`'), overriding the DAG's; see [`Dag::environment_of`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Assets a success of this task updates (an asset event each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outlets: Vec<crate::asset::AssetRef>,
    /// Assets the task reads (shown, not waited for, as in Airflow).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inlets: Vec<crate::asset::AssetRef>,
    /// `on_success_callback` and the rest: run by the worker after the
    /// attempt's outcome, never changing it.
    #[serde(default, skip_serializing_if = "crate::callback::Callbacks::is_empty")]
    pub callbacks: crate::callback::Callbacks,
}

impl Task {
    /// An EmptyOperator task with Airflow's defaults: what a worker holds for
    /// work that is no task of the DAG (the DAG's own callbacks).
    pub fn bare(task_id: &str) -> Task {
        Task {
            task_id: task_id.to_string(),
            group_id: None,
            operator: TaskOperator::Plain {
                operator: Operator::Empty,
            },
            upstream: Vec::new(),
            display_name: None,
            doc_md: None,
            owner: defaults::OWNER.into(),
            retries: defaults::RETRIES,
            retry_delay: defaults::RETRY_DELAY,
            retry_exponential_backoff: false,
            max_retry_delay: None,
            execution_timeout: None,
            queue: defaults::QUEUE.into(),
            pool: defaults::POOL.into(),
            pool_slots: 1,
            priority_weight: 1,
            weight_rule: WeightRule::Downstream,
            depends_on_past: false,
            wait_for_downstream: false,
            trigger_rule: TriggerRule::AllSuccess,
            do_xcom_push: true,
            params: BTreeMap::new(),
            max_active_tis_per_dag: None,
            max_active_tis_per_dagrun: None,
            environment: None,
            outlets: Vec::new(),
            inlets: Vec::new(),
            callbacks: Default::default(),
        }
    }
}

/// A task's operator: one instance, or one per element of a list (dynamic task mapping).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum TaskOperator {
    Plain { operator: Operator },
    Mapped(MappedOperator),
}

/// Airflow's `Operator.partial(...).expand(...)`: the fixed arguments, and the
/// arguments that take one value per mapped instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappedOperator {
    pub kind: OperatorKind,
    /// Every argument that is the same for all instances (`partial` and the task's own).
    pub partial: BTreeMap<String, Value>,
    /// Expanded arguments in the order written; several give their cross product, the
    /// first one outermost, as Airflow does.
    pub expand: Vec<(String, MapSource)>,
}

/// Where an expanded argument's values come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum MapSource {
    /// A list written in the file.
    Literal { values: Vec<Value> },
    /// The `return_value` XCom of an upstream task (`upstream.output` in dag-factory).
    Xcom { task_id: String },
}

impl MappedOperator {
    /// The operator of one mapped instance: the fixed arguments plus this instance's
    /// element of each expanded argument.
    pub fn instantiate(
        &self,
        element: &BTreeMap<String, Value>,
        files: &dyn FileSet,
    ) -> Result<Operator, Vec<ArgError>> {
        let mut args: serde_json::Map<String, Value> = self
            .partial
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in element {
            args.insert(k.clone(), v.clone());
        }
        Operator::parse(self.kind, &args, files, &[])
    }

    /// The per-instance arguments for resolved expansion lists, in map_index order.
    pub fn elements(resolved: &[(String, Vec<Value>)]) -> Vec<BTreeMap<String, Value>> {
        let mut out: Vec<BTreeMap<String, Value>> = vec![BTreeMap::new()];
        for (key, values) in resolved {
            let mut next = Vec::with_capacity(out.len() * values.len());
            for partial in &out {
                for v in values {
                    let mut e = partial.clone();
                    e.insert(key.clone(), v.clone());
                    next.push(e);
                }
            }
            out = next;
        }
        if resolved.is_empty() { Vec::new() } else { out }
    }
}

impl Task {
    /// The operator, when the task is not mapped.
    pub fn plain_operator(&self) -> Option<&Operator> {
        match &self.operator {
            TaskOperator::Plain { operator } => Some(operator),
            TaskOperator::Mapped(_) => None,
        }
    }

    pub fn operator_kind(&self) -> OperatorKind {
        match &self.operator {
            TaskOperator::Plain { operator } => operator.kind(),
            TaskOperator::Mapped(m) => m.kind,
        }
    }

    /// The operator's name for people: Airflow's class name, or a custom
    /// operator's class path.
    pub fn operator_name(&self) -> String {
        match self.plain_operator() {
            Some(Operator::Custom { class, .. }) => class.clone(),
            _ => self.operator_kind().class_name().to_string(),
        }
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self.operator, TaskOperator::Mapped(_))
    }
}

impl Dag {
    pub fn task(&self, task_id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.task_id == task_id)
    }

    /// The execution environment `task` runs in: the task's own, else the DAG's,
    /// else `None` (any worker, its default `python3`).
    pub fn environment_of<'a>(&'a self, task: &'a Task) -> Option<&'a str> {
        task.environment.as_deref().or(self.environment.as_deref())
    }

    /// The queue whose workers run the DAG's own callbacks: its tasks' queue when
    /// they all share one (a team's DAGs on the team's queue), else `default`.
    pub fn callback_queue(&self) -> &str {
        match self.tasks.split_first() {
            Some((first, rest)) if rest.iter().all(|t| t.queue == first.queue) => &first.queue,
            _ => defaults::QUEUE,
        }
    }

    /// The bounds on automated runs, with relative dates resolved at `resolved_at` (the
    /// creation time of the DAG version).
    pub fn restriction(&self, resolved_at: DateTime<Utc>) -> Restriction {
        Restriction {
            earliest: self
                .start_date
                .map(|d| d.resolve(self.timezone, resolved_at)),
            latest: self.end_date.map(|d| d.resolve(self.timezone, resolved_at)),
            catchup: self.catchup,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expansion_is_a_cross_product_first_key_outermost() {
        let got = MappedOperator::elements(&[
            ("x".into(), vec![json!(2), json!(4)]),
            ("y".into(), vec![json!(5), json!(10)]),
        ]);
        let pairs: Vec<(Value, Value)> = got
            .iter()
            .map(|e| (e["x"].clone(), e["y"].clone()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                (json!(2), json!(5)),
                (json!(2), json!(10)),
                (json!(4), json!(5)),
                (json!(4), json!(10)),
            ]
        );
        assert!(MappedOperator::elements(&[("x".into(), vec![])]).is_empty());
        assert!(MappedOperator::elements(&[]).is_empty());
    }
}
