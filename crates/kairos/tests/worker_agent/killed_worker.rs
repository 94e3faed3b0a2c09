//! A worker killed mid-task: its lease runs out and the other worker retries;
//! logs through the API; and a sensor and a trigger across DAGs.

use std::time::{Duration, Instant};

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::records::{DagRunRecord, TryRecord, XComRecord};
use kairos_state::{Command, Query};
use kairos_worker::process::group_alive;

use crate::support::*;

/// The task starts a child of its own in its process group, then records the
/// group (its shell is the group's leader) in `PGID_DIR`.
const SLOW_DAG: &str = "
slow:
  schedule: null
  is_paused_upon_creation: false
  default_args: {retries: 1, retry_delay: 0}
  tasks:
    work:
      operator: bash
      bash_command: 'sleep 6 & echo $$ > PGID_DIR/{{ ti.try_number }}; wait; echo done'
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_attempt_fails_once_and_is_retried_on_the_other() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = start_cluster(dir.path());
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let pgids = dir.path().join("pgids");
    std::fs::create_dir_all(&pgids).expect("pgids dir");
    let dag = SLOW_DAG.replace("PGID_DIR", &pgids.display().to_string());
    push(&cluster, dir.path(), "slow.yml", &dag, &[]).await;
    let mut workers = [
        Worker::start(&cluster, dir.path(), "w1", TOKEN),
        Worker::start(&cluster, dir.path(), "w2", TOKEN),
    ];
    trigger(&cluster, "slow", "r1").await;
    let holder = running_on(&cluster, "slow", "r1").await;
    let killed = if holder == "w1" { 0 } else { 1 };
    // The first try's group (its shell and the shell's `sleep`) running.
    let pgid_file = pgids.join("1");
    let deadline = Instant::now() + Duration::from_secs(30);
    let pgid: i32 = loop {
        let recorded = std::fs::read_to_string(&pgid_file).unwrap_or_default();
        if let Ok(pgid) = recorded.trim().parse() {
            if group_alive(pgid) {
                break pgid;
            }
        }
        assert!(Instant::now() < deadline, "the first try's group never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    workers[killed].kill();
    // The worker's death stops its running attempts' whole groups at once (the
    // group guard), not only the shell: the `sleep` too.
    let deadline = Instant::now() + Duration::from_secs(3);
    while group_alive(pgid) {
        assert!(
            Instant::now() < deadline,
            "the killed worker's attempt still runs (group {pgid})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let logs = || format!("{}\n{}", workers[0].log(), workers[1].log());
    let state = wait_run(&cluster, "slow", "r1", Duration::from_secs(60), logs).await;
    assert_eq!(state, DagRunState::Success);
    let tries: Vec<TryRecord> = query(
        &cluster,
        Query::Tries {
            ti: ti_key("slow", "r1", "work"),
        },
    )
    .await;
    assert_eq!(tries.len(), 2, "{tries:?}");
    assert_eq!(tries[0].worker.as_deref(), Some(holder.as_str()));
    assert_eq!(tries[0].state, S::UpForRetry);
    let reason = tries[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("lease"), "{reason}");
    assert_eq!(tries[1].state, S::Success);
    assert_ne!(tries[1].worker.as_deref(), Some(holder.as_str()));

    // Logs through the API of any node. A finished try's log is uploaded by
    // its worker once its result is recorded, kept by the leader and copied to
    // another server: the API serves it whole from the servers, and still does
    // once that worker is gone too. The killed worker's try never finished
    // there: its log is gone with it.
    let api = |node: u64| {
        format!(
            "http://{}/api/v1/dags/slow/dagRuns/r1/taskInstances/work/logs",
            cluster.node(node).http
        )
    };
    let log = |node: u64, try_number: u32| {
        let url = format!("{}/{try_number}", api(node));
        async move {
            let response = reqwest::get(url).await.expect("the API answers");
            let status = response.status();
            let source = response
                .headers()
                .get("x-kairos-log-source")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            (status, source, response.text().await.unwrap_or_default())
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, source, text) = log(1, 2).await;
        assert_eq!(status.as_u16(), 200, "{text}");
        if source == "servers" {
            assert!(text.contains("done"), "{text}");
            break;
        }
        assert_eq!(source, "worker", "{text}");
        assert!(
            Instant::now() < deadline,
            "the log never reached the servers\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept = cluster
        .nodes
        .iter()
        .filter(|n| n.data_dir.join("attempt-logs/slow/r1/work/2.log").exists())
        .count();
    assert!(kept >= 2, "the log is kept on {kept} server(s)");
    let (status, _, text) = log(1, 1).await;
    assert_eq!(status.as_u16(), 404, "{text}");
    assert!(text.contains("does not answer"), "{text}");
    workers[1 - killed].kill();
    for node in 1..=3 {
        let (status, source, text) = log(node, 2).await;
        assert_eq!(
            (status.as_u16(), source.as_str()),
            (200, "servers"),
            "node {node}: {text}"
        );
        // The whole log, not the tail alone: the worker's own first lines too.
        assert!(text.contains("done") && text.contains("kairos:"), "{text}");
    }
    workers[1 - killed] = Worker::start(&cluster, dir.path(), "w3", TOKEN);

    // Across DAGs: a sensor waits for a task of a run that does not exist yet; a
    // TriggerDagRunOperator creates that run with conf and waits for it.
    push(&cluster, dir.path(), "cross.yml", CROSS_DAGS, &[]).await;
    let day = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("a date")
        .with_timezone(&chrono::Utc);
    cluster
        .client()
        .propose(&[Command::CreateDagRun {
            dag_id: "watcher".into(),
            run_id: "w1".into(),
            run_type: kairos_dag::lifecycle::RunType::Manual,
            version: None,
            logical_date: Some(day),
            data_interval_start: Some(day),
            data_interval_end: Some(day),
            run_after: None,
            conf: Default::default(),
            triggered_by: "test".into(),
        }])
        .await
        .expect("trigger the watcher");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tis(&cluster, "watcher", "w1").await[0].state != S::Running {
        assert!(Instant::now() < deadline, "the sensor never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    trigger(&cluster, "parent", "p1").await;
    let logs = || format!("{}\n{}", workers[0].log(), workers[1].log());
    assert_eq!(
        wait_run(&cluster, "parent", "p1", Duration::from_secs(60), logs).await,
        DagRunState::Success
    );
    assert_eq!(
        wait_run(&cluster, "watcher", "w1", Duration::from_secs(60), logs).await,
        DagRunState::Success
    );
    let child: Option<DagRunRecord> = query(
        &cluster,
        Query::Run {
            dag_id: "child".into(),
            run_id: "from_parent".into(),
        },
    )
    .await;
    let child = child.expect("the triggered run");
    assert_eq!(child.state, DagRunState::Success);
    assert_eq!(child.logical_date, Some(day));
    assert_eq!(child.conf.get("n"), Some(&serde_json::json!(5)));
    let xcoms: Vec<XComRecord> = query(
        &cluster,
        Query::XComs {
            dag_id: "child".into(),
            run_id: "from_parent".into(),
            task_id: None,
        },
    )
    .await;
    assert_eq!(xcoms[0].value, serde_json::json!("n=5"));
    let kicked: Vec<XComRecord> = query(
        &cluster,
        Query::XComs {
            dag_id: "parent".into(),
            run_id: "p1".into(),
            task_id: None,
        },
    )
    .await;
    assert_eq!(kicked[0].key, "trigger_run_id");
    assert_eq!(kicked[0].value, serde_json::json!("from_parent"));
}

const CROSS_DAGS: &str = r#"
parent:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    kick:
      operator: airflow.operators.trigger_dagrun.TriggerDagRunOperator
      trigger_dag_id: child
      trigger_run_id: from_parent
      conf: {n: 5}
      logical_date: '2026-01-01T00:00:00+00:00'
      wait_for_completion: true
      poke_interval: 1
child:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    show:
      operator: bash
      bash_command: 'echo n={{ dag_run.conf.n }}'
watcher:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    wait:
      operator: airflow.sensors.external_task.ExternalTaskSensor
      external_dag_id: child
      external_task_id: show
      poke_interval: 1
      timeout: 60
"#;
