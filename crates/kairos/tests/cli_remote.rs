//! The CLI against a running cluster's REST API: push the example DAG (twice: the
//! second push makes no new version), unpause, trigger with conf and a logical
//! date, and read the task states and a task's log once a real worker ran it.

use std::path::Path;
use std::process::{Command as Process, Output, Stdio};
use std::time::{Duration, Instant};

use kairos_server::local_cluster::{CALM_TIMINGS, Cluster};

fn kairos(args: &[&str]) -> Output {
    Process::new(env!("CARGO_BIN_EXE_kairos"))
        .args(args)
        .env_remove("KAIROS_SERVER")
        .env_remove("KAIROS_TOKEN")
        .output()
        .expect("kairos runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_trigger_states_and_logs_from_the_command_line() {
    let cluster = Cluster::start(Path::new(env!("CARGO_BIN_EXE_kairos")), 1, &CALM_TIMINGS)
        .expect("a one-node cluster");
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let server = format!("http://{}", cluster.node(1).http);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bash_chain.yml");
    let example = example.display().to_string();

    let out = kairos(&["dags", "push", &example, "--server", &server]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("bash_chain: new version 1"),
        "{}",
        text(&out)
    );
    let out = kairos(&["dags", "push", &example, "--server", &server]);
    assert!(
        text(&out).contains("bash_chain: unchanged, still version 1"),
        "{}",
        text(&out)
    );
    let out = kairos(&["dags", "list", "--server", &server]);
    assert!(
        text(&out).contains("bash_chain") && text(&out).contains("true"),
        "{}",
        text(&out)
    );
    let out = kairos(&["dags", "unpause", "bash_chain", "--server", &server]);
    assert!(out.status.success(), "{}", text(&out));
    let out = kairos(&[
        "dags",
        "trigger",
        "bash_chain",
        "--run-id",
        "cli_run",
        "--logical-date",
        "2026-01-01T00:00:00Z",
        "--conf",
        "{\"who\": \"cli\"}",
        "--server",
        &server,
    ]);
    assert!(
        text(&out).contains("triggered bash_chain run cli_run"),
        "{}",
        text(&out)
    );
    let out = kairos(&[
        "dags",
        "trigger",
        "bash_chain",
        "--conf",
        "[1]",
        "--server",
        &server,
    ]);
    assert!(
        !out.status.success() && text(&out).contains("not a JSON object"),
        "{}",
        text(&out)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = Process::new(env!("CARGO_BIN_EXE_kairos"))
        .args([
            "worker",
            "--servers",
            &cluster.node(1).grpc,
            "--worker-id",
            "cli-worker",
        ])
        .args(["--http-addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path().join("worker"))
        .arg("--config")
        .arg(dir.path().join("none.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("a worker");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = kairos(&[
            "tasks",
            "states",
            "bash_chain",
            "cli_run",
            "--server",
            &server,
            "-o",
            "json",
        ]);
        let states: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let done = states
            .as_array()
            .is_some_and(|a| a.len() == 3 && a.iter().all(|t| t["state"] == "success"));
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not finish: {}",
            text(&out)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = kairos(&[
        "tasks",
        "states",
        "bash_chain",
        "cli_run",
        "--server",
        &server,
    ]);
    assert!(
        text(&out).contains("TASK") && text(&out).contains("cli-worker"),
        "{}",
        text(&out)
    );
    let out = kairos(&[
        "tasks",
        "logs",
        "bash_chain",
        "cli_run",
        "extract",
        "--server",
        &server,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("extracting 2026-01-01") && text(&out).contains("rows=42"),
        "{}",
        text(&out)
    );
    let out = kairos(&[
        "tasks",
        "clear",
        "bash_chain",
        "cli_run",
        "transform",
        "--downstream",
        "--dry-run",
        "--server",
        &server,
    ]);
    assert!(
        text(&out).contains("would clear: load, transform"),
        "{}",
        text(&out)
    );
    let out = kairos(&[
        "tasks",
        "explain",
        "bash_chain",
        "cli_run",
        "load",
        "--server",
        &server,
    ]);
    assert!(
        text(&out).contains("state: success") && text(&out).contains("nothing holds it back"),
        "{}",
        text(&out)
    );
    let out = kairos(&[
        "tasks",
        "mark",
        "bash_chain",
        "cli_run",
        "load",
        "failed",
        "--server",
        &server,
    ]);
    assert!(text(&out).contains("load is failed"), "{}", text(&out));
    let out = kairos(&["runs", "list", "bash_chain", "--server", &server]);
    assert!(
        text(&out).contains("cli_run") && text(&out).contains("manual"),
        "{}",
        text(&out)
    );
    let out = kairos(&["runs", "show", "bash_chain", "cli_run", "--server", &server]);
    assert!(text(&out).contains("{\"who\":\"cli\"}"), "{}", text(&out));
    let out = kairos(&["dags", "versions", "bash_chain", "--server", &server]);
    assert!(
        text(&out).contains("VERSION") && text(&out).contains("sha256:"),
        "{}",
        text(&out)
    );
    let out = kairos(&["dags", "diff", "bash_chain", "1", "1", "--server", &server]);
    assert!(text(&out).contains("version 1 -> 1"), "{}", text(&out));
    let _ = worker.kill();
    let _ = worker.wait();
}
