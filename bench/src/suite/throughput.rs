//! Throughput: runs of a DAG of parallel no-op tasks, all triggered at once; task
//! instances completed per second, and how the leader's Raft log carried them
//! (entries per second, commands per entry: fast-follow and group commit at work).
//!
//! Three kinds of no-op, each its own DAG, so that the figure can be read apart
//! from what the machine spends outside the scheduler:
//! - `bash`: `bash_command: true`, run by the two real workers (32 slots, Airflow's
//!   default parallelism): a process per task, on the same two cores as the servers;
//! - `protocol`: the same tasks on their own queue, taken by workers inside the
//!   bench that speak the real gRPC protocol (poll, report with the attempt's
//!   token) and run nothing: what the cluster can schedule;
//! - `empty`: EmptyOperator, which Airflow and Kairos both finish in the scheduler
//!   without a worker.

use std::time::Duration;

use kairos_state::Command;
use kairos_state::records::{PoolRecord, Settings};
use kairos_testkit::LocalWorker;
use kairos_testkit::put_dag_command;

use super::Error;
use super::stack::{Stack, metrics};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bash,
    Protocol,
    Empty,
}

impl Kind {
    pub fn dag_id(self) -> &'static str {
        match self {
            Kind::Bash => "bench_wide_bash",
            Kind::Protocol => "bench_wide_protocol",
            Kind::Empty => "bench_wide_empty",
        }
    }
}

/// The queue the in-bench protocol workers take from (the real workers do not).
const PROTOCOL_QUEUE: &str = "bench_protocol";

#[derive(Debug, Clone)]
pub struct ThroughputRun {
    pub tis_per_s: f64,
    pub entries_per_s: f64,
    pub commands_per_entry: f64,
    /// Bytes the leader wrote to its log per task instance (0 from a build
    /// that does not report them).
    pub log_bytes_per_ti: f64,
    /// CPU per task instance by role, and the machine's idle share.
    pub cpu: super::cpu::Split,
}

fn wide_yaml(kind: Kind, width: usize, runs: usize) -> String {
    let mut yaml = format!(
        "{}:\n  schedule: null\n  is_paused_upon_creation: false\n  max_active_runs: {runs}\n  max_active_tasks: {}\n",
        kind.dag_id(),
        width * runs
    );
    if kind == Kind::Protocol {
        yaml.push_str(&format!("  default_args:\n    queue: {PROTOCOL_QUEUE}\n"));
    }
    yaml.push_str("  tasks:\n");
    for i in 0..width {
        let task = match kind {
            Kind::Empty => "operator: airflow.operators.empty.EmptyOperator".to_string(),
            _ => "operator: airflow.operators.bash.BashOperator\n      bash_command: 'true'"
                .to_string(),
        };
        yaml.push_str(&format!("    t{i:03}:\n      {task}\n"));
    }
    yaml
}

/// Limits raised out of the way (the workers' slots are the limit), the DAG
/// pushed; then `rounds` times: `runs` runs triggered in one proposal, timed from
/// the trigger until the last run ended (the leader's stamp).
pub async fn measure(
    stack: &Stack,
    kind: Kind,
    args: &super::SuiteArgs,
    rounds: usize,
) -> Result<Vec<ThroughputRun>, Error> {
    let (runs, width) = (args.runs, args.width);
    let client = stack.cluster.client();
    let total = runs * width;
    let dag_id = kind.dag_id();
    // As many protocol slots as the real workers have, unless told otherwise.
    let workers: Vec<LocalWorker> = match kind {
        Kind::Protocol => (1..=2)
            .map(|n| {
                stack.cluster.local_worker(
                    &format!("protocol{n}"),
                    PROTOCOL_QUEUE,
                    args.protocol_slots,
                    Duration::ZERO,
                )
            })
            .collect::<Result<_, String>>()?,
        _ => Vec::new(),
    };
    client
        .propose(&[
            Command::SetSettings {
                settings: Settings {
                    parallelism: (total * 2) as u32,
                    ..Settings::default()
                },
            },
            Command::SetPool {
                pool: PoolRecord {
                    slots: (total * 2) as u32,
                    ..PoolRecord::default_pool()
                },
            },
            put_dag_command(&wide_yaml(kind, width, runs))?,
        ])
        .await?;
    let mut out = Vec::new();
    for round in 0..rounds {
        let leader = stack.leader().await?;
        let http = stack.cluster.node(leader).http.clone();
        let before = metrics(&http, stack.cluster.client_tls.as_ref()).await?;
        let roles = stack.roles(leader);
        let cpu_before = super::cpu::read(&roles);
        let triggers: Vec<Command> = (0..runs)
            .map(|r| Command::manual_run(dag_id, format!("wide_{round}_{r:03}"), "bench"))
            .collect();
        let sent = chrono::Utc::now();
        let sending = std::time::Instant::now();
        client.propose(&triggers).await?;
        // EmptyOperator runs end in the entry that creates them: their end stamp is
        // the trigger's own, and the time is the trigger's round trip.
        let acknowledged = sending.elapsed().as_secs_f64();
        let mut ended = sent;
        for r in 0..runs {
            let run = stack
                .run_to_success(
                    dag_id,
                    &format!("wide_{round}_{r:03}"),
                    Duration::from_secs(600),
                )
                .await?;
            ended = ended.max(run.end_date.unwrap_or(sent));
        }
        let cpu = super::cpu::split(&roles, &cpu_before, &super::cpu::read(&roles), total);
        let after = metrics(&http, stack.cluster.client_tls.as_ref()).await?;
        let delta = |name: &str| {
            after.get(name).copied().unwrap_or(0.0) - before.get(name).copied().unwrap_or(0.0)
        };
        let seconds =
            ((ended - sent).num_microseconds().unwrap_or(0) as f64 / 1e6).max(acknowledged);
        // The counters also count the entries of the polling between the last end
        // and this reading; they are few next to the work's.
        let entries = delta("kairos_raft_entries_applied_total");
        let commands = delta("kairos_state_commands_applied_total");
        let log_bytes = delta("kairos_raft_log_appended_bytes_total");
        let observed = seconds.max(1e-3);
        eprintln!(
            "   {kind:?}, round {round}: {total} task instances in {seconds:.2} s, {entries:.0} entries, {commands:.0} commands; CPU ms per TI: leader {:.3}, followers {:.3}, workers {:.3}, tasks {:.3}, bench {:.3}, other {:.3}; idle {:.0}%",
            cpu.leader_ms,
            cpu.followers_ms,
            cpu.workers_ms,
            cpu.tasks_ms,
            cpu.bench_ms,
            cpu.other_ms,
            cpu.idle_percent
        );
        out.push(ThroughputRun {
            tis_per_s: total as f64 / observed,
            entries_per_s: entries / observed,
            commands_per_entry: if entries > 0.0 {
                commands / entries
            } else {
                0.0
            },
            log_bytes_per_ti: log_bytes / total as f64,
            cpu,
        });
    }
    for worker in &workers {
        worker.stop();
    }
    Ok(out)
}
