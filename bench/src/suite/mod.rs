//! `kairos-bench suite`: issue 8's side-by-side run. Every figure is measured in
//! this one invocation, on release builds, as the median of `--rounds` runs (at
//! least 3), printed as a table beside the machine's fdatasync latency (the floor
//! of any commit) and Airflow's figures from `bench/peers/airflow/run.sh`, and
//! written as JSON under `bench/results/` with the git commit.

mod chain;
mod cpu;
mod failover;
mod growth;
pub mod report;
mod scale;
mod stack;
mod throughput;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use report::{Figure, Target, median};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(clap::Args, Debug)]
pub struct SuiteArgs {
    /// Runs of each measurement; each figure is their median.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Tasks in the chain.
    #[arg(long, default_value_t = 50)]
    pub chain: usize,
    /// Runs triggered at once for the throughput figure.
    #[arg(long, default_value_t = 200)]
    pub runs: usize,
    /// Parallel tasks in each of those runs.
    #[arg(long, default_value_t = 50)]
    pub width: usize,
    /// Slots of each of the two in-bench protocol workers (16: as many as the
    /// real workers have; more shows what larger batches carry).
    #[arg(long, default_value_t = 16)]
    pub protocol_slots: u32,
    /// Leader kills for the failover figure.
    #[arg(long, default_value_t = 10)]
    pub kills: usize,
    /// DAGs pushed for the scale figures.
    #[arg(long, default_value_t = 10_000)]
    pub dags: usize,
    /// Runs of history per DAG (all marked success).
    #[arg(long, default_value_t = 25)]
    pub runs_per_dag: usize,
    /// Larger runs per DAG to grow the same cluster's history to afterwards,
    /// comma separated (e.g. `125` for 5M task instances with the defaults):
    /// measured again at each, with a table and a plot of the growth.
    #[arg(long, value_delimiter = ',')]
    pub grow_runs_per_dag: Vec<usize>,
    /// Tasks per DAG (dags x runs_per_dag x tasks_per_dag task instances of history).
    #[arg(long, default_value_t = 4)]
    pub tasks_per_dag: usize,
    /// List requests per round against a follower.
    #[arg(long, default_value_t = 1000)]
    pub list_requests: usize,
    /// The phases to run, comma separated (a partial run is for working on one;
    /// the table of record runs them all).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "chain,throughput,failover,scale"
    )]
    pub phases: Vec<Phase>,
    /// The JSON line printed by bench/peers/airflow/run.sh.
    #[arg(long)]
    pub airflow: Option<PathBuf>,
    /// Where the JSON result goes.
    #[arg(long, default_value = "bench/results")]
    pub out: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Chain,
    Throughput,
    Failover,
    Scale,
}

/// What the Airflow peer measured, or why not.
struct Airflow {
    chain: Option<Value>,
    note: String,
}

fn read_airflow(path: Option<&Path>) -> (Airflow, Value) {
    let Some(path) = path else {
        return (
            Airflow {
                chain: None,
                note: "Airflow: not measured (no --airflow result given)".into(),
            },
            Value::Null,
        );
    };
    let raw: Value = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(t.trim()).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            return (
                Airflow {
                    chain: None,
                    note: format!("Airflow: not measured ({}: {e})", path.display()),
                },
                Value::Null,
            );
        }
    };
    if raw["measured"] == true {
        let runs = raw["runs"].as_array().map_or(0, Vec::len);
        (
            Airflow {
                chain: Some(raw["median_of_runs"].clone()),
                note: format!(
                    "Airflow: {} with the LocalExecutor on PostgreSQL, same machine, same chain; median of {runs} runs (bench/peers/airflow/run.sh)",
                    raw["airflow_version"].as_str().unwrap_or("2.10.5")
                ),
            },
            raw,
        )
    } else {
        let why = raw["why"].as_str().unwrap_or("no reason given").to_string();
        (
            Airflow {
                chain: None,
                note: format!("Airflow: not measured: {why}"),
            },
            raw,
        )
    }
}

