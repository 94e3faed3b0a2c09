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

def give_up():
    from airflow.exceptions import AirflowFailException
    raise AirflowFailException("no point retrying")
"#;

/// Writes the `kairos_airflow` package the worker writes beside each call; its folder.
fn sdk(dir: &Path) -> std::path::PathBuf {
    let at = dir.join("sdk");
    kairos_worker::sdk::write_sdk(&at, |path, bytes| std::fs::write(path, bytes)).unwrap();
    at
}

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
        "sdk": sdk(dir),
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
    // AirflowFailException: failed for good, no retry.
    assert_eq!(
        call(dir.path(), "give_up", json!([]), json!({})),
        (97, None)
    );
    let (code, _) = call(dir.path(), "no_such_function", json!([]), json!({}));
    assert_eq!(code, 1);
}

/// The bundle fixture: its root goes first on the runner's `sys.path`.
fn bundle_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bakery_bundle")
}

/// Runs the runner on `spec` (with `result` and the bundle's `sys_path` added)
/// in an empty working directory; returns (exit code, result, output).
fn run_spec(dir: &Path, spec: Value) -> (i32, Option<Value>, String) {
    run_spec_with(dir, spec, &[])
}

/// [`run_spec`] with more environment variables.
fn run_spec_with(
    dir: &Path,
    mut spec: Value,
    env: &[(&str, &Path)],
) -> (i32, Option<Value>, String) {
    std::fs::write(dir.join("runner.py"), RUNNER).unwrap();
    let result = dir.join("result.json");
    let _ = std::fs::remove_file(&result);
    let _ = std::fs::remove_file(dir.join("xcom.jsonl"));
    spec["result"] = json!(result);
    spec["sdk"] = json!(sdk(dir));
    if spec.get("sys_path").is_none() {
        spec["sys_path"] = json!([bundle_root()]);
    }
    if spec.get("context").is_none() {
        spec["context"] = json!({"dag_id": "breakfast", "task_id": "t", "run_id": "r1",
            "ds": "2026-01-02", "ds_nodash": "20260102",
            "logical_date": "2026-01-02T00:00:00+00:00", "run_conf": {"n": 5},
            "params": {"kind": "rye"}});
    }
    std::fs::write(dir.join("call.json"), spec.to_string()).unwrap();
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let out = Command::new("python3")
        .arg(dir.join("runner.py"))
        .arg(dir.join("call.json"))
        .current_dir(&work)
        .env_remove("PYTHONPATH")
        .env("KAIROS_XCOM_FILE", dir.join("xcom.jsonl"))
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .output()
        .expect("python3 runs");
    let value = std::fs::read_to_string(&result)
        .ok()
        .map(|t| serde_json::from_str::<Value>(&t).unwrap());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), value, text)
}

#[test]
fn dotted_callables_are_imported_from_the_bundle_root() {
    let dir = tempfile::tempdir().unwrap();
    let (code, value, out) = run_spec(
        dir.path(),
        json!({"module": "bakery.numbers", "name": "count_to", "op_args": [], "op_kwargs": {"n": 3}}),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(value.unwrap()["return_value"], json!([1, 2, 3]));
    // A callable file (staged apart from the bundle) imports the bundle's modules.
    let staged = dir.path().join("callables.py");
    std::fs::copy(bundle_root().join("dags/callables.py"), &staged).unwrap();
    let (code, value, out) = run_spec(
        dir.path(),
        json!({"file": staged, "name": "weigh_rye", "op_args": [2], "op_kwargs": {}}),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(value.unwrap()["return_value"], json!(1500));
}

#[test]
fn a_module_that_does_not_import_says_which_where_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let (code, value, out) = run_spec(
        dir.path(),
        json!({"module": "bakery.no_such_module", "name": "f", "op_args": [], "op_kwargs": {}}),
    );
    assert_eq!((code, value), (1, None));
    assert!(
        out.contains("cannot import module `bakery.no_such_module`")
            && out.contains("ModuleNotFoundError")
            && out.contains("sys.path was: [")
            && out.contains("bakery_bundle"),
        "{out}"
    );
    // Without the bundle on the path, the package itself is not found.
    let (code, _, out) = run_spec(
        dir.path(),
        json!({"module": "bakery.numbers", "name": "count_to", "op_args": [], "op_kwargs": {"n": 1}, "sys_path": []}),
    );
    assert_eq!(code, 1);
    assert!(out.contains("No module named 'bakery'"), "{out}");
}

/// A stand-in for the worker's task API: answers each request on `socket`
/// with `answer(request)`, and keeps the requests.
fn task_api(
    socket: &Path,
    answer: fn(&Value) -> Value,
) -> std::sync::Arc<std::sync::Mutex<Vec<Value>>> {
    use std::io::{Read, Write};
    let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            let request: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let reply = answer(&request);
            kept.lock().unwrap().push(request);
            let _ = stream.write_all(reply.to_string().as_bytes());
        }
    });
    seen
}

