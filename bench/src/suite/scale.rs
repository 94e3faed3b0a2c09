//! Scale: a cluster holding many DAGs and a long history, generated through the
//! normal commands in batches (`PutDagVersion`, then `CreateDagRun` and
//! `SetDagRunState success` per run, as a user marking runs would): each node's
//! resident memory and data dir size, the p99 of listing a DAG's last 25 runs from a
//! follower over HTTP, and how long a new node takes to receive the leader's
//! snapshot and catch up. With more than one size (`--grow-runs-per-dag`) the
//! same cluster is grown and measured again at each, so the figures show how
//! they grow with history (`growth.rs` writes the table and the plot).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kairos_client::RunsQuery;
use kairos_dag::lifecycle::DagRunState;
use kairos_dag::lifecycle::RunType;
use kairos_server::ClusterClient;
use kairos_state::{Command, RejectionKind};
use kairos_testkit::{Node, free_addr, put_dag_command};

use super::Error;
use super::report::median;
use super::stack::{Stack, dir_bytes, peak_rss_mib, quantile, rss_mib};

/// A snapshot every 100 entries and 10 kept behind it: with ~1,000 commands per
/// entry, the history ends up in a snapshot and the log behind it is purged, as in
/// a cluster that has lived long; a new node can only catch up from the snapshot.
/// How many readings of each node's RSS its figure is the median of.
const RSS_READINGS: usize = 5;

pub const SNAPSHOT_FLAGS: [&str; 4] = ["--snapshot-every", "100", "--keep-behind-snapshot", "10"];

#[derive(Debug, Clone)]
pub struct Shape {
    pub dags: usize,
    /// Runs per DAG at the first measurement: its figures are the table's.
    pub runs_per_dag: usize,
    pub tasks_per_dag: usize,
    /// Larger runs per DAG the history then grows to, measured again at each.
    pub grow_to: Vec<usize>,
}

impl Shape {
    pub fn task_instances(&self) -> usize {
        self.task_instances_at(self.runs_per_dag)
    }

    pub fn task_instances_at(&self, runs_per_dag: usize) -> usize {
        self.dags * runs_per_dag * self.tasks_per_dag
    }

    /// Runs per DAG at each measurement, ascending.
    pub fn steps(&self) -> Vec<usize> {
        let mut steps = vec![self.runs_per_dag];
        for &runs in &self.grow_to {
            if runs > *steps.last().unwrap_or(&0) {
                steps.push(runs);
            }
        }
        steps
    }
}

/// What one measurement at one size of history read.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub runs_per_dag: usize,
    pub task_instances: usize,
    /// How long generating the history since the last measurement took.
    pub history_s: f64,
    /// Per node: the median of its readings.
    pub rss_mib: Vec<f64>,
    /// Per node: every reading.
    pub rss_samples_mib: Vec<Vec<f64>>,
    /// Per node: VmHWM when the readings were taken.
    pub peak_rss_mib: Vec<f64>,
    pub data_dir_mib: Vec<f64>,
    /// Per round of list requests, in ms.
    pub list_p99_ms: Vec<f64>,
    pub list_p50_ms: Vec<f64>,
    /// Per round of adding an empty node, in seconds.
    pub catch_up_s: Vec<f64>,
    pub new_node_peak_rss_mib: Vec<f64>,
    pub snapshot_mib: f64,
}

