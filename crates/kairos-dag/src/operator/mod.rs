//! The operators Kairos runs, parsed and validated into typed values.
//!
//! DAG files name operators by Airflow's dotted paths (old and new module layouts,
//! `airflow.operators.bash.BashOperator`, `airflow.providers.standard...`) or by short
//! aliases (`bash`, `python`, ...). Each is parsed from its arguments into a typed
//! struct here, so that a bad argument is an error when the DAG is pushed, not when
//! the task runs.

mod args;
pub(crate) mod bash;
mod custom;
mod files;
mod http;
mod python;
mod sensor;
mod taskflow;
mod trigger;

pub use args::{ArgError, Args, duration_from_json, json_kind, timedelta_from_json};
pub use bash::{BashCommand, BashOperator, BashSensor};
pub use custom::{OperatorRef, resolve_operator};
pub use files::FileSet;
pub use http::HttpOperator;
pub use python::{PythonCallable, PythonKind, PythonOperator, PythonSensor};
pub(crate) use python::{is_python_identifier, split_dotted};
pub use sensor::{DateTimeSensor, ExternalTaskSensor, SensorArgs, SensorMode, TimeDeltaSensor};
pub use taskflow::{DECORATORS, VARIANT_ARG, XCOM_ARG_MARKER, XComArg, decorator_variant};
pub use trigger::TriggerDagRunOperator;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::suggest::closest;

use files::AnyFile;

/// Which operator a task uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorKind {
    Empty,
    Bash,
    Python,
    BranchPython,
    ShortCircuit,
    BashSensor,
    PythonSensor,
    TimeDeltaSensor,
    DateTimeSensor,
    ExternalTaskSensor,
    TriggerDagRun,
    Http,
    /// A class of the user's own (`my_pkg.operators.MakeBreadOperator`), imported
    /// and run on the worker; not in the registry of operators Kairos knows.
    Custom,
    /// A TaskFlow function (`decorator: airflow.sdk.task`): named by its decorator,
    /// not by an operator path; it runs as a PythonOperator.
    TaskFlow,
}

/// Every accepted spelling of every operator: (kind, Airflow class name, dotted paths, aliases).
const REGISTRY: &[(OperatorKind, &str, &[&str], &[&str])] = &[
    (
        OperatorKind::Empty,
        "EmptyOperator",
        &[
            "airflow.operators.empty.EmptyOperator",
            "airflow.providers.standard.operators.empty.EmptyOperator",
            "airflow.operators.dummy.DummyOperator",
            "airflow.operators.dummy_operator.DummyOperator",
            "airflow.operators.empty.DummyOperator",
        ],
        &["empty", "dummy"],
    ),
    (
        OperatorKind::Bash,
        "BashOperator",
        &[
            "airflow.operators.bash.BashOperator",
            "airflow.operators.bash_operator.BashOperator",
            "airflow.providers.standard.operators.bash.BashOperator",
        ],
        &["bash"],
    ),
    (
        OperatorKind::Python,
        "PythonOperator",
        &[
            "airflow.operators.python.PythonOperator",
            "airflow.operators.python_operator.PythonOperator",
            "airflow.providers.standard.operators.python.PythonOperator",
        ],
        &["python"],
    ),
    (
        OperatorKind::BranchPython,
        "BranchPythonOperator",
        &[
            "airflow.operators.python.BranchPythonOperator",
            "airflow.operators.python_operator.BranchPythonOperator",
            "airflow.providers.standard.operators.python.BranchPythonOperator",
        ],
        &["branch_python", "branch"],
    ),
    (
        OperatorKind::ShortCircuit,
        "ShortCircuitOperator",
        &[
            "airflow.operators.python.ShortCircuitOperator",
            "airflow.operators.python_operator.ShortCircuitOperator",
            "airflow.providers.standard.operators.python.ShortCircuitOperator",
        ],
        &["short_circuit"],
    ),
    (
        OperatorKind::BashSensor,
        "BashSensor",
        &[
            "airflow.sensors.bash.BashSensor",
            "airflow.sensors.bash_sensor.BashSensor",
            "airflow.providers.standard.sensors.bash.BashSensor",
        ],
        &["bash_sensor"],
    ),
    (
        OperatorKind::PythonSensor,
        "PythonSensor",
        &[
            "airflow.sensors.python.PythonSensor",
            "airflow.sensors.python_sensor.PythonSensor",
            "airflow.providers.standard.sensors.python.PythonSensor",
        ],
        &["python_sensor"],
    ),
    (
        OperatorKind::TimeDeltaSensor,
        "TimeDeltaSensor",
        &[
            "airflow.sensors.time_delta.TimeDeltaSensor",
            "airflow.sensors.time_delta.TimeDeltaSensorAsync",
            "airflow.sensors.time_delta_sensor.TimeDeltaSensor",
            "airflow.providers.standard.sensors.time_delta.TimeDeltaSensor",
            "airflow.providers.standard.sensors.time_delta.TimeDeltaSensorAsync",
        ],
        &["time_delta_sensor"],
    ),
    (
        OperatorKind::DateTimeSensor,
        "DateTimeSensor",
        &[
            "airflow.sensors.date_time.DateTimeSensor",
            "airflow.sensors.date_time.DateTimeSensorAsync",
            "airflow.sensors.date_time_sensor.DateTimeSensor",
            "airflow.providers.standard.sensors.date_time.DateTimeSensor",
            "airflow.providers.standard.sensors.date_time.DateTimeSensorAsync",
        ],
        &["date_time_sensor"],
    ),
    (
        OperatorKind::ExternalTaskSensor,
        "ExternalTaskSensor",
        &[
            "airflow.sensors.external_task.ExternalTaskSensor",
            "airflow.sensors.external_task_sensor.ExternalTaskSensor",
            "airflow.providers.standard.sensors.external_task.ExternalTaskSensor",
        ],
        &["external_task_sensor"],
    ),
    (
        OperatorKind::TriggerDagRun,
        "TriggerDagRunOperator",
        &[
            "airflow.operators.trigger_dagrun.TriggerDagRunOperator",
            "airflow.operators.dagrun_operator.TriggerDagRunOperator",
            "airflow.providers.standard.operators.trigger_dagrun.TriggerDagRunOperator",
        ],
        &["trigger_dagrun", "trigger_dag_run"],
    ),
    (
        OperatorKind::Http,
        "HttpOperator",
        &[
            "airflow.providers.http.operators.http.HttpOperator",
            "airflow.providers.http.operators.http.SimpleHttpOperator",
            "airflow.operators.http_operator.SimpleHttpOperator",
        ],
        &["http"],
    ),
];

