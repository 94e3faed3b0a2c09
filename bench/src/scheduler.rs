//! `kairos-bench scheduler`: the scheduler on a three-node cluster of real servers.
//!
//! - Task-to-task latency: a chain of no-op tasks run by a worker that speaks the
//!   real protocol and does no work; the gap is measured from the commit of one
//!   task's success to the dispatch of the next (both stamped by the leader), and
//!   from the worker's side (report sent to next task received). Then the poll
//!   path: triggers whose task goes to the waiting worker's poll (a `Dispatch`
//!   of its own), from the trigger's commit to the task received.
//! - Scheduling throughput: runs of a wide DAG triggered at once, limits raised
//!   out of the way; task instances queued per second, from the trigger's commit to
//!   the last one queued.

use std::path::Path;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kairos_dag::lifecycle::TaskInstanceState;
use kairos_state::records::{DagRunRecord, PoolRecord, Settings, TaskInstanceRecord};
use kairos_state::{Command, Query};
use kairos_testkit::{Cluster, chain_yaml, put_dag_command};

type Error = Box<dyn std::error::Error>;

fn manual(dag_id: &str, run_id: &str) -> Command {
    Command::manual_run(dag_id, run_id, "bench")
}

async fn tis(
    cluster: &Cluster,
    dag_id: &str,
    run_id: &str,
) -> Result<Vec<TaskInstanceRecord>, Error> {
    let value = cluster
        .client()
        .query(
            &Query::TaskInstances {
                dag_id: dag_id.into(),
                run_id: run_id.into(),
                after: None,
                limit: None,
            },
            false,
        )
        .await?;
    Ok(serde_json::from_value(value)?)
}

/// Triggers measured on the poll path (after one that warms up).
const POLL_PATH_RUNS: usize = 30;

