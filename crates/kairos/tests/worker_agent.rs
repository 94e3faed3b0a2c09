//! The worker agent with real processes: three `kairos server`s and two
//! `kairos worker`s on 127.0.0.1, with worker tokens and a short lease.
//!
//! - bash and python tasks pass values through XComs (`$KAIROS_XCOM_FILE`, stdout,
//!   return values, `xcom_pull` in templates, `var.value`) and a branch picks a path;
//! - `kill -9` of the worker running a task: the lease runs out, the other worker
//!   retries it, the run succeeds, and the killed try is recorded failed once;
//! - `kill -9` of the leader while tasks run: every task recorded once, on try 1;
//! - an `execution_timeout` kills a `sleep 600` and its whole process group;
//! - a worker with a wrong token is refused with a clear message.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::records::{
    DagRunRecord, TaskInstanceRecord, TryRecord, VariableRecord, XComRecord,
};
use kairos_state::{Command, Query, TaskInstanceKey};
use kairos_testkit::{CALM_TIMINGS, Cluster, put_dag_file_commands};

const TOKEN: &str = "test-worker-token";

/// The tests of this file run one at a time: each starts three servers and two
/// workers, and three such clusters at once on two cores starve elections.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kairos"))
}

/// A cluster whose servers know `TOKEN`, with a 6 s lease (long enough that a
/// failover does not make workers stop their attempts: they fence themselves
/// only after 6 - 1 - 0.6 - 0.25 = 4.15 s without a confirmed leader).
fn start_cluster(dir: &Path) -> Cluster {
    let tokens = dir.join("server-tokens");
    std::fs::write(&tokens, format!("# workers\n{TOKEN}\n")).expect("token file");
    let tokens = tokens.display().to_string();
    let mut flags: Vec<&str> = CALM_TIMINGS.to_vec();
    flags.extend([
        "--worker-token-file",
        &tokens,
        "--worker-lease-ms",
        "6000",
        "--worker-heartbeat-ms",
        "500",
    ]);
    Cluster::start(binary(), 3, &flags).expect("start the cluster")
}

struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn start(cluster: &Cluster, dir: &Path, id: &str, token: &str) -> Worker {
        let token_file = dir.join(format!("{id}.token"));
        std::fs::write(&token_file, format!("{token}\n")).expect("token file");
        let log = dir.join(format!("{id}.log"));
        let child = Process::new(binary())
            .args(["worker", "--servers", &cluster.addrs().join(",")])
            .args(["--queues", "default", "--slots", "4", "--worker-id", id])
            .arg("--data-dir")
            .arg(dir.join(id))
            .args(["--http-addr", "127.0.0.1:0", "--kill-grace-secs", "1"])
            .arg("--token-file")
            .arg(&token_file)
            .arg("--config")
            .arg(dir.join("no-such-kairos.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("worker log"))
            .spawn()
            .expect("start a worker");
        Worker { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn push(cluster: &Cluster, dir: &Path, name: &str, yaml: &str, files: &[(&str, &str)]) {
    let path = dir.join(name);
    std::fs::write(&path, yaml).expect("write the DAG");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("write a file");
    }
    let commands = put_dag_file_commands(&path).expect("a valid DAG");
    cluster
        .client()
        .propose(&commands)
        .await
        .expect("push the DAG");
}

async fn query<T: serde::de::DeserializeOwned>(cluster: &Cluster, q: Query) -> T {
    let value = cluster.client().query(&q, true).await.expect("query");
    serde_json::from_value(value).expect("decode")
}

async fn tis(cluster: &Cluster, dag: &str, run: &str) -> Vec<TaskInstanceRecord> {
    query(
        cluster,
        Query::TaskInstances {
            dag_id: dag.into(),
            run_id: run.into(),
            after: None,
            limit: None,
        },
    )
    .await
}

/// Waits until a task instance of the run is running; returns its worker's id.
async fn running_on(cluster: &Cluster, dag: &str, run: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ti = tis(cluster, dag, run).await;
        if let Some(w) = ti
            .iter()
            .find(|t| t.state == S::Running)
            .and_then(|t| t.worker.clone())
        {
            return w;
        }
        assert!(Instant::now() < deadline, "never running: {ti:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ti_key(dag: &str, run: &str, task: &str) -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id: dag.into(),
        run_id: run.into(),
        task_id: task.into(),
        map_index: -1,
    }
}

/// Waits until the run ends; returns its state.
async fn wait_run(
    cluster: &Cluster,
    dag: &str,
    run: &str,
    within: Duration,
    logs: impl Fn() -> String,
) -> DagRunState {
    let deadline = Instant::now() + within;
    loop {
        let value = cluster
            .client()
            .query(
                &Query::Run {
                    dag_id: dag.into(),
                    run_id: run.into(),
                },
                true,
            )
            .await;
        if let Ok(value) = value {
            if let Ok(Some(r)) = serde_json::from_value::<Option<DagRunRecord>>(value) {
                if r.state.is_finished() {
                    return r.state;
                }
            }
        }
        if Instant::now() > deadline {
            let states: Vec<String> = tis(cluster, dag, run)
                .await
                .iter()
                .map(|t| format!("{}={} ({:?})", t.task_id, t.state, t.reason))
                .collect();
            panic!(
                "run {dag}/{run} did not finish: {states:?}\n{}\n{}",
                cluster.logs(),
                logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn trigger(cluster: &Cluster, dag: &str, run: &str) {
    cluster
        .client()
        .propose(&[Command::manual_run(dag, run, "test")])
        .await
        .expect("trigger");
}

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

const SLOW_DAG: &str = "
slow:
  schedule: null
  is_paused_upon_creation: false
  default_args: {retries: 1, retry_delay: 0}
  tasks:
    work:
      operator: bash
      bash_command: 'sleep 6; echo done'
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
    push(&cluster, dir.path(), "slow.yml", SLOW_DAG, &[]).await;
    let mut workers = [
        Worker::start(&cluster, dir.path(), "w1", TOKEN),
        Worker::start(&cluster, dir.path(), "w2", TOKEN),
    ];
    trigger(&cluster, "slow", "r1").await;
    let holder = running_on(&cluster, "slow", "r1").await;
    let killed = if holder == "w1" { 0 } else { 1 };
    workers[killed].kill();
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

    // Logs through the API of any node: the live worker's file, then (once that
    // worker is gone too) the replicated tail; the killed worker's try is gone.
    let api = format!(
        "http://{}/api/v1/dags/slow/dagRuns/r1/taskInstances/work/logs",
        cluster.node(1).http
    );
    let log = |try_number: u32| {
        let url = format!("{api}/{try_number}");
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
    let (status, source, text) = log(2).await;
    assert_eq!(
        (status.as_u16(), source.as_str()),
        (200, "worker"),
        "{text}"
    );
    assert!(text.contains("done"), "{text}");
    let (status, _, text) = log(1).await;
    assert_eq!(status.as_u16(), 404, "{text}");
    assert!(text.contains("does not answer"), "{text}");
    workers[1 - killed].kill();
    let (status, source, text) = log(2).await;
    assert_eq!(
        (status.as_u16(), source.as_str()),
        (200, "replicated-tail"),
        "{text}"
    );
    assert!(text.contains("done"), "{text}");
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
