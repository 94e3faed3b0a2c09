//! The runner's client of the REST API: `kairos_client::Client` set up as the
//! fault suite needs it. Timeouts are short (a paused node must not stall the
//! workload), and a call moves on to the next node on a 503 (no leader yet) and
//! on a request that got no answer, writes included: the workload's writes are
//! safe to repeat (runs have fixed ids, a re-pushed file that did not change makes
//! no version), and whether an unanswered one was applied is what the checker
//! finds out.

use std::time::Duration;

use kairos_client::api::{PushRequest, PushResponse};
use kairos_client::{Client, Error, Failover};

use crate::workload::DagFile;

/// A client of the nodes at `nodes` (HTTP addresses, in node order).
/// With `tls`, over HTTPS presenting that client certificate.
pub fn client(nodes: &[String], tls: Option<kairos_tls::Tls>) -> Result<Client, Error> {
    Client::builder(&nodes.join(","))
        .tls(tls)
        .timeouts(Duration::from_secs(5), Duration::from_millis(500))
        .failover(Failover {
            on_unavailable: true,
            resend_unanswered_writes: true,
        })
        .build()
}

/// Pushes a workload DAG file, asking node `first` first.
pub async fn push(api: &Client, first: usize, dag: &DagFile) -> Result<PushResponse, Error> {
    let push = PushRequest {
        file_name: dag.file_name.to_string(),
        content: dag.yaml.clone(),
        evaluated: None,
        files: dag.files.clone(),
        bundle: None,
        team: None,
    };
    api.starting_at(first).push_dag_file(&push).await
}