fn pct(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

pub async fn run(binary: &Path, chain: usize, ready: usize) -> Result<(), Error> {
    let cluster = Cluster::start(binary, 3, &[])?;
    let leader = cluster.wait_leader(Duration::from_secs(30)).await?;
    println!(
        "three kairos servers on 127.0.0.1 (data in {}), leader: node {leader}",
        cluster.path().display()
    );
    let client = cluster.client_via(leader);

    // Task-to-task latency along a chain.
    client
        .propose(&[put_dag_command(&chain_yaml("chain", chain))?])
        .await?;
    let worker = cluster.local_worker("bench", "default", 1, Duration::ZERO)?;
    // A warm-up run, then the measured one.
    for run_id in ["warmup", "measured"] {
        client.propose(&[manual("chain", run_id)]).await?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let run: Option<DagRunRecord> = serde_json::from_value(
                cluster
                    .client()
                    .query(
                        &Query::Run {
                            dag_id: "chain".into(),
                            run_id: run_id.into(),
                        },
                        false,
                    )
                    .await?,
            )?;
            if run.as_ref().is_some_and(|r| r.state.is_finished()) {
                break;
            }
            if Instant::now() > deadline {
                return Err("the chain did not finish in 120 s".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // The poll path: a task made ready by an entry the worker had no part in
    // (a trigger) goes to its waiting poll, whose take rides the trigger's own
    // entry: from the trigger's commit (its proposal answered here) to the
    // attempt received by the worker (0 when the worker has it first), and
    // from the trigger sent (the commit included).
    client
        .propose(&[put_dag_command(&chain_yaml("one", 1))?])
        .await?;
    let mut poll_path = Histogram::<u64>::new(3)?;
    let mut poll_path_sent = Histogram::<u64>::new(3)?;
    for i in 0..=POLL_PATH_RUNS {
        let run_id = format!("one_{i}");
        // The previous run's report and the worker's next poll settle first:
        // the worker waits when the trigger comes.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let sent = Instant::now();
        client.propose(&[manual("one", &run_id)]).await?;
        let committed = Instant::now();
        let deadline = committed + Duration::from_secs(30);
        let received = loop {
            if let Some(r) = worker.records().into_iter().find(|r| r.run_id == run_id) {
                break r.received;
            }
            if Instant::now() > deadline {
                return Err(format!("run {run_id} of `one` was not dispatched in 30 s").into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        // The first run warms up.
        if i > 0 {
            let waited = received.saturating_duration_since(committed);
            poll_path.record(waited.as_micros() as u64)?;
            let whole = received.saturating_duration_since(sent);
            poll_path_sent.record(whole.as_micros() as u64)?;
        }
    }
    worker.stop();
    let mut records = tis(&cluster, "chain", "measured").await?;
    records.sort_by(|a, b| a.task_id.cmp(&b.task_id));
    let mut server_gap = Histogram::<u64>::new(3)?;
    for pair in records.windows(2) {
        if let (Some(end), Some(start)) = (pair[0].end_date, pair[1].start_date) {
            server_gap.record((start - end).num_microseconds().unwrap_or(0).max(0) as u64)?;
        }
    }
    let mut seen = worker.records();
    seen.retain(|r| r.run_id == "measured");
    seen.sort_by_key(|r| r.received);
    let mut worker_gap = Histogram::<u64>::new(3)?;
    for pair in seen.windows(2) {
        worker_gap.record(
            pair[1]
                .received
                .duration_since(pair[0].finished)
                .as_micros() as u64,
        )?;
    }
    let wall = match (
        records.first().and_then(|t| t.start_date),
        records.last().and_then(|t| t.end_date),
    ) {
        (Some(a), Some(b)) => (b - a).num_milliseconds(),
        _ => 0,
    };
    println!("chain of {chain} no-op tasks, one worker (gRPC), measured run:");
    println!(
        "  success committed -> next dispatched (leader stamps; 0 when the report's entry hands it over): p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        pct(&server_gap, 0.5),
        pct(&server_gap, 0.99),
        server_gap.max() as f64 / 1000.0
    );
    println!(
        "  worker: finished -> next received (the report and its commit, which hands over the next): p50 {:.2} ms  p99 {:.2} ms",
        pct(&worker_gap, 0.5),
        pct(&worker_gap, 0.99)
    );
    println!(
        "  poll path, {POLL_PATH_RUNS} triggers: trigger committed -> its task received by the waiting worker (0: received first): p50 {:.2} ms  p99 {:.2} ms",
        pct(&poll_path, 0.5),
        pct(&poll_path, 0.99)
    );
    println!(
        "  poll path, the same triggers: trigger sent -> its task received (the trigger's commit included): p50 {:.2} ms  p99 {:.2} ms",
        pct(&poll_path_sent, 0.5),
        pct(&poll_path_sent, 0.99)
    );
    println!("  whole chain: {wall} ms   (Airflow: 1.1-3.9 s per gap)");

    // Scheduling throughput: `ready` task instances made ready at once, as runs of a
    // DAG of at most 1,000 parallel tasks all triggered in one proposal.
    let width = ready.clamp(1, 1000);
    let runs = ready.div_ceil(width);
    let total = width * runs;
    client
        .propose(&[
            Command::SetSettings {
                settings: Settings {
                    parallelism: total as u32 * 2,
                    ..Settings::default()
                },
            },
            Command::SetPool {
                pool: PoolRecord {
                    slots: total as u32 * 2,
                    ..PoolRecord::default_pool()
                },
            },
        ])
        .await?;
    let mut yaml = format!(
        "wide:\n  schedule: null\n  is_paused_upon_creation: false\n  max_active_runs: {runs}\n  max_active_tasks: {}\n  tasks:\n",
        total * 2
    );
    for i in 0..width {
        yaml.push_str(&format!(
            "    t{i:04}: {{operator: bash, bash_command: 'true'}}\n"
        ));
    }
    let pushing = Instant::now();
    client
        .propose(&[put_dag_command(&yaml)?])
        .await
        .map_err(|e| format!("pushing the {width}-task DAG: {e}"))?;
    let pushed = pushing.elapsed();
    let triggers: Vec<Command> = (0..runs)
        .map(|r| manual("wide", &format!("r{r:03}")))
        .collect();
    let started = Instant::now();
    client
        .propose(&triggers)
        .await
        .map_err(|e| format!("triggering {runs} runs: {e}"))?;
    let trigger_committed = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut queued = 0;
        let mut stamps = Vec::with_capacity(total);
        for r in 0..runs {
            for t in tis(&cluster, "wide", &format!("r{r:03}")).await? {
                // Queued, or already taken by a worker (the chain's worker may still
                // have a poll open when the runs start).
                if matches!(
                    t.state,
                    TaskInstanceState::Queued
                        | TaskInstanceState::Running
                        | TaskInstanceState::Success
                ) {
                    queued += 1;
                    stamps.push(t.updated_at);
                }
            }
        }
        if queued == total {
            let span = match (stamps.iter().min(), stamps.iter().max()) {
                (Some(a), Some(b)) => (*b - *a).num_microseconds().unwrap_or(0) as f64 / 1e6,
                _ => 0.0,
            };
            let observed = started.elapsed().as_secs_f64();
            println!(
                "{total} ready task instances ({runs} runs of a {width}-task DAG, triggered in one proposal, limits raised):"
            );
            println!(
                "  the {width}-task DAG was pushed in {:.0} ms",
                pushed.as_secs_f64() * 1000.0
            );
            println!(
                "  triggers committed in {:.0} ms; all queued {:.2} s after they were sent ({:.0} task instances queued/s)",
                trigger_committed.as_secs_f64() * 1000.0,
                observed,
                total as f64 / observed
            );
            println!(
                "  leader stamps: first to last queued {span:.3} s (a pass queues at most 4,096; the leader's ticks continue it)"
            );
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("only {queued} of {total} task instances queued in 300 s").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
