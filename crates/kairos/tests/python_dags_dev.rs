//! Python DAG files run as Airflow users write them, through real processes:
//! `kairos dev` on the folder `examples/python` (with `examples/kitchen`, the
//! bundle's own package) pushes every DAG file as read by the CLI, and each DAG
//! runs to success: the Airflow 2 tutorial (classic operators, templated bash,
//! a PythonOperator pulling an XCom), the Airflow 3 TaskFlow tutorial, task
//! groups with `@task.branch`, a custom operator and a custom sensor in
//! reschedule mode, and Variables and a connection read and written inside
//! task code (the password masked in the log). A single Python file pushed
//! with `kairos dags push FILE.py` runs too, and a server refuses a `.py` file
//! sent without the DAGs the CLI read from it.

use std::path::Path;
use std::process::{Command as Process, Output};
use std::time::{Duration, Instant};

use kairos_client::Read;
use kairos_client::api::PushRequest;
use kairos_testkit::DevProcess;
use kairos_testkit::cli::copy_tree;
use serde_json::{Value, json};

fn kairos(args: &[&str]) -> Output {
    Process::new(env!("CARGO_BIN_EXE_kairos"))
        .args(args)
        .env_remove("KAIROS_SERVER")
        .output()
        .expect("kairos runs")
}

fn ok(out: Output) -> String {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    all
}

