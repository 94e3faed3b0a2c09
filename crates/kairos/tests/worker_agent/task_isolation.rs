//! What a task can reach on its worker (issue 16, items 5 and 7): Variables it
//! echoes are `***` in its log and log tail, its rendered command is not in
//! /proc/PID/cmdline, it does not inherit the worker's environment, a cached DAG
//! file changed on disk is fetched again, a task that rewrites its runner does
//! not poison the next one, and with `--run-as nobody` tasks run as nobody and
//! cannot read the worker's token.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kairos_dag::lifecycle::{DagRunState, TaskInstanceState as S};
use kairos_state::records::{TaskInstanceRecord, VariableRecord, XComRecord};
use kairos_state::{Command, Query};

use crate::support::*;

/// Not a secret by its name: masked because it is a Variable the task read.
const DB_URL: &str = "postgres://app:Pa55-w0rd@db:5432/x";
/// Short, but named like a secret: masked anyway.
const API_PASSWORD: &str = "pw1";
const WORKER_SECRET: &str = "worker-only-s3cret";

fn guarded_dag(marks: &Path) -> String {
    format!(
        r#"
guarded:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    leak:
      operator: bash
      bash_command: |
        echo "db={{{{ var.value.db_url }}}}"
        echo "pw={{{{ var.value.api_password }}}}"
        echo "env=${{KAIROS_DEMO_SECRET:-absent}}"
        echo "$$" > {marks}/leak.pid
        while [ ! -e {marks}/go ]; do sleep 0.05; done
        echo "marker-{{{{ var.value.db_url }}}}" >&2
        echo done
    cache_user:
      operator: python
      python_callable_name: which
      python_callable_file: callables.py
      dependencies: [leak]
    poison:
      operator: python
      python_callable_name: poison
      python_callable_file: callables.py
      dependencies: [cache_user]
"#,
        marks = marks.display()
    )
}

const CALLABLES: &str = r#"
import sys

def which():
    return "original"

def poison():
    # The runner this process runs: a task rewriting it must not reach the next.
    with open(sys.argv[0], "w") as f:
        f.write("import sys\nsys.exit(3)\n")
    return "poisoned"
"#;

async fn set_variable(cluster: &kairos_testkit::Cluster, key: &str, value: &str) {
    cluster
        .client()
        .propose(&[Command::SetVariable {
            variable: VariableRecord {
                key: key.into(),
                value: value.into(),
                description: None,
                encrypted: false,
                team: None,
            },
        }])
        .await
        .expect("set a variable");
}

async fn ti(
    cluster: &kairos_testkit::Cluster,
    dag: &str,
    run: &str,
    task: &str,
) -> TaskInstanceRecord {
    tis(cluster, dag, run)
        .await
        .into_iter()
        .find(|t| t.task_id == task)
        .unwrap_or_else(|| panic!("no task {task}"))
}

async fn return_value(
    cluster: &kairos_testkit::Cluster,
    dag: &str,
    run: &str,
    task: &str,
) -> serde_json::Value {
    let xcoms: Vec<XComRecord> = query(
        cluster,
        Query::XComs {
            dag_id: dag.into(),
            run_id: run.into(),
            task_id: Some(task.into()),
        },
    )
    .await;
    xcoms
        .into_iter()
        .find(|x| x.key == "return_value")
        .map(|x| x.value)
        .unwrap_or_else(|| panic!("no return_value of {task} in {run}"))
}

async fn wait_for_file(path: &Path, worker: &Worker) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never written:\n{}",
            path.display(),
            worker.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every file under `dir` whose name is `name`.
