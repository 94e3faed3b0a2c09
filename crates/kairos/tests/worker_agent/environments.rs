//! Execution environments and team-restricted workers with real processes: two
//! virtualenvs made here (one layered with a package from a wheel this test
//! writes, through the worker's own `layered_env`), two workers carrying one
//! each, the second serving team `x` only.
//!
//! - each task runs on the worker that has its environment, in that Python
//!   (`sys.prefix`, and the extra package imported);
//! - a task needing an environment no worker has stays queued, and `explain`
//!   names the environment and every live worker's;
//! - team `y`'s tasks never go to the `--teams x` worker, and one that only that
//!   worker's environment could run stays queued with the team named.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use kairos_dag::lifecycle::TaskInstanceState as S;
use kairos_dag::load::{LoadOptions, load_file};
use kairos_state::engine::explain::Explanation;
use kairos_state::records::XComRecord;
use kairos_state::{Command, Query};

use crate::support::*;

const CALLABLES: &str = "
import sys

def prefix():
    return sys.prefix

def extra():
    import kairos_extra
    return {'value': kairos_extra.VALUE, 'prefix': sys.prefix}
";

const ENVS_DAG: &str = "
envs:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    in_a:
      operator: airflow.operators.python.PythonOperator
      python_callable_name: prefix
      python_callable_file: callables.py
      environment: py-a
    in_b:
      operator: airflow.operators.python.PythonOperator
      python_callable_name: extra
      python_callable_file: callables.py
      environment: py-b
    nowhere:
      operator: airflow.operators.bash.BashOperator
      bash_command: 'true'
      environment: py-missing
";

const TEAM_Y_DAG: &str = "
team_y:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    t1: {operator: airflow.operators.bash.BashOperator, bash_command: 'sleep 0.2'}
    t2: {operator: airflow.operators.bash.BashOperator, bash_command: 'sleep 0.2'}
    t3: {operator: airflow.operators.bash.BashOperator, bash_command: 'sleep 0.2'}
    t4: {operator: airflow.operators.bash.BashOperator, bash_command: 'sleep 0.2'}
    only_b:
      operator: airflow.operators.bash.BashOperator
      bash_command: 'true'
      environment: py-b
";

/// A pure-Python wheel whose module `name` holds `source` (zipfile; pip takes
/// a RECORD without hashes).
pub(crate) fn make_wheel(dir: &Path, name: &str, version: &str, source: &str) -> PathBuf {
    let file = dir.join(format!("{name}-{version}-py3-none-any.whl"));
    let script = r#"
import sys, zipfile
path, name, version, source = sys.argv[1:5]
info = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": source,
    f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: kairos-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
files[f"{info}/RECORD"] = "".join(f"{p},,\n" for p in files) + f"{info}/RECORD,,\n"
with zipfile.ZipFile(path, "w") as z:
    for p, text in files.items():
        z.writestr(p, text)
"#;
    let status = Process::new("python3")
        .args(["-c", script])
        .arg(&file)
        .args([name, version, source])
        .status()
        .expect("python3");
    assert!(status.success(), "the wheel");
    file
}

pub(crate) fn venv(dir: &Path, name: &str) -> PathBuf {
    let venv = dir.join(name);
    let status = Process::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .expect("python3 -m venv");
    assert!(status.success(), "the venv {name}");
    // The real path: sys.prefix is reported resolved.
    venv.canonicalize().expect("the venv's path")
}

/// Pushes every DAG of `yaml` as owned by `team`.
async fn push_as(
    cluster: &kairos_testkit::Cluster,
    dir: &Path,
    name: &str,
    yaml: &str,
    team: &str,
) {
    let path = dir.join(name);
    std::fs::write(&path, yaml).expect("write the DAG");
    let opts = LoadOptions {
        team: Some(team.to_string()),
        ..LoadOptions::default()
    };
    let loaded = load_file(&path, &opts);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let commands: Vec<Command> = loaded
        .dags
        .into_iter()
        .map(|content| Command::PutDagVersion {
            content,
            files: loaded.contents.clone(),
        })
        .collect();
    cluster.client().propose(&commands).await.expect("push");
}

async fn explain(
    cluster: &kairos_testkit::Cluster,
    dag: &str,
    run: &str,
    task: &str,
) -> Explanation {
    query(
        cluster,
        Query::Explain {
            ti: ti_key(dag, run, task),
        },
    )
    .await
}