async fn run_done(api: &kairos_client::Client, dag: &str, log: &dyn Fn() -> String) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = api.dag_run(dag, "r1", Read::Consistent).await {
            if r.state == "success" || r.state == "failed" {
                return r.state;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{dag} r1 did not end:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn xcom(api: &kairos_client::Client, dag: &str, task: &str, key: &str) -> Value {
    api.xcom_entries(dag, "r1", task, Read::Consistent)
        .await
        .expect("XComs")
        .into_iter()
        .find(|x| x.key == key)
        .map(|x| x.value)
        .unwrap_or(Value::Null)
}

async fn state(api: &kairos_client::Client, dag: &str, task: &str) -> String {
    api.task_instance(dag, "r1", task, None, Read::Consistent)
        .await
        .expect("the task instance")
        .state
}

const DAGS: &[&str] = &[
    "py_tutorial",
    "py_taskflow_etl",
    "py_groups_and_branching",
    "py_custom_operator_and_sensor",
    "py_variables_and_connections",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_examples_run_through_kairos_dev() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dags = dir.path().join("dags");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    copy_tree(&examples.join("python"), &dags.join("python"));
    copy_tree(&examples.join("kitchen"), &dags.join("kitchen"));
    let dev = DevProcess::start(Path::new(env!("CARGO_BIN_EXE_kairos")), &dags, dir.path());
    let http = dev.http.clone();
    let log = || dev.log();
    for dag in DAGS {
        dev.wait_for(
            &format!("pushed {dag}: new version 1"),
            Duration::from_secs(60),
        );
    }
    let api = kairos_client::Client::new(&format!("http://{http}")).expect("a client");
    ok(kairos(&[
        "variables",
        "set",
        "greeting",
        "hello",
        "--server",
        &http,
    ]));
    ok(kairos(&[
        "connections",
        "add",
        "warehouse",
        "--conn-uri",
        "postgres://etl:s3cret-pw-42@db.internal:5432/sales?sslmode=require&api_token=tok-secret-99",
        "--server",
        &http,
    ]));
    let shown = ok(kairos(&[
        "connections",
        "get",
        "warehouse",
        "--server",
        &http,
    ]));
    assert!(
        shown.contains("db.internal")
            && !shown.contains("s3cret-pw-42")
            && !shown.contains("tok-secret-99"),
        "the API answers no password and no secret-looking extra: {shown}"
    );
    for dag in DAGS {
        ok(kairos(&[
            "dags",
            "trigger",
            dag,
            "--run-id",
            "r1",
            "--logical-date",
            "2026-03-04T00:00:00Z",
            "--server",
            &http,
        ]));
    }
    for dag in DAGS {
        assert_eq!(
            run_done(&api, dag, &log).await,
            "success",
            "{dag}:\n{}",
            log()
        );
    }

    // The Airflow 2 tutorial: the callable pulled print_date's XCom.
    assert_eq!(
        xcom(&api, "py_tutorial", "report", "return_value").await,
        json!({"printed": "date: 2026-03-04", "ds": "2026-03-04"})
    );
    // The TaskFlow tutorial: values travelled as XComs, multiple_outputs split.
    assert_eq!(
        xcom(&api, "py_taskflow_etl", "transform", "total_order_value").await,
        json!(1236.7)
    );
    assert_eq!(
        xcom(&api, "py_taskflow_etl", "load", "return_value").await,
        json!(1236.7)
    );
    // @task.branch picked the even group (the 4th); the odd one was skipped.
    assert_eq!(
        state(&api, "py_groups_and_branching", "even.sell").await,
        "success"
    );
    assert_eq!(
        state(&api, "py_groups_and_branching", "odd.rest").await,
        "skipped"
    );
    assert_eq!(
        state(&api, "py_groups_and_branching", "join").await,
        "success"
    );
    // The custom sensor was poked three times (one per reschedule) and its
    // PokeReturnValue's value is its XCom; the operator rendered its fields.
    assert_eq!(
        xcom(
            &api,
            "py_custom_operator_and_sensor",
            "oven_ready",
            "return_value"
        )
        .await,
        json!({"pokes": 3})
    );
    assert_eq!(
        xcom(
            &api,
            "py_custom_operator_and_sensor",
            "bake",
            "return_value"
        )
        .await,
        json!({"bread": "rye", "note": "baked on 2026-03-04"})
    );
    // Variables and a connection from task code; an XCom of any key pulled.
    assert_eq!(
        xcom(
            &api,
            "py_variables_and_connections",
            "describe_warehouse",
            "return_value"
        )
        .await,
        json!({"greeting": "hello, world", "conn_type": "postgres", "host": "db.internal",
               "extra": {"sslmode": "require", "api_token": "tok-secret-99"}})
    );
    assert_eq!(
        xcom(
            &api,
            "py_variables_and_connections",
            "check",
            "return_value"
        )
        .await,
        json!({"where": "db.internal:5432/sales", "greeting": "hello", "schema": "sales"})
    );
    let set = api
        .variable("last_greeted", None)
        .await
        .expect("Variable.set stored it");
    assert_eq!(set.value, "r1");
    let task_log = ok(kairos(&[
        "tasks",
        "logs",
        "py_variables_and_connections",
        "r1",
        "describe_warehouse",
        "--server",
        &http,
    ]));
    assert!(
        task_log.contains("connecting as etl with password ***"),
        "{task_log}"
    );
    assert!(
        !task_log.contains("s3cret-pw-42") && !task_log.contains("tok-secret-99"),
        "{task_log}"
    );
    assert!(task_log.contains("\"api_token\": \"***\""), "{task_log}");

    // One Python file pushed alone: its callable travels in its version.
    let single = dir.path().join("single");
    std::fs::create_dir_all(&single).expect("mkdir");
    std::fs::write(
        single.join("single_py.py"),
        r#"from datetime import datetime
from airflow import DAG
from airflow.operators.python import PythonOperator


def double(n, **context):
    return {"n": n * 2, "run": context["run_id"]}


with DAG("single_py", schedule=None, start_date=datetime(2024, 1, 1)):
    PythonOperator(task_id="double", python_callable=double, op_kwargs={"n": 21})
"#,
    )
    .expect("write");
    let file = single.join("single_py.py").display().to_string();
    let pushed = ok(kairos(&["dags", "push", &file, "--server", &http]));
    assert!(pushed.contains("single_py: new version 1"), "{pushed}");
    ok(kairos(&["dags", "unpause", "single_py", "--server", &http]));
    ok(kairos(&[
        "dags",
        "trigger",
        "single_py",
        "--run-id",
        "r1",
        "--server",
        &http,
    ]));
    assert_eq!(
        run_done(&api, "single_py", &log).await,
        "success",
        "{}",
        log()
    );
    assert_eq!(
        xcom(&api, "single_py", "double", "return_value").await,
        json!({"n": 42, "run": "r1"})
    );
    let version = api.version("single_py", 1).await.expect("version 1");
    let files: Vec<&String> = version.files.keys().collect();
    assert_eq!(
        files,
        ["single_py.py"],
        "the version carries the Python file as written"
    );

    // A class the file defines itself is imported from a bundle on the worker:
    // pushed alone, the file is refused before anything is sent.
    std::fs::write(
        single.join("own_op.py"),
        r#"from datetime import datetime
from airflow import DAG
from airflow.models.baseoperator import BaseOperator


class Hello(BaseOperator):
    def execute(self, context):
        return "hi"


with DAG("own_op", schedule=None, start_date=datetime(2024, 1, 1)):
    Hello(task_id="hello")
"#,
    )
    .expect("write");
    let own = single.join("own_op.py").display().to_string();
    let out = kairos(&["dags", "push", &own, "--server", &http]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("uses `own_op.Hello`, a class this file defines")
            && all.contains("push the file's folder"),
        "{all}"
    );
    assert!(
        api.dag("own_op", Read::Consistent).await.is_err(),
        "nothing was pushed"
    );

    // A server never runs Python: a .py file without its evaluated DAGs is refused.
    let refused = api
        .push_dag_file(&PushRequest {
            file_name: "raw.py".into(),
            content: "from airflow import DAG\n".into(),
            evaluated: None,
            files: Default::default(),
            bundle: None,
            team: None,
        })
        .await
        .expect_err("refused");
    assert!(
        refused.to_string().contains("servers never run Python"),
        "{refused}"
    );
}
