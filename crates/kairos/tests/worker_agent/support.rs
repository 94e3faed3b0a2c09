//! What the worker agent tests share: a cluster that knows the worker token,
//! worker processes, pushes, triggers and reads, and the one-at-a-time lock.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::records::{DagRunRecord, TaskInstanceRecord};
use kairos_state::{Command, Query, TaskInstanceKey};
use kairos_testkit::{CALM_TIMINGS, Cluster, put_dag_file_commands};

pub const TOKEN: &str = "test-worker-token";

/// The tests of this binary run one at a time: each starts three servers and two
/// workers, and three such clusters at once on two cores starve elections.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
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
pub fn start_cluster(dir: &Path) -> Cluster {
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

pub struct Worker {
    pub child: Child,
    log: PathBuf,
}

impl Worker {
    pub fn start(cluster: &Cluster, dir: &Path, id: &str, token: &str) -> Worker {
        Worker::start_with(cluster, dir, id, token, &[], &[])
    }

    /// A worker with more flags and variables of its own.
    pub fn start_with(
        cluster: &Cluster,
        dir: &Path,
        id: &str,
        token: &str,
        flags: &[&str],
        vars: &[(&str, &str)],
    ) -> Worker {
        use std::os::unix::fs::PermissionsExt;
        let token_file = dir.join(format!("{id}.token"));
        std::fs::write(&token_file, format!("{token}\n")).expect("token file");
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))
            .expect("token file mode");
        let log = dir.join(format!("{id}.log"));
        let child = Process::new(binary())
            .envs(vars.iter().copied())
            .env("KAIROS_INSECURE", "true")
            .args(["worker", "--servers", &cluster.addrs().join(",")])
            .args(["--queues", "default", "--slots", "4", "--worker-id", id])
            .arg("--data-dir")
            .arg(dir.join(id))
            .args(["--http-addr", "127.0.0.1:0", "--kill-grace-secs", "1"])
            .arg("--token-file")
            .arg(&token_file)
            .arg("--config")
            .arg(dir.join("no-such-kairos.toml"))
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("worker log"))
            .spawn()
            .expect("start a worker");
        Worker { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

pub async fn push(cluster: &Cluster, dir: &Path, name: &str, yaml: &str, files: &[(&str, &str)]) {
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

pub async fn query<T: serde::de::DeserializeOwned>(cluster: &Cluster, q: Query) -> T {
    let value = cluster.client().query(&q, true).await.expect("query");
    serde_json::from_value(value).expect("decode")
}

pub async fn tis(cluster: &Cluster, dag: &str, run: &str) -> Vec<TaskInstanceRecord> {
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
pub async fn running_on(cluster: &Cluster, dag: &str, run: &str) -> String {
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

pub fn ti_key(dag: &str, run: &str, task: &str) -> TaskInstanceKey {
    TaskInstanceKey {
        dag_id: dag.into(),
        run_id: run.into(),
        task_id: task.into(),
        map_index: -1,
    }
}

/// Waits until the run ends; returns its state.
pub async fn wait_run(
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

pub async fn trigger(cluster: &Cluster, dag: &str, run: &str) {
    cluster
        .client()
        .propose(&[Command::manual_run(dag, run, "test")])
        .await
        .expect("trigger");
}
