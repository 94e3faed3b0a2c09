use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;

fn files(keys: &[&str]) -> BTreeMap<String, String> {
    keys.iter()
        .map(|k| (k.to_string(), String::new()))
        .collect()
}

fn parse(kind: OperatorKind, args: Value) -> Result<Operator, Vec<ArgError>> {
    let map = args.as_object().cloned().unwrap_or_default();
    Operator::parse(kind, &map, &files(&["callables.py", "scripts/run.sh"]), &[])
}

#[test]
fn every_airflow_path_and_alias_resolves() {
    let cases = [
        ("airflow.operators.bash.BashOperator", OperatorKind::Bash),
        (
            "airflow.operators.bash_operator.BashOperator",
            OperatorKind::Bash,
        ),
        (
            "airflow.providers.standard.operators.bash.BashOperator",
            OperatorKind::Bash,
        ),
        ("bash", OperatorKind::Bash),
        ("airflow.operators.empty.EmptyOperator", OperatorKind::Empty),
        (
            "airflow.providers.standard.operators.empty.EmptyOperator",
            OperatorKind::Empty,
        ),
        ("airflow.operators.dummy.DummyOperator", OperatorKind::Empty),
        (
            "airflow.operators.dummy_operator.DummyOperator",
            OperatorKind::Empty,
        ),
        (
            "airflow.operators.python.PythonOperator",
            OperatorKind::Python,
        ),
        (
            "airflow.providers.standard.operators.python.PythonOperator",
            OperatorKind::Python,
        ),
        (
            "airflow.operators.python.BranchPythonOperator",
            OperatorKind::BranchPython,
        ),
        ("branch_python", OperatorKind::BranchPython),
        (
            "airflow.operators.python.ShortCircuitOperator",
            OperatorKind::ShortCircuit,
        ),
        ("short_circuit", OperatorKind::ShortCircuit),
        ("airflow.sensors.bash.BashSensor", OperatorKind::BashSensor),
        (
            "airflow.providers.standard.sensors.python.PythonSensor",
            OperatorKind::PythonSensor,
        ),
        (
            "airflow.sensors.time_delta.TimeDeltaSensor",
            OperatorKind::TimeDeltaSensor,
        ),
        (
            "airflow.sensors.date_time.DateTimeSensor",
            OperatorKind::DateTimeSensor,
        ),
        (
            "airflow.sensors.external_task.ExternalTaskSensor",
            OperatorKind::ExternalTaskSensor,
        ),
        (
            "airflow.operators.trigger_dagrun.TriggerDagRunOperator",
            OperatorKind::TriggerDagRun,
        ),
        (
            "airflow.providers.http.operators.http.HttpOperator",
            OperatorKind::Http,
        ),
        (
            "airflow.providers.http.operators.http.SimpleHttpOperator",
            OperatorKind::Http,
        ),
    ];
    for (path, kind) in cases {
        assert_eq!(OperatorKind::from_path(path), Ok(kind), "{path}");
    }
}

#[test]
fn unknown_operators_suggest_or_list() {
    let (msg, hint) =
        OperatorKind::from_path("airflow.operators.bash.BashOperater").expect_err("typo");
    assert!(msg.contains("BashOperater"));
    assert_eq!(
        hint.as_deref(),
        Some("did you mean `airflow.operators.bash.BashOperator`?")
    );
    let (_, hint) = OperatorKind::from_path("airflow.providers.snowflake.SnowflakeOperator")
        .expect_err("unsupported");
    let hint = hint.expect("lists supported");
    assert!(
        hint.contains("BashOperator") && hint.contains("HttpOperator"),
        "{hint}"
    );
}

#[test]
fn bash_defaults_follow_airflow() {
    let op = parse(OperatorKind::Bash, json!({"bash_command": "echo hi"})).expect("valid");
    let Operator::Bash(b) = op else {
        panic!("bash")
    };
    assert_eq!(
        b.command,
        BashCommand::Inline {
            command: "echo hi".into()
        }
    );
    assert_eq!(b.skip_on_exit_code, vec![99]);
    assert!(!b.append_env);
    let Operator::Bash(b) = parse(
        OperatorKind::Bash,
        json!({"bash_command": "x", "skip_on_exit_code": null}),
    )
    .expect("valid") else {
        panic!()
    };
    assert!(b.skip_on_exit_code.is_empty(), "null means never skip");
    let Operator::Bash(b) = parse(
        OperatorKind::Bash,
        json!({"bash_command": "x", "skip_on_exit_code": [3, 4]}),
    )
    .expect("valid") else {
        panic!()
    };
    assert_eq!(b.skip_on_exit_code, vec![3, 4]);
}

