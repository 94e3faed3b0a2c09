//! The runner's client of the REST API: `kairos_client::Client` set up as the
//! fault suite needs it. Timeouts are short (a paused node must not stall the
//! workload), and a call moves on to the next node on a 503 (no leader yet) and
//! on a request that got no answer, writes included: the workload's writes are
//! safe to repeat (runs have fixed ids, a re-pushed file that did not change makes
//! no version), and whether an unanswered one was applied is what the checker
//! finds out.

use std::time::Duration;

use kairos_client::{Client, Error, Failover};
use serde_json::Value;

use crate::workload::DagFile;

/// A client of the nodes at `nodes` (HTTP addresses, in node order).
pub fn client(nodes: &[String]) -> Result<Client, Error> {
    Client::builder(&nodes.join(","))
        .timeouts(Duration::from_secs(5), Duration::from_millis(500))
        .failover(Failover {
            on_unavailable: true,
            resend_unanswered_writes: true,
        })
        .build()
}

/// Pushes a workload DAG file, asking node `first` first.
pub async fn push(api: &Client, first: usize, dag: &DagFile) -> Result<Value, Error> {
    api.starting_at(first)
        .push_dag_file(dag.file_name, &dag.yaml, &dag.files, None)
        .await
}
