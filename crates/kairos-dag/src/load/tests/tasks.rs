//! Tasks and their operators: unknown operators, argument errors at the argument, and
//! the files a task names (Python callables, bash scripts) shipped with the version.

use serde_json::json;

use super::support::{load, load_with, one_error, only_dag};
use crate::operator::{BashCommand, Operator, PythonCallable, PythonKind};

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
    assert_eq!(
        p.callable,
        PythonCallable::File {
            file: "lib/callables.py".into(),
            name: "choose".into()
        }
    );
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
    let f = load("d:\n  tasks:\n    t:\n      operator: SnowflakeOperator\n");
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
    assert!(msg.contains("outside the DAGs root"), "{msg}");
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

#[test]
fn dotted_python_callables_are_imported_on_the_worker_not_shipped() {
    let yaml = "d:\n  tasks:\n    numbers:\n      operator: airflow.providers.standard.operators.python.PythonOperator\n      python_callable: helpers.numbers.build_list\n      op_kwargs: {n: 3}\n    wait:\n      operator: python_sensor\n      python_callable: ready\n";
    let f = load(yaml);
    let (line, col, msg) = one_error(&f);
    assert_eq!((line, col), (9, 7), "{msg}");
    assert!(msg.contains("`ready` names no module"), "{msg}");

    let f = load(&yaml.replace(
        "python_callable: ready",
        "python_callable: helpers.checks.ready",
    ));
    let v = only_dag(&f);
    assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
    let Some(Operator::Python(p)) = v.dag.task("numbers").and_then(|t| t.plain_operator()) else {
        panic!("python operator")
    };
    assert_eq!(
        p.callable,
        PythonCallable::Module {
            module: "helpers.numbers".into(),
            name: "build_list".into()
        }
    );
    assert_eq!(p.op_kwargs.get("n"), Some(&json!(3)));
    // Nothing to ship: the module comes from the bundle.
    assert_eq!(v.files.len(), 1, "{:?}", v.files.keys());
    let Some(Operator::PythonSensor(s)) = v.dag.task("wait").and_then(|t| t.plain_operator())
    else {
        panic!("python sensor")
    };
    assert_eq!(s.callable.name(), "ready");

    for (bad, why) in [
        ("helpers..build_list", "no empty parts"),
        ("helpers.numbers.", "no empty parts"),
        ("helpers.2nd.build_list", "`2nd` is not a Python name"),
        ("helpers.num-bers.f", "`num-bers` is not a Python name"),
    ] {
        let f = load(&yaml.replace("helpers.numbers.build_list", bad));
        let errs = super::support::errors(&f);
        let Some((line, col, msg)) = errs.first() else {
            panic!("{bad}: no error")
        };
        assert_eq!((*line, *col), (5, 7), "{bad}: {msg}");
        assert!(msg.contains(why), "{bad}: {msg}");
    }
    let f = load_with(
        &yaml.replace(
            "op_kwargs: {n: 3}",
            "python_callable_name: f\n      python_callable_file: f.py",
        ),
        &[("f.py", "def f(): pass\n")],
    );
    let msg = &super::support::errors(&f)[0].2;
    assert!(msg.contains("either `python_callable` or"), "{msg}");
}

#[test]
fn custom_operator_classes_take_every_non_task_key_as_an_argument() {
    let yaml = "default:\n  default_args: {owner: bakers, retries: 2, bash_command: echo}\nbreakfast:\n  tasks:\n    - task_id: bread\n      operator: bakery.operators.breakfast.MakeBreadOperator\n      bread_type: \"{{ params.kind }}\"\n      loaves: 3\n      extras: {seeds: [sesame]}\n      retries: 1\n      pool: ovens\n      dependencies: [begin]\n    - task_id: begin\n      operator: empty\n";
    let f = load(yaml);
    let v = only_dag(&f);
    assert!(f.diagnostics.is_empty(), "no warnings: {:?}", f.diagnostics);
    let task = v.dag.task("bread").expect("bread");
    let Some(Operator::Custom { class, args }) = task.plain_operator() else {
        panic!("custom operator: {:?}", task.operator)
    };
    assert_eq!(class, "bakery.operators.breakfast.MakeBreadOperator");
    // Task settings stay the task's; default_args give a custom class nothing.
    assert_eq!(
        args.keys().collect::<Vec<_>>(),
        vec!["bread_type", "extras", "loaves"]
    );
    assert_eq!(args["bread_type"], json!("{{ params.kind }}"));
    assert_eq!(args["extras"], json!({"seeds": ["sesame"]}));
    assert_eq!(
        (task.retries, task.pool.as_str(), task.owner.as_str()),
        (1, "ovens", "bakers")
    );
    assert_eq!(task.upstream, vec!["begin".to_string()]);
    assert_eq!(task.operator_kind(), crate::operator::OperatorKind::Custom);
    // The version's JSON carries it and reads back the same.
    let text = serde_json::to_string(&v.dag).expect("ser");
    let back: crate::model::Dag = serde_json::from_str(&text).expect("de");
    assert_eq!(&back, &v.dag);

    // An Airflow class Kairos does not run itself: custom, with a warning.
    let f = load(
        "d:\n  tasks:\n    t:\n      operator: airflow.providers.snowflake.operators.snowflake.SnowflakeOperator\n      sql: select 1\n",
    );
    only_dag(&f);
    assert_eq!(f.diagnostics.len(), 1, "{:?}", f.diagnostics);
    assert!(
        f.diagnostics[0]
            .to_string()
            .contains("only where the execution environment has Airflow")
    );
    // A typo of a known operator is still a typo.
    let (_, _, msg) = one_error(&load(
        "d:\n  tasks:\n    t:\n      operator: airflow.operators.bash.BashOperater\n      bash_command: x\n",
    ));
    assert!(msg.contains("did you mean"), "{msg}");
}

#[test]
fn bad_custom_operator_paths_and_arguments_are_errors_at_their_place() {
    let (line, col, msg) = one_error(&load(
        "d:\n  tasks:\n    t:\n      operator: bakery..MakeBread\n",
    ));
    assert_eq!((line, col), (4, 17));
    assert!(
        msg.contains("neither an operator Kairos knows nor a class path"),
        "{msg}"
    );
    let (line, col, msg) = one_error(&load(
        "d:\n  tasks:\n    t:\n      operator: bakery.ops.MakeBread\n      bread-type: rye\n",
    ));
    assert_eq!((line, col), (5, 7));
    assert!(msg.contains("`bread-type` is not a Python name"), "{msg}");
    let (line, col, msg) = one_error(&load(
        "d:\n  tasks:\n    t:\n      operator: bakery.ops.MakeBread\n      expand: {bread_type: [rye, spelt]}\n",
    ));
    assert_eq!((line, col), (5, 7));
    assert!(
        msg.contains("`expand` is not supported yet for a custom operator"),
        "{msg}"
    );
}