#[test]
fn bash_scripts_must_ship() {
    let Operator::Bash(b) = parse(
        OperatorKind::Bash,
        json!({"bash_command": "scripts/run.sh"}),
    )
    .expect("valid") else {
        panic!()
    };
    assert_eq!(
        b.command,
        BashCommand::Script {
            file: "scripts/run.sh".into()
        }
    );
    let errs =
        parse(OperatorKind::Bash, json!({"bash_command": "missing.sh"})).expect_err("missing");
    assert!(
        errs[0]
            .hint
            .as_deref()
            .unwrap_or("")
            .contains("trailing space")
    );
    // A trailing space makes it a command, as in Airflow.
    assert!(parse(OperatorKind::Bash, json!({"bash_command": "missing.sh "})).is_ok());
}

#[test]
fn missing_and_mistyped_arguments_name_their_key() {
    let errs = parse(OperatorKind::Bash, json!({})).expect_err("missing");
    assert_eq!(errs[0].key.as_deref(), Some("bash_command"));
    let errs = parse(
        OperatorKind::Bash,
        json!({"bash_command": "x", "env": "A=1"}),
    )
    .expect_err("env");
    assert_eq!(errs[0].key.as_deref(), Some("env"));
    let errs = parse(
        OperatorKind::Bash,
        json!({"bash_command": "x", "bash_comand": "y"}),
    )
    .expect_err("unknown");
    assert_eq!(
        errs[0].hint.as_deref(),
        Some("did you mean `bash_command`?")
    );
}

#[test]
fn python_callables() {
    let op = parse(
        OperatorKind::BranchPython,
        json!({"python_callable_name": "choose", "python_callable_file": "callables.py", "op_kwargs": {"a": 1}}),
    )
    .expect("valid");
    let Operator::Python(p) = op else {
        panic!("python")
    };
    assert_eq!(p.kind, PythonKind::Branch);
    assert_eq!(
        p.callable,
        PythonCallable::File {
            file: "callables.py".into(),
            name: "choose".into()
        }
    );
    assert_eq!(p.op_kwargs.get("a"), Some(&json!(1)));
    let Operator::Python(p) = parse(
        OperatorKind::Python,
        json!({"python_callable": "sample.print_hello"}),
    )
    .expect("dotted") else {
        panic!("python")
    };
    assert_eq!(
        p.callable,
        PythonCallable::Module {
            module: "sample".into(),
            name: "print_hello".into()
        }
    );
    // The file form serializes as it always has (version hashes do not move);
    // the module form reads back as itself.
    assert_eq!(
        serde_json::to_value(PythonCallable::File {
            file: "f.py".into(),
            name: "g".into()
        })
        .expect("ser"),
        json!({"file": "f.py", "name": "g"})
    );
    let back: PythonCallable =
        serde_json::from_value(json!({"module": "a.b", "name": "c"})).expect("de");
    assert_eq!(back.describe(), "`a.b.c`");
    let back: PythonCallable =
        serde_json::from_value(json!({"file": "f.py", "name": "g"})).expect("de");
    assert!(matches!(back, PythonCallable::File { .. }));
    let errs = parse(
        OperatorKind::Python,
        json!({"python_callable_name": "not a name", "python_callable_file": "callables.py"}),
    )
    .expect_err("ident");
    assert_eq!(errs[0].key.as_deref(), Some("python_callable_name"));
}

