//! The CLI against a running cluster's REST API: push the example DAG (twice: the
//! second push makes no new version), unpause, trigger with conf and a logical
//! date, and read the task states and a task's log once a real worker ran it.

use std::path::Path;
use std::process::{Command as Process, Output};
use std::time::{Duration, Instant};

use kairos_testkit::{CALM_TIMINGS, Cluster};

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
    let mut worker = cluster
        .spawn_worker("cli-worker", dir.path(), &[])
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
    more_verbs(&server).await;
    let _ = worker.kill();
    let _ = worker.wait();
}

/// Backfill with progress, runs mark/delete, tasks list, pools, Variables, the
/// cluster's status, and a --server list whose first node is down.
async fn more_verbs(server: &str) {
    let out = kairos(&[
        "dags",
        "backfill",
        "bash_chain",
        "--start",
        "2026-01-01",
        "--end",
        "2026-01-03",
        "--server",
        server,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // Daily at 03:00: the logical dates 01-01 03:00 and 01-02 03:00 fall in the range.
    assert!(
        text(&out).contains("2 run(s) created")
            && text(&out).contains("2/2 finished (2 success, 0 failed)"),
        "{}",
        text(&out)
    );
    let out = kairos(&[
        "dags",
        "backfill",
        "bash_chain",
        "--start",
        "2026-01-05",
        "--end",
        "someday",
        "--server",
        server,
    ]);
    assert!(
        !out.status.success() && text(&out).contains("--end \"someday\" is not a date"),
        "{}",
        text(&out)
    );

    let out = kairos(&[
        "runs",
        "mark",
        "bash_chain",
        "cli_run",
        "success",
        "--server",
        server,
    ]);
    assert!(
        out.status.success() && text(&out).contains("run bash_chain/cli_run is success"),
        "{}",
        text(&out)
    );
    let out = kairos(&[
        "runs",
        "delete",
        "bash_chain",
        "cli_run",
        "--server",
        server,
    ]);
    assert!(
        out.status.success() && text(&out).contains("deleted"),
        "{}",
        text(&out)
    );
    let out = kairos(&["runs", "show", "bash_chain", "cli_run", "--server", server]);
    assert!(
        !out.status.success() && text(&out).contains("(404)"),
        "{}",
        text(&out)
    );

    let out = kairos(&["tasks", "list", "bash_chain", "--server", server]);
    assert!(
        text(&out).contains("transform") && text(&out).contains("BashOperator"),
        "{}",
        text(&out)
    );

    let out = kairos(&[
        "pools",
        "set",
        "etl",
        "3",
        "--description",
        "the warehouse",
        "--server",
        server,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = kairos(&["pools", "list", "--server", server]);
    assert!(
        text(&out).contains("etl") && text(&out).contains("the warehouse"),
        "{}",
        text(&out)
    );
    let out = kairos(&["pools", "delete", "etl", "--server", server]);
    assert!(text(&out).contains("pool etl deleted"), "{}", text(&out));

    let out = kairos(&[
        "variables",
        "set",
        "region",
        "eu-west-1",
        "--server",
        server,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = kairos(&["variables", "get", "region", "--server", server]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "eu-west-1");
    let out = kairos(&["variables", "list", "--server", server]);
    assert!(
        text(&out).contains("region") && !text(&out).contains("eu-west-1"),
        "values stay out of the table: {}",
        text(&out)
    );
    let out = kairos(&["variables", "delete", "region", "--server", server]);
    assert!(out.status.success(), "{}", text(&out));

    let out = kairos(&["cluster", "status", "--server", server]);
    assert!(text(&out).contains("leader: node 1"), "{}", text(&out));
    // The first address of the list is down: the next one answers.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a port");
    let list = format!("127.0.0.1:{port},{server}");
    let out = kairos(&["dags", "list", "--server", &list]);
    assert!(
        out.status.success() && text(&out).contains("bash_chain"),
        "{}",
        text(&out)
    );
}
