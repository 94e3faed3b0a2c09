//! `kairos dev` with a folder laid out as dag-factory lays out its examples
//! (`tests/fixtures/dag_factory_forms`, our own files): `defaults.yml` files
//! merged down the tree, `$CONFIG_ROOT_DIR` as the folder's root, a `default:`
//! block of tasks overridden by id, and TaskFlow tasks that pass results with
//! `+task` / `+task['key']` and map over them. Every DAG runs to success and
//! the values they pass are the functions' results.

use std::path::Path;
use std::process::{Command as Process, Output};
use std::time::{Duration, Instant};

use kairos_client::{Client, Read};
use kairos_testkit::DevProcess;
use serde_json::{Value, json};

fn kairos(args: &[&str]) -> Output {
    Process::new(env!("CARGO_BIN_EXE_kairos"))
        .args(args)
        .env_remove("KAIROS_SERVER")
        .env_remove("CONFIG_ROOT_DIR")
        .output()
        .expect("kairos runs")
}

async fn run_state(api: &Client, dag: &str, run: &str, log: &dyn Fn() -> String) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = api.dag_run(dag, run, Read::Consistent).await {
            if r.state == "success" || r.state == "failed" {
                if r.state == "failed" {
                    let tis = api.task_instances(dag, run, Read::Consistent).await;
                    eprintln!("{dag}/{run} failed: {tis:#?}");
                }
                return r.state;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{dag}/{run} did not end:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn xcom(api: &Client, dag: &str, task: &str, key: &str) -> Value {
    api.xcom_entries(dag, "r1", task, Read::Consistent)
        .await
        .expect("XComs")
        .into_iter()
        .find(|x| x.key == key)
        .map(|x| x.value)
        .unwrap_or(Value::Null)
}

async fn get_json(url: &str) -> Value {
    let answer = reqwest::get(url).await.expect("GET");
    let status = answer.status();
    let text = answer.text().await.expect("a body");
    assert!(status.is_success(), "GET {url}: {status} {text}");
    serde_json::from_str(&text).expect("JSON")
}

async fn post_json(url: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("POST");
    let status = answer.status();
    let text = answer.text().await.expect("a body");
    assert!(status.is_success(), "POST {url}: {status} {text}");
    serde_json::from_str(&text).expect("JSON")
}

/// Waits until `forms_consumer` has `n` asset-triggered runs; the newest's id.
async fn wait_asset_run(base: &str, log: &dyn Fn() -> String, n: usize) -> String {
    wait_runs_of(base, "forms_consumer", log, n).await
}

/// Waits until `dag` has `n` asset-triggered runs; the newest's id.
async fn wait_runs_of(base: &str, dag: &str, log: &dyn Fn() -> String, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = get_json(&format!("{base}/dags/{dag}/dagRuns")).await;
        let mut asset: Vec<String> = runs["dag_runs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["dag_run_id"].as_str())
            .filter(|id| id.starts_with("asset_triggered__"))
            .map(str::to_string)
            .collect();
        if asset.len() >= n {
            asset.sort();
            return asset.pop().expect("a run");
        }
        assert!(
            Instant::now() < deadline,
            "no asset-triggered run {n}: {runs}\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The consumer's `read` task's return value (its last line of output).
async fn read_xcom(api: &Client, run: &str) -> Value {
    api.xcom_entries("forms_consumer", run, "read", Read::Consistent)
        .await
        .expect("XComs")
        .into_iter()
        .find(|x| x.key == "return_value")
        .map(|x| x.value)
        .unwrap_or(Value::Null)
}

/// The return values of a mapped task's instances, by map index.
async fn mapped_values(api: &Client, task: &str) -> Vec<Value> {
    let mut entries: Vec<_> = api
        .xcom_entries("forms_taskflow", "r1", task, Read::Consistent)
        .await
        .expect("XComs")
        .into_iter()
        .filter(|x| x.key == "return_value")
        .collect();
    entries.sort_by_key(|x| x.map_index);
    entries.into_iter().map(|x| x.value).collect()
}

/// Try `try_number`'s log of a task of `forms_callbacks`' run `r1`.
async fn callbacks_log(api: &Client, task: &str, try_number: u32) -> String {
    api.log("forms_callbacks", "r1", task, try_number, -1, 0)
        .await
        .expect("a log")
        .text
}

/// The DAG callbacks of run `r1` of `dag` once they ended, as the API shows
/// them on the run.
async fn dag_callback(api: &Client, dag: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run = api
            .dag_run(dag, "r1", Read::Consistent)
            .await
            .expect("the run");
        let run = serde_json::to_value(run).expect("json");
        let state = run["dag_callback"]["state"].as_str().unwrap_or_default();
        if state == "success" || state == "failed" {
            assert_eq!(state, "success", "{run}");
            return run["dag_callback"].clone();
        }
        assert!(Instant::now() < deadline, "no DAG callback ended: {run}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each callback ran on its outcome, in its form, with the context, and none
/// changed a task's state.
async fn check_callbacks(api: &Client) {
    let tis = api
        .task_instances("forms_callbacks", "r1", Read::Consistent)
        .await
        .expect("task instances");
    let state = |task: &str| {
        tis.iter()
            .find(|t| t.task_id == task)
            .map(|t| t.state.clone())
            .unwrap_or_default()
    };
    assert_eq!(state("ok"), "success");
    assert_eq!(state("flaky"), "success");
    assert_eq!(state("boom"), "failed");
    assert_eq!(state("skipper"), "skipped");
    assert_eq!(
        state("checks.checked"),
        "success",
        "a raising callback changes nothing"
    );

    // The DAG's own on_success_callback ran on the worker once the run ended.
    let callback = dag_callback(api, "forms_callbacks").await;
    assert_eq!(callback["kind"], "on_success_callback", "{callback}");
    assert_eq!(callback["reason"], "success", "{callback}");
    assert_eq!(callback["worker"], "dev", "{callback}");
    let tail = callback["log_tail"].as_str().unwrap_or_default();
    assert!(
        tail.contains(
            "CALLBACK dag finished dag=forms_callbacks run=r1 reason=success has_ti=False"
        ),
        "{tail}"
    );
    // And a failed run's on_failure_callback, with Airflow's reason.
    let callback = dag_callback(api, "forms_dag_failure").await;
    assert_eq!(callback["kind"], "on_failure_callback", "{callback}");
    let tail = callback["log_tail"].as_str().unwrap_or_default();
    assert!(
        tail.contains("CALLBACK dag failed dag=forms_dag_failure run=r1 reason=task_failure"),
        "{tail}"
    );

    let ok = callbacks_log(api, "ok", 1).await;
    for line in [
        "CALLBACK execute task=ok",
        "CALLBACK done task=ok try=1 channel=#data exception=None",
        "on_success_callback (`helpers.alerts.record`): done",
    ] {
        assert!(ok.contains(line), "{line:?} not in the log of ok:\n{ok}");
    }
    let flaky1 = callbacks_log(api, "flaky", 1).await;
    assert!(
        flaky1.contains(
            "CALLBACK retrying task=flaky try=1 channel=#none exception=AirflowException"
        ),
        "{flaky1}"
    );
    let flaky2 = callbacks_log(api, "flaky", 2).await;
    assert!(!flaky2.contains("CALLBACK retrying"), "{flaky2}");
    let boom = callbacks_log(api, "boom", 1).await;
    assert!(
        boom.contains("CALLBACK pager severity=high task=boom reason=") && boom.contains("exit"),
        "the notifier got the failure's reason:\n{boom}"
    );
    let skipper = callbacks_log(api, "skipper", 1).await;
    assert!(
        skipper.contains("CALLBACK skipped task=skipper"),
        "{skipper}"
    );
    let checked = callbacks_log(api, "checks.checked", 1).await;
    for line in [
        "this callback is broken on purpose",
        "helpers.alerts.broken failed (the task's state stays as it is)",
        "CALLBACK grouped task=checks.checked",
        "on_success_callback (`helpers.alerts.broken`, `helpers.alerts.record`): one or more raised",
    ] {
        assert!(checked.contains(line), "{line:?} not in:\n{checked}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dag_factory_forms_run_unchanged_through_kairos_dev() {
    let dags = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/dag_factory_forms");
    // Valid as a folder: the defaults above each file apply.
    let out = kairos(&["dags", "validate", dags.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let dev = DevProcess::start(Path::new(env!("CARGO_BIN_EXE_kairos")), &dags, dir.path());
    let http = dev.http.clone();
    let dev_log = || dev.log();
    dev.wait_for("forms_taskflow: new version 1", Duration::from_secs(60));
    let api = Client::new(&format!("http://{http}")).expect("a client");
    let dag_ids = [
        "forms_taskflow",
        "forms_templated_sales",
        "forms_templated_stock",
        "forms_producer",
        "forms_callbacks",
        "forms_context",
        "forms_outlet_events",
    ];
    // A run that fails on purpose, for its DAG's on_failure_callback.
    let out = kairos(&[
        "dags",
        "trigger",
        "forms_dag_failure",
        "--run-id",
        "r1",
        "--server",
        &http,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for dag in dag_ids {
        let out = kairos(&[
            "dags",
            "trigger",
            dag,
            "--run-id",
            "r1",
            "--logical-date",
            "2026-05-06T00:00:00Z",
            "--server",
            &http,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for dag in dag_ids {
        assert_eq!(
            run_state(&api, dag, "r1", &dev_log).await,
            "success",
            "{dag}\n{}",
            dev_log()
        );
    }

    check_callbacks(&api).await;

    // outlet_events: the alias's event ran the DAG scheduled on the asset it
    // named, with the extra; the outlet asset's event carries its extra.
    let base_v1 = format!("http://{http}/api/v1");
    let dynamic = wait_runs_of(&base_v1, "forms_dynamic_consumer", &dev_log, 1).await;
    assert_eq!(
        run_state(&api, "forms_dynamic_consumer", &dynamic, &dev_log).await,
        "success"
    );
    let read = api
        .xcom_entries("forms_dynamic_consumer", &dynamic, "read", Read::Consistent)
        .await
        .expect("XComs");
    assert_eq!(
        read.iter()
            .find(|x| x.key == "return_value")
            .map(|x| x.value.clone()),
        Some(json!("p7 emit"))
    );
    let rows = get_json(&format!(
        "{base_v1}/datasets/events?dataset_uri=s3://forms/rows"
    ))
    .await;
    assert_eq!(
        rows["dataset_events"][0]["extra"],
        json!({"rows": 42}),
        "{rows}"
    );
    assert_eq!(
        xcom(&api, "forms_context", "current", "return_value").await,
        json!("r1/current"),
        "get_current_context() inside a callable"
    );

    // The sensor's execution_date_fn names the producer's run of the day before.
    let out = kairos(&[
        "dags",
        "trigger",
        "forms_external",
        "--run-id",
        "r1",
        "--logical-date",
        "2026-05-07T00:00:00Z",
        "--server",
        &http,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        run_state(&api, "forms_external", "r1", &dev_log).await,
        "success"
    );

    // The producer's success updated its asset: the consumer ran on it.
    let base = format!("http://{http}/api/v1");
    let consumer = wait_asset_run(&base, &dev_log, 1).await;
    assert_eq!(
        run_state(&api, "forms_consumer", &consumer, &dev_log).await,
        "success"
    );
    assert_eq!(
        read_xcom(&api, &consumer).await,
        json!("1 forms_producer"),
        "the task saw the event that triggered its run"
    );
    let upstream = get_json(&format!(
        "{base}/dags/forms_consumer/dagRuns/{consumer}/upstreamDatasetEvents"
    ))
    .await;
    assert_eq!(upstream["total_entries"], 1, "{upstream}");
    assert_eq!(
        upstream["dataset_events"][0]["source_dag_id"], "forms_producer",
        "{upstream}"
    );
    assert_eq!(
        upstream["dataset_events"][0]["dataset_uri"],
        "s3://forms/orders"
    );
    // An event posted through the API (as Airflow's clients do) runs it again;
    // so does one made with `kairos assets create-event`.
    post_json(
        &format!("{base}/datasets/events"),
        json!({"dataset_uri": "s3://forms/orders", "extra": {"rows": 7}}),
    )
    .await;
    let second = wait_asset_run(&base, &dev_log, 2).await;
    assert_eq!(
        run_state(&api, "forms_consumer", &second, &dev_log).await,
        "success"
    );
    let out = kairos(&[
        "assets",
        "create-event",
        "s3://forms/orders",
        "--extra",
        "{\"rows\": 8}",
        "--server",
        &http,
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("s3://forms/orders  api"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let third = wait_asset_run(&base, &dev_log, 3).await;
    assert_eq!(
        run_state(&api, "forms_consumer", &third, &dev_log).await,
        "success"
    );
    let out = kairos(&[
        "assets",
        "events",
        "--uri",
        "s3://forms/orders",
        "-o",
        "json",
        "--server",
        &http,
    ]);
    let events: Value = serde_json::from_slice(&out.stdout).expect("events as JSON");
    let extras: Vec<&Value> = events
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| &e["extra"])
        .collect();
    assert_eq!(
        extras,
        [&json!({"rows": 8}), &json!({"rows": 7}), &json!({})],
        "newest first"
    );
    let out = kairos(&["assets", "list", "--server", &http]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.lines().any(|l| l.starts_with("s3://forms/orders")
            && l.contains("forms_consumer")
            && l.contains("forms_producer.write")),
        "{text}"
    );
    assert_eq!(
        run_state(&api, "forms_consumer", &second, &dev_log).await,
        "success"
    );
    assert_eq!(read_xcom(&api, &second).await, json!("1 api"));
    let assets = get_json(&format!("{base}/datasets")).await;
    let orders = assets["datasets"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|a| a["uri"] == "s3://forms/orders")
        .expect("the asset is listed")
        .clone();
    assert_eq!(orders["name"], "orders", "{orders}");
    assert_eq!(
        orders["consuming_dags"][0]["dag_id"], "forms_consumer",
        "{orders}"
    );
    assert_eq!(orders["producing_tasks"][0]["task_id"], "write", "{orders}");

    // TaskFlow results, passed by +task and +task['key'], mapped over +task.
    assert_eq!(
        xcom(&api, "forms_taskflow", "numbers", "return_value").await,
        json!([1, 2, 3])
    );
    let doubled = api
        .task_instances("forms_taskflow", "r1", Read::Consistent)
        .await
        .expect("task instances");
    let mut mapped: Vec<i32> = doubled
        .iter()
        .filter(|t| t.task_id == "doubled" && t.map_index >= 0)
        .map(|t| t.map_index)
        .collect();
    mapped.sort();
    assert_eq!(mapped, vec![0, 1, 2], "one instance per number");
    assert_eq!(
        mapped_values(&api, "doubled").await,
        vec![json!(2), json!(4), json!(6)]
    );
    let labelled = mapped_values(&api, "labelled").await;
    assert_eq!(
        labelled,
        vec![
            json!({"n": 10, "label": true}),
            json!({"n": 12, "label": true})
        ]
    );
    assert_eq!(
        xcom(&api, "forms_taskflow", "split", "left").await,
        json!(20)
    );
    assert_eq!(
        xcom(&api, "forms_taskflow", "add", "return_value").await,
        json!(42)
    );
    assert_eq!(
        xcom(&api, "forms_taskflow", "greet", "return_value").await,
        json!("hello from forms_taskflow")
    );

    // The defaults: owner from the closest defaults.yml, tags added up, and the
    // defaults files carried in the version.
    let dag = api
        .dag("forms_taskflow", Read::Consistent)
        .await
        .expect("dag");
    let dag = serde_json::to_value(dag).expect("json");
    let tags = dag["tags"].to_string();
    assert!(tags.contains("forms") && tags.contains("team"), "{dag}");
    let version = kairos(&["dags", "versions", "forms_taskflow", "--server", &http]);
    assert!(
        version.status.success(),
        "{}",
        String::from_utf8_lossy(&version.stderr)
    );
    let shown = api.version("forms_taskflow", 1).await.expect("version 1");
    let files = serde_json::to_value(&shown).expect("json")["files"].to_string();
    for key in [
        "defaults.yml",
        "team/defaults.yml",
        "team/taskflow.yml",
        "hello.py",
    ] {
        assert!(files.contains(key), "{key} in {files}");
    }
    let sales = api
        .task_instances("forms_templated_sales", "r1", Read::Consistent)
        .await
        .expect("sales");
    let ids: Vec<&str> = sales.iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(ids, vec!["extract", "load"]);
    let stock = api
        .task_instances("forms_templated_stock", "r1", Read::Consistent)
        .await
        .expect("stock");
    let ids: Vec<&str> = stock.iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(ids, vec!["extract", "load", "report"]);
}
