//! The `default:` block and `default_args`: what they give the DAGs and tasks of the
//! file, and their problems reported once, where they are written.

use serde_json::json;

use super::support::{load, one_error, only_dag};
use crate::diag::{Diagnostic, Severity};

#[test]
fn default_args_are_checked() {
    let f = load(
        "d:\n  default_args:\n    retires: 1\n    schedule: '@daily'\n    email: x@y.z\n  tasks: {t: {operator: empty}}\n",
    );
    let (_, _, msg) = one_error(&f);
    assert!(
        msg.contains("unknown key `retires` in default_args") && msg.contains("retries"),
        "{msg}"
    );
    let warnings: Vec<&Diagnostic> = f
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.message.contains("`email` has no effect"))
    );
    // Airflow ignores DAG settings in default_args; Kairos says so loudly but accepts it.
    assert!(
        warnings
            .iter()
            .any(|w| w.message.contains("`schedule` is a DAG setting"))
    );
}

#[test]
fn errors_in_the_default_block_point_at_it() {
    let f = load(
        "default:\n  default_args:\n    retries: many\na:\n  tasks: {t: {operator: empty}}\nb:\n  tasks: {t: {operator: empty}}\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 3, "reported once, at the default block: {msg}");
    assert!(f.dags.is_empty(), "neither DAG is valid");
}

#[test]
fn default_args_params_override_dag_params_and_are_not_inherited_again() {
    // Found in review. Airflow: dag.params.update(default_args["params"]); del default_args["params"].
    let f = load(
        "d:\n  params: {env: from_dag, keep: 1}\n  default_args:\n    params: {env: from_default_args}\n  tasks:\n    plain: {operator: empty}\n    own: {operator: empty, params: {x: 2}}\n",
    );
    let d = &only_dag(&f).dag;
    assert_eq!(d.params.get("env"), Some(&json!("from_default_args")));
    assert_eq!(d.params.get("keep"), Some(&json!(1)));
    assert!(d.task("plain").expect("plain").params.is_empty());
    assert_eq!(d.task("own").expect("own").params.get("x"), Some(&json!(2)));
}

#[test]
fn a_conflict_in_the_default_block_makes_its_dags_unusable() {
    let f = load(
        "default:\n  schedule: '@daily'\n  schedule_interval: '@hourly'\nd:\n  start_date: 2024-01-01\n  tasks: {t: {operator: empty}}\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 3);
    assert!(msg.contains("old name of `schedule`"), "{msg}");
    assert!(f.dags.is_empty());
}