#[test]
fn sensors() {
    let Operator::TimeDeltaSensor(s) = parse(
        OperatorKind::TimeDeltaSensor,
        json!({"delta": {"hours": 1}, "mode": "reschedule"}),
    )
    .expect("valid") else {
        panic!()
    };
    assert_eq!(s.delta, crate::duration::Duration::from_secs(3600));
    assert_eq!(s.sensor.mode, SensorMode::Reschedule);
    assert_eq!(
        s.sensor.poke_interval,
        crate::duration::Duration::from_secs(60)
    );
    assert_eq!(
        s.sensor.timeout,
        crate::duration::Duration::from_secs(7 * 86400)
    );
    let errs = parse(
        OperatorKind::TimeDeltaSensor,
        json!({"delta": "1h", "mode": "smart"}),
    )
    .expect_err("mode");
    assert_eq!(errs[0].key.as_deref(), Some("mode"));
    let errs = parse(
        OperatorKind::ExternalTaskSensor,
        json!({"external_dag_id": "a", "external_task_id": "t", "allowed_states": ["sucess"]}),
    )
    .expect_err("state");
    assert_eq!(errs[0].key.as_deref(), Some("allowed_states"));
    assert!(
        parse(
            OperatorKind::ExternalTaskSensor,
            json!({"external_dag_id": "a", "allowed_states": ["success", "failed"]})
        )
        .is_ok()
    );
    let errs =
        parse(OperatorKind::DateTimeSensor, json!({"target_time": "soon"})).expect_err("time");
    assert_eq!(errs[0].key.as_deref(), Some("target_time"));
    assert!(
        parse(
            OperatorKind::DateTimeSensor,
            json!({"target_time": "{{ data_interval_end }}"})
        )
        .is_ok()
    );
}

#[test]
fn an_external_sensors_execution_date_fn_is_an_import_path() {
    let Operator::ExternalTaskSensor(s) = parse(
        OperatorKind::ExternalTaskSensor,
        json!({"external_dag_id": "a", "execution_date_fn": "sample.one_day_ago"}),
    )
    .expect("valid") else {
        panic!()
    };
    assert_eq!(
        s.execution_date_fn,
        Some(PythonCallable::Module {
            module: "sample".into(),
            name: "one_day_ago".into()
        })
    );
    let errs = parse(
        OperatorKind::ExternalTaskSensor,
        json!({"external_dag_id": "a", "execution_date_fn": "one_day_ago"}),
    )
    .expect_err("no module");
    assert_eq!(errs[0].key.as_deref(), Some("execution_date_fn"));
    let errs = parse(
        OperatorKind::ExternalTaskSensor,
        json!({"external_dag_id": "a", "execution_date_fn": "s.f", "execution_delta": "1h"}),
    )
    .expect_err("both");
    assert!(errs[0].message.contains("not both"), "{errs:?}");
}

#[test]
fn http_and_trigger() {
    let Operator::Http(h) = parse(OperatorKind::Http, json!({"endpoint": "/api", "method": "get", "extra_options": {"check_response": false, "timeout": 5}})).expect("valid") else { panic!() };
    assert_eq!(h.method, "GET");
    assert!(!h.check_response);
    assert_eq!(h.timeout, Some(crate::duration::Duration::from_secs(5)));
    let errs = parse(
        OperatorKind::Http,
        json!({"endpoint": "/", "response_check": "x"}),
    )
    .expect_err("callable");
    assert_eq!(errs[0].key.as_deref(), Some("response_check"));
    let Operator::TriggerDagRun(t) = parse(
        OperatorKind::TriggerDagRun,
        json!({"trigger_dag_id": "d", "conf": {"k": 1}, "execution_date": "{{ ds }}"}),
    )
    .expect("valid") else {
        panic!()
    };
    assert_eq!(t.logical_date.as_deref(), Some("{{ ds }}"));
    assert!(
        parse(
            OperatorKind::TriggerDagRun,
            json!({"trigger_dag_id": "d", "conf": [1]})
        )
        .is_err()
    );
}

#[test]
fn argument_names_list_what_each_operator_takes() {
    let names = Operator::argument_names(OperatorKind::Bash);
    assert!(names.contains(&"bash_command") && names.contains(&"env"));
    let names = Operator::argument_names(OperatorKind::Python);
    assert!(names.contains(&"op_args") && names.contains(&"python_callable_file"));
    assert!(Operator::argument_names(OperatorKind::Empty).is_empty());
}

#[test]
fn operators_round_trip_through_json() {
    let op = parse(OperatorKind::Python, json!({"python_callable_name": "f", "python_callable_file": "callables.py", "op_args": [1, "a"]})).expect("valid");
    let text = serde_json::to_string(&op).expect("ser");
    let back: Operator = serde_json::from_str(&text).expect("de");
    assert_eq!(back, op);
    assert_eq!(back.kind(), OperatorKind::Python);
}

#[test]
fn one_bad_sensor_value_does_not_make_others_unknown() {
    // Found in review: an early return left soft_fail and deferrable unread.
    let errs = parse(
        OperatorKind::TimeDeltaSensor,
        json!({"delta": "1h", "mode": "smart", "soft_fail": true, "deferrable": true}),
    )
    .expect_err("bad mode");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].key.as_deref(), Some("mode"));
}
