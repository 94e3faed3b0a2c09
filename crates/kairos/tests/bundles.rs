//! Bundles with real processes: three `kairos server`s, one `kairos worker`, the
//! CLI. A folder is pushed as a bundle (manifest, ignore patterns, a binary
//! file, only the contents the cluster lacks uploaded); a run created before the
//! next push finishes on the old code while the next run runs the new code; the
//! versions and their diff show which files changed; a bundle of one team
//! cannot be pushed over by another.

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

const DAG: &str = "\
shop_orders:
  schedule: null
  start_date: 2026-01-01
  is_paused_upon_creation: false
  tasks:
    wait:
      operator: bash
      bash_command: sleep 3
    greet:
      operator: bash
      bash_command: cat \"$KAIROS_BUNDLE_ROOT/lib/greeting.txt\"
      dependencies: [wait]
    blob:
      operator: bash
      bash_command: printf '\\000\\237\\222\\226' | cmp - \"$KAIROS_BUNDLE_ROOT/lib/blob.bin\" && echo same
";

/// The run's state and each task's `return_value` XCom, once the run ends.
fn finish(server: &str, run: &str) -> (String, Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = json(&["runs", "show", "shop_orders", run, "--server", server]);
        let state = r["state"].as_str().unwrap_or_default().to_string();
        if state == "success" || state == "failed" {
            return (state, r);
        }
        assert!(Instant::now() < deadline, "run {run} never ended: {r}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

async fn xcom(cluster: &Cluster, run: &str, task: &str) -> Value {
    let api = cluster.api(1).expect("a client");
    let entries = api
        .xcom_entries("shop_orders", run, task, kairos_client::Read::Consistent)
        .await
        .expect("XComs");
    entries
        .iter()
        .find(|x| x.key == "return_value")
        .map(|x| x.value.clone())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_keeps_the_bundle_version_it_started_with() {
    let binary = Path::new(env!("CARGO_BIN_EXE_kairos"));
    let cluster = Cluster::start(binary, 3, &CALM_TIMINGS).expect("three servers");
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = cluster
        .spawn_worker("w1", dir.path(), &["--slots", "4"])
        .expect("a worker");
    let server = format!("http://{}", cluster.node(1).http);
    let bundle = dir.path().join("shop");
    write(
        &bundle,
        "kairos-bundle.toml",
        b"name = \"shop\"\nteam = \"sales\"\nignore = [\"scratch/\", \"*.ipynb\"]\n",
    );
    write(&bundle, "dags/orders.yml", DAG.as_bytes());
    write(&bundle, "lib/greeting.txt", b"hello from version 1\n");
    write(&bundle, "lib/blob.bin", &[0, 0x9f, 0x92, 0x96]);
    write(&bundle, "scratch/notes.txt", b"not pushed\n");
    write(&bundle, "analysis.ipynb", b"{}\n");
    write(&bundle, "lib/__pycache__/x.cpython-311.pyc", b"\x00\x01");
    let bundle_arg = bundle.display().to_string();

    let out = kairos(&["dags", "push", &bundle_arg, "--server", &server]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("bundle shop: new version 1 (4 files, 4 uploaded)")
            && text(&out).contains("shop_orders: new version 1"),
        "{}",
        text(&out)
    );
    let shown = json(&["bundles", "show", "shop", "1", "--server", &server]);
    let files: Vec<&str> = shown["files"]
        .as_object()
        .expect("files")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        files,
        [
            "dags/orders.yml",
            "kairos-bundle.toml",
            "lib/blob.bin",
            "lib/greeting.txt"
        ],
        "ignored files were pushed: {shown}"
    );
    assert_eq!(shown["team"], "sales");
    assert_eq!(shown["binary"], serde_json::json!(["lib/blob.bin"]));

    // Run 1 starts on version 1; version 2 is pushed while its first task runs.
    let out = kairos(&[
        "dags",
        "trigger",
        "shop_orders",
        "--run-id",
        "r1",
        "--server",
        &server,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let states = json(&["tasks", "states", "shop_orders", "r1", "--server", &server]);
        if states.to_string().contains("running") {
            break;
        }
        assert!(Instant::now() < deadline, "r1 never ran: {states}");
        std::thread::sleep(Duration::from_millis(100));
    }
    write(&bundle, "lib/greeting.txt", b"hello from version 2\n");
    let out = kairos(&["dags", "push", &bundle_arg, "--server", &server]);
    assert!(
        text(&out).contains("bundle shop: new version 2 (4 files, 1 uploaded)")
            && text(&out).contains("shop_orders: unchanged, still version 1"),
        "{}",
        text(&out)
    );
    let out = kairos(&[
        "dags",
        "trigger",
        "shop_orders",
        "--run-id",
        "r2",
        "--server",
        &server,
    ]);
    assert!(out.status.success(), "{}", text(&out));

    let (state, r1) = finish(&server, "r1");
    assert_eq!(state, "success", "{r1}");
    assert_eq!(r1["bundle_version"], 1, "{r1}");
    let (state, r2) = finish(&server, "r2");
    assert_eq!(state, "success", "{r2}");
    assert_eq!(r2["bundle_version"], 2, "{r2}");
    assert_eq!(xcom(&cluster, "r1", "greet").await, "hello from version 1");
    assert_eq!(xcom(&cluster, "r2", "greet").await, "hello from version 2");
    assert_eq!(xcom(&cluster, "r1", "blob").await, "same");

    // An unchanged folder makes no version; the versions and their diff.
    let out = kairos(&["dags", "push", &bundle_arg, "--server", &server]);
    assert!(
        text(&out).contains("bundle shop: unchanged, still version 2 (4 files, 0 uploaded)"),
        "{}",
        text(&out)
    );
    let versions = json(&["bundles", "versions", "shop", "--server", &server]);
    let numbers: Vec<u64> = versions
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|v| v["version"].as_u64())
        .collect();
    assert_eq!(numbers, [1, 2], "{versions}");
    assert_eq!(versions[1]["dags"]["shop_orders"], 1, "{versions}");
    let diff = json(&["bundles", "diff", "shop", "1", "2", "--server", &server]);
    assert_eq!(
        diff,
        serde_json::json!([{"path": "lib/greeting.txt", "change": "changed"}])
    );

    // Another team's push of the same bundle name is refused and changes nothing.
    let other = dir.path().join("other");
    write(
        &other,
        "kairos-bundle.toml",
        b"name = \"shop\"\nteam = \"finance\"\n",
    );
    write(&other, "dags/orders.yml", DAG.as_bytes());
    let out = kairos(&[
        "dags",
        "push",
        &other.display().to_string(),
        "--server",
        &server,
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("bundle `shop` belongs to team `sales`"),
        "{}",
        text(&out)
    );
    let versions = json(&["bundles", "versions", "shop", "--server", &server]);
    assert_eq!(versions.as_array().map(Vec::len), Some(2), "{versions}");

    // Every node holds the same state.
    // (Entries may still arrive between the two reads: ask until one answer of
    // all three agrees, for a while.)
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        cluster
            .wait_converged(0, Duration::from_secs(20))
            .await
            .expect("the nodes apply the same log");
        let digests = cluster.digests().await.expect("digests");
        if digests.windows(2).all(|w| w[0].1 == w[1].1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the nodes' states differ: {digests:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = worker.kill();
    let _ = worker.wait();
}
