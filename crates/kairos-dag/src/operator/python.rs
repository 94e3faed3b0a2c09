//! PythonOperator, BranchPythonOperator, ShortCircuitOperator and PythonSensor.
//!
//! The callable is named by `python_callable_name` in `python_callable_file`, as in
//! dag-factory. The file ships with the DAG version, so workers need no shared DAG
//! folder; a dotted `python_callable` import path cannot ship and is refused with
//! the two keys to write instead.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::args::Args;
use super::files::FileSet;
use super::sensor::SensorArgs;

/// A function in a file of the DAG version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonCallable {
    /// The file's key among the version's files.
    pub file: String,
    /// The function's name in that file.
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PythonKind {
    /// PythonOperator: the return value is the `return_value` XCom.
    Plain,
    /// BranchPythonOperator: returns the task id(s) to follow; the others are skipped.
    Branch,
    /// ShortCircuitOperator: a falsy return value skips what follows.
    ShortCircuit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PythonOperator {
    pub kind: PythonKind,
    pub callable: PythonCallable,
    pub op_args: Vec<Value>,
    pub op_kwargs: BTreeMap<String, Value>,
    pub templates_dict: Option<BTreeMap<String, Value>>,
    /// Push each key of a returned dict as its own XCom.
    pub multiple_outputs: bool,
    pub show_return_value_in_logs: bool,
    /// ShortCircuitOperator only: skip every downstream task regardless of its trigger
    /// rule (Airflow's default) or only the direct ones.
    pub ignore_downstream_trigger_rules: bool,
}

impl PythonOperator {
    pub(super) fn parse(
        a: &mut Args<'_>,
        kind: PythonKind,
        files: &dyn FileSet,
    ) -> Option<PythonOperator> {
        let callable = PythonCallable::parse(a, files);
        let op_args = a.list("op_args").unwrap_or_default();
        let op_kwargs = a.json_map("op_kwargs").unwrap_or_default();
        let templates_dict = a.json_map("templates_dict");
        let multiple_outputs = a.bool("multiple_outputs", false);
        let show_return_value_in_logs = a.bool("show_return_value_in_logs", true);
        let ignore_downstream_trigger_rules = if kind == PythonKind::ShortCircuit {
            a.bool("ignore_downstream_trigger_rules", true)
        } else {
            true
        };
        Some(PythonOperator {
            kind,
            callable: callable?,
            op_args,
            op_kwargs,
            templates_dict,
            multiple_outputs,
            show_return_value_in_logs,
            ignore_downstream_trigger_rules,
        })
    }
}

impl PythonCallable {
    pub(super) fn parse(a: &mut Args<'_>, files: &dyn FileSet) -> Option<PythonCallable> {
        if let Some(dotted) = a.string("python_callable") {
            let (module, func) = dotted
                .rsplit_once('.')
                .unwrap_or(("module", dotted.as_str()));
            let file = module.replace('.', "/");
            a.error(
                "python_callable",
                format!(
                    "`python_callable: {dotted}` imports a module from the scheduler's Python path; \
                     Kairos ships a task's code with the DAG version instead"
                ),
                Some(format!(
                    "write `python_callable_name: {func}` and \
                     `python_callable_file: $CONFIG_ROOT_DIR/{file}.py`"
                )),
            );
            return None;
        }
        let name = a.required_string("python_callable_name", "my_function");
        let file = a.required_string("python_callable_file", "$CONFIG_ROOT_DIR/callables.py");
        let (name, file) = (name?, file?);
        if !is_python_identifier(&name) {
            a.error(
                "python_callable_name",
                format!("`{name}` is not a Python function name"),
                None,
            );
            return None;
        }
        if !files.contains_file(&file) {
            a.error(
                "python_callable_file",
                format!("`{file}` is not one of this DAG version's files"),
                None,
            );
            return None;
        }
        Some(PythonCallable { file, name })
    }
}

fn is_python_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// PythonSensor: calls the callable until it returns a truthy value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PythonSensor {
    pub callable: PythonCallable,
    pub op_args: Vec<Value>,
    pub op_kwargs: BTreeMap<String, Value>,
    pub templates_dict: Option<BTreeMap<String, Value>>,
    pub sensor: SensorArgs,
}

impl PythonSensor {
    pub(super) fn parse(a: &mut Args<'_>, files: &dyn FileSet) -> Option<PythonSensor> {
        let callable = PythonCallable::parse(a, files);
        let op_args = a.list("op_args").unwrap_or_default();
        let op_kwargs = a.json_map("op_kwargs").unwrap_or_default();
        let templates_dict = a.json_map("templates_dict");
        let sensor = SensorArgs::parse(a);
        Some(PythonSensor {
            callable: callable?,
            op_args,
            op_kwargs,
            templates_dict,
            sensor: sensor?,
        })
    }
}