/// The repository this bench was built from (its commit names the result).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["-C", REPO, "rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn git_dirty() -> bool {
    std::process::Command::new("git")
        .args(["-C", REPO, "status", "--porcelain", "--untracked-files=no"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false)
}

pub async fn run(binary: &Path, args: SuiteArgs) -> Result<(), Error> {
    if args.rounds < 3 {
        return Err("--rounds must be at least 3: each figure is a median of runs".into());
    }
    let rounds = args.rounds;
    let (airflow, airflow_raw) = read_airflow(args.airflow.as_deref());
    let mut figures = Vec::new();
    let mut extra = serde_json::Map::new();
    let wants = |phase| args.phases.contains(&phase);

    eprintln!(
        "== three servers, two workers ({} slots each)",
        stack::WORKER_SLOTS
    );
    let mut stack = stack::Stack::start(binary, 2, &[]).await?;
    let floors = floor(&stack, rounds)?;
    // The floors' medians, for the ratios beside the figures they bound.
    let floor_of = |key: &str| {
        floors
            .iter()
            .find(|f| f.key == key)
            .map(|f| median(&f.samples))
            .filter(|m| *m > 0.0)
    };
    let (fsync_p50, spawn_floor) = (floor_of("fdatasync_p50"), floor_of("spawn_floor"));
    figures.extend(floors);
    // A phase that fails is reported under the table; the others still run.
    let mut failed: Vec<String> = Vec::new();
    let mut fail = |phase: &str, e: Error| {
        eprintln!("   the {phase} phase failed: {e}");
        failed.push(format!("{phase}: {e}"));
    };
    // Elections while the chain and throughput phases load the machine and no
    // fault is injected: each one is spurious (a follower missed heartbeats).
    stack.leader().await?;
    let (term_before, calm_since) = (stack.term().await, Instant::now());
    if wants(Phase::Chain) {
        eprintln!(
            "== chain of {} no-op tasks, {rounds} measured runs",
            args.chain
        );
        match chain::measure(&stack, args.chain, rounds).await {
            Ok(runs) => {
                figures.extend(chain_figures(&runs, args.chain, airflow.chain.as_ref()));
                if let Some(floor) = fsync_p50 {
                    figures.push(Figure::new(
                        "chain_gap_p50_over_fdatasync",
                        "  gap p50 / fdatasync p50 (x the floor)",
                        "x",
                        runs.iter().map(|r| r.gap_p50_ms / floor).collect(),
                    ));
                }
            }
            Err(e) => fail("chain", e),
        }
    }
    if wants(Phase::Throughput) {
        eprintln!(
            "== throughput: {} runs x {} parallel no-op tasks, {rounds} rounds",
            args.runs, args.width
        );
        for kind in [
            throughput::Kind::Bash,
            throughput::Kind::Protocol,
            throughput::Kind::Empty,
        ] {
            match throughput::measure(&stack, kind, &args, rounds).await {
                Ok(tp) => {
                    figures.extend(throughput_figures(kind, &tp, &args));
                    if let (throughput::Kind::Bash, Some(floor)) = (kind, spawn_floor) {
                        figures.push(
                            Figure::new(
                                "throughput_bash_of_spawn_floor",
                                "  of the spawn floor",
                                "%",
                                tp.iter().map(|r| 100.0 * r.tis_per_s / floor).collect(),
                            )
                            .target(Target::AtLeast(70.0))
                            .higher_is_better(),
                        );
                    }
                }
                Err(e) => fail("throughput", e),
            }
        }
    }
    if wants(Phase::Chain) || wants(Phase::Throughput) {
        let elections = stack.term().await.saturating_sub(term_before) as f64;
        let hours = calm_since.elapsed().as_secs_f64() / 3600.0;
        figures.push(Figure::new(
            "spurious_elections",
            "elections under load, no faults (chain + throughput)",
            "",
            vec![elections],
        ));
        figures.push(Figure::new(
            "spurious_elections_per_hour",
            "  the same, per hour",
            "/h",
            vec![elections / hours],
        ));
    }
    if wants(Phase::Failover) {
        eprintln!(
            "== failover: {} kills of the leader during a chain",
            args.kills
        );
        match failover::measure(&mut stack, args.kills).await {
            Ok(fo) => {
                figures.extend(failover_figures(&fo));
                extra.insert("failover_ms".into(), json!(fo));
            }
            Err(e) => fail("failover", e),
        }
    }
    drop(stack);

    let shape = scale::Shape {
        dags: args.dags,
        runs_per_dag: args.runs_per_dag,
        tasks_per_dag: args.tasks_per_dag,
        grow_to: args.grow_runs_per_dag.clone(),
    };
    let mut growth = Vec::new();
    if wants(Phase::Scale) {
        eprintln!(
            "== scale: {} DAGs, {} task instances of history",
            shape.dags,
            shape.task_instances()
        );
        match scale::measure(binary, &shape, args.list_requests, rounds).await {
            Ok(sc) => {
                figures.extend(scale_figures(&sc, &shape));
                extra.insert(
                    "scale_per_node".into(),
                    json!({"rss_mib": sc.rss_mib, "rss_samples_mib": sc.rss_samples_mib, "peak_rss_mib": sc.peak_rss_mib, "data_dir_mib": sc.data_dir_mib, "data_dir_after_purge_mib": sc.data_dir_after_purge_mib, "purged_runs": sc.purged_runs, "purged_task_instances": sc.purged_task_instances}),
                );
                extra.insert(
                    "scale_growth".into(),
                    json!(
                        sc.growth
                            .iter()
                            .map(|r| json!({
                                "runs_per_dag": r.runs_per_dag,
                                "task_instances": r.task_instances,
                                "history_s": r.history_s,
                                "rss_mib": r.rss_mib,
                                "rss_samples_mib": r.rss_samples_mib,
                                "peak_rss_mib": r.peak_rss_mib,
                                "data_dir_mib": r.data_dir_mib,
                                "list_p99_ms": r.list_p99_ms,
                                "list_p50_ms": r.list_p50_ms,
                                "catch_up_s": r.catch_up_s,
                                "new_node_peak_rss_mib": r.new_node_peak_rss_mib,
                                "snapshot_mib": r.snapshot_mib,
                            }))
                            .collect::<Vec<_>>()
                    ),
                );
                growth = sc.growth;
            }
            Err(e) => fail("scale", e),
        }
    }

    let commit = git_commit();
    let dirty = git_dirty();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let table = report::table(&figures, &airflow.note);
    println!(
        "Kairos {} ({}{}), {cores} cores; three servers on 127.0.0.1, release build",
        env!("CARGO_PKG_VERSION"),
        &commit[..commit.len().min(12)],
        if dirty { ", uncommitted changes" } else { "" },
    );
    print!("{table}");
    let growth_table = (growth.len() > 1).then(|| growth::table(&growth));
    if let Some(growth_table) = &growth_table {
        println!("\nscale: how the figures grow with history (one cluster, measured at each size)");
        print!("{growth_table}");
    }
    for failure in &failed {
        println!("FAILED, not measured: {failure}");
    }

    let now = chrono::Utc::now();
    let mut result = json!({
        "commit": commit,
        "dirty": dirty,
        "finished_at": now.to_rfc3339(),
        "cores": cores,
        "rounds": rounds,
        "phases": args.phases.iter().map(|p| format!("{p:?}").to_lowercase()).collect::<Vec<_>>(),
        "workload": {
            "chain_tasks": args.chain,
            "throughput_runs": args.runs,
            "throughput_width": args.width,
            "worker_slots": stack::WORKER_SLOTS,
            "kills": args.kills,
            "dags": shape.dags,
            "runs_per_dag": shape.runs_per_dag,
            "tasks_per_dag": shape.tasks_per_dag,
            "history_task_instances": shape.task_instances(),
            "grow_runs_per_dag": shape.grow_to,
            "list_requests_per_round": args.list_requests,
        },
        "figures": report::to_json(&figures),
        "airflow": airflow_raw,
        "table": table,
        "growth_table": growth_table,
        "failed": failed,
    });
    if let Some(map) = result.as_object_mut() {
        map.extend(extra);
    }
    std::fs::create_dir_all(&args.out)?;
    let file = args.out.join(format!(
        "{}-{}.json",
        now.format("%Y%m%dT%H%M%SZ"),
        &commit[..commit.len().min(12)]
    ));
    std::fs::write(&file, serde_json::to_string_pretty(&result)?)?;
    eprintln!("written: {}", file.display());
    if growth.len() > 1 {
        let image = file.with_extension("scale.svg");
        let title = format!(
            "Kairos {} ({}): {} DAGs x {} tasks, history grown in one cluster of three",
            env!("CARGO_PKG_VERSION"),
            &commit[..commit.len().min(12)],
            shape.dags,
            shape.tasks_per_dag
        );
        match growth::plot(&growth, &image, &title) {
            Ok(()) => eprintln!("written: {}", image.display()),
            Err(e) => eprintln!("the growth plot was not written: {e}"),
        }
    }
    if !failed.is_empty() {
        return Err(format!("{} phase(s) failed", failed.len()).into());
    }
    Ok(())
}

