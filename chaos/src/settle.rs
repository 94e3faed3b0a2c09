//! The end of a run: the faults healed, then the runs given time to finish,
//! noting each run seen to succeed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use kairos_client::{Client as Api, Read};

use crate::history::{History, now_ms};
use crate::procs::Procs;
use crate::shared::{Shared, lock};
use crate::workload;

/// Every link whole, every process up and running (a server that exited on its
/// own is noted, then started again like the others).
pub async fn heal(procs: &Shared<Procs>, history: &Arc<Mutex<History>>) {
    let mut p = procs.lock().await;
    p.links.heal_all();
    let ids: Vec<u64> = p.servers.iter().map(|s| s.id).collect();
    for id in ids {
        if let Some(s) = p.server_mut(id) {
            s.proc.signal(Signal::SIGCONT);
            if s.proc.reap().is_some() {
                lock(history)
                    .notes
                    .push(format!("server {id} had exited on its own; restarted"));
            }
        }
        if p.server_mut(id).is_some_and(|s| !s.proc.is_up()) {
            let _ = p.start_server(id);
        }
    }
    for id in p.restart_dead_workers() {
        lock(history)
            .worker_starts
            .entry(id)
            .or_default()
            .push(now_ms());
    }
}

/// Waits until every acknowledged run has finished (or `within` passes),
/// noting runs seen to succeed.
pub async fn settle(api: &Api, history: &Arc<Mutex<History>>, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let mut open = 0;
        let mut seen = Vec::new();
        for dag in workload::dags() {
            let Ok(runs) = api
                .starting_at(0)
                .dag_runs(dag.dag_id, Read::Consistent)
                .await
            else {
                open += 1;
                continue;
            };
            for run in runs {
                if !matches!(run.state.as_str(), "success" | "failed") {
                    open += 1;
                }
                if run.state == "success" {
                    seen.push((dag.dag_id.to_string(), run.dag_run_id));
                }
            }
        }
        {
            let mut h = lock(history);
            for key in seen {
                h.seen_success.entry(key).or_insert_with(now_ms);
            }
        }
        if open == 0 || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
