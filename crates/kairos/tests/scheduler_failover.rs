//! Three real servers and a worker speaking the real gRPC protocol: a chain of 20
//! tasks runs; the leader is `kill -9`ed mid-chain; the chain completes on the new
//! leader, every task recorded exactly once, and (from the worker's own records) no
//! task ran twice, let alone twice at the same time.

use std::time::{Duration, Instant};

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState};
use kairos_state::records::{DagRunRecord, TaskInstanceRecord};
use kairos_state::{Command, Query};
use kairos_testkit::LocalWorker;
use kairos_testkit::{CALM_TIMINGS, Cluster, chain_yaml, put_dag_command};

const TASKS: usize = 20;

async fn task_instances(cluster: &Cluster) -> Vec<TaskInstanceRecord> {
    let value = cluster
        .client()
        .query(
            &Query::TaskInstances {
                dag_id: "chain".into(),
                run_id: "r1".into(),
                after: None,
                limit: None,
            },
            true,
        )
        .await
        .expect("query");
    serde_json::from_value(value).expect("task instances")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_completes_across_a_leader_kill_with_each_task_run_once() {
    let mut cluster = Cluster::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_kairos")),
        3,
        &CALM_TIMINGS,
    )
    .expect("start the cluster");
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let client = cluster.client();
    let put = put_dag_command(&chain_yaml("chain", TASKS)).expect("a valid DAG");
    client.propose(&[put]).await.expect("push the DAG");
    client
        .propose(&[Command::manual_run("chain", "r1", "test")])
        .await
        .expect("trigger a run");
    let worker = LocalWorker::start(
        cluster.addrs(),
        "w1",
        "default",
        2,
        Duration::from_millis(150),
    )
    .expect("a worker");

    // Kill the leader once a third of the chain is done.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = task_instances(&cluster)
            .await
            .iter()
            .filter(|t| t.state == TaskInstanceState::Success)
            .count();
        if done >= TASKS / 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the chain did not start:\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.kill(leader);
    let done_at_kill = worker.records().len();
    assert!(done_at_kill < TASKS, "the chain finished before the kill");

    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let value = cluster
            .client()
            .query(
                &Query::Run {
                    dag_id: "chain".into(),
                    run_id: "r1".into(),
                },
                true,
            )
            .await;
        if let Ok(value) = value {
            let run: Option<DagRunRecord> = serde_json::from_value(value).expect("run");
            if run.is_some_and(|r| r.state == DagRunState::Success) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the chain did not complete after the kill:\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.stop();

    // The cluster's view: every task succeeded on its first try.
    let tis = task_instances(&cluster).await;
    assert_eq!(tis.len(), TASKS);
    for ti in &tis {
        assert_eq!(ti.state, TaskInstanceState::Success, "{}", ti.task_id);
        assert_eq!(ti.try_number, 1, "{} was tried more than once", ti.task_id);
    }
    // The worker's view: each task ran exactly once, in chain order, never overlapping.
    let mut records = worker.records();
    records.sort_by_key(|r| r.received);
    let ids: Vec<&str> = records.iter().map(|r| r.task_id.as_str()).collect();
    let expected: Vec<String> = (0..TASKS).map(|i| format!("t{i:02}")).collect();
    assert_eq!(ids, expected.iter().map(String::as_str).collect::<Vec<_>>());
    for pair in records.windows(2) {
        assert!(
            pair[0].finished <= pair[1].received,
            "{} started before {} finished",
            pair[1].task_id,
            pair[0].task_id
        );
    }
    for r in &records {
        assert!(
            r.acknowledged.is_some(),
            "{} was never acknowledged",
            r.task_id
        );
    }
}
