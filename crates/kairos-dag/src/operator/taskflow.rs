//! TaskFlow tasks, as dag-factory writes them: `decorator: airflow.sdk.task` with
//! the function (`python_callable: module.fn`, or `python_callable_name` in
//! `python_callable_file`), and every other key a keyword argument of the
//! function. A value `+task_id` is that task's return value (Airflow's
//! `XComArg`), `+task_id['key']` one of its outputs (`multiple_outputs`); the
//! loader turns each into an [`XComArg`] marker and a dependency, and the worker
//! pulls the value before the call. A TaskFlow task runs as a PythonOperator
//! (`@task.branch` as a BranchPythonOperator, `@task.short_circuit` as a
//! ShortCircuitOperator: the decorator's path followed by `.branch`).

use serde_json::{Value, json};

use super::args::Args;
use super::files::FileSet;
use super::python::{PythonKind, PythonOperator};

/// The decorators dag-factory accepts for TaskFlow tasks (Airflow 2 and 3 paths).
pub const DECORATORS: &[&str] = &[
    "airflow.sdk.task",
    "airflow.decorators.task",
    "airflow.sdk.definitions.decorators.task",
    "airflow.decorators.python.python_task",
    "airflow.providers.standard.decorators.python.python_task",
];

/// `@task.branch` and `@task.short_circuit`: a decorator above followed by one
/// of these runs its function as a BranchPythonOperator or ShortCircuitOperator.
const VARIANTS: &[(&str, PythonKind)] = &[
    ("branch", PythonKind::Branch),
    ("short_circuit", PythonKind::ShortCircuit),
];

/// The argument the loader sets to a variant's name (`branch`) before parsing.
pub const VARIANT_ARG: &str = "__kairos_taskflow_variant";

/// Whether `path` is a TaskFlow decorator: `Some(None)` for a plain one,
/// `Some(Some("branch"))` for a variant, `None` for anything else.
pub fn decorator_variant(path: &str) -> Option<Option<&'static str>> {
    let path = path.trim();
    if DECORATORS.contains(&path) {
        return Some(None);
    }
    VARIANTS.iter().find_map(|(name, _)| {
        let base = path.strip_suffix(name)?.strip_suffix('.')?;
        DECORATORS.contains(&base).then_some(Some(*name))
    })
}

/// The marker an argument's value is replaced with when it is another task's output.
pub const XCOM_ARG_MARKER: &str = "__kairos_xcom_arg__";

/// Another task's output, as a TaskFlow argument names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XComArg {
    pub task_id: String,
    /// `return_value`, or one output of a task with `multiple_outputs`.
    pub key: String,
}

impl XComArg {
    /// `+task_id` or `+task_id['key']` (also with double quotes); `None` for any
    /// other value. The error says what is wrong with a value that starts with `+`
    /// but is not a reference.
    pub fn parse(text: &str) -> Option<Result<XComArg, String>> {
        let rest = text.strip_prefix('+')?;
        let (task_id, key) = match rest.split_once('[') {
            None => (rest, "return_value".to_string()),
            Some((task, tail)) => {
                let inner = tail.strip_suffix(']').and_then(|k| {
                    k.strip_prefix('\'')
                        .and_then(|k| k.strip_suffix('\''))
                        .or_else(|| k.strip_prefix('"').and_then(|k| k.strip_suffix('"')))
                });
                match inner {
                    Some(k) if is_key(k) => (task, k.to_string()),
                    _ => {
                        return Some(Err(format!(
                            "`{text}`: write `+task_id` or `+task_id['key']` (a key of letters, digits, `_`, `-` or `.`)"
                        )));
                    }
                }
            }
        };
        if task_id.is_empty()
            || !task_id
                .chars()
                .all(|c| c.is_alphanumeric() || "_-.".contains(c))
        {
            return Some(Err(format!(
                "`{text}`: `{task_id}` is not a task id; write `+task_id` to pass a task's result"
            )));
        }
        Some(Ok(XComArg {
            task_id: task_id.to_string(),
            key,
        }))
    }

    /// The marker the worker replaces with the value.
    pub fn marker(&self) -> Value {
        json!({ XCOM_ARG_MARKER: { "task_id": self.task_id, "key": self.key } })
    }

    /// The reference a marker holds, if `value` is one.
    pub fn from_marker(value: &Value) -> Option<XComArg> {
        let inner = value.as_object()?;
        if inner.len() != 1 {
            return None;
        }
        let m = inner.get(XCOM_ARG_MARKER)?;
        Some(XComArg {
            task_id: m.get("task_id")?.as_str()?.to_string(),
            key: m.get("key")?.as_str()?.to_string(),
        })
    }
}

fn is_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c))
}

/// A TaskFlow task's arguments: a PythonOperator's (its function,
/// `multiple_outputs`, ...), and every other key a keyword argument.
pub(super) fn parse(a: &mut Args<'_>, files: &dyn FileSet) -> Option<PythonOperator> {
    let variant = a.string(VARIANT_ARG);
    let kind = VARIANTS
        .iter()
        .find(|(name, _)| Some(*name) == variant.as_deref())
        .map_or(PythonKind::Plain, |(_, kind)| *kind);
    let op = PythonOperator::parse(a, kind, files);
    let rest = a.take_rest();
    let mut op = op?;
    op.op_kwargs.extend(rest);
    Some(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_with_and_without_a_key() {
        assert_eq!(
            XComArg::parse("+numbers"),
            Some(Ok(XComArg {
                task_id: "numbers".into(),
                key: "return_value".into()
            }))
        );
        assert_eq!(
            XComArg::parse("+collect['key1']"),
            Some(Ok(XComArg {
                task_id: "collect".into(),
                key: "key1".into()
            }))
        );
        assert_eq!(
            XComArg::parse("+collect[\"k\"]").map(|r| r.map(|x| x.key)),
            Some(Ok("k".into()))
        );
        assert_eq!(XComArg::parse("plain"), None);
        assert!(matches!(XComArg::parse("+"), Some(Err(_))));
        assert!(matches!(XComArg::parse("+a[key]"), Some(Err(_))));
        assert!(matches!(XComArg::parse("+a b"), Some(Err(_))));
        let x = XComArg::parse("+t['k']").unwrap().unwrap();
        assert_eq!(XComArg::from_marker(&x.marker()), Some(x));
        assert_eq!(XComArg::from_marker(&json!({"task_id": "t"})), None);
    }
}
