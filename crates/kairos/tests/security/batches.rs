//! `ReportBatch`: a worker reports many finished attempts in one call and takes
//! its next work with them (the downstream the reports queued first, then the
//! head of its queues). A batch holding a report the worker may not make
//! (another worker's attempt) is refused whole: nothing of it is recorded.

use kairos_proto::v1::{PollRequest, ReportBatchRequest, ReportFinishedRequest};
use kairos_state::{Command, Query};

use crate::support::*;

fn success(worker: &str, task: &kairos_proto::v1::Assignment) -> ReportFinishedRequest {
    ReportFinishedRequest {
        worker_id: worker.into(),
        ti: task.ti.clone(),
        attempt: task.attempt.clone(),
        state: "success".into(),
        ..Default::default()
    }
}

async fn states(cluster: &kairos_testkit::Cluster, dag: &str, run: &str) -> Vec<(String, String)> {
    let tis = cluster
        .client()
        .query(
            &Query::TaskInstances {
                dag_id: dag.into(),
                run_id: run.into(),
                after: None,
                limit: None,
            },
            true,
        )
        .await
        .expect("task instances");
    tis.as_array()
        .expect("a list")
        .iter()
        .map(|t| {
            (
                t["task_id"].as_str().unwrap_or_default().to_string(),
                t["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_reports_many_attempts_and_takes_the_next_work_with_them() {
    let cluster = cluster().await;
    // A chain (a -> b) and a run of three parallel tasks.
    let chain = "chain:\n  schedule: null\n  is_paused_upon_creation: false\n  tasks:\n    a: {operator: bash, bash_command: 'true'}\n    b: {operator: bash, bash_command: 'true', dependencies: [a]}\n";
    let wide = "wide:\n  schedule: null\n  is_paused_upon_creation: false\n  tasks:\n    t0: {operator: bash, bash_command: 'true'}\n    t1: {operator: bash, bash_command: 'true'}\n    t2: {operator: bash, bash_command: 'true'}\n";
    let client = cluster.client();
    client
        .propose(&[
            kairos_testkit::put_dag_command(chain).expect("a DAG"),
            kairos_testkit::put_dag_command(wide).expect("a DAG"),
        ])
        .await
        .expect("push");
    client
        .propose(&[Command::manual_run("chain", "r", "batch-test")])
        .await
        .expect("trigger the chain");
    let mut worker = worker_client(&cluster).await;
    register(&mut worker, "w-batch").await;
    let a = poll_one(&mut worker, "w-batch").await;
    client
        .propose(&[Command::manual_run("wide", "x", "batch-test")])
        .await
        .expect("trigger the wide run");
    // (The poll names `a` as known, or it would be handed `a` again.)
    let w = worker
        .poll(PollRequest {
            worker_id: "w-batch".into(),
            free_slots: 1,
            wait_ms: 5000,
            known_attempts: vec![a.attempt.clone()],
        })
        .await
        .expect("poll")
        .into_inner()
        .tasks
        .into_iter()
        .next()
        .expect("the wide run's first task");
    assert_eq!(
        (
            a.ti.as_ref().map(|t| t.dag_id.as_str()),
            w.ti.as_ref().map(|t| t.dag_id.as_str())
        ),
        (Some("chain"), Some("wide"))
    );

    // Another worker slips a report of this worker's attempt into its batch:
    // the whole batch is refused and neither report recorded.
    let mut other = worker_client(&cluster).await;
    register(&mut other, "w-other").await;
    let refused = other
        .report_batch(ReportBatchRequest {
            worker_id: "w-other".into(),
            reports: vec![success("w-other", &a)],
            take: 2,
        })
        .await
        .expect_err("a batch with another worker's attempt");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(
        states(&cluster, "chain", "r")
            .await
            .contains(&("a".into(), "running".into()))
    );

    // Both reports in one batch, offering two slots: b (a's downstream) comes
    // first, then one of the wide run's queued tasks.
    let reply = worker
        .report_batch(ReportBatchRequest {
            worker_id: "w-batch".into(),
            reports: vec![success("w-batch", &a), success("w-batch", &w)],
            take: 2,
        })
        .await
        .expect("the batch")
        .into_inner();
    assert_eq!(reply.results.len(), 2, "{reply:?}");
    assert!(
        reply
            .results
            .iter()
            .all(|r| r.accepted && r.outcome == "success"),
        "{reply:?}"
    );
    let handed: Vec<(String, String)> = reply
        .tasks
        .iter()
        .map(|t| {
            let ti = t.ti.clone().unwrap_or_default();
            (ti.dag_id, ti.task_id)
        })
        .collect();
    assert_eq!(handed.len(), 2, "{handed:?}");
    assert_eq!(handed[0], ("chain".to_string(), "b".to_string()));
    assert_eq!(handed[1].0, "wide");
    assert!(
        reply
            .tasks
            .iter()
            .all(|t| t.attempt.len() == 32 && !t.task_json.is_empty())
    );
    let chain_states = states(&cluster, "chain", "r").await;
    assert!(
        chain_states.contains(&("a".into(), "success".into())),
        "{chain_states:?}"
    );
    assert!(
        chain_states.contains(&("b".into(), "running".into())),
        "{chain_states:?}"
    );
    let wide_states = states(&cluster, "wide", "x").await;
    assert_eq!(
        wide_states.iter().filter(|(_, s)| s == "running").count(),
        1,
        "{wide_states:?}"
    );
    assert_eq!(
        wide_states.iter().filter(|(_, s)| s == "queued").count(),
        1,
        "{wide_states:?}"
    );

    // The same batch again (a lost answer): each report is answered with what
    // was recorded, and nothing more is taken when no slot is offered.
    let again = worker
        .report_batch(ReportBatchRequest {
            worker_id: "w-batch".into(),
            reports: vec![success("w-batch", &a), success("w-batch", &w)],
            take: 0,
        })
        .await
        .expect("the batch again")
        .into_inner();
    assert!(again.results.iter().all(|r| r.accepted), "{again:?}");
    assert!(again.tasks.is_empty(), "{again:?}");
    // Over the limit: refused with the limit named.
    let many = worker
        .report_batch(ReportBatchRequest {
            worker_id: "w-batch".into(),
            reports: vec![success("w-batch", &a); 257],
            take: 0,
        })
        .await
        .expect_err("257 reports");
    assert!(many.message().contains("256"), "{many:?}");
    still_serving(&cluster, "batches").await;
}
