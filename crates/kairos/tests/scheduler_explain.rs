//! "Why is this task not running?" across real processes: the explanation of a
//! queued task instance names the missing worker for its queue (the leader's
//! registry, reached through a follower), and stops doing so once a worker that
//! serves the queue is polling.

use std::time::{Duration, Instant};

use kairos_state::engine::explain::Explanation;
use kairos_state::{Command, Query, TaskInstanceKey};
use kairos_testkit::LocalWorker;
use kairos_testkit::{CALM_TIMINGS, Cluster, put_dag_command};

const DAG: &str = "
etl_only:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    load:
      operator: airflow.operators.bash.BashOperator
      bash_command: 'true'
      queue: etl
";

async fn explain_via(cluster: &Cluster, node: u64) -> Explanation {
    let ti = TaskInstanceKey {
        dag_id: "etl_only".into(),
        run_id: "r1".into(),
        task_id: "load".into(),
        map_index: -1,
    };
    let value = cluster
        .client()
        .query_node(&cluster.node(node).grpc, &Query::Explain { ti }, false)
        .await
        .expect("explain");
    serde_json::from_value(value).expect("an explanation")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_names_the_missing_worker_until_one_serves_the_queue() {
    let cluster = Cluster::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_kairos")),
        3,
        &CALM_TIMINGS,
    )
    .expect("start the cluster");
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let client = cluster.client();
    let put = put_dag_command(DAG).expect("a valid DAG");
    client.propose(&[put]).await.expect("push the DAG");
    client
        .propose(&[Command::manual_run("etl_only", "r1", "test")])
        .await
        .expect("trigger a run");

    // A worker for another queue does not help.
    let other = LocalWorker::start(cluster.addrs(), "w-default", "default", 1, Duration::ZERO)
        .expect("a worker");
    let deadline = Instant::now() + Duration::from_secs(30);
    let explanation = loop {
        let explanation = explain_via(&cluster, follower).await;
        if explanation.state.is_some_and(|s| s.as_str() == "queued") {
            break explanation;
        }
        assert!(
            Instant::now() < deadline,
            "never queued: {explanation:?}\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(explanation.queue.as_deref(), Some("etl"));
    assert!(
        explanation
            .reasons
            .iter()
            .any(|r| r.contains("no live worker serves queue `etl`")),
        "{explanation:?}"
    );

    // Once an etl worker polls, the reason goes and the task runs.
    let etl =
        LocalWorker::start(cluster.addrs(), "w-etl", "etl", 1, Duration::ZERO).expect("a worker");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let explanation = explain_via(&cluster, leader).await;
        if explanation.state.is_some_and(|s| s.as_str() == "success") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the etl worker never ran it: {explanation:?}\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(etl.records().len(), 1);
    assert!(other.records().is_empty());
    other.stop();
    etl.stop();
}