impl OperatorKind {
    /// The kind for a dotted Airflow path or an alias; the error lists what is supported.
    pub fn from_path(text: &str) -> Result<OperatorKind, (String, Option<String>)> {
        let t = text.trim();
        for (kind, _, paths, aliases) in REGISTRY {
            if paths.contains(&t) || aliases.iter().any(|a| a.eq_ignore_ascii_case(t)) {
                return Ok(*kind);
            }
        }
        // Suggest by class name (the part people mistype), then the closest full path of
        // that class; comparing whole dotted paths would match any long path.
        let class = t.rsplit('.').next().unwrap_or(t);
        let classes = REGISTRY.iter().flat_map(|(_, name, _, aliases)| {
            std::iter::once(*name).chain(aliases.iter().copied())
        });
        let suggestion = closest(class, classes).and_then(|c| {
            let (_, _, paths, aliases) = REGISTRY
                .iter()
                .find(|(_, name, _, aliases)| *name == c || aliases.contains(&c))?;
            if t.contains('.') {
                closest(t, paths.iter().copied()).or(paths.first().copied())
            } else {
                aliases.first().copied()
            }
        });
        let hint = match suggestion {
            Some(c) => format!("did you mean `{c}`?"),
            None => format!(
                "supported operators: {} (each by its Airflow path, e.g. \
                 `airflow.providers.standard.operators.bash.BashOperator`, or its alias: {})",
                REGISTRY
                    .iter()
                    .map(|(_, name, _, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", "),
                REGISTRY
                    .iter()
                    .map(|(_, _, _, aliases)| aliases[0])
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Err((format!("unknown operator `{t}`"), Some(hint)))
    }

    /// Every operator kind Kairos runs.
    pub fn all() -> impl Iterator<Item = OperatorKind> {
        REGISTRY.iter().map(|(kind, ..)| *kind)
    }

    /// Airflow's class name, for messages and display.
    pub fn class_name(self) -> &'static str {
        if self == OperatorKind::TaskFlow {
            return "a TaskFlow @task";
        }
        REGISTRY
            .iter()
            .find(|(k, ..)| *k == self)
            .map(|(_, name, ..)| *name)
            .unwrap_or("a custom operator")
    }

    /// Arguments of this operator that name files to ship with the DAG version.
    pub fn file_arguments(self) -> &'static [&'static str] {
        match self {
            OperatorKind::Python
            | OperatorKind::BranchPython
            | OperatorKind::ShortCircuit
            | OperatorKind::PythonSensor
            | OperatorKind::TaskFlow => &["python_callable_file"],
            _ => &[],
        }
    }
}

impl fmt::Display for OperatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.class_name())
    }
}

/// A task's operator with validated, typed arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Operator {
    Empty,
    Bash(BashOperator),
    Python(PythonOperator),
    BashSensor(BashSensor),
    PythonSensor(PythonSensor),
    TimeDeltaSensor(TimeDeltaSensor),
    DateTimeSensor(DateTimeSensor),
    ExternalTaskSensor(ExternalTaskSensor),
    TriggerDagRun(TriggerDagRunOperator),
    Http(HttpOperator),
    /// A class of the user's own, by its import path; `args` are every operator
    /// argument the task wrote (task-level settings are the task's, not here).
    /// Nothing is imported when the DAG is loaded.
    Custom {
        class: String,
        args: BTreeMap<String, Value>,
    },
}