/// Waits until `task` of the run is in `state`.
async fn wait_state(
    cluster: &kairos_testkit::Cluster,
    dag: &str,
    run: &str,
    task: &str,
    state: S,
    logs: impl Fn() -> String,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all = tis(cluster, dag, run).await;
        if all.iter().any(|t| t.task_id == task && t.state == state) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{task} never {state}: {:?}\n{}\n{}",
            all.iter()
                .map(|t| (&t.task_id, t.state, &t.reason))
                .collect::<Vec<_>>(),
            cluster.logs(),
            logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_run_where_their_environment_and_team_are() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let venv_a = venv(dir, "venv-a");
    let base_b = venv(dir, "venv-b");
    let wheel = make_wheel(dir, "kairos_extra", "1.0", "VALUE = 42\n");
    let wheels = vec![(
        wheel.file_name().unwrap().to_string_lossy().into_owned(),
        std::fs::read(&wheel).unwrap(),
    )];
    let python_b = kairos_worker::layered_env::ensure(
        &base_b.join("bin/python"),
        "kairos_extra==1.0\n",
        &wheels,
        &dir.join("layers"),
    )
    .expect("the layered venv");
    let prefix_b = python_b
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .canonicalize()
        .unwrap();

    let cluster = start_cluster(dir);
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let env_a = format!("py-a={}", venv_a.display());
    let w1 = Worker::start_with(&cluster, dir, "w1", TOKEN, &["--environment", &env_a], &[]);
    let env_b = format!("py-b={}", python_b.display());
    let w2 = Worker::start_with(
        &cluster,
        dir,
        "w2",
        TOKEN,
        &["--env", &env_b, "--teams", "x"],
        &[],
    );
    let logs = || format!("w1:\n{}\nw2:\n{}", w1.log(), w2.log());

    std::fs::write(dir.join("callables.py"), CALLABLES).unwrap();
    push_as(&cluster, dir, "envs.yml", ENVS_DAG, "x").await;
    push_as(&cluster, dir, "team_y.yml", TEAM_Y_DAG, "y").await;
    trigger(&cluster, "envs", "r1").await;
    trigger(&cluster, "team_y", "r1").await;

    for task in ["in_a", "in_b"] {
        wait_state(&cluster, "envs", "r1", task, S::Success, logs).await;
    }
    let all = tis(&cluster, "envs", "r1").await;
    let worker_of = |task: &str| {
        all.iter()
            .find(|t| t.task_id == task)
            .and_then(|t| t.worker.clone())
    };
    assert_eq!(worker_of("in_a").as_deref(), Some("w1"));
    assert_eq!(worker_of("in_b").as_deref(), Some("w2"));
    let xcoms: Vec<XComRecord> = query(
        &cluster,
        Query::XComs {
            dag_id: "envs".into(),
            run_id: "r1".into(),
            task_id: None,
        },
    )
    .await;
    let value = |task: &str| {
        xcoms
            .iter()
            .find(|x| x.task_id == task && x.key == "return_value")
            .map(|x| x.value.clone())
            .unwrap_or_else(|| panic!("no return value of {task}: {xcoms:?}"))
    };
    assert_eq!(
        value("in_a"),
        serde_json::json!(venv_a.display().to_string())
    );
    assert_eq!(value("in_b")["value"], 42);
    assert_eq!(value("in_b")["prefix"], prefix_b.display().to_string());

    // Team y: w1 takes all of it; w2 (team x only) none, and the task only w2's
    // environment could run waits.
    for task in ["t1", "t2", "t3", "t4"] {
        wait_state(&cluster, "team_y", "r1", task, S::Success, logs).await;
    }
    let team_y = tis(&cluster, "team_y", "r1").await;
    for t in team_y.iter().filter(|t| t.task_id.starts_with('t')) {
        assert_eq!(t.worker.as_deref(), Some("w1"), "{t:?}");
    }

    // Still queued a while later, and explained.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let state = |all: &[kairos_state::records::TaskInstanceRecord], task: &str| {
        all.iter().find(|t| t.task_id == task).map(|t| t.state)
    };
    assert_eq!(
        state(&tis(&cluster, "envs", "r1").await, "nowhere"),
        Some(S::Queued)
    );
    assert_eq!(
        state(&tis(&cluster, "team_y", "r1").await, "only_b"),
        Some(S::Queued)
    );
    let why = explain(&cluster, "envs", "r1", "nowhere").await;
    assert_eq!(why.environment.as_deref(), Some("py-missing"));
    assert!(
        why.reasons.iter().any(|r| r.contains(
            "needs environment `py-missing`; no live worker serving queue `default` has it (workers: w1 [py-a, python3], w2 [py-b, python3])"
        )),
        "{why:?}"
    );
    let why = explain(&cluster, "team_y", "r1", "only_b").await;
    assert!(
        why.reasons.iter().any(|r| r.contains(
            "team `y` is served by no live worker serving queue `default` with environment `py-b` (workers: w2 [teams: x])"
        )),
        "{why:?}"
    );
}
