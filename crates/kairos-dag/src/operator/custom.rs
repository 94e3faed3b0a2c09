//! Custom operator classes: `operator: my_pkg.operators.MakeBreadOperator`.
//!
//! Any dotted class path that is not one of the operators Kairos knows names a
//! class of the user's own (or of a package installed in the execution
//! environment). The loader only checks the path's shape and that every argument
//! is a Python keyword argument; the class is imported on the worker, from the
//! DAG's bundle, never by the CLI or the servers.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::args::ArgError;
use super::python::{is_python_identifier, split_dotted};
use super::{Operator, OperatorKind};

/// What a task's `operator:` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorRef {
    /// One of the operators Kairos runs itself.
    Builtin(OperatorKind),
    /// A user's class, by its import path (`package.module.Class`).
    Custom(String),
}

/// Reads `operator:`: a known path or alias, else a custom class when the text is
/// a dotted path of Python names. A path under `airflow.` whose class name is
/// close to one Kairos knows is taken for a typo (the error suggests the right
/// one); any other unknown `airflow.` class is a custom class too, which runs
/// where the execution environment has Airflow with that class installed.
pub fn resolve_operator(text: &str) -> Result<OperatorRef, (String, Option<String>)> {
    let known = match OperatorKind::from_path(text) {
        Ok(kind) => return Ok(OperatorRef::Builtin(kind)),
        Err(e) => e,
    };
    let t = text.trim();
    if !t.contains('.') {
        return Err(known);
    }
    let typo = known
        .1
        .as_deref()
        .is_some_and(|h| h.starts_with("did you mean"));
    if t.starts_with("airflow.") && typo {
        return Err(known);
    }
    match split_dotted(t) {
        Ok(_) => Ok(OperatorRef::Custom(t.to_string())),
        Err(why) => Err((
            format!("`{t}` is neither an operator Kairos knows nor a class path: {why}"),
            Some(
                "name a class by its import path, `package.module.ClassName`, from the DAG's \
                 bundle, or one of the built-in operators"
                    .into(),
            ),
        )),
    }
}

impl Operator {
    /// A custom operator of `class` with the task's operator arguments: every key
    /// must be a Python keyword argument name.
    pub fn custom(class: &str, args: &Map<String, Value>) -> Result<Operator, Vec<ArgError>> {
        let mut errors = Vec::new();
        for key in args.keys() {
            if !is_python_identifier(key) {
                errors.push(ArgError {
                    key: Some(key.clone()),
                    message: format!(
                        "`{key}` is not a Python name, so it cannot be an argument of {class}"
                    ),
                    hint: None,
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Operator::Custom {
            class: class.to_string(),
            args: args
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        })
    }
}