impl Operator {
    /// Parses the arguments of an operator of `kind`. `files` are the DAG version's files
    /// (file arguments must already name one of them); `also_known` are keys the caller
    /// handles itself, offered as suggestions for unknown keys.
    pub fn parse(
        kind: OperatorKind,
        args: &Map<String, Value>,
        files: &dyn FileSet,
        also_known: &[&str],
    ) -> Result<Operator, Vec<ArgError>> {
        let mut a = Args::new(args);
        let op = Operator::read(kind, &mut a, files);
        a.finish(kind.class_name(), also_known)?;
        op.ok_or_else(|| {
            vec![ArgError {
                key: None,
                message: format!("invalid {} arguments", kind.class_name()),
                hint: None,
            }]
        })
    }

    /// The names of every argument an operator of `kind` accepts (for expand/partial checks
    /// and suggestions): reading an empty map asks for every one of them.
    pub fn argument_names(kind: OperatorKind) -> Vec<&'static str> {
        let empty = Map::new();
        let mut a = Args::new(&empty);
        let _ = Operator::read(kind, &mut a, &AnyFile);
        let mut names = a.known().to_vec();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Reads the arguments of an operator of `kind` through `a` (which records every key
    /// asked for and every problem).
    fn read(kind: OperatorKind, a: &mut Args<'_>, files: &dyn FileSet) -> Option<Operator> {
        match kind {
            OperatorKind::Empty => Some(Operator::Empty),
            OperatorKind::Bash => BashOperator::parse(a, files).map(Operator::Bash),
            OperatorKind::Python => {
                PythonOperator::parse(a, PythonKind::Plain, files).map(Operator::Python)
            }
            OperatorKind::BranchPython => {
                PythonOperator::parse(a, PythonKind::Branch, files).map(Operator::Python)
            }
            OperatorKind::ShortCircuit => {
                PythonOperator::parse(a, PythonKind::ShortCircuit, files).map(Operator::Python)
            }
            OperatorKind::BashSensor => BashSensor::parse(a).map(Operator::BashSensor),
            OperatorKind::PythonSensor => PythonSensor::parse(a, files).map(Operator::PythonSensor),
            OperatorKind::TimeDeltaSensor => {
                TimeDeltaSensor::parse(a).map(Operator::TimeDeltaSensor)
            }
            OperatorKind::DateTimeSensor => DateTimeSensor::parse(a).map(Operator::DateTimeSensor),
            OperatorKind::ExternalTaskSensor => {
                ExternalTaskSensor::parse(a).map(Operator::ExternalTaskSensor)
            }
            OperatorKind::TriggerDagRun => {
                TriggerDagRunOperator::parse(a).map(Operator::TriggerDagRun)
            }
            OperatorKind::Http => HttpOperator::parse(a).map(Operator::Http),
            OperatorKind::TaskFlow => taskflow::parse(a, files).map(Operator::Python),
            // The class is not in the arguments: the loader builds custom operators
            // itself (`Operator::custom`), and mapping them is refused there.
            OperatorKind::Custom => {
                a.error(
                    "operator",
                    "a custom operator class cannot be built from arguments alone",
                    None,
                );
                None
            }
        }
    }

    pub fn kind(&self) -> OperatorKind {
        match self {
            Operator::Empty => OperatorKind::Empty,
            Operator::Bash(_) => OperatorKind::Bash,
            Operator::Python(p) => match p.kind {
                PythonKind::Plain => OperatorKind::Python,
                PythonKind::Branch => OperatorKind::BranchPython,
                PythonKind::ShortCircuit => OperatorKind::ShortCircuit,
            },
            Operator::BashSensor(_) => OperatorKind::BashSensor,
            Operator::PythonSensor(_) => OperatorKind::PythonSensor,
            Operator::TimeDeltaSensor(_) => OperatorKind::TimeDeltaSensor,
            Operator::DateTimeSensor(_) => OperatorKind::DateTimeSensor,
            Operator::ExternalTaskSensor(_) => OperatorKind::ExternalTaskSensor,
            Operator::TriggerDagRun(_) => OperatorKind::TriggerDagRun,
            Operator::Http(_) => OperatorKind::Http,
            Operator::Custom { .. } => OperatorKind::Custom,
        }
    }

    /// The sensor settings, for operators that are sensors.
    pub fn sensor(&self) -> Option<&SensorArgs> {
        match self {
            Operator::BashSensor(s) => Some(&s.sensor),
            Operator::PythonSensor(s) => Some(&s.sensor),
            Operator::TimeDeltaSensor(s) => Some(&s.sensor),
            Operator::DateTimeSensor(s) => Some(&s.sensor),
            Operator::ExternalTaskSensor(s) => Some(&s.sensor),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
