//! Task-to-task latency: a chain of no-op tasks (`bash_command: true`), run by the
//! two workers; each gap is one task's end to the next one's start, as the workers
//! logged them (microseconds, one machine's clock). What lies in a gap: the report
//! over gRPC, its Raft commit (which also queues the next task, fast-follow), the
//! dispatch to a polling worker, and that worker getting ready to run it.

use std::collections::BTreeMap;
use std::time::Duration;

use kairos_state::Command;
use kairos_testkit::{chain_yaml, put_dag_command};

use super::Error;
use super::stack::{Stack, quantile};

pub const DAG_ID: &str = "bench_chain";

/// One measured run of the chain.
#[derive(Debug, Clone)]
pub struct ChainRun {
    pub gap_p50_ms: f64,
    pub gap_p99_ms: f64,
    pub gap_max_ms: f64,
    pub chain_ms: f64,
}

/// Pushes the chain, runs it once to warm up, then `rounds` times measured.
pub async fn measure(stack: &Stack, tasks: usize, rounds: usize) -> Result<Vec<ChainRun>, Error> {
    let client = stack.cluster.client();
    client
        .propose(&[put_dag_command(&chain_yaml(DAG_ID, tasks))?])
        .await?;
    let mut out = Vec::new();
    for round in 0..=rounds {
        let run_id = format!("chain_{round}");
        client
            .propose(&[Command::manual_run(DAG_ID, &run_id, "bench")])
            .await?;
        stack
            .run_to_success(DAG_ID, &run_id, Duration::from_secs(120))
            .await?;
        if round > 0 {
            out.push(gaps(stack, &run_id, tasks)?);
        }
    }
    Ok(out)
}

fn gaps(stack: &Stack, run_id: &str, tasks: usize) -> Result<ChainRun, Error> {
    // task id -> (start, end) of its successful attempt, in microseconds.
    let mut spans: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for event in stack.attempts(DAG_ID, run_id)? {
        let span = spans.entry(event.task_id.clone()).or_insert((0, 0));
        match event.event.as_str() {
            "start" => span.0 = event.at_us,
            "end" => span.1 = event.at_us,
            _ => {}
        }
    }
    if spans.len() != tasks || spans.values().any(|(s, e)| *s == 0 || *e == 0) {
        return Err(format!(
            "the workers logged {} of {tasks} tasks of run {run_id} (start and end)",
            spans.len()
        )
        .into());
    }
    // Task ids t00, t01, ... sort in chain order.
    let spans: Vec<(i64, i64)> = spans.into_values().collect();
    let gaps: Vec<f64> = spans
        .windows(2)
        .map(|pair| (pair[1].0 - pair[0].1) as f64 / 1000.0)
        .collect();
    let first = spans.first().map_or(0, |s| s.0);
    let last = spans.last().map_or(0, |s| s.1);
    Ok(ChainRun {
        gap_p50_ms: quantile(&gaps, 0.5),
        gap_p99_ms: quantile(&gaps, 0.99),
        gap_max_ms: gaps.iter().copied().fold(f64::MIN, f64::max),
        chain_ms: (last - first) as f64 / 1000.0,
    })
}