/// fdatasync of 4 KiB in the servers' data folder: no commit can be faster.
fn floor(stack: &stack::Stack, rounds: usize) -> Result<Vec<Figure>, Error> {
    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    for _ in 0..rounds {
        let h = crate::fdatasync_latency(stack.cluster.path(), 200)?;
        p50.push(h.value_at_quantile(0.5) as f64 / 1000.0);
        p99.push(h.value_at_quantile(0.99) as f64 / 1000.0);
    }
    Ok(vec![
        Figure::new(
            "fdatasync_p50",
            "fdatasync 4 KiB p50 (the floor)",
            "ms",
            p50,
        ),
        Figure::new("fdatasync_p99", "fdatasync 4 KiB p99", "ms", p99),
        Figure::new(
            "spawn_floor",
            "bash -c true spawned by 2 threads (the floor)",
            "/s",
            (0..rounds)
                .map(|_| spawn_rate(Duration::from_secs(1)))
                .collect(),
        )
        .higher_is_better(),
    ])
}

/// Processes of `bash -c true` two threads spawn and wait for in `span`, per
/// second, with nothing of Kairos in the way: what bash tasks cannot beat on
/// this machine (the cluster is idle while it runs).
fn spawn_rate(span: Duration) -> f64 {
    let started = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                let mut n = 0u64;
                while started.elapsed() < span {
                    let ok = std::process::Command::new("bash")
                        .args(["-c", "true"])
                        .status()
                        .is_ok_and(|s| s.success());
                    n += u64::from(ok);
                }
                n
            })
        })
        .collect();
    let spawned: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    spawned as f64 / started.elapsed().as_secs_f64()
}

