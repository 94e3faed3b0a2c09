//! Failover: `kill -9` of the leader while a chain runs, then the time until the
//! next task starts on a worker (dispatched by the new leader).
//!
//! The chain's tasks sleep 50 ms, so that the kill lands while one of them runs:
//! the suite kills the leader as soon as the third task's start is in a worker's
//! log, and that task was dispatched by the old leader. The next start therefore
//! comes from the new one, and the figure (kill to that start) includes the rest of
//! the running task (under 50 ms): it overstates the outage, never understates it.

use std::time::{Duration, Instant};

use kairos_state::Command;
use kairos_testkit::{chain_yaml_of, put_dag_command};

use super::Error;
use super::stack::Stack;

pub const DAG_ID: &str = "bench_failover";
const TASKS: usize = 10;

/// Milliseconds from each kill to the next task's start.
pub async fn measure(stack: &mut Stack, kills: usize) -> Result<Vec<f64>, Error> {
    stack
        .cluster
        .client()
        .propose(&[put_dag_command(&chain_yaml_of(
            DAG_ID,
            TASKS,
            "sleep 0.05",
        ))?])
        .await?;
    let mut out = Vec::new();
    for round in 0..kills {
        let leader = stack.leader().await?;
        stack
            .cluster
            .wait_converged(0, Duration::from_secs(30))
            .await?;
        let run_id = format!("failover_{round}");
        stack
            .cluster
            .client()
            .propose(&[Command::manual_run(DAG_ID, &run_id, "bench")])
            .await?;
        // Wait for the third task to start, then kill the leader at once.
        let deadline = Instant::now() + Duration::from_secs(60);
        while stack
            .attempts(DAG_ID, &run_id)?
            .iter()
            .filter(|e| e.event == "start")
            .count()
            < 3
        {
            if Instant::now() > deadline {
                return Err(format!(
                    "run {run_id} did not reach its third task in 60 s\n{}",
                    stack.cluster.logs()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let killed_at = chrono::Utc::now().timestamp_micros();
        stack.cluster.kill(leader);
        let deadline = Instant::now() + Duration::from_secs(60);
        let next_start = loop {
            if let Some(start) = stack
                .attempts(DAG_ID, &run_id)?
                .iter()
                .find(|e| e.event == "start" && e.at_us > killed_at)
            {
                break start.at_us;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no task started within 60 s of killing leader {leader}\n{}",
                    stack.cluster.logs()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        out.push((next_start - killed_at) as f64 / 1000.0);
        stack
            .run_to_success(DAG_ID, &run_id, Duration::from_secs(120))
            .await?;
        stack.cluster.spawn(leader)?;
    }
    stack
        .cluster
        .wait_converged(0, Duration::from_secs(60))
        .await?;
    Ok(out)
}
