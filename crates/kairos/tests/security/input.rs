//! Bounded input against a real three-node cluster (issue 16, item 6): an alias
//! bomb and a template bomb pushed through the REST API are refused at load, and
//! an oversized worker report (its JSON past the followers' 64 MiB message limit)
//! is refused before it is proposed; afterwards nothing is lost, later proposals
//! still commit, and every node still serves.

use std::time::Duration;

use kairos_proto::v1::worker_client::WorkerClient;
use kairos_proto::v1::{ReportFinishedRequest, TaskInstanceId};
use kairos_state::{Command, Query};
use kairos_testkit::{CALM_TIMINGS, Cluster};
use serde_json::{Value, json};

/// POSTs a DAG file to `/api/v1/dagFiles` of `http`; the status and the body.
async fn push(http: &str, file_name: &str, content: &str) -> (u16, String) {
    let answer = reqwest::Client::new()
        .post(format!("http://{http}/api/v1/dagFiles"))
        .header("content-type", "application/json")
        .body(json!({"file_name": file_name, "content": content}).to_string())
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("the push is answered");
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap_or_default())
}

async fn pool_exists(cluster: &Cluster, name: &str) -> bool {
    let pools: Value = cluster
        .client()
        .query(&Query::Pools, true)
        .await
        .expect("pools");
    pools
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p["name"] == name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bombs_and_oversized_reports_are_refused_and_the_cluster_keeps_serving() {
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
    let http = cluster.node(leader).http.clone();
    cluster
        .client()
        .propose(&[Command::set_pool("before", 1)])
        .await
        .expect("a first write");

    // A good DAG goes in.
    let good = "good:\n  tasks:\n    t: {operator: bash, bash_command: 'true'}\n";
    let (status, body) = push(&http, "good.yml", good).await;
    assert_eq!(status, 200, "{body}");

    // Alias bomb: 40 aliases of one 500 KiB scalar (20 MB expanded; a 1 MiB file
    // of them would be ~75 GB).
    let mut bomb = format!(
        "bomb:\n  params:\n    big: &a '{}'\n    list:\n",
        "x".repeat(500 * 1024)
    );
    for _ in 0..40 {
        bomb.push_str("      - *a\n");
    }
    bomb.push_str("  tasks:\n    t: {operator: bash, bash_command: 'true'}\n");
    let (status, body) = push(&http, "bomb.yml", &bomb).await;
    assert!((400..500).contains(&status), "{status}: {body}");
    assert!(body.contains("alias") && body.contains("bytes"), "{body}");

    // Template bomb in a DateTimeSensor's target_time (rendered by the servers).
    let template = vec!["('x' * 100000000)"; 40].join(" ~ ");
    let sensor = format!(
        "sensor:\n  tasks:\n    wait:\n      operator: date_time_sensor\n      target_time: \"{{{{ {template} }}}}\"\n"
    );
    let (status, body) = push(&http, "sensor.yml", &sensor).await;
    assert!((400..500).contains(&status), "{status}: {body}");
    assert!(
        body.contains("target_time") && body.contains("not accepted"),
        "{body}"
    );

    // A worker report whose log tail is 12 MiB of control characters: 72 MiB once
    // escaped in the entry's JSON, more than a follower takes in one message.
    let mut worker = WorkerClient::connect(format!("http://{}", cluster.node(leader).grpc))
        .await
        .expect("connect to the worker service")
        .max_encoding_message_size(64 * 1024 * 1024);
    let report = ReportFinishedRequest {
        worker_id: "forger".into(),
        ti: Some(TaskInstanceId {
            dag_id: "good".into(),
            run_id: "r1".into(),
            task_id: "t".into(),
            map_index: -1,
        }),
        attempt: "1-0.0".into(),
        state: "failed".into(),
        log_tail: "\u{1}".repeat(12 * 1024 * 1024),
        ..Default::default()
    };
    let answer = tokio::time::timeout(Duration::from_secs(30), worker.report_finished(report))
        .await
        .expect("the report is answered, not left waiting on a stuck log");
    let status = answer.expect_err("the oversized report is refused");
    assert_eq!(
        format!("{:?}", status.code()),
        "InvalidArgument",
        "{status:?}"
    );
    assert!(
        status.message().contains("log tail"),
        "{}",
        status.message()
    );

    // The log still moves: a later write commits, on every node.
    tokio::time::timeout(
        Duration::from_secs(30),
        cluster.client().propose(&[Command::set_pool("after", 2)]),
    )
    .await
    .expect("a later write is not stuck behind the report")
    .expect("a later write commits");
    let applied = cluster
        .wait_converged(0, Duration::from_secs(30))
        .await
        .expect("every node applies the same log");
    assert!(applied > 0);
    assert!(pool_exists(&cluster, "before").await);
    assert!(pool_exists(&cluster, "after").await);
    for id in 1..=3 {
        assert!(cluster.status(id).await.is_some(), "node {id} still serves");
    }
    for (dag_id, stored) in [("good", true), ("bomb", false), ("sensor", false)] {
        let dag: Value = cluster
            .client()
            .query(
                &Query::Dag {
                    dag_id: dag_id.into(),
                },
                true,
            )
            .await
            .expect("a DAG read");
        assert_eq!(!dag.is_null(), stored, "{dag_id}: {dag}");
    }
}
