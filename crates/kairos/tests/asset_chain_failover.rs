//! Assets across teams on a real three-node cluster: team `sales` pushes a
//! bundle whose DAG updates `s3://lake/orders`; team `ops` pushes a bundle whose
//! DAG is scheduled on that asset and updates `s3://lake/orders_clean`, on which
//! a third DAG of `sales` is scheduled. The leader is killed after the
//! producer's success has queued the consumer's run and before any worker of
//! the consumer's queue exists; the chain still runs to its end on the new
//! leader, each run once, with the events that triggered it; the report's DAG
//! callback runs on a worker after its run; and every node (the killed one
//! restarted) holds the same state.

use std::path::Path;
use std::time::{Duration, Instant};

use kairos_testkit::cli::{Cli, text, write_file as write};
use kairos_testkit::{CALM_TIMINGS, Cluster};
use serde_json::Value;

fn cli() -> Cli {
    Cli::new(Path::new(env!("CARGO_BIN_EXE_kairos")))
}

fn kairos(args: &[&str]) -> std::process::Output {
    cli().run(args)
}

fn json(args: &[&str]) -> Value {
    cli().json(args)
}

/// Team `sales`: the producer and, at the end of the chain, the report.
const SALES_DAGS: &str = "\
orders_export:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    export:
      operator: bash
      bash_command: cat \"$KAIROS_BUNDLE_ROOT/lib/source.txt\"
      outlets: ['s3://lake/orders']

orders_report:
  schedule: ['s3://lake/orders_clean']
  is_paused_upon_creation: false
  # The DAG's own callback, run by a worker once the run ends.
  on_success_callback_name: done
  on_success_callback_file: $CONFIG_ROOT_DIR/lib/notify.py
  tasks:
    report:
      operator: bash
      bash_command: >-
        echo \"report of {{ (triggering_asset_events['s3://lake/orders_clean'] | first).source_dag_id }}\"
";

/// Team `ops`: the consumer of the producer's asset, on a queue of its own.
const OPS_DAGS: &str = "\
orders_clean:
  schedule: ['s3://lake/orders']
  is_paused_upon_creation: false
  tasks:
    clean:
      operator: bash
      queue: ops
      bash_command: >-
        echo \"$(cat \"$KAIROS_BUNDLE_ROOT/lib/rules.txt\")
        {{ (triggering_asset_events['s3://lake/orders'] | first).source_dag_id }}\"
      outlets: ['s3://lake/orders_clean']
";