#[derive(Debug, Clone, Default)]
pub struct ScaleFigures {
    pub push_s: f64,
    pub history_s: f64,
    /// Per node: the median of its readings.
    pub rss_mib: Vec<f64>,
    /// Per node: every reading.
    pub rss_samples_mib: Vec<Vec<f64>>,
    /// Per node: VmHWM, the most it ever held, when the readings were taken.
    pub peak_rss_mib: Vec<f64>,
    /// Per node: VmHWM at the end of the phase (after the catch-ups and the
    /// purge, which build and send snapshots): the most it held at any time.
    pub peak_rss_end_mib: Vec<f64>,
    /// Each added node's VmHWM just before it is removed: what receiving and
    /// installing the snapshot cost it.
    pub new_node_peak_rss_mib: Vec<f64>,
    pub data_dir_mib: Vec<f64>,
    /// p99 of each round of list requests, in ms.
    pub list_p99_ms: Vec<f64>,
    pub list_p50_ms: Vec<f64>,
    /// Each round of adding an empty node, in seconds.
    pub catch_up_s: Vec<f64>,
    pub snapshot_mib: f64,
    /// Retention: every DAG's runs but the newest fifth deleted by one purge
    /// (`POST /cluster/purge`, keep_last): how long it took, what went, and the
    /// snapshot and data dir after it.
    pub purge_s: f64,
    pub purged_runs: u64,
    pub purged_task_instances: u64,
    pub snapshot_after_purge_mib: f64,
    pub data_dir_after_purge_mib: Vec<f64>,
    /// Every measurement, the first one (whose figures are above) included.
    pub growth: Vec<Reading>,
    /// DAGs deleted whole (`DELETE /dags/{dag_id}`) before the purge, with
    /// all their history: how many, their task instances, how long.
    pub deleted_dags: usize,
    pub deleted_dag_task_instances: u64,
    pub delete_dags_s: f64,
}

/// The size of the newest snapshot in a node's snapshot directory: the data
/// file `current.meta` names (or, from a version that kept one file,
/// `current.snapshot`).
fn current_snapshot_bytes(dir: &Path) -> Option<u64> {
    let named = std::fs::read(dir.join("current.meta"))
        .ok()
        .and_then(|meta| serde_json::from_slice::<serde_json::Value>(&meta).ok())
        .and_then(|meta| meta["file"].as_str().map(|file| dir.join(file)))
        .unwrap_or_else(|| dir.join("current.snapshot"));
    std::fs::metadata(named).ok().map(|m| m.len())
}

