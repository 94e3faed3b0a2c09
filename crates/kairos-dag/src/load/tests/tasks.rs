//! Tasks and their operators: unknown operators, argument errors at the argument, and
//! the files a task names (Python callables, bash scripts) shipped with the version.

use serde_json::json;

use super::support::{load, load_with, one_error, only_dag};
use crate::operator::{BashCommand, Operator, PythonKind};

#[test]
fn python_callables_ship_with_the_version() {
    let py = "def choose(**ctx):\n    return 'left'\n";
    let f = load_with(
        "branchy:\n  tasks:\n    pick:\n      operator: airflow.operators.python.BranchPythonOperator\n      python_callable_name: choose\n      python_callable_file: $CONFIG_ROOT_DIR/lib/callables.py\n      op_kwargs: {threshold: 3}\n    left:\n      operator: empty\n      dependencies: [pick]\n    right:\n      operator: empty\n      dependencies: [pick]\n    join:\n      operator: empty\n      trigger_rule: none_failed_min_one_success\n      dependencies: [left, right]\n",
        &[("lib/callables.py", py)],
    );
    let v = only_dag(&f);
    assert_eq!(f.file(v, "lib/callables.py"), Some(py));
    let Some(Operator::Python(p)) = v.dag.task("pick").and_then(|t| t.plain_operator()) else {
        panic!("python operator")
    };
    assert_eq!(p.kind, PythonKind::Branch);
    assert_eq!(p.callable.file, "lib/callables.py");
    assert_eq!(p.op_kwargs.get("threshold"), Some(&json!(3)));
}

#[test]
fn bash_scripts_ship_with_the_version() {
    let f = load_with(
        "d:\n  tasks:\n    run:\n      operator: bash\n      bash_command: scripts/run.sh\n",
        &[("scripts/run.sh", "echo {{ ds }}\n")],
    );
    let v = only_dag(&f);
    let Some(Operator::Bash(b)) = v.dag.task("run").and_then(|t| t.plain_operator()) else {
        panic!("bash")
    };
    assert_eq!(
        b.command,
        BashCommand::Script {
            file: "scripts/run.sh".into()
        }
    );
    assert!(v.files.contains_key("scripts/run.sh"));
}

#[test]
fn unknown_operator_lists_the_supported_ones() {
    let f = load(
        "d:\n  tasks:\n    t:\n      operator: airflow.providers.snowflake.operators.SnowflakeOperator\n",
    );
    let (line, col, msg) = one_error(&f);
    assert_eq!((line, col), (4, 17));
    assert!(msg.contains("task `t`: unknown operator"), "{msg}");
    assert!(
        msg.contains("BashOperator") && msg.contains("PythonOperator"),
        "{msg}"
    );
}

#[test]
fn operator_argument_errors_point_at_the_argument() {
    let f = load(
        "d:\n  tasks:\n    t:\n      operator: bash\n      bash_command: echo\n      env: [A, B]\n",
    );
    let (line, col, msg) = one_error(&f);
    assert_eq!((line, col), (6, 7));
    assert!(msg.contains("`env` must be a mapping"), "{msg}");
    let f = load("d:\n  tasks:\n    t:\n      operator: bash\n");
    let (_, _, msg) = one_error(&f);
    assert!(msg.contains("`bash_command` is required"), "{msg}");
    let f = load(
        "d:\n  tasks:\n    t:\n      operator: python\n      python_callable_name: f\n      python_callable_file: $CONFIG_ROOT_DIR/nope.py\n",
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 6);
    assert!(msg.contains("cannot read"), "{msg}");
}

#[test]
fn files_outside_the_folder_are_refused() {
    let f = load(
        "d:\n  tasks:\n    t:\n      operator: python\n      python_callable_name: f\n      python_callable_file: /etc/cb.py\n",
    );
    let (_, _, msg) = one_error(&f);
    assert!(msg.contains("outside the DAG file's folder"), "{msg}");
}

#[test]
fn a_dag_with_more_tasks_than_the_limit_is_refused_at_the_tasks_key() {
    let n = crate::limits::MAX_TASKS_PER_DAG + 1;
    let mut yaml = String::from("wide:\n  tasks:\n");
    for i in 0..n {
        yaml.push_str(&format!("    t{i}: {{operator: empty}}\n"));
    }
    let f = load(&yaml);
    let (line, _, err) = one_error(&f);
    assert_eq!(line, 3, "{err}");
    assert!(
        err.contains(&n.to_string()) && err.contains("at most"),
        "{err}"
    );
}
