//! The embedded Python runner, called the way the worker calls it: arguments bound
//! as Airflow's PythonOperator binds them, skips, and results that are not JSON.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

const RUNNER: &str = include_str!("../src/runner.py");

const CALLABLES: &str = r#"
def only_a(a):
    return a

def with_context(x, ds=None, **kwargs):
    return {"x": x, "ds": ds, "conf": kwargs["dag_run"].conf, "has_ti": "ti" in kwargs,
            "extra": kwargs.get("extra")}

def positional_then_context(first, run_id):
    return [first, run_id]

def skip():
    from airflow.exceptions import AirflowSkipException
    raise AirflowSkipException("nothing to do")

def nan():
    return float("nan")
"#;

/// Runs `name` with `op_args` / `op_kwargs`; returns (exit code, result).
fn call(dir: &Path, name: &str, op_args: Value, op_kwargs: Value) -> (i32, Option<Value>) {
    std::fs::write(dir.join("runner.py"), RUNNER).unwrap();
    std::fs::write(dir.join("callables.py"), CALLABLES).unwrap();
    let result = dir.join("result.json");
    let _ = std::fs::remove_file(&result);
    let spec = json!({
        "file": dir.join("callables.py"),
        "name": name,
        "op_args": op_args,
        "op_kwargs": op_kwargs,
        "templates_dict": null,
        "context": {"dag_id": "d", "task_id": "t", "run_id": "r1", "ds": "2026-01-02",
                    "logical_date": "2026-01-02T00:00:00+00:00", "run_conf": {"n": 5}},
        "result": result,
    });
    std::fs::write(dir.join("call.json"), spec.to_string()).unwrap();
    let status = Command::new("python3")
        .arg(dir.join("runner.py"))
        .arg(dir.join("call.json"))
        .env("KAIROS_XCOM_FILE", dir.join("xcom.jsonl"))
        .output()
        .expect("python3 runs");
    let value = std::fs::read_to_string(&result)
        .ok()
        .map(|t| serde_json::from_str::<Value>(&t).unwrap()["return_value"].clone());
    (status.status.code().unwrap_or(-1), value)
}

#[test]
fn arguments_bind_as_in_airflow() {
    let dir = tempfile::tempdir().unwrap();
    // op_kwargs the signature does not name are dropped, as in Airflow.
    let (code, value) = call(dir.path(), "only_a", json!([]), json!({"a": 1, "extra": 2}));
    assert_eq!((code, value), (0, Some(json!(1))));
    // **kwargs gets the whole context merged with op_kwargs; dag_run.conf is the run's.
    let (code, value) = call(dir.path(), "with_context", json!([7]), json!({"extra": 3}));
    assert_eq!(code, 0);
    assert_eq!(
        value,
        Some(json!({"x": 7, "ds": "2026-01-02", "conf": {"n": 5}, "has_ti": true, "extra": 3}))
    );
    // A name filled by op_args is not filled again from the context.
    let (code, value) = call(
        dir.path(),
        "positional_then_context",
        json!(["a"]),
        json!({}),
    );
    assert_eq!((code, value), (0, Some(json!(["a", "r1"]))));
}

#[test]
fn skips_and_bad_results_have_their_own_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(call(dir.path(), "skip", json!([]), json!({})), (99, None));
    assert_eq!(call(dir.path(), "nan", json!([]), json!({})), (98, None));
    let (code, _) = call(dir.path(), "no_such_function", json!([]), json!({}));
    assert_eq!(code, 1);
}
