//! The leader killed while tasks run, an `execution_timeout` that kills the
//! whole process group, the HttpOperator, and dynamic task mapping.

use std::time::{Duration, Instant};

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::Query;
use kairos_state::records::{TryRecord, XComRecord};

use crate::support::*;

const PARALLEL_DAG: &str = "
parallel:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    a: {operator: bash, bash_command: 'sleep 3; echo a'}
    b: {operator: bash, bash_command: 'sleep 3; echo b'}
    c: {operator: bash, bash_command: 'sleep 3; echo c'}
    d: {operator: bash, bash_command: 'sleep 3; echo d'}
    join: {operator: bash, bash_command: 'echo joined', dependencies: [a, b, c, d]}
";

const TIMEOUT_DAG: &str = "
stuck:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    hang:
      operator: bash
      bash_command: 'echo $$ > PLACEHOLDER; sleep 600'
      execution_timeout: 2
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_kill_keeps_tasks_running_and_a_timeout_kills_the_group() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cluster = start_cluster(dir.path());
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let pgid_file = dir.path().join("pgid");
    push(&cluster, dir.path(), "parallel.yml", PARALLEL_DAG, &[]).await;
    push(
        &cluster,
        dir.path(),
        "stuck.yml",
        &TIMEOUT_DAG.replace("PLACEHOLDER", &pgid_file.display().to_string()),
        &[],
    )
    .await;
    let w1 = Worker::start(&cluster, dir.path(), "w1", TOKEN);
    let w2 = Worker::start(&cluster, dir.path(), "w2", TOKEN);
    let logs = || format!("{}\n{}", w1.log(), w2.log());

    // The leader dies while a, b, c and d run.
    trigger(&cluster, "parallel", "r1").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let running = tis(&cluster, "parallel", "r1")
            .await
            .iter()
            .filter(|t| t.state == S::Running)
            .count();
        if running == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "never all running\n{}", logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.kill(leader);
    let state = wait_run(&cluster, "parallel", "r1", Duration::from_secs(60), logs).await;
    assert_eq!(state, DagRunState::Success);
    for ti in tis(&cluster, "parallel", "r1").await {
        assert_eq!(ti.state, S::Success, "{}", ti.task_id);
        assert_eq!(
            ti.try_number, 1,
            "{} ran again after the failover",
            ti.task_id
        );
        let tries: Vec<TryRecord> = query(
            &cluster,
            Query::Tries {
                ti: ti_key("parallel", "r1", &ti.task_id),
            },
        )
        .await;
        assert_eq!(tries.len(), 1, "{} recorded {tries:?}", ti.task_id);
    }

    // execution_timeout: SIGTERM, then SIGKILL after the 1 s grace, whole group.
    let started = Instant::now();
    trigger(&cluster, "stuck", "r1").await;
    let state = wait_run(&cluster, "stuck", "r1", Duration::from_secs(30), logs).await;
    let took = started.elapsed();
    assert_eq!(state, DagRunState::Failed);
    assert!(
        took < Duration::from_secs(2 + 1 + 3),
        "the timeout took {took:?} (2 s timeout + 1 s grace + scheduling)"
    );
    let hang = tis(&cluster, "stuck", "r1").await.remove(0);
    let reason = hang.reason.unwrap_or_default();
    assert!(reason.contains("execution_timeout"), "{reason}");
    let pgid = std::fs::read_to_string(&pgid_file).expect("the task wrote its group id");
    let pgid: i32 = pgid.trim().parse().expect("a process group id");
    assert!(
        !kairos_worker::process::group_alive(pgid),
        "process group {pgid} outlived the timeout"
    );

    // HttpOperator: a 200 is a success with the body as its XCom, a 404 fails.
    let follower = (1..=3).find(|id| *id != leader).expect("a live node");
    let base = format!("http://{}", cluster.node(follower).http);
    let yaml = format!(
        "http_calls:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    ping: {{operator: airflow.providers.http.operators.http.HttpOperator, endpoint: '{base}/health', method: GET}}
    missing: {{operator: http, endpoint: '{base}/no-such-page', method: GET}}
"
    );
    push(&cluster, dir.path(), "http.yml", &yaml, &[]).await;
    trigger(&cluster, "http_calls", "r1").await;
    let state = wait_run(&cluster, "http_calls", "r1", Duration::from_secs(30), logs).await;
    assert_eq!(state, DagRunState::Failed);
    let calls = tis(&cluster, "http_calls", "r1").await;
    let missing = calls
        .iter()
        .find(|t| t.task_id == "missing")
        .expect("missing");
    assert_eq!(missing.state, S::Failed);
    let reason = missing.reason.clone().unwrap_or_default();
    assert!(reason.contains("404"), "{reason}");
    let ping = calls.iter().find(|t| t.task_id == "ping").expect("ping");
    assert_eq!(ping.state, S::Success);
    let xcoms: Vec<XComRecord> = query(
        &cluster,
        Query::XComs {
            dag_id: "http_calls".into(),
            run_id: "r1".into(),
            task_id: Some("ping".into()),
        },
    )
    .await;
    let body = xcoms[0].value.as_str().unwrap_or_default().to_string();
    assert!(body.contains("leader"), "{body}");

    // Dynamic task mapping: one instance per element of a Python task's list, and
    // xcom_pull of the mapped task gives every instance's value.
    push(
        &cluster,
        dir.path(),
        "fan.yml",
        FAN_OUT_DAG,
        &[(
            "fan.py",
            "def commands():\n    return ['echo 1', 'echo 2', 'echo 3']\n",
        )],
    )
    .await;
    trigger(&cluster, "fan_out", "r1").await;
    let state = wait_run(&cluster, "fan_out", "r1", Duration::from_secs(30), logs).await;
    assert_eq!(state, DagRunState::Success);
    let each: Vec<(i32, S)> = tis(&cluster, "fan_out", "r1")
        .await
        .into_iter()
        .filter(|t| t.task_id == "each")
        .map(|t| (t.map_index, t.state))
        .collect();
    assert_eq!(
        each,
        [
            (-1, S::Removed),
            (0, S::Success),
            (1, S::Success),
            (2, S::Success)
        ]
    );
    let total: Vec<XComRecord> = query(
        &cluster,
        Query::XComs {
            dag_id: "fan_out".into(),
            run_id: "r1".into(),
            task_id: Some("total".into()),
        },
    )
    .await;
    assert_eq!(total[0].value, serde_json::json!("[\"1\", \"2\", \"3\"]"));
}

const FAN_OUT_DAG: &str = r#"
fan_out:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    list:
      operator: python
      python_callable_name: commands
      python_callable_file: fan.py
    each:
      operator: bash
      expand: {bash_command: list.output}
      dependencies: [list]
    total:
      operator: bash
      bash_command: "echo '{{ ti.xcom_pull(task_ids=\"each\") | tojson }}'"
      dependencies: [each]
"#;
