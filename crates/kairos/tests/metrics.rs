//! `/metrics` on three real servers with a real worker: Raft, scheduler, pool,
//! worker and API figures in Prometheus' text format, and the apply counters equal
//! on every node (they all apply the same log).

use std::path::Path;
use std::time::{Duration, Instant};

use kairos_state::{Command, Query};
use kairos_testkit::{CALM_TIMINGS, Cluster, put_dag_command};

const CHAIN: &str = "
metrics_chain:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    a: {operator: bash, bash_command: 'true'}
    b: {operator: bash, bash_command: 'true', dependencies: [a]}
    c: {operator: bash, bash_command: 'true', dependencies: [b]}
";

async fn scrape(http: &str) -> String {
    reqwest::get(format!("http://{http}/metrics"))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text")
}

/// The value of the first sample whose line starts with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Waits up to a minute for run `run_id` of the chain to succeed.
async fn run_to_success(client: &kairos_server::client::ClusterClient, run_id: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run = client
            .query(
                &Query::Run {
                    dag_id: "metrics_chain".into(),
                    run_id: run_id.into(),
                },
                true,
            )
            .await
            .expect("read");
        if run["state"] == "success" {
            return;
        }
        assert!(Instant::now() < deadline, "the run did not finish: {run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_raft_scheduler_pools_workers_and_api() {
    let cluster =
        Cluster::start(Path::new(env!("CARGO_BIN_EXE_kairos")), 3, &CALM_TIMINGS).expect("cluster");
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let client = cluster.client();
    client
        .propose(&[
            put_dag_command(CHAIN).expect("a DAG"),
            Command::set_pool("reports", 7),
        ])
        .await
        .expect("push");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = cluster
        .spawn_worker("metrics-worker", dir.path(), &["--slots", "3"])
        .expect("a worker");
    client
        .propose(&[Command::manual_run("metrics_chain", "r1", "test")])
        .await
        .expect("trigger");
    run_to_success(&client, "r1").await;
    // An API call to see in the request histogram.
    let listed = reqwest::get(format!(
        "http://{}/api/v1/dags/metrics_chain/dagRuns",
        cluster.node(leader).http
    ))
    .await
    .expect("list");
    assert!(listed.status().is_success());
    cluster
        .wait_converged(0, Duration::from_secs(30))
        .await
        .expect("converged");

    let leader_text = scrape(&cluster.node(leader).http).await;
    let m = |series: &str| sample(&leader_text, series);
    assert_eq!(m("kairos_raft_is_leader"), Some(1.0), "{leader_text}");
    assert_eq!(m("kairos_raft_leader_id"), Some(leader as f64));
    assert!(m("kairos_raft_term").is_some_and(|t| t >= 1.0));
    assert!(m("kairos_raft_leader_changes_total").is_some_and(|c| c >= 1.0));
    assert!(m("kairos_raft_commit_latency_seconds_count").is_some_and(|c| c >= 3.0));
    assert_eq!(m("kairos_scheduler_runs_created_total"), Some(1.0));
    assert_eq!(m("kairos_scheduler_tasks_queued_total"), Some(3.0));
    // b and c were handed to the worker with its reports of a and b (one free
    // slot offered each time), in the same entries as the reports.
    assert_eq!(
        m("kairos_scheduler_tasks_handed_off_total"),
        Some(2.0),
        "{leader_text}"
    );
    // b after a, c after b: two gaps measured, each well under a second here.
    assert_eq!(m("kairos_scheduler_task_to_task_seconds_count"), Some(2.0));
    assert!(
        leader_text.contains("kairos_scheduler_task_to_task_seconds_bucket{le=\"1.024\"} 2"),
        "{leader_text}"
    );
    assert!(
        leader_text.contains("kairos_pool_slots{pool=\"reports\"} 7"),
        "{leader_text}"
    );
    assert!(
        leader_text.contains("kairos_pool_used_slots{pool=\"default_pool\"} 0"),
        "{leader_text}"
    );
    assert_eq!(m("kairos_workers"), Some(1.0));
    assert_eq!(m("kairos_worker_slots"), Some(3.0));
    assert_eq!(m("kairos_worker_free_slots"), Some(3.0));
    assert!(
        leader_text.contains("route=\"/api/v1/dags/{dag_id}/dagRuns\",status=\"200\""),
        "{leader_text}"
    );

    // Followers: not leading, no workers, and the same apply counts.
    for id in (1..=3).filter(|id| *id != leader) {
        let text = scrape(&cluster.node(id).http).await;
        assert_eq!(sample(&text, "kairos_raft_is_leader"), Some(0.0));
        assert_eq!(sample(&text, "kairos_workers"), Some(0.0));
        for series in [
            "kairos_scheduler_runs_created_total",
            "kairos_scheduler_tasks_queued_total",
            "kairos_scheduler_tasks_handed_off_total",
            "kairos_state_commands_applied_total",
        ] {
            assert_eq!(sample(&text, series), m(series), "{series} on node {id}");
        }
    }

    // The worker is idle now, its poll waiting: the next run's first task is
    // started in the trigger's own entry, taken for that poll (then b and c
    // are handed off with the reports, as before).
    let taken = "kairos_scheduler_tasks_taken_by_waiting_polls_total";
    let taken_before = m(taken).unwrap_or_else(|| panic!("no {taken}: {leader_text}"));
    client
        .propose(&[Command::manual_run("metrics_chain", "r2", "test")])
        .await
        .expect("trigger");
    run_to_success(&client, "r2").await;
    cluster
        .wait_converged(0, Duration::from_secs(30))
        .await
        .expect("converged");
    for id in 1..=3 {
        let text = scrape(&cluster.node(id).http).await;
        assert_eq!(
            sample(&text, taken),
            Some(taken_before + 1.0),
            "node {id}: {text}"
        );
    }
    let _ = worker.kill();
    let _ = worker.wait();
}
