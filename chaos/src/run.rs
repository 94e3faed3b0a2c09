//! The run: start the cluster, push the workload, trigger runs while the faults
//! of the plan are applied, then heal everything and let the runs finish. This
//! file holds the order of those steps; `drive` is the load, `inject` the faults,
//! `settle` the end, `leader` who leads.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Mutex as AsyncMutex;

use kairos_client::Client as Api;

use crate::faults::Planned;
use crate::history::{History, now_ms};
use crate::procs::Procs;
use crate::shared::{Shared, lock};
use crate::{api, drive, inject, leader, settle, workload};

pub struct Settings {
    pub binary: PathBuf,
    pub dir: PathBuf,
    pub servers: u64,
    pub workers: usize,
    pub seed: u64,
    pub duration: Duration,
    /// Runs triggered per second while the faults run.
    pub trigger_rate: f64,
    /// How long the runs may take to finish once the faults stop.
    pub settle: Duration,
    /// Mutual TLS on every port (`--tls`), else `--insecure`.
    pub tls: bool,
    /// The product's Raft timings instead of the suite's (`--product-timings`).
    pub product_timings: bool,
}

/// Everything the checker needs once the run is over.
pub struct Outcome {
    pub history: History,
    pub procs: Procs,
    pub api: Api,
    /// The Raft term once the first leader was elected, and once the run
    /// settled: how many elections the run saw.
    pub terms: (Option<u64>, Option<u64>),
}

pub async fn run(settings: &Settings, plan: &[Planned]) -> Result<Outcome, String> {
    std::fs::create_dir_all(&settings.dir).map_err(|e| e.to_string())?;
    let mut procs = Procs::new(
        &settings.binary,
        &settings.dir,
        settings.servers,
        settings.workers,
        settings.tls,
    )
    .await
    .map_err(|e| format!("cannot set up the processes: {e}"))?;
    procs.product_timings = settings.product_timings;
    for id in 1..=settings.servers {
        procs
            .start_server(id)
            .map_err(|e| format!("cannot start server {id}: {e}"))?;
    }
    let api =
        api::client(&procs.http_addrs(), procs.client_tls.clone()).map_err(|e| e.to_string())?;
    let n = settings.servers as usize;
    leader::wait_for_leader(&api, n, Duration::from_secs(30))
        .await
        .ok_or("no leader was elected within 30 s (see the server logs)")?;
    let first_term = leader::highest_term(&api, n).await;
    let mut first_starts = Vec::new();
    for i in 0..settings.workers {
        procs
            .start_worker(i)
            .map_err(|e| format!("cannot start a worker: {e}"))?;
        first_starts.push((procs.workers[i].id.clone(), now_ms()));
    }
    for dag in workload::dags() {
        if let Err(e) = api::push(&api, 0, &dag).await {
            return Err(format!("pushing {}: {e}", dag.dag_id));
        }
    }

    let history = Arc::new(Mutex::new(History::default()));
    for (id, at) in first_starts {
        lock(&history).worker_starts.entry(id).or_default().push(at);
    }
    let procs: Shared<Procs> = Arc::new(AsyncMutex::new(procs));
    let api = Arc::new(api);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));

    let load = tokio::spawn(drive::trigger_loop(
        api.clone(),
        history.clone(),
        stop.clone(),
        settings.seed,
        settings.trigger_rate,
    ));
    let versions = tokio::spawn(drive::version_loop(
        api.clone(),
        history.clone(),
        stop.clone(),
    ));
    let observer = tokio::spawn(drive::observe_loop(
        api.clone(),
        history.clone(),
        stop.clone(),
    ));

    let started = Instant::now();
    for planned in plan {
        if started.elapsed() >= settings.duration {
            break;
        }
        tokio::time::sleep(Duration::from_millis(planned.gap_ms)).await;
        inject::apply(&procs, &api, n, &history, planned.fault).await;
    }
    // The load runs its whole time, faults or none (`--no-faults`).
    if let Some(rest) = settings.duration.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = load.await;
    let _ = versions.await;
    let _ = observer.await;

    settle::heal(&procs, &history).await;
    leader::wait_for_leader(&api, n, Duration::from_secs(30)).await;
    settle::settle(&api, &history, settings.settle).await;
    let last_term = leader::highest_term(&api, n).await;

    let procs = Arc::try_unwrap(procs)
        .map_err(|_| "the processes are still shared".to_string())?
        .into_inner();
    let api = Arc::try_unwrap(api).map_err(|_| "the API client is still shared".to_string())?;
    let history = Arc::try_unwrap(history)
        .map_err(|_| "the history is still shared".to_string())?
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    Ok(Outcome {
        history,
        procs,
        api,
        terms: (first_term, last_term),
    })
}