/// A worker process, killed (and reaped) when the test ends, also by a panic.
struct WorkerProcess(std::process::Child);

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The runs of `dag_id`, as `kairos runs list` shows them.
fn runs(server: &str, dag_id: &str) -> Vec<Value> {
    json(&["runs", "list", dag_id, "--server", server])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until `dag_id` has exactly one run in one of `states`; that run.
fn wait_run(cluster: &Cluster, server: &str, dag_id: &str, states: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let all = runs(server, dag_id);
        assert!(all.len() <= 1, "{dag_id} ran more than once: {all:?}");
        if let Some(run) = all.first() {
            let state = run["state"].as_str().unwrap_or_default();
            assert!(state != "failed", "{dag_id} failed: {run}");
            if states.contains(&state) {
                return run.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{dag_id} never reached {states:?}: {all:?}\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

async fn return_value(
    cluster: &Cluster,
    node: u64,
    dag_id: &str,
    run: &Value,
    task: &str,
) -> Value {
    let run_id = run["dag_run_id"].as_str().expect("a run id");
    let entries = cluster
        .api(node)
        .expect("a client")
        .xcom_entries(dag_id, run_id, task, kairos_client::Read::Consistent)
        .await
        .expect("XComs");
    entries
        .iter()
        .find(|x| x.key == "return_value")
        .map(|x| x.value.clone())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asset_chain_across_two_teams_survives_a_leader_kill() {
    let binary = Path::new(env!("CARGO_BIN_EXE_kairos"));
    let mut cluster = Cluster::start(binary, 3, &CALM_TIMINGS).expect("three servers");
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    // The CLI talks to a node that outlives the kill.
    let survivor = if leader == 1 { 2 } else { 1 };
    let server = format!("http://{}", cluster.node(survivor).http);
    let dir = tempfile::tempdir().expect("tempdir");

    let sales = dir.path().join("sales");
    write(
        &sales,
        "kairos-bundle.toml",
        "name = \"sales_pipeline\"\nteam = \"sales\"\n",
    );
    write(&sales, "dags/orders.yml", SALES_DAGS);
    write(&sales, "lib/source.txt", "orders from the shop\n");
    write(
        &sales,
        "lib/notify.py",
        "def done(context):\n    print('notified', context['dag_run'].run_id, context['reason'])\n",
    );
    let ops = dir.path().join("ops");
    write(
        &ops,
        "kairos-bundle.toml",
        "name = \"ops_pipeline\"\nteam = \"ops\"\n",
    );
    write(&ops, "dags/clean.yml", OPS_DAGS);
    write(&ops, "lib/rules.txt", "cleaned by ops rules v1\n");
    for bundle in [&sales, &ops] {
        let out = kairos(&[
            "dags",
            "push",
            &bundle.display().to_string(),
            "--server",
            &server,
        ]);
        assert!(out.status.success(), "{}", text(&out));
    }
    for (bundle, team) in [("sales_pipeline", "sales"), ("ops_pipeline", "ops")] {
        let shown = json(&["bundles", "show", bundle, "1", "--server", &server]);
        assert_eq!(shown["team"], team, "{shown}");
    }

    // Only the default queue is served: the consumer's task (queue `ops`) waits.
    let sales_worker = WorkerProcess(
        cluster
            .spawn_worker("w-sales", dir.path(), &["--slots", "2"])
            .expect("a worker"),
    );
    let out = kairos(&[
        "dags",
        "trigger",
        "orders_export",
        "--run-id",
        "r1",
        "--server",
        &server,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    wait_run(&cluster, &server, "orders_export", &["success"]);
    let queued = wait_run(&cluster, &server, "orders_clean", &["queued", "running"]);
    // REST API v1 (which the CLI reads) names Airflow 3's `asset_triggered` as
    // Airflow 2 did.
    assert_eq!(queued["run_type"], "dataset_triggered", "{queued}");
    assert!(runs(&server, "orders_report").is_empty());

    cluster.kill(leader);
    let new_leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a new leader");
    assert_ne!(new_leader, leader);
    let ops_worker = WorkerProcess(
        cluster
            .spawn_worker("w-ops", dir.path(), &["--slots", "2", "--queues", "ops"])
            .expect("a worker of queue ops"),
    );

    let clean = wait_run(&cluster, &server, "orders_clean", &["success"]);
    assert_eq!(
        clean["dag_run_id"], queued["dag_run_id"],
        "the queued run ran"
    );
    assert_eq!(
        return_value(&cluster, survivor, "orders_clean", &clean, "clean").await,
        "cleaned by ops rules v1 orders_export"
    );
    let report = wait_run(&cluster, &server, "orders_report", &["success"]);
    assert_eq!(report["run_type"], "dataset_triggered", "{report}");
    assert_eq!(
        return_value(&cluster, survivor, "orders_report", &report, "report").await,
        "report of orders_clean"
    );
    // The report's DAG callback ran on the sales worker after the run ended.
    let run_id = report["dag_run_id"].as_str().expect("a run id").to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let callback = loop {
        let shown = json(&[
            "runs",
            "show",
            "orders_report",
            &run_id,
            "--server",
            &server,
        ]);
        let state = shown["dag_callback"]["state"].as_str().unwrap_or_default();
        if state == "success" || state == "failed" {
            break shown["dag_callback"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the DAG callback never ended: {shown}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(callback["state"], "success", "{callback}");
    assert_eq!(callback["worker"], "w-sales", "{callback}");
    assert!(
        callback["log_tail"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("notified {run_id} success")),
        "{callback}"
    );
    // The producer ran once: the failover replayed no asset event.
    assert_eq!(runs(&server, "orders_export").len(), 1);
    assert_eq!(runs(&server, "orders_clean").len(), 1);

    drop(sales_worker);
    drop(ops_worker);
    cluster.spawn(leader).expect("restart the killed node");
    cluster
        .wait_converged(0, Duration::from_secs(60))
        .await
        .expect("the nodes converge");
    let digests = cluster.digests().await.expect("digests");
    assert_eq!(digests.len(), 3);
    assert!(
        digests.iter().all(|(_, d)| d == &digests[0].1),
        "state digests differ: {digests:?}"
    );
}