fn find_files(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            find_files(&path, name, out);
        } else if path.file_name().is_some_and(|n| n == name) {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_see_masked_secrets_a_clean_environment_and_verified_files() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let marks = dir.path().join("marks");
    std::fs::create_dir_all(&marks).expect("marks dir");
    let cluster = start_cluster(dir.path());
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    set_variable(&cluster, "db_url", DB_URL).await;
    set_variable(&cluster, "api_password", API_PASSWORD).await;
    push(
        &cluster,
        dir.path(),
        "guarded.yml",
        &guarded_dag(&marks),
        &[("callables.py", CALLABLES)],
    )
    .await;
    let w1 = Worker::start_with(
        &cluster,
        dir.path(),
        "w1",
        TOKEN,
        &[],
        &[("KAIROS_DEMO_SECRET", WORKER_SECRET)],
    );
    trigger(&cluster, "guarded", "r1").await;

    // While the task runs, its command line holds no part of its command.
    let pid = wait_for_file(&marks.join("leak.pid"), &w1).await;
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid.trim())).expect("cmdline");
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        !cmdline.contains("echo") && !cmdline.contains("Pa55-w0rd"),
        "the rendered command is readable in /proc/{}/cmdline: {cmdline}",
        pid.trim()
    );
    std::fs::write(marks.join("go"), "").expect("go");

    let state = wait_run(&cluster, "guarded", "r1", Duration::from_secs(60), || {
        w1.log()
    })
    .await;
    assert_eq!(state, DagRunState::Success, "{}", w1.log());
    let tail = ti(&cluster, "guarded", "r1", "leak")
        .await
        .log_tail
        .unwrap_or_default();
    for shown in [
        "db=***",
        "pw=***",
        "env=absent",
        "marker-***",
        "running: bash:",
    ] {
        assert!(
            tail.contains(shown),
            "`{shown}` not in the log tail:\n{tail}"
        );
    }
    let mut logs = Vec::new();
    find_files(
        &dir.path().join("w1/logs/guarded/r1/leak"),
        "1.log",
        &mut logs,
    );
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = std::fs::read_to_string(&logs[0]).expect("the task's log");
    for text in [&tail, &log] {
        for secret in ["Pa55-w0rd", "pw=pw1", WORKER_SECRET] {
            assert!(!text.contains(secret), "`{secret}` is in the log:\n{text}");
        }
    }
    assert_eq!(
        return_value(&cluster, "guarded", "r1", "cache_user").await,
        "original"
    );

    // The cached callable is rewritten on the worker's disk: the next run
    // fetches it again instead of running the changed one.
    let mut cached = Vec::new();
    find_files(&dir.path().join("w1/files"), "callables.py", &mut cached);
    assert_eq!(cached.len(), 1, "{cached:?}");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cached[0], std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
    }
    std::fs::write(&cached[0], "def which():\n    return 'tampered'\n").expect("tamper");
    trigger(&cluster, "guarded", "r2").await;
    let state = wait_run(&cluster, "guarded", "r2", Duration::from_secs(60), || {
        w1.log()
    })
    .await;
    let states: Vec<(String, S, Option<String>)> = tis(&cluster, "guarded", "r2")
        .await
        .into_iter()
        .map(|t| (t.task_id, t.state, t.reason))
        .collect();
    // r1's `poison` rewrote its runner: r2's Python tasks still run.
    assert_eq!(state, DagRunState::Success, "{states:?}\n{}", w1.log());
    assert_eq!(
        return_value(&cluster, "guarded", "r2", "cache_user").await,
        "original"
    );
    assert!(w1.log().contains("does not match its hash"), "{}", w1.log());
}

fn whoami() -> String {
    std::process::Command::new("id")
        .arg("-un")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn uid_of(user: &str) -> Option<u32> {
    let out = std::process::Command::new("id")
        .args(["-u", user])
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

const AS_NOBODY_DAG: &str = r#"
as_nobody:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    who:
      operator: bash
      bash_command: |
        echo "uid=$(id -u)"
        if cat "$TOKEN_FILE" >/dev/null 2>&1; then echo token=readable; else echo token=unreadable; fi
        if ls "$CACHE_DIR" >/dev/null 2>&1; then echo cache=listable; else echo cache=hidden; fi
        echo "home=$HOME"
      env:
        TOKEN_FILE: "@TOKEN_FILE@"
        CACHE_DIR: "@CACHE_DIR@"
      append_env: true
    py_who:
      operator: python
      python_callable_name: who
      python_callable_file: who.py
      dependencies: [who]
"#;

const WHO: &str = "
import os

def who():
    return os.getuid()
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_run_as_tasks_run_as_that_user_and_cannot_read_the_token() {
    if uid_of(&whoami()) != Some(0) {
        // Not root: what can be checked is that the worker refuses, and says why.
        let dir = tempfile::tempdir().expect("tempdir");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kairos"))
            .args(["worker", "--run-as", "nobody", "--servers", "127.0.0.1:9"])
            .arg("--data-dir")
            .arg(dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run kairos worker");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains("root"), "{stderr}");
        return;
    }
    let nobody = uid_of("nobody").expect("this test needs a `nobody` user (Debian has one)");
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    {
        // The task's user must be able to pass through to its working directory.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))
            .expect("chmod");
    }
    let cluster = start_cluster(dir.path());
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let dag = AS_NOBODY_DAG
        .replace(
            "@TOKEN_FILE@",
            &dir.path().join("w1.token").display().to_string(),
        )
        .replace(
            "@CACHE_DIR@",
            &dir.path().join("w1/files").display().to_string(),
        );
    push(
        &cluster,
        dir.path(),
        "as_nobody.yml",
        &dag,
        &[("who.py", WHO)],
    )
    .await;
    let w1 = Worker::start_with(
        &cluster,
        dir.path(),
        "w1",
        TOKEN,
        &["--run-as", "nobody"],
        &[],
    );
    trigger(&cluster, "as_nobody", "r1").await;
    let state = wait_run(&cluster, "as_nobody", "r1", Duration::from_secs(60), || {
        w1.log()
    })
    .await;
    let states: Vec<(String, S, Option<String>)> = tis(&cluster, "as_nobody", "r1")
        .await
        .into_iter()
        .map(|t| (t.task_id, t.state, t.reason))
        .collect();
    assert_eq!(state, DagRunState::Success, "{states:?}\n{}", w1.log());
    let tail = ti(&cluster, "as_nobody", "r1", "who")
        .await
        .log_tail
        .unwrap_or_default();
    for shown in [
        format!("uid={nobody}"),
        "token=unreadable".into(),
        "cache=hidden".into(),
    ] {
        assert!(
            tail.contains(&shown),
            "`{shown}` not in the log tail:\n{tail}"
        );
    }
    assert_eq!(
        return_value(&cluster, "as_nobody", "r1", "py_who").await,
        nobody
    );
}
