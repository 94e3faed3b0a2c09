//! `kairos-bench`: figures measured against real `kairos server` processes.
//!
//! `kairos-bench raft` starts a three-node cluster on 127.0.0.1 and prints the disk's
//! fdatasync latency, single-client commit latency, throughput with many concurrent
//! proposers (group commit), and the time from `kill -9` of the leader to the first
//! write committed by the new one, beside published figures of Airflow and etcd.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod scheduler;
mod suite;

use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use kairos_server::ClusterClient;
use kairos_state::Command;
use kairos_testkit::Cluster;

#[derive(Parser)]
#[command(
    name = "kairos-bench",
    about = "Benchmarks of Kairos against real server processes"
)]
struct Cli {
    /// Run every cluster with mutual TLS (certificates made in its temp dir),
    /// to compare with the plain-text figures.
    #[arg(long, global = true)]
    tls: bool,
    #[command(subcommand)]
    command: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// The replicated store: commit latency, batched throughput, failover time.
    Raft {
        /// The `kairos` binary (default: next to this one).
        #[arg(long)]
        kairos: Option<PathBuf>,
        /// Sequential writes for the latency figures.
        #[arg(long, default_value_t = 1000)]
        writes: u32,
        /// Concurrent proposers for the throughput figure.
        #[arg(long, default_value_t = 64)]
        concurrency: u32,
        /// Seconds of the throughput run.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// How many times to kill the leader.
        #[arg(long, default_value_t = 10)]
        failovers: u32,
    },
    /// The scheduler: task-to-task latency along a chain, queueing throughput.
    Scheduler {
        #[arg(long)]
        kairos: Option<PathBuf>,
        /// Tasks in the chain.
        #[arg(long, default_value_t = 50)]
        chain: usize,
        /// Parallel ready tasks for the throughput figure.
        #[arg(long, default_value_t = 10_000)]
        ready: usize,
    },
    /// Issue 8's side-by-side table: task-to-task latency with real workers,
    /// throughput, failover and scale, beside Airflow's figures (bench/run.sh).
    Suite {
        #[arg(long)]
        kairos: Option<PathBuf>,
        #[command(flatten)]
        args: suite::SuiteArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    Cluster::use_tls_by_default(cli.tls);
    let command = cli.command;
    let kairos = match &command {
        Bench::Raft { kairos, .. }
        | Bench::Scheduler { kairos, .. }
        | Bench::Suite { kairos, .. } => kairos.clone(),
    };
    let binary = match kairos.or_else(|| {
        std::env::current_exe()
            .ok()
            .map(|exe| exe.with_file_name("kairos"))
    }) {
        Some(path) if path.exists() => path,
        other => {
            eprintln!(
                "error: no kairos binary at {:?}; build it first: cargo build --release -p kairos -p kairos-bench",
                other
            );
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command {
        Bench::Raft {
            writes,
            concurrency,
            seconds,
            failovers,
            ..
        } => runtime.block_on(raft(&binary, writes, concurrency, seconds, failovers)),
        Bench::Scheduler { chain, ready, .. } => {
            runtime.block_on(scheduler::run(&binary, chain, ready))
        }
        Bench::Suite { args, .. } => runtime
            .block_on(suite::run(&binary, args))
            .map_err(|e| -> Box<dyn std::error::Error> { e }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// fdatasync of a 4 KiB write, in the folder the servers write to.
pub(crate) fn fdatasync_latency(dir: &Path, samples: u32) -> std::io::Result<Histogram<u64>> {
    use std::io::Write;
    let mut histogram = Histogram::<u64>::new(3).map_err(std::io::Error::other)?;
    let mut file = std::fs::File::create(dir.join("fdatasync-probe"))?;
    let block = vec![7u8; 4096];
    for _ in 0..samples {
        file.write_all(&block)?;
        let started = Instant::now();
        file.sync_data()?;
        let _ = histogram.record(started.elapsed().as_micros() as u64);
    }
    Ok(histogram)
}

async fn raft(
    binary: &Path,
    writes: u32,
    concurrency: u32,
    seconds: u64,
    failovers: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut cluster = Cluster::start(binary, 3, &[])?;
    let leader = cluster.wait_leader(Duration::from_secs(30)).await?;
    println!(
        "three kairos servers on 127.0.0.1 (data in {}), leader: node {leader}",
        cluster.path().display()
    );

    let sync = fdatasync_latency(cluster.path(), 200)?;
    println!(
        "fdatasync (4 KiB):                  p50 {:.2} ms   p99 {:.2} ms",
        sync.value_at_quantile(0.5) as f64 / 1000.0,
        sync.value_at_quantile(0.99) as f64 / 1000.0
    );

    // One client, one write at a time, sent to the leader.
    let client = cluster.client_via(leader);
    let mut latency = Histogram::<u64>::new(3)?;
    for i in 0..writes {
        let started = Instant::now();
        client
            .propose(&[Command::set_pool(format!("latency-{i}"), i)])
            .await?;
        let _ = latency.record(started.elapsed().as_micros() as u64);
    }
    println!(
        "commit latency, 1 client:           p50 {:.2} ms   p99 {:.2} ms   ({} writes; etcd, 3 members on SSD: 1.6 ms)",
        latency.value_at_quantile(0.5) as f64 / 1000.0,
        latency.value_at_quantile(0.99) as f64 / 1000.0,
        writes
    );

    // Many concurrent proposers: group commit puts their commands in shared entries.
    let before = cluster
        .status(leader)
        .await
        .map(|s| s.last_log_index)
        .unwrap_or(0);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let client = Arc::new(cluster.client_via(leader));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..concurrency {
        let (client, done, stop) = (client.clone(), done.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                if client
                    .propose(&[Command::set_pool(format!("tp-{p}-{i}"), i)])
                    .await
                    .is_ok()
                {
                    done.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    let after = cluster
        .status(leader)
        .await
        .map(|s| s.last_log_index)
        .unwrap_or(0);
    let committed = done.load(Ordering::Relaxed);
    let entries = after.saturating_sub(before).max(1);
    println!(
        "throughput, {concurrency} proposers:            {:.0} writes/s   ({committed} writes in {} entries, {:.1} per entry; etcd, 1,000 clients: 44k-50k/s)",
        committed as f64 / elapsed.as_secs_f64(),
        entries,
        committed as f64 / entries as f64
    );

    // kill -9 the leader; time until a write is committed by the new one. The servers
    // run with the default timings.
    let timings = kairos_raft::RaftSettings::default();
    let mut times = Vec::new();
    for round in 0..failovers {
        let leader = cluster.wait_leader(Duration::from_secs(30)).await?;
        cluster.wait_converged(0, Duration::from_secs(30)).await?;
        let others: Vec<String> = cluster
            .nodes
            .iter()
            .filter(|n| n.id != leader)
            .map(|n| n.grpc.clone())
            .collect();
        let client = ClusterClient::new(others)
            .with_patience(Duration::from_secs(30))
            .with_tls(cluster.client_tls.clone());
        let killed = Instant::now();
        cluster.kill(leader);
        client
            .propose(&[Command::set_pool(format!("failover-{round}"), round)])
            .await?;
        let took = killed.elapsed();
        times.push(took);
        cluster.spawn(leader)?;
        cluster.wait_converged(0, Duration::from_secs(60)).await?;
    }
    times.sort();
    if let Some(median) = times.get(times.len() / 2) {
        println!(
            "kill -9 leader -> first commit:     median {:.0} ms   min {:.0} ms   max {:.0} ms   ({} failovers; heartbeat {} ms, election timeout {}-{} ms; Airflow: scheduler health check 30 s, zombie detection 300 s)",
            ms(*median),
            ms(times[0]),
            ms(times[times.len() - 1]),
            times.len(),
            timings.heartbeat.as_millis(),
            timings.election_timeout.0.as_millis(),
            timings.election_timeout.1.as_millis(),
        );
    }
    Ok(())
}
