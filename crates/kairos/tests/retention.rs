//! Retention on a real three-node cluster: the leader's standing policy
//! (`--retention-keep-last`) trims each DAG's ended runs on its own, `kairos db
//! clean` deletes more on request, running runs stay, and every node ends with
//! the same state. Deleting a whole DAG (`kairos dags delete`) goes the same
//! way, by bounded commands.

use std::path::Path;
use std::time::{Duration, Instant};

use kairos_dag::lifecycle::DagRunState;
use kairos_state::Command;
use kairos_testkit::{CALM_TIMINGS, Cluster, put_dag_command};

const DAG: &str = "
kept:
  schedule: null
  is_paused_upon_creation: false
  max_active_runs: 16
  tasks:
    only: {operator: bash, bash_command: 'true'}
";

async fn run_ids(cluster: &Cluster, node: u64) -> Vec<String> {
    let api = cluster.api(node).expect("api client");
    let runs = api
        .dag_runs("kept", kairos_client::Read::Local)
        .await
        .expect("runs");
    let mut ids: Vec<String> = runs.into_iter().map(|r| r.dag_run_id).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_trims_old_runs_and_db_clean_deletes_more_on_every_node() {
    let binary = Path::new(env!("CARGO_BIN_EXE_kairos"));
    let flags = [
        &CALM_TIMINGS[..],
        &["--retention-keep-last", "3", "--retention-interval-s", "1"],
    ]
    .concat();
    let cluster = Cluster::start(binary, 3, &flags).expect("start the cluster");
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let client = cluster.client();
    client
        .propose(&[put_dag_command(DAG).expect("the DAG")])
        .await
        .expect("push");
    // Six runs: r1..r5 ended (marked), r6 left running. No worker: nothing runs.
    for r in 1..=6 {
        let run = format!("r{r}");
        let made = client
            .propose(&[Command::manual_run("kept", &run, "test")])
            .await
            .expect("trigger");
        assert!(made.results[0].is_ok(), "{made:?}");
        if r <= 5 {
            let marked = client
                .propose(&[Command::SetDagRunState {
                    dag_id: "kept".into(),
                    run_id: run,
                    state: DagRunState::Success,
                }])
                .await
                .expect("mark");
            assert!(marked.results[0].is_ok(), "{marked:?}");
        }
    }

    // The standing policy keeps the newest three (r4, r5 and the running r6).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ids = run_ids(&cluster, 1).await;
        if ids == ["r4", "r5", "r6"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "retention did not trim the runs: {ids:?}\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // db clean: keep one; the running run stays whatever the count.
    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let cli = |args: &[&str]| cluster.cli(args).expect("kairos runs");
    let server = cluster.node(follower).http.clone();
    let (ok, out, err) = cli(&["db", "clean", "--server", &server]);
    assert!(
        !ok && err.contains("--older-than-days"),
        "a clean without a rule is refused before anything is sent: {out}{err}"
    );
    let (ok, out, err) = cli(&[
        "db",
        "clean",
        "--dag-id",
        "kept",
        "--keep-last",
        "0",
        "--server",
        &server,
        "-o",
        "json",
    ]);
    assert!(ok, "db clean: {out}{err}");
    let answer: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(answer["runs"], 2, "{answer}");
    assert_eq!(answer["task_instances"], 2, "{answer}");
    // An age nothing is old enough for deletes nothing.
    let (ok, out, err) = cli(&[
        "db",
        "clean",
        "--older-than-days",
        "30",
        "--server",
        &server,
    ]);
    assert!(ok && out.contains("deleted 0 runs"), "{out}{err}");

    cluster
        .wait_converged(0, Duration::from_secs(30))
        .await
        .expect("converged");
    for node in 1..=3 {
        assert_eq!(run_ids(&cluster, node).await, ["r6"], "node {node}");
    }
    let digests = cluster.digests().await.expect("digests");
    assert!(
        digests.windows(2).all(|w| w[0].1 == w[1].1),
        "every node holds the same state: {digests:?}"
    );
}

const DOOMED: &str = "
doomed:
  schedule: null
  is_paused_upon_creation: false
  max_active_runs: 16
  tasks:
    only: {operator: bash, bash_command: 'true'}
";

/// Deleting a DAG on a real cluster: refused (409) while a task instance of it
/// runs, then `kairos dags delete` removes it with a history longer than one
/// command deletes (450 runs: three bounded commands), on every node, while
/// another DAG keeps its run; the nodes end with the same state, and the DAG
/// pushed again starts from version 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dag_is_deleted_with_its_history_on_every_node() {
    let binary = Path::new(env!("CARGO_BIN_EXE_kairos"));
    let cluster = Cluster::start(binary, 3, &CALM_TIMINGS).expect("start the cluster");
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let client = cluster.client();
    let pushed = client
        .propose(&[
            put_dag_command(DAG).expect("kept"),
            put_dag_command(DOOMED).expect("doomed"),
            Command::manual_run("kept", "k1", "test"),
        ])
        .await
        .expect("push");
    assert!(pushed.results.iter().all(Result::is_ok), "{pushed:?}");
    let mut history = Vec::new();
    for r in 0..450 {
        let run = format!("r{r:03}");
        history.push(Command::manual_run("doomed", &run, "test"));
        history.push(Command::SetDagRunState {
            dag_id: "doomed".into(),
            run_id: run,
            state: DagRunState::Success,
        });
    }
    for chunk in history.chunks(300) {
        let made = client.propose(chunk).await.expect("history");
        assert!(made.results.iter().all(Result::is_ok), "{made:?}");
    }
    // A run whose task is running (handed to a worker that never reports).
    let busy = kairos_state::TaskInstanceKey {
        dag_id: "doomed".into(),
        run_id: "busy".into(),
        task_id: "only".into(),
        map_index: -1,
    };
    let started = client
        .propose(&[
            Command::manual_run("doomed", "busy", "test"),
            Command::Dispatch {
                ti: busy.clone(),
                worker: "nobody".into(),
                log_url: None,
                token: None,
            },
        ])
        .await
        .expect("start a task");
    assert!(started.results.iter().all(Result::is_ok), "{started:?}");

    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let api = cluster.api(follower).expect("api client");
    let refused = api.delete_dag("doomed").await.expect_err("a task runs");
    assert_eq!(refused.status(), Some(409), "{refused}");
    assert!(refused.to_string().contains("still running"), "{refused}");
    let dag = api
        .dag("doomed", kairos_client::Read::Consistent)
        .await
        .expect("still there");
    assert!(!dag.is_paused, "a refused deletion changes nothing");

    // The CLI asks for a confirmation it cannot get without a terminal.
    let server = cluster.node(follower).http.clone();
    let cli = |args: &[&str]| cluster.cli(args).expect("kairos runs");
    let (ok, out, err) = cli(&["dags", "delete", "doomed", "--server", &server]);
    assert!(!ok && err.contains("--yes"), "{out}{err}");
    let marked = client
        .propose(&[Command::SetDagRunState {
            dag_id: "doomed".into(),
            run_id: "busy".into(),
            state: DagRunState::Failed,
        }])
        .await
        .expect("mark");
    assert!(marked.results[0].is_ok(), "{marked:?}");
    let (ok, out, err) = cli(&["dags", "delete", "doomed", "--yes", "--server", &server]);
    assert!(ok && out.contains("doomed deleted"), "{out}{err}");

    cluster
        .wait_converged(0, Duration::from_secs(30))
        .await
        .expect("converged");
    for node in 1..=3 {
        let api = cluster.api(node).expect("api client");
        let gone = api
            .dag("doomed", kairos_client::Read::Local)
            .await
            .expect_err("deleted");
        assert_eq!(gone.status(), Some(404), "node {node}: {gone}");
        let versions = api.versions("doomed", kairos_client::Read::Local).await;
        assert!(
            versions.as_ref().map_or(true, |v| v.is_empty()),
            "node {node}: {versions:?}"
        );
        assert_eq!(run_ids(&cluster, node).await, ["k1"], "node {node}");
    }
    let digests = cluster.digests().await.expect("digests");
    assert!(
        digests.windows(2).all(|w| w[0].1 == w[1].1),
        "every node holds the same state: {digests:?}"
    );
    let again = api.delete_dag("doomed").await.expect_err("already gone");
    assert_eq!(again.status(), Some(404), "{again}");

    let repushed = client
        .propose(&[put_dag_command(DOOMED).expect("doomed")])
        .await
        .expect("push again");
    assert!(
        matches!(
            repushed.results[0],
            Ok(kairos_state::Outcome::DagVersion { version: 1, .. })
        ),
        "{repushed:?}"
    );
}

const LOGGED: &str = "
logged:
  schedule: null
  is_paused_upon_creation: false
  tasks:
    only: {operator: bash, bash_command: 'echo from the task'}
";

/// The servers' copies of attempt logs go with their runs: after `kairos db
/// clean` deletes a run, every node removes that run's logs at a later sweep
/// (the retention interval, after a grace of five), and keeps the others'.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_of_deleted_runs_leave_every_server() {
    let binary = Path::new(env!("CARGO_BIN_EXE_kairos"));
    let flags = [&CALM_TIMINGS[..], &["--retention-interval-s", "1"]].concat();
    let cluster = Cluster::start(binary, 3, &flags).expect("start the cluster");
    cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let workers = cluster.path().join("workers");
    std::fs::create_dir_all(&workers).expect("workers dir");
    std::fs::write(workers.join("no-kairos.toml"), "").expect("config");
    let mut worker = cluster
        .spawn_worker("w1", &workers, &[])
        .expect("start a worker");
    let client = cluster.client();
    // One entry each: the newer run is the later one.
    for commands in [
        vec![
            put_dag_command(LOGGED).expect("the DAG"),
            Command::manual_run("logged", "old", "test"),
        ],
        vec![Command::manual_run("logged", "new", "test")],
    ] {
        let pushed = client.propose(&commands).await.expect("push");
        assert!(pushed.results.iter().all(Result::is_ok), "{pushed:?}");
    }
    let log_of = |run: &str| format!("attempt-logs/logged/{run}/only/1.log");
    let holding = |path: &str| {
        cluster
            .nodes
            .iter()
            .filter(|n| n.data_dir.join(path).exists())
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while holding(&log_of("old")) < 2 || holding(&log_of("new")) < 2 {
        assert!(
            Instant::now() < deadline,
            "the logs never reached the servers\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = worker.kill();
    let _ = worker.wait();

    let leader = cluster
        .wait_leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    let server = cluster.node(leader).http.clone();
    let (ok, out, err) = cluster
        .cli(&[
            "db",
            "clean",
            "--dag-id",
            "logged",
            "--keep-last",
            "1",
            "--server",
            &server,
        ])
        .expect("kairos runs");
    assert!(ok && out.contains("deleted 1 run"), "{out}{err}");
    assert_eq!(run_ids_of(&cluster, "logged").await, ["new"]);

    // Gone from every node within the grace (5 s) and a sweep or two.
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster
        .nodes
        .iter()
        .any(|n| n.data_dir.join("attempt-logs/logged/old").exists())
    {
        assert!(
            Instant::now() < deadline,
            "the deleted run's logs stayed\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        holding(&log_of("new")) >= 2,
        "the kept run's log stays on the servers that had it"
    );
    let api = cluster.api(leader).expect("api client");
    let chunk = api
        .log("logged", "new", "only", 1, -1, 0)
        .await
        .expect("the kept run's log is served");
    assert!(chunk.text.contains("from the task"), "{chunk:?}");
}

async fn run_ids_of(cluster: &Cluster, dag_id: &str) -> Vec<String> {
    let api = cluster.api(1).expect("api client");
    let runs = api
        .dag_runs(dag_id, kairos_client::Read::Consistent)
        .await
        .expect("runs");
    runs.into_iter().map(|r| r.dag_run_id).collect()
}
