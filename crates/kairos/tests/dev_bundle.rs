//! `kairos dev --dags FOLDER` with a folder written as dag-factory users write
//! theirs: DAG files beside their own Python package, `python_callable:
//! package.module.function` and custom operator classes from that package. The
//! folder is pushed as a bundle, runs unchanged, and its XComs are the
//! functions' and operators' results; a change to a module (not to any DAG
//! file) makes a new bundle version that the next run uses.

use std::path::Path;
use std::process::{Command as Process, Output};
use std::time::{Duration, Instant};

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

async fn run_done(api: &kairos_client::Client, run: &str, log: &dyn Fn() -> String) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(r) = api
            .dag_run("breakfast", run, kairos_client::Read::Consistent)
            .await
        {
            if r.state == "success" || r.state == "failed" {
                return serde_json::to_value(r).expect("json");
            }
        }
        assert!(
            Instant::now() < deadline,
            "run {run} did not end:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn xcom(api: &kairos_client::Client, run: &str, task: &str, key: &str) -> Value {
    api.xcom_entries("breakfast", run, task, kairos_client::Read::Consistent)
        .await
        .expect("XComs")
        .into_iter()
        .find(|x| x.key == key)
        .map(|x| x.value)
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_runs_a_dag_factory_folder_with_its_own_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dags = dir.path().join("dags");
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../kairos-worker/tests/fixtures/bakery_bundle");
    copy_tree(&fixture, &dags);
    let dev = DevProcess::start(Path::new(env!("CARGO_BIN_EXE_kairos")), &dags, dir.path());
    let http = dev.http.clone();
    let dev_log = || dev.log();
    dev.wait_for("pushed breakfast: new version 1", Duration::from_secs(30));
    let api = kairos_client::Client::new(&format!("http://{http}")).expect("a client");
    let trigger = |run: &'static str| {
        let out = kairos(&[
            "dags",
            "trigger",
            "breakfast",
            "--run-id",
            run,
            "--logical-date",
            "2026-03-04T00:00:00Z",
            "--server",
            &http,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    trigger("first");
    let run = run_done(&api, "first", &dev_log).await;
    assert_eq!(run["state"], "success", "{run}\n{}", dev_log());
    assert_eq!(run["bundle_version"], 1, "{run}");
    assert_eq!(
        xcom(&api, "first", "numbers", "return_value").await,
        json!([1, 2, 3])
    );
    let bread = xcom(&api, "first", "bread", "return_value").await;
    assert_eq!(bread["bread"], "rye", "{bread}");
    assert_eq!(bread["note"], "baked on 2026-03-04", "{bread}");
    assert_eq!(
        bread["options"],
        json!({"crust": ["20260304", "dark"]}),
        "{bread}"
    );
    assert_eq!(bread["run_id"], "first", "{bread}");
    assert!(xcom(&api, "first", "bread", "grams").await.is_number());
    let coffee = xcom(&api, "first", "coffee", "return_value").await;
    assert_eq!(coffee, json!({"cups": "3", "with": "rye"}), "{coffee}");
    let closed = api
        .task_instance(
            "breakfast",
            "first",
            "closed",
            None,
            kairos_client::Read::Consistent,
        )
        .await
        .expect("closed");
    assert_eq!(closed.state, "skipped");

    // A module changes, no DAG file does: a new bundle version, the same DAG
    // version, and the next run computes with the new code.
    let numbers = dags.join("bakery/numbers.py");
    let text = std::fs::read_to_string(&numbers).expect("read");
    std::fs::write(
        &numbers,
        text.replace(
            "return list(range(1, n + 1))",
            "return list(range(10, 10 + n))",
        ),
    )
    .expect("edit");
    dev.wait_for("bundle default: new version 2", Duration::from_secs(30));
    trigger("second");
    let run = run_done(&api, "second", &dev_log).await;
    assert_eq!(run["state"], "success", "{run}\n{}", dev_log());
    assert_eq!(
        (run["version"].clone(), run["bundle_version"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(
        xcom(&api, "second", "numbers", "return_value").await,
        json!([10, 11, 12])
    );
    assert_eq!(
        xcom(&api, "first", "numbers", "return_value").await,
        json!([1, 2, 3])
    );
}