#[test]
fn xcom_pull_reads_upstream_values_given_and_asks_for_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("task-api.sock");
    let seen = task_api(&socket, |request| {
        if request["task_id"] == "missing" {
            json!({"found": false})
        } else {
            json!({"found": true, "value": {"asked": request["task_id"], "key": request["key"]}})
        }
    });
    let spec = |name: &str, upstream: Value| {
        json!({"module": "bakery.numbers", "name": name, "op_args": [],
               "op_kwargs": {"upstream": upstream},
               "xcom_upstream": ["a", "b", "silent"], "xcoms": {"a": 1, "b": 2}})
    };
    // The direct upstream tasks' return values came with the call: nothing asked.
    let (code, value, out) = run_spec_with(
        dir.path(),
        spec("sum_upstream", json!(["a", "b"])),
        &[("KAIROS_TASK_API", &socket)],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(value.unwrap()["return_value"], json!(3));
    assert!(seen.lock().unwrap().is_empty());
    // Another key, or a task that is not a direct upstream one: asked of the
    // worker, one request per task; a task that pushed none gives None.
    let (code, value, out) = run_spec_with(
        dir.path(),
        spec("pull_other_key", json!(["a", "missing"])),
        &[("KAIROS_TASK_API", &socket)],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        value.unwrap()["return_value"],
        json!([{"asked": "a", "key": "loaves"}, null])
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen[0],
        json!({"op": "xcom.pull", "dag_id": "breakfast", "task_id": "a", "key": "loaves",
               "map_index": -1})
    );
    assert_eq!(seen.len(), 2);
    // Without the worker's socket (code run outside a worker) the error says so.
    let (code, _, out) = run_spec(dir.path(), spec("pull_other_key", json!(["z"])));
    assert_eq!(code, 1);
    assert!(
        out.contains("works only inside task code that a Kairos worker runs"),
        "{out}"
    );
}

fn operator_spec(mode: &str, class: &str, args: Value) -> Value {
    json!({"mode": mode, "class": format!("bakery.operators.breakfast.{class}"),
           "task_id": "bread", "args": args,
           "base_kwargs": {"owner": "bakers", "retries": 1, "params": {"kind": "rye"}},
           "xcom_upstream": ["numbers"], "xcoms": {"numbers": [1, 2, 3]}})
}

#[test]
fn custom_operators_answer_their_template_fields_then_execute() {
    let dir = tempfile::tempdir().unwrap();
    let args = json!({"bread_type": "{{ params.kind }}", "loaves": 2,
                      "note": "baked on {{ ds }}", "options": {"crust": ["{{ ds_nodash }}"]}});
    let (code, value, out) = run_spec(
        dir.path(),
        operator_spec("template_fields", "MakeBreadOperator", args.clone()),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        value.unwrap(),
        json!({"template_fields": ["bread_type", "note", "options"],
               "values": {"bread_type": "{{ params.kind }}", "note": "baked on {{ ds }}",
                          "options": {"crust": ["{{ ds_nodash }}"]}}})
    );
    // A single string is one field, as Airflow reads it.
    let (code, value, out) = run_spec(
        dir.path(),
        operator_spec(
            "template_fields",
            "ServeCoffeeOperator",
            json!({"cups": "{{ 1 }}"}),
        ),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(value.unwrap()["template_fields"], json!(["cups"]));

    let mut spec = operator_spec("execute", "MakeBreadOperator", args);
    spec["rendered"] = json!({"bread_type": "rye", "note": "baked on 2026-01-02",
                              "options": {"crust": ["20260102"]}});
    let (code, value, out) = run_spec(dir.path(), spec);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        value.unwrap()["return_value"],
        json!({"bread": "rye", "note": "baked on 2026-01-02", "options": {"crust": ["20260102"]},
               "task": "bread", "dag": "breakfast", "run_id": "r1", "conf": {"n": 5},
               "year": 2026, "ds_nodash": "20260102", "owner": "bakers"})
    );
    assert!(
        out.contains("baking 2 x rye for 2026-01-02"),
        "the operator's log: {out}"
    );
    let pushed = std::fs::read_to_string(dir.path().join("xcom.jsonl")).unwrap();
    assert_eq!(pushed.trim(), r#"{"key": "grams", "value": 1500}"#);
}

#[test]
fn custom_operators_skip_fail_and_refuse_what_is_not_json() {
    let dir = tempfile::tempdir().unwrap();
    let (code, value, out) = run_spec(
        dir.path(),
        operator_spec("execute", "ClosedOperator", json!({})),
    );
    assert_eq!((code, value), (99, None), "{out}");
    assert!(out.contains("the bakery is closed on 2026-01-02"), "{out}");
    let (code, _, out) = run_spec(
        dir.path(),
        operator_spec("execute", "SetOperator", json!({})),
    );
    assert_eq!(code, 98, "{out}");
    let (code, _, out) = run_spec(
        dir.path(),
        operator_spec("template_fields", "NoSuchOperator", json!({})),
    );
    assert_eq!(code, 1);
    assert!(out.contains("defines no class `NoSuchOperator`"), "{out}");
    // A missing constructor argument is the class's own TypeError.
    let (code, _, out) = run_spec(
        dir.path(),
        operator_spec("template_fields", "MakeBreadOperator", json!({})),
    );
    assert_eq!(code, 1);
    assert!(out.contains("bread_type"), "{out}");
}