/// The largest file in `dir` (the newest snapshot, next to older ones kept).
fn largest_file(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

fn dag_id(i: usize) -> String {
    format!("scale_{i:05}")
}

fn dag_yaml(i: usize, tasks: usize) -> String {
    let mut yaml = format!(
        "{}:\n  schedule: null\n  is_paused_upon_creation: true\n  tags: [bench]\n  tasks:\n",
        dag_id(i)
    );
    for t in 0..tasks {
        yaml.push_str(&format!(
            "    t{t}:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: 'true'\n"
        ));
        if t > 0 {
            yaml.push_str(&format!("      dependencies: [t{}]\n", t - 1));
        }
    }
    yaml
}

/// Proposes `batches` with up to 4 in flight (the leader commits them in shared
/// entries, as it would for many clients).
async fn propose_all(client: &Arc<ClusterClient>, batches: Vec<Vec<Command>>) -> Result<(), Error> {
    let mut pending = tokio::task::JoinSet::new();
    let total = batches.len();
    let started = Instant::now();
    for (n, batch) in batches.into_iter().enumerate() {
        if n > 0 && n % (total / 10).max(1) == 0 {
            eprintln!(
                "   {n} of {total} proposals sent, {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        while pending.len() >= 4 {
            if let Some(done) = pending.join_next().await {
                done??;
            }
        }
        let client = client.clone();
        pending.spawn(async move { propose_batch(&client, &batch).await });
    }
    while let Some(done) = pending.join_next().await {
        done??;
    }
    Ok(())
}

/// One batch, sent again when its outcome is unknown (a timeout while the cluster
/// was busy): a run created the first time is then refused as existing, which is
/// what the batch wanted, and marking a run success again changes nothing.
async fn propose_batch(client: &ClusterClient, batch: &[Command]) -> Result<(), String> {
    let mut tries = 0;
    loop {
        tries += 1;
        match client.propose(batch).await {
            Ok(reply) => {
                let refused = reply.results.iter().find(|r| match r {
                    Ok(_) => false,
                    Err(e) => !(tries > 1 && e.kind == RejectionKind::AlreadyExists),
                });
                return match refused {
                    Some(refused) => Err(format!("a command was refused: {refused:?}")),
                    None => Ok(()),
                };
            }
            Err(e) if tries < 5 => eprintln!("   a proposal failed ({e}); sending it again"),
            Err(e) => return Err(format!("a proposal failed 5 times: {e}")),
        }
    }
}

pub async fn measure(
    binary: &Path,
    shape: &Shape,
    list_requests: usize,
    rounds: usize,
) -> Result<ScaleFigures, Error> {
    let mut stack = Stack::start(binary, 0, &SNAPSHOT_FLAGS).await?;
    let leader = stack.leader().await?;
    let client = Arc::new(stack.cluster.client_via(leader));
    let mut figures = ScaleFigures::default();

    let started = Instant::now();
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    for i in 0..shape.dags {
        batch.push(put_dag_command(&dag_yaml(i, shape.tasks_per_dag))?);
        if batch.len() == 100 {
            batches.push(std::mem::take(&mut batch));
        }
    }
    batches.push(batch);
    propose_all(&client, batches).await?;
    figures.push_s = started.elapsed().as_secs_f64();

    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut made = 0;
    for runs_per_dag in shape.steps() {
        if made > 0 {
            eprintln!(
                "== scale: growing the history to {} task instances",
                shape.task_instances_at(runs_per_dag)
            );
        }
        let started = Instant::now();
        generate_history(&client, shape, made..runs_per_dag).await?;
        let history_s = started.elapsed().as_secs_f64();
        made = runs_per_dag;
        let mut reading = read_at(
            &mut stack,
            leader,
            shape,
            runs_per_dag,
            list_requests,
            rounds,
            &mut seed,
        )
        .await?;
        reading.history_s = history_s;
        eprintln!(
            "   at {} task instances (generated in {history_s:.1} s): RSS {:?} MiB, data dir {:?} MiB, \
             follower list p99 {:?} ms, caught up in {:?} s, snapshot {:.0} MiB",
            reading.task_instances,
            reading
                .rss_mib
                .iter()
                .map(|v| v.round())
                .collect::<Vec<_>>(),
            reading
                .data_dir_mib
                .iter()
                .map(|v| v.round())
                .collect::<Vec<_>>(),
            reading.list_p99_ms,
            reading.catch_up_s,
            reading.snapshot_mib
        );
        if figures.growth.is_empty() {
            figures.history_s = history_s;
            figures.rss_mib = reading.rss_mib.clone();
            figures.rss_samples_mib = reading.rss_samples_mib.clone();
            figures.peak_rss_mib = reading.peak_rss_mib.clone();
            figures.data_dir_mib = reading.data_dir_mib.clone();
            figures.list_p99_ms = reading.list_p99_ms.clone();
            figures.list_p50_ms = reading.list_p50_ms.clone();
            figures.catch_up_s = reading.catch_up_s.clone();
            figures.new_node_peak_rss_mib = reading.new_node_peak_rss_mib.clone();
            figures.snapshot_mib = reading.snapshot_mib;
        }
        figures.growth.push(reading);
    }
    delete_dags(&stack, leader, shape, made, &mut figures).await?;
    purge(&mut stack, &client, leader, shape, made, &mut figures).await?;
    Ok(figures)
}

/// Runs a day apart for every DAG, the `runs` of each (by index), each created
/// and marked success in the same batch.
async fn generate_history(
    client: &Arc<ClusterClient>,
    shape: &Shape,
    runs: std::ops::Range<usize>,
) -> Result<(), Error> {
    let base = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")?.to_utc();
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    for i in 0..shape.dags {
        for r in runs.clone() {
            let date = base + chrono::Duration::days(r as i64);
            let run_id = format!("manual__{}", date.format("%Y-%m-%d"));
            batch.push(Command::CreateDagRun {
                dag_id: dag_id(i),
                run_id: run_id.clone(),
                run_type: RunType::Manual,
                version: None,
                logical_date: Some(date),
                data_interval_start: Some(date),
                data_interval_end: Some(date + chrono::Duration::days(1)),
                run_after: None,
                conf: Default::default(),
                triggered_by: "bench".into(),
            });
            batch.push(Command::SetDagRunState {
                dag_id: dag_id(i),
                run_id,
                state: DagRunState::Success,
            });
            if batch.len() >= 1000 {
                batches.push(std::mem::take(&mut batch));
            }
        }
    }
    batches.push(batch);
    propose_all(client, batches).await
}

/// One measurement of a cluster holding `runs_per_dag` runs of every DAG: each
/// node's memory and data dir, listing from a follower, and `rounds` new nodes
/// catching up.
async fn read_at(
    stack: &mut Stack,
    leader: u64,
    shape: &Shape,
    runs_per_dag: usize,
    list_requests: usize,
    rounds: usize,
    seed: &mut u64,
) -> Result<Reading, Error> {
    let mut figures = Reading {
        runs_per_dag,
        task_instances: shape.task_instances_at(runs_per_dag),
        ..Reading::default()
    };
    let applied = stack
        .cluster
        .wait_converged(0, Duration::from_secs(600))
        .await?;

    // A node's RSS moves by hundreds of MiB while it builds a snapshot (one
    // buffer, see the README): one reading lands anywhere in that. Each node's
    // figure is the median of 5 readings a second apart; the peak of its life
    // (VmHWM) is reported beside it.
    let mut readings: Vec<Vec<f64>> = vec![Vec::new(); stack.cluster.nodes.len()];
    for round in 0..RSS_READINGS {
        if round > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        for (node, seen) in stack.cluster.nodes.iter().zip(readings.iter_mut()) {
            if let Some(child) = &node.child {
                seen.push(rss_mib(child.id()).unwrap_or(f64::NAN));
            }
        }
    }
    for (node, seen) in stack.cluster.nodes.iter().zip(readings) {
        if let Some(child) = &node.child {
            figures.rss_mib.push(median(&seen));
            figures.rss_samples_mib.push(seen);
            figures
                .peak_rss_mib
                .push(peak_rss_mib(child.id()).unwrap_or(f64::NAN));
        }
        figures
            .data_dir_mib
            .push(dir_bytes(&node.data_dir) as f64 / 1048576.0);
    }

    // A DAG's last 25 runs from a follower, newest first (the grid's read).
    let follower = (1..=3).find(|id| *id != leader).unwrap_or(2);
    let api = stack.cluster.api(follower)?;
    let newest = RunsQuery {
        order_by: Some("-logical_date".into()),
        limit: Some(25),
        ..RunsQuery::default()
    };
    for _ in 0..rounds {
        let mut took = Vec::with_capacity(list_requests);
        for _ in 0..list_requests {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            let dag = dag_id((*seed % shape.dags as u64) as usize);
            let sent = Instant::now();
            let listed = api
                .dag_runs_page(&dag, &newest)
                .await
                .map_err(|e| format!("listing {dag}'s runs: {e}"))?;
            took.push(sent.elapsed().as_secs_f64() * 1000.0);
            let count = listed.dag_runs.len();
            if count != runs_per_dag.min(25) {
                return Err(format!("listing {dag}'s runs gave {count} runs").into());
            }
        }
        figures.list_p99_ms.push(quantile(&took, 0.99));
        figures.list_p50_ms.push(quantile(&took, 0.5));
    }

    // A new, empty node added `rounds` times: from `add-node` until it has applied
    // everything the leader had.
    let id = 4u64;
    stack.cluster.nodes.push(Node {
        id,
        grpc: free_addr()?,
        http: free_addr()?,
        data_dir: stack.cluster.path().join("node4"),
        log: stack.cluster.path().join("node4.log"),
        child: None,
        extra: SNAPSHOT_FLAGS.iter().map(|s| s.to_string()).collect(),
        with_peers: false,
    });
    for _ in 0..rounds {
        let target = stack
            .cluster
            .status(leader)
            .await
            .map_or(applied, |s| s.last_applied);
        stack.cluster.spawn(id)?;
        let started = Instant::now();
        let leader_http = stack.cluster.node(leader).http.clone();
        let (grpc, node_http) = (
            stack.cluster.node(id).grpc.clone(),
            stack.cluster.node(id).http.clone(),
        );
        let id_arg = id.to_string();
        let (ok, out, err) = stack.cluster.cluster_cli(
            &leader_http,
            &[
                "add-node",
                "--node-id",
                &id_arg,
                "--grpc-addr",
                &grpc,
                "--http-addr",
                &node_http,
            ],
        )?;
        if !ok {
            return Err(format!("add-node failed: {out}{err}\n{}", stack.cluster.logs()).into());
        }
        let deadline = Instant::now() + Duration::from_secs(600);
        let status = loop {
            if let Some(status) = stack.cluster.status(id).await {
                if status.last_applied >= target {
                    break status;
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the new node did not catch up to index {target} in 600 s: {:?}\n{}",
                    stack.cluster.status(id).await,
                    stack.cluster.logs()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        figures.catch_up_s.push(started.elapsed().as_secs_f64());
        if status.snapshot_index == 0 {
            return Err(
                "the new node caught up without a snapshot: the measurement would not be of one"
                    .into(),
            );
        }
        figures.snapshot_mib =
            largest_file(&stack.cluster.node(leader).data_dir.join("snapshots")) as f64 / 1048576.0;
        let (ok, out, err) = stack
            .cluster
            .cluster_cli(&leader_http, &["remove-node", "--node-id", &id_arg])?;
        if !ok {
            return Err(format!("remove-node failed: {out}{err}").into());
        }
        if let Some(child) = &stack.cluster.node(id).child {
            figures
                .new_node_peak_rss_mib
                .push(peak_rss_mib(child.id()).unwrap_or(f64::NAN));
        }
        stack.cluster.kill(id);
        std::fs::remove_dir_all(&stack.cluster.node(id).data_dir)?;
    }
    stack.cluster.nodes.retain(|n| n.id != id);
    Ok(figures)
}

/// How many DAGs `delete_dags` deletes (at most): the newest ids.
const DAGS_DELETED: usize = 100;

/// Deletes the last [`DAGS_DELETED`] DAGs with their whole history, one
/// `DELETE /dags/{dag_id}` after another through the leader, and checks they
/// are gone. A build without DAG deletion reports none.
async fn delete_dags(
    stack: &Stack,
    leader: u64,
    shape: &Shape,
    runs_per_dag: usize,
    figures: &mut ScaleFigures,
) -> Result<(), Error> {
    let n = DAGS_DELETED.min(shape.dags / 10);
    let api = stack.cluster.api(leader)?;
    let started = Instant::now();
    for i in shape.dags - n..shape.dags {
        let dag = dag_id(i);
        match api.delete_dag(&dag).await {
            Ok(()) => {}
            Err(e) if e.status() == Some(405) || e.status() == Some(404) && i == shape.dags - n => {
                eprintln!("   no DAG deletion measured: {e}");
                figures.delete_dags_s = f64::NAN;
                return Ok(());
            }
            Err(e) => return Err(format!("deleting {dag}: {e}").into()),
        }
    }
    figures.delete_dags_s = started.elapsed().as_secs_f64();
    figures.deleted_dags = n;
    figures.deleted_dag_task_instances = (n * runs_per_dag * shape.tasks_per_dag) as u64;
    let gone = api
        .dag(&dag_id(shape.dags - 1), kairos_client::Read::Consistent)
        .await;
    if gone.as_ref().err().and_then(|e| e.status()) != Some(404) {
        return Err(format!("a deleted DAG is still there: {gone:?}").into());
    }
    Ok(())
}

/// Retention at the end: every DAG's runs but the newest fifth deleted by one
/// purge; what it took, and the snapshot and data dirs after it.
async fn purge(
    stack: &mut Stack,
    client: &Arc<ClusterClient>,
    leader: u64,
    shape: &Shape,
    runs_per_dag: usize,
    figures: &mut ScaleFigures,
) -> Result<(), Error> {
    // Retention: keep each DAG's newest fifth of its runs. A build without
    // retention (an older commit measured for comparison) reports none.
    let keep_last = (runs_per_dag / 5) as u32;
    let admin = stack.cluster.api(leader)?;
    let started = Instant::now();
    let purged = match admin
        .purge_all(&kairos_client::api::PurgeRequest {
            keep_last: Some(keep_last),
            ..Default::default()
        })
        .await
    {
        Ok(purged) => purged,
        Err(e) => {
            eprintln!("   no purge measured: {e}");
            figures.purge_s = f64::NAN;
            figures.snapshot_after_purge_mib = f64::NAN;
            return Ok(());
        }
    };
    figures.purge_s = started.elapsed().as_secs_f64();
    figures.purged_runs = purged.runs;
    figures.purged_task_instances = purged.task_instances;
    let left = shape.dags - figures.deleted_dags;
    let expected = (left * runs_per_dag.saturating_sub(keep_last as usize)) as u64;
    if purged.runs != expected {
        // A command whose answer was lost to a leader change is sent again and
        // deletes what is left, so the totals can fall short of what went. A
        // second purge that finds nothing tells the two apart.
        let again = admin
            .purge_all(&kairos_client::api::PurgeRequest {
                keep_last: Some(keep_last),
                ..Default::default()
            })
            .await?;
        if again.runs != 0 || purged.runs > expected {
            return Err(format!(
                "the purge deleted {} runs, not {expected} (and {} more when asked again)",
                purged.runs, again.runs
            )
            .into());
        }
        eprintln!(
            "   the purge answered {} runs, not {expected}: the answers of {} were lost to a \
             leader change (sent again); a second purge found none left",
            purged.runs,
            expected - purged.runs
        );
        figures.purged_runs = expected;
    }
    stack
        .cluster
        .wait_converged(0, Duration::from_secs(600))
        .await?;
    // The next snapshot holds what is left (one is built every 100 entries:
    // write until the leader's snapshot index moves past the purge).
    let purged_at = stack
        .cluster
        .status(leader)
        .await
        .map_or(0, |s| s.last_applied);
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut pool = 0u32;
    while stack
        .cluster
        .status(leader)
        .await
        .is_none_or(|s| s.snapshot_index <= purged_at)
    {
        if Instant::now() > deadline {
            return Err("no snapshot was built after the purge within 300 s".into());
        }
        pool += 1;
        propose_batch(client, &[Command::set_pool("bench_after_purge", pool)]).await?;
    }
    let snapshots = stack.cluster.node(leader).data_dir.join("snapshots");
    figures.snapshot_after_purge_mib =
        current_snapshot_bytes(&snapshots).map_or(f64::NAN, |bytes| bytes as f64 / 1048576.0);
    for node in &stack.cluster.nodes {
        figures
            .data_dir_after_purge_mib
            .push(dir_bytes(&node.data_dir) as f64 / 1048576.0);
        if let Some(child) = &node.child {
            figures
                .peak_rss_end_mib
                .push(peak_rss_mib(child.id()).unwrap_or(f64::NAN));
        }
    }
    Ok(())
}
