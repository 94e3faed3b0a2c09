//! TaskFlow tasks as dag-factory writes them (`decorator:` with a function and
//! its keyword arguments, `+task` results, mapped over `+task`), and templates
//! checked at load time.

use serde_json::json;

use super::support::{errors, load_with, one_error, only_dag};
use crate::model::{MapSource, TaskOperator};
use crate::operator::{Operator, XComArg};

const CALLABLES: &str = "def n():\n    return 2\n";

#[test]
fn taskflow_arguments_and_results_of_other_tasks() {
    let f = load_with(
        "d:\n  tasks:\n\
         \x20   - task_id: collect\n      decorator: airflow.decorators.task\n      python_callable: sample.collect\n      multiple_outputs: true\n\
         \x20   - task_id: numbers\n      decorator: airflow.sdk.task\n      python_callable_name: n\n      python_callable_file: cb.py\n\
         \x20   - task_id: echo\n      decorator: airflow.sdk.definitions.decorators.task\n      python_callable: sample.echo\n      value: \"+collect['key1']\"\n      plain: 3\n      all: +numbers\n",
        &[("cb.py", CALLABLES)],
    );
    let v = only_dag(&f);
    let echo = v.dag.task("echo").expect("echo");
    assert_eq!(
        echo.upstream,
        vec!["collect".to_string(), "numbers".to_string()]
    );
    let TaskOperator::Plain {
        operator: Operator::Python(p),
    } = &echo.operator
    else {
        panic!(
            "a TaskFlow task runs as a PythonOperator: {:?}",
            echo.operator
        );
    };
    assert_eq!(p.op_kwargs["plain"], json!(3));
    assert_eq!(
        XComArg::from_marker(&p.op_kwargs["value"]),
        Some(XComArg {
            task_id: "collect".into(),
            key: "key1".into()
        })
    );
    assert_eq!(
        XComArg::from_marker(&p.op_kwargs["all"]).map(|x| x.key),
        Some("return_value".into())
    );
    let TaskOperator::Plain {
        operator: Operator::Python(collect),
    } = &v.dag.task("collect").expect("collect").operator
    else {
        panic!("python");
    };
    assert!(collect.multiple_outputs);
}

#[test]
fn mapped_taskflow_tasks_expand_keyword_arguments() {
    let f = load_with(
        "d:\n  tasks:\n\
         \x20   - {task_id: numbers, decorator: airflow.sdk.task, python_callable: s.numbers}\n\
         \x20   - task_id: double\n      decorator: airflow.sdk.task\n      python_callable: s.double\n      expand: {number: +numbers}\n      partial: {label: true}\n\
         \x20   - task_id: fixed\n      decorator: airflow.sdk.task\n      python_callable: s.double\n      expand: {number: [1, 3]}\n",
        &[],
    );
    let v = only_dag(&f);
    let double = v.dag.task("double").expect("double");
    assert_eq!(double.upstream, vec!["numbers".to_string()]);
    let TaskOperator::Mapped(m) = &double.operator else {
        panic!("mapped");
    };
    assert_eq!(m.partial["label"], json!(true));
    assert_eq!(
        m.expand,
        vec![(
            "number".to_string(),
            MapSource::Xcom {
                task_id: "numbers".into()
            }
        )]
    );
}

#[test]
fn a_decorator_kairos_does_not_run_and_a_bad_reference_are_errors() {
    let f = load_with(
        "d:\n  tasks:\n    t:\n      decorator: airflow.decorators.bash\n      python_callable: s.f\n",
        &[],
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 4);
    assert!(msg.contains("not a TaskFlow decorator"), "{msg}");
    let f = load_with(
        "d:\n  tasks:\n    t:\n      decorator: airflow.sdk.task\n      python_callable: s.f\n      x: \"+a[k]\"\n",
        &[],
    );
    let (line, _, msg) = one_error(&f);
    assert_eq!(line, 6);
    assert!(msg.contains("+task_id['key']"), "{msg}");
    let f = load_with(
        "d:\n  tasks:\n    t:\n      decorator: airflow.sdk.task\n      python_callable: s.f\n      x: +nobody\n",
        &[],
    );
    let errs = errors(&f);
    assert!(
        errs.iter().any(|(_, _, m)| m.contains("nobody")),
        "{errs:?}"
    );
}

#[test]
fn airflow_2_template_names_are_errors_at_their_line_with_the_replacement() {
    let f = load_with(
        "d:\n  tasks:\n    t:\n      operator: bash\n      bash_command: 'echo {{ execution_date }} {{ next_ds }}'\n",
        &[],
    );
    let errs = errors(&f);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].0, 5);
    assert!(
        errs[0]
            .2
            .contains("`execution_date` was removed in Airflow 3"),
        "{errs:?}"
    );
    assert!(errs[0].2.contains("{{ logical_date }}"), "{errs:?}");
    assert!(
        errs[1].2.contains("{{ data_interval_end | ds }}"),
        "{errs:?}"
    );
    let f = load_with(
        "d:\n  tasks:\n    t:\n      operator: bash\n      bash_command: 'echo {{ dss }}'\n",
        &[],
    );
    let (_, _, msg) = one_error(&f);
    assert!(msg.contains("did you mean `ds`?"), "{msg}");
    let f = load_with(
        "d:\n  tasks:\n    t:\n      operator: bash\n      bash_command: 'echo {{ ds '\n",
        &[],
    );
    let (_, _, msg) = one_error(&f);
    assert!(msg.contains("does not parse"), "{msg}");
}
