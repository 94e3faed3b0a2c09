//! XComs between bash and python tasks, a branch, a worker with a wrong
//! token refused, and a worker that drains on SIGTERM.

use std::process::Command as Process;
use std::time::{Duration, Instant};

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::records::{VariableRecord, XComRecord};
use kairos_state::{Command, Query};

use crate::support::*;

const XCOM_DAG: &str = r#"
xcom_flow:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    produce:
      operator: airflow.operators.bash.BashOperator
      bash_command: 'echo "{\"key\": \"rows\", \"value\": 42}" >> "$KAIROS_XCOM_FILE"; echo "from $AIRFLOW_CTX_DAG_ID"; echo 7'
    double:
      operator: airflow.operators.python.PythonOperator
      python_callable_name: double
      python_callable_file: callables.py
      op_kwargs:
        n: "{{ ti.xcom_pull(task_ids='produce') }}"
        region: "{{ var.value.region }}"
      dependencies: [produce]
    pick:
      operator: airflow.operators.python.BranchPythonOperator
      python_callable_name: pick
      python_callable_file: callables.py
      op_args: ["{{ ti.xcom_pull(task_ids='double')['value'] }}"]
      dependencies: [double]
    big:
      operator: airflow.operators.bash.BashOperator
      bash_command: 'echo "rows={{ ti.xcom_pull(task_ids=''produce'', key=''rows'') }}"'
      dependencies: [pick]
    small:
      operator: airflow.operators.bash.BashOperator
      bash_command: 'echo small'
      dependencies: [pick]
"#;

const CALLABLES: &str = r#"
def double(n, region, ti=None, ds=None, **kwargs):
    ti.xcom_push("seen_region", region)
    return {"value": int(n) * 2, "run": kwargs["run_id"]}

def pick(value):
    return "big" if int(value) > 10 else "small"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bash_and_python_pass_xcoms_and_a_branch_picks_a_path() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = start_cluster(dir.path());
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    push(
        &cluster,
        dir.path(),
        "xcom.yml",
        XCOM_DAG,
        &[("callables.py", CALLABLES)],
    )
    .await;
    cluster
        .client()
        .propose(&[Command::SetVariable {
            variable: VariableRecord {
                key: "region".into(),
                value: "eu-west-1".into(),
                description: None,
                encrypted: false,
                team: None,
            },
        }])
        .await
        .expect("set a variable");

    // A worker with the wrong token is refused and exits saying why.
    let mut intruder = Worker::start(&cluster, dir.path(), "intruder", "not-the-token");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = intruder.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "a worker with a wrong token kept running:\n{}",
            intruder.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success());
    let said = intruder.log();
    assert!(
        said.contains("refused this worker") && said.contains("not one the servers know"),
        "{said}"
    );

    let w1 = Worker::start(&cluster, dir.path(), "w1", TOKEN);
    let w2 = Worker::start(&cluster, dir.path(), "w2", TOKEN);
    trigger(&cluster, "xcom_flow", "r1").await;
    let state = wait_run(&cluster, "xcom_flow", "r1", Duration::from_secs(60), || {
        format!("{}\n{}", w1.log(), w2.log())
    })
    .await;
    let states: Vec<(String, S)> = tis(&cluster, "xcom_flow", "r1")
        .await
        .into_iter()
        .map(|t| (t.task_id, t.state))
        .collect();
    assert_eq!(state, DagRunState::Success, "{states:?}");
    let expected = [
        ("big", S::Success),
        ("double", S::Success),
        ("pick", S::Success),
        ("produce", S::Success),
        ("small", S::Skipped),
    ];
    assert_eq!(
        states,
        expected
            .iter()
            .map(|(t, s)| (t.to_string(), *s))
            .collect::<Vec<_>>()
    );
    let xcoms: Vec<XComRecord> = query(
        &cluster,
        Query::XComs {
            dag_id: "xcom_flow".into(),
            run_id: "r1".into(),
            task_id: None,
        },
    )
    .await;
    let value = |task: &str, key: &str| {
        xcoms
            .iter()
            .find(|x| x.task_id == task && x.key == key)
            .map(|x| x.value.clone())
            .unwrap_or_else(|| panic!("no XCom {task}.{key} in {xcoms:?}"))
    };
    assert_eq!(value("produce", "return_value"), serde_json::json!("7"));
    assert_eq!(value("produce", "rows"), serde_json::json!(42));
    assert_eq!(
        value("double", "return_value"),
        serde_json::json!({"value": 14, "run": "r1"})
    );
    assert_eq!(
        value("double", "seen_region"),
        serde_json::json!("eu-west-1")
    );
    assert_eq!(value("pick", "return_value"), serde_json::json!("big"));
    assert_eq!(value("big", "return_value"), serde_json::json!("rows=42"));
    // The log tail travelled with the report and was replicated.
    let produce = tis(&cluster, "xcom_flow", "r1")
        .await
        .into_iter()
        .find(|t| t.task_id == "produce")
        .expect("produce");
    let tail = produce.log_tail.unwrap_or_default();
    assert!(tail.contains("from xcom_flow"), "{tail}");

    // SIGTERM drains: the running task finishes and is recorded, then the worker
    // exits cleanly.
    push(&cluster, dir.path(), "drain.yml", DRAIN_DAG, &[]).await;
    trigger(&cluster, "drain", "r1").await;
    let holder = running_on(&cluster, "drain", "r1").await;
    let mut draining = if holder == "w1" { w1 } else { w2 };
    let signalled = Process::new("kill")
        .args(["-TERM", &draining.child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(signalled.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = draining.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the worker did not drain:\n{}",
            draining.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{}", draining.log());
    let drained = tis(&cluster, "drain", "r1").await.remove(0);
    assert_eq!(drained.state, S::Success, "{}", draining.log());
    assert_eq!(drained.try_number, 1);
    assert_eq!(drained.worker.as_deref(), Some(holder.as_str()));
}

const DRAIN_DAG: &str = "
drain:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    finish_me: {operator: bash, bash_command: 'sleep 2; echo drained'}
";
