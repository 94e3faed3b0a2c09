//! PythonOperator, BranchPythonOperator, ShortCircuitOperator and PythonSensor.
//!
//! The callable is named either by `python_callable_name` in `python_callable_file`
//! (the file ships with the DAG version, so workers need no shared DAG folder), or,
//! as dag-factory's most common form, by a dotted `python_callable:
//! package.module.function`, which the worker imports from the DAG's bundle (the
//! bundle version's root is first on the runner's `sys.path`). Nothing is imported
//! at load time: the loader only checks that the path is made of Python names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::args::Args;
use super::files::FileSet;
use super::sensor::SensorArgs;

/// The function a Python task calls.
///
/// Untagged, so the file form serializes as it always has (`{"file", "name"}`)
/// and versions pushed before the module form existed keep their hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PythonCallable {
    /// `python_callable_name` in `python_callable_file`, a file of the DAG version.
    File {
        /// The file's key among the version's files.
        file: String,
        /// The function's name in that file.
        name: String,
    },
    /// `python_callable: package.module.function`: imported on the worker from the
    /// import path (the bundle version's root first).
    Module {
        /// The dotted module path (`package.module`).
        module: String,
        /// The function's name in that module.
        name: String,
    },
}

impl PythonCallable {
    /// The function's name.
    pub fn name(&self) -> &str {
        match self {
            PythonCallable::File { name, .. } | PythonCallable::Module { name, .. } => name,
        }
    }

    /// Where the function comes from, for messages: `name` in `file`, or the dotted path.
    pub fn describe(&self) -> String {
        match self {
            PythonCallable::File { file, name } => format!("`{name}` in `{file}`"),
            PythonCallable::Module { module, name } => format!("`{module}.{name}`"),
        }
    }
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
            if a.has("python_callable_name") || a.has("python_callable_file") {
                a.error(
                    "python_callable",
                    "give either `python_callable` or `python_callable_name` with \
                     `python_callable_file`, not both",
                    None,
                );
                return None;
            }
            return match split_dotted(&dotted) {
                Ok((module, name)) => Some(PythonCallable::Module { module, name }),
                Err(why) => {
                    a.error(
                        "python_callable",
                        format!("`python_callable: {dotted}`: {why}"),
                        Some(
                            "write the import path of a function, `package.module.function` \
                             (imported from the DAG's bundle on the worker), or \
                             `python_callable_name` with `python_callable_file`"
                                .into(),
                        ),
                    );
                    None
                }
            };
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
        Some(PythonCallable::File { file, name })
    }
}

/// `package.module.name` split into the module path and the last name; the error
/// says what is wrong with the path.
pub(crate) fn split_dotted(dotted: &str) -> Result<(String, String), String> {
    let Some((module, name)) = dotted.rsplit_once('.') else {
        return Err(format!(
            "`{dotted}` names no module: write `module.{dotted}` (the module that defines it)"
        ));
    };
    for part in dotted.split('.') {
        if part.is_empty() {
            return Err(
                "an import path has no empty parts (`a..b`, a leading or trailing `.`)".into(),
            );
        }
        if !is_python_identifier(part) {
            return Err(format!("`{part}` is not a Python name"));
        }
    }
    Ok((module.to_string(), name.to_string()))
}

pub(crate) fn is_python_identifier(s: &str) -> bool {
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