fn chain_figures(runs: &[chain::ChainRun], tasks: usize, airflow: Option<&Value>) -> Vec<Figure> {
    let af = |key: &str| airflow.and_then(|c| c[key].as_f64());
    let pick = |f: fn(&chain::ChainRun) -> f64| runs.iter().map(f).collect::<Vec<_>>();
    vec![
        Figure::new(
            "chain_gap_p50",
            "task-to-task gap p50",
            "ms",
            pick(|r| r.gap_p50_ms),
        )
        .target(Target::AtMost(5.0))
        .airflow(af("gap_p50_ms")),
        Figure::new(
            "chain_gap_p99",
            "task-to-task gap p99",
            "ms",
            pick(|r| r.gap_p99_ms),
        )
        .target(Target::AtMost(25.0))
        .airflow(af("gap_p99_ms")),
        Figure::new(
            "chain_gap_max",
            "task-to-task gap max",
            "ms",
            pick(|r| r.gap_max_ms),
        )
        .airflow(af("gap_max_ms")),
        Figure::new(
            "chain_wall",
            format!("chain of {tasks} wall time"),
            "ms",
            pick(|r| r.chain_ms),
        )
        .airflow(af("chain_ms")),
    ]
}

fn throughput_figures(
    kind: throughput::Kind,
    runs: &[throughput::ThroughputRun],
    args: &SuiteArgs,
) -> Vec<Figure> {
    let (key, entries_key, per_entry_key, bytes_key, what, target) = match kind {
        throughput::Kind::Bash => (
            "throughput_bash",
            "throughput_bash_entries",
            "throughput_bash_commands_per_entry",
            "throughput_bash_log_bytes_per_ti",
            "bash true on the 2 workers",
            5000.0,
        ),
        throughput::Kind::Protocol => (
            "throughput_protocol",
            "throughput_protocol_entries",
            "throughput_protocol_commands_per_entry",
            "throughput_protocol_log_bytes_per_ti",
            "no-op via the worker protocol, 2 workers x PROTOCOL_SLOTS slots",
            10_000.0,
        ),
        throughput::Kind::Empty => (
            "throughput_empty",
            "throughput_empty_entries",
            "throughput_empty_commands_per_entry",
            "throughput_empty_log_bytes_per_ti",
            "EmptyOperator (no worker)",
            5000.0,
        ),
    };
    let mut figures = vec![
        Figure::new(
            key,
            format!(
                "TIs completed/s, {} ({}x{})",
                what.replace("PROTOCOL_SLOTS", &args.protocol_slots.to_string()),
                args.runs,
                args.width
            ),
            "/s",
            runs.iter().map(|r| r.tis_per_s).collect(),
        )
        .target(Target::AtLeast(target)),
        Figure::new(
            entries_key,
            "  Raft entries applied/s (leader)",
            "/s",
            runs.iter().map(|r| r.entries_per_s).collect(),
        )
        .higher_is_better(),
        Figure::new(
            per_entry_key,
            "  commands per Raft entry",
            "",
            runs.iter().map(|r| r.commands_per_entry).collect(),
        )
        .higher_is_better(),
        Figure::new(
            bytes_key,
            "  log bytes written per task instance (leader; 0: not reported)",
            "B",
            runs.iter().map(|r| r.log_bytes_per_ti).collect(),
        ),
    ];
    // Where the CPU went, per task instance: the profile that says whether the
    // cores or the waiting bound the figure.
    let parts: [(&str, &str, fn(&cpu::Split) -> f64); 6] = [
        ("leader", "leader", |c| c.leader_ms),
        ("followers", "2 followers", |c| c.followers_ms),
        ("workers", "kairos workers (own)", |c| c.workers_ms),
        ("tasks", "tasks (the workers' children)", |c| c.tasks_ms),
        ("bench", "bench (its protocol workers)", |c| c.bench_ms),
        ("other", "rest of the machine", |c| c.other_ms),
    ];
    for (part, what, of) in parts {
        figures.push(Figure::new(
            format!("{key}_cpu_{part}_ms_per_ti"),
            format!("  CPU per TI, {what}"),
            "ms",
            runs.iter().map(|r| of(&r.cpu)).collect(),
        ));
    }
    figures.push(Figure::new(
        format!("{key}_idle_percent"),
        "  machine idle (both cores) during the round",
        "%",
        runs.iter().map(|r| r.cpu.idle_percent).collect(),
    ));
    figures
}

