//! Attempt logs leave with their runs: every node, leader or not, sweeps its
//! kept logs (`crate::attempt_logs`) at the retention interval and removes
//! those of runs its state no longer holds. Runs go by replicated commands
//! (retention, `kairos db clean`, a DAG's deletion); the files are outside the
//! state machine, so apply never touches them and each node tidies its own.

use std::time::Duration;

use tokio::sync::watch;

use crate::node::{Consistency, Node};

/// How many sweep intervals a log of an unknown run is left alone: it may
/// have reached this node before the entry that made its run.
const GRACE_SWEEPS: u32 = 5;

/// Sweeps every `every` until `stop` turns true.
pub fn spawn(node: Node, every: Duration, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let logs = node.attempt_logs().clone();
            let swept = node
                .read(Consistency::Local, move |store| {
                    Ok(logs.sweep(every * GRACE_SWEEPS, |dag_id, run_id| {
                        store
                            .run(dag_id, run_id)
                            .map(|run| run.is_some())
                            .map_err(|e| format!("cannot read run {dag_id}/{run_id}: {e}"))
                    }))
                })
                .await;
            match swept {
                Ok(Ok(swept)) if swept.runs > 0 => tracing::info!(
                    runs = swept.runs,
                    bytes = swept.bytes,
                    "removed the attempt logs of runs no longer held"
                ),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!("cannot sweep the attempt logs: {e}"),
                Err(e) => tracing::warn!("cannot sweep the attempt logs: {e}"),
            }
        }
    });
}