fn failover_figures(kills_ms: &[f64]) -> Vec<Figure> {
    let max = kills_ms.iter().copied().fold(f64::MIN, f64::max);
    vec![
        Figure::new(
            "failover_median",
            "kill -9 leader -> next task starts",
            "ms",
            kills_ms.to_vec(),
        )
        .target(Target::AtMost(500.0)),
        Figure::new(
            "failover_max",
            "  the same, max of the kills",
            "ms",
            vec![max],
        )
        .target(Target::AtMost(800.0)),
    ]
}

fn scale_figures(sc: &scale::ScaleFigures, shape: &scale::Shape) -> Vec<Figure> {
    // The target is in MB (10^6 bytes); the JSON keeps MiB.
    let largest_mb = |mib: &[f64]| mib.iter().copied().fold(f64::MIN, f64::max) * 1_048_576.0 / 1e6;
    vec![
        Figure::new(
            "scale_rss",
            "RSS per node (largest; median of 5 readings)",
            "MB",
            vec![largest_mb(&sc.rss_mib)],
        )
        .target(Target::AtMost(300.0)),
        Figure::new(
            "scale_peak_rss",
            "  peak RSS of its life (VmHWM), largest",
            "MB",
            vec![largest_mb(&sc.peak_rss_mib)],
        )
        .target(Target::AtMost(300.0)),
        Figure::new(
            "scale_peak_rss_end",
            "  peak RSS over the whole phase (catch-ups, purge), largest",
            "MB",
            vec![largest_mb(&sc.peak_rss_end_mib)],
        )
        .target(Target::AtMost(300.0)),
        Figure::new(
            "scale_new_node_peak_rss",
            "  a new node's peak RSS, receiving and installing (largest)",
            "MB",
            vec![largest_mb(&sc.new_node_peak_rss_mib)],
        )
        .target(Target::AtMost(300.0)),
        Figure::new(
            "scale_data_dir",
            "data dir per node (median)",
            "MiB",
            vec![median(&sc.data_dir_mib)],
        ),
        Figure::new(
            "scale_list_p99",
            "follower: list a DAG's last 25 runs, p99",
            "ms",
            sc.list_p99_ms.clone(),
        )
        .target(Target::AtMost(20.0)),
        Figure::new(
            "scale_list_p50",
            "  the same, p50",
            "ms",
            sc.list_p50_ms.clone(),
        ),
        Figure::new(
            "scale_catch_up",
            "new node: snapshot received, caught up",
            "s",
            sc.catch_up_s.clone(),
        ),
        Figure::new(
            "scale_snapshot",
            "  snapshot size",
            "MiB",
            vec![sc.snapshot_mib],
        ),
        Figure::new(
            "scale_purge",
            format!(
                "retention: purge of all but each DAG's newest fifth (of {})",
                shape.task_instances_at(shape.steps().last().copied().unwrap_or(0))
            ),
            "s",
            vec![sc.purge_s],
        ),
        Figure::new(
            "scale_purge_rate",
            "  task instances deleted per second",
            "/s",
            vec![sc.purged_task_instances as f64 / sc.purge_s.max(1e-9)],
        )
        .higher_is_better(),
        Figure::new(
            "scale_snapshot_after_purge",
            "  snapshot size after it",
            "MiB",
            vec![sc.snapshot_after_purge_mib],
        ),
        Figure::new(
            "scale_data_dir_after_purge",
            "  data dir per node after it (median; RocksDB compacts later)",
            "MiB",
            vec![median(&sc.data_dir_after_purge_mib)],
        ),
        Figure::new(
            "scale_delete_dags",
            format!(
                "delete {} DAGs with their history ({} task instances), one by one",
                sc.deleted_dags, sc.deleted_dag_task_instances
            ),
            "s",
            vec![sc.delete_dags_s],
        ),
        Figure::new(
            "scale_delete_dags_rate",
            "  task instances deleted per second",
            "/s",
            vec![sc.deleted_dag_task_instances as f64 / sc.delete_dags_s.max(1e-9)],
        )
        .higher_is_better(),
        Figure::new(
            "scale_push",
            format!("push {} DAGs", shape.dags),
            "s",
            vec![sc.push_s],
        ),
        Figure::new(
            "scale_history",
            format!(
                "generate {} task instances of history",
                shape.task_instances()
            ),
            "s",
            vec![sc.history_s],
        ),
    ]
}
