//! The run: start the cluster, push the workload, trigger runs while the faults
//! of the plan are applied, then heal everything and let the runs finish.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::Mutex as AsyncMutex;

use kairos_client::api::TriggerRun;
use kairos_client::{Client as Api, Read};

use crate::api;
use crate::faults::{Fault, Planned};
use crate::history::{FaultEvent, History, PushedVersion, Triggered, now_ms};
use crate::procs::Procs;
use crate::workload;

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
}

/// Everything the checker needs once the run is over.
pub struct Outcome {
    pub history: History,
    pub procs: Procs,
    pub api: Api,
}

type Shared<T> = Arc<AsyncMutex<T>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The id of the leader, as the nodes that answer say (the highest term wins).
pub async fn find_leader(api: &Api, n: usize) -> Option<u64> {
    let mut best: Option<(u64, u64)> = None;
    for node in 0..n {
        let Some(one) = api.node(node) else { continue };
        if let Ok(health) = one.health().await {
            if health.role == "leader" && best.is_none_or(|(t, _)| health.term > t) {
                best = Some((health.term, health.node_id));
            }
        }
    }
    best.map(|(_, id)| id)
}

async fn wait_for_leader(api: &Api, n: usize, within: Duration) -> Option<u64> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(id) = find_leader(api, n).await {
            return Some(id);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

pub async fn run(settings: &Settings, plan: &[Planned]) -> Result<Outcome, String> {
    std::fs::create_dir_all(&settings.dir).map_err(|e| e.to_string())?;
    let mut procs = Procs::new(
        &settings.binary,
        &settings.dir,
        settings.servers,
        settings.workers,
    )
    .await
    .map_err(|e| format!("cannot set up the processes: {e}"))?;
    for id in 1..=settings.servers {
        procs
            .start_server(id)
            .map_err(|e| format!("cannot start server {id}: {e}"))?;
    }
    let api = api::client(&procs.http_addrs()).map_err(|e| e.to_string())?;
    let n = settings.servers as usize;
    wait_for_leader(&api, n, Duration::from_secs(30))
        .await
        .ok_or("no leader was elected within 30 s (see the server logs)")?;
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

    let load = tokio::spawn(trigger_loop(
        api.clone(),
        history.clone(),
        stop.clone(),
        settings.seed,
        settings.trigger_rate,
    ));
    let versions = tokio::spawn(version_loop(api.clone(), history.clone(), stop.clone()));
    let observer = tokio::spawn(observe_loop(api.clone(), history.clone(), stop.clone()));

    let started = Instant::now();
    for planned in plan {
        if started.elapsed() >= settings.duration {
            break;
        }
        tokio::time::sleep(Duration::from_millis(planned.gap_ms)).await;
        apply(&procs, &api, n, &history, planned.fault).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = load.await;
    let _ = versions.await;
    let _ = observer.await;

    // Heal: every link whole, every process up and running.
    {
        let mut p = procs.lock().await;
        p.links.heal_all();
        let ids: Vec<u64> = p.servers.iter().map(|s| s.id).collect();
        for id in ids {
            if let Some(s) = p.server_mut(id) {
                s.proc.signal(Signal::SIGCONT);
                if s.proc.reap().is_some() {
                    lock(&history)
                        .notes
                        .push(format!("server {id} had exited on its own; restarted"));
                }
            }
            if p.server_mut(id).is_some_and(|s| !s.proc.is_up()) {
                let _ = p.start_server(id);
            }
        }
        for i in 0..p.workers.len() {
            p.workers[i].proc.reap();
            if !p.workers[i].proc.is_up() && p.start_worker(i).is_ok() {
                let id = p.workers[i].id.clone();
                lock(&history)
                    .worker_starts
                    .entry(id)
                    .or_default()
                    .push(now_ms());
            }
        }
    }
    wait_for_leader(&api, n, Duration::from_secs(30)).await;
    settle(&api, &history, settings.settle).await;

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
    })
}

/// Triggers runs of random DAGs at `rate` per second until stopped. A trigger
/// that got no answer is sent again (a 409 then says it was there).
async fn trigger_loop(
    api: Arc<Api>,
    history: Arc<Mutex<History>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    seed: u64,
    rate: f64,
) {
    let dags: Vec<String> = workload::dags()
        .iter()
        .map(|d| d.dag_id.to_string())
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let pause = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let mut n = 0u64;
    let mut retry: Vec<(String, String, u32)> = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let (dag, run_id, tries) = match retry.pop() {
            Some(again) => again,
            None => {
                n += 1;
                // Run n's DAG depends on the seed and n only, not on timing.
                let mut pick =
                    ChaCha8Rng::seed_from_u64(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let dag = dags[pick.random_range(0..dags.len())].clone();
                (dag, format!("chaos-{n}"), 0)
            }
        };
        let run = TriggerRun {
            dag_run_id: Some(run_id.clone()),
            ..TriggerRun::default()
        };
        let first = rng.random_range(0..16usize);
        let answer = api.starting_at(first).trigger(&dag, &run).await;
        // A 409: the run exists, so an earlier unanswered trigger was applied.
        let acknowledged = match &answer {
            Ok(_) => true,
            Err(e) => e.status() == Some(409),
        };
        if !acknowledged && tries < 5 {
            retry.push((dag.clone(), run_id.clone(), tries + 1));
        }
        if acknowledged || tries >= 5 {
            lock(&history).triggered.push(Triggered {
                dag_id: dag,
                run_id,
                acknowledged,
                at_ms: now_ms(),
            });
        }
        tokio::time::sleep(pause).await;
    }
    // Whatever is still waiting for an answer is recorded as unacknowledged.
    for (dag, run_id, _) in retry {
        lock(&history).triggered.push(Triggered {
            dag_id: dag,
            run_id,
            acknowledged: false,
            at_ms: now_ms(),
        });
    }
}

/// Pushes a new revision of the versioned DAG every few seconds.
async fn version_loop(
    api: Arc<Api>,
    history: Arc<Mutex<History>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut revision = 0u64;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        revision += 1;
        let dag = workload::versioned(revision);
        if let Ok(answer) = api::push(&api, revision as usize, &dag).await {
            if let Some(pushed) = answer.dags.first() {
                lock(&history).versions.push(PushedVersion {
                    revision,
                    version: pushed.version,
                    created: pushed.created,
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(2_500)).await;
    }
}

/// Applies one fault, waits its length, and undoes it.
async fn apply(
    procs: &Shared<Procs>,
    api: &Api,
    n: usize,
    history: &Arc<Mutex<History>>,
    fault: Fault,
) {
    let leader = find_leader(api, n).await;
    let start_ms = now_ms();
    let (target, length_ms, killed_leader) = {
        let mut p = procs.lock().await;
        let ids: Vec<u64> = p.servers.iter().map(|s| s.id).collect();
        match fault {
            Fault::KillLeader { down_ms } => {
                let Some(id) = leader else {
                    lock(history)
                        .notes
                        .push("no leader to kill at the time".into());
                    return;
                };
                if let Some(s) = p.server_mut(id) {
                    s.proc.kill9();
                }
                (format!("server {id}"), down_ms, Some(id))
            }
            Fault::KillFollower { pick, down_ms } => {
                let followers: Vec<u64> =
                    ids.iter().copied().filter(|i| Some(*i) != leader).collect();
                let id = followers[pick % followers.len().max(1)];
                if let Some(s) = p.server_mut(id) {
                    s.proc.kill9();
                }
                (format!("server {id}"), down_ms, None)
            }
            Fault::KillWorker { pick, down_ms } => {
                let i = pick % p.workers.len().max(1);
                let worker = &mut p.workers[i];
                worker.proc.kill9();
                let id = worker.id.clone();
                lock(history)
                    .worker_kills
                    .entry(id.clone())
                    .or_default()
                    .push(now_ms());
                (format!("worker {id}"), down_ms, None)
            }
            Fault::PauseLeader { ms } => {
                let Some(id) = leader else {
                    return;
                };
                if let Some(s) = p.server_mut(id) {
                    s.proc.signal(Signal::SIGSTOP);
                }
                (format!("server {id}"), ms, None)
            }
            Fault::IsolateLeader { ms } => {
                let Some(id) = leader else {
                    return;
                };
                let others: Vec<u64> = ids.iter().copied().filter(|i| *i != id).collect();
                p.links.set_between(&[id], &others, true);
                (format!("server {id} from {others:?}"), ms, None)
            }
            Fault::DiskFull { pick, ms } => {
                if let Some(why) = &p.no_disks {
                    lock(history).notes.push(why.clone());
                    return;
                }
                let s = &p.servers[pick % p.servers.len().max(1)];
                let (id, dir) = (s.id, s.data_dir.clone());
                drop(p);
                let filled = tokio::task::spawn_blocking(move || crate::procs::fill_disk(&dir))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()));
                match filled {
                    Ok(file) => {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        let _ = std::fs::remove_file(&file);
                    }
                    Err(e) => lock(history)
                        .notes
                        .push(format!("could not fill server {id}'s disk: {e}")),
                }
                // A server that stopped on a failed write comes back from its data.
                let mut p = procs.lock().await;
                if let Some(s) = p.server_mut(id) {
                    if s.proc.reap().is_some() {
                        lock(history).notes.push(format!(
                            "server {id} exited when its disk filled; restarted"
                        ));
                    }
                }
                if p.server_mut(id).is_some_and(|s| !s.proc.is_up()) {
                    let _ = p.start_server(id);
                }
                lock(history).faults.push(FaultEvent {
                    kind: fault.kind(),
                    target: format!("server {id}"),
                    start_ms,
                    end_ms: now_ms(),
                    leader: None,
                });
                return;
            }
            Fault::Split { pick, ms } => {
                // The smaller side: two of five, or one of three.
                let small = (ids.len() - 1) / 2;
                let mut order = ids.clone();
                order.rotate_left((pick as usize) % ids.len().max(1));
                let (a, b) = order.split_at(small.max(1));
                p.links.set_between(a, b, true);
                (format!("servers {a:?} | {b:?}"), ms, None)
            }
        }
    };
    tokio::time::sleep(Duration::from_millis(length_ms)).await;
    {
        let mut p = procs.lock().await;
        match fault {
            Fault::KillLeader { .. } | Fault::KillFollower { .. } => {
                let down: Vec<u64> = p
                    .servers
                    .iter()
                    .filter(|s| !s.proc.is_up())
                    .map(|s| s.id)
                    .collect();
                for id in down {
                    let _ = p.start_server(id);
                }
            }
            Fault::KillWorker { .. } => {
                for i in 0..p.workers.len() {
                    p.workers[i].proc.reap();
                    if !p.workers[i].proc.is_up() && p.start_worker(i).is_ok() {
                        let id = p.workers[i].id.clone();
                        lock(history)
                            .worker_starts
                            .entry(id)
                            .or_default()
                            .push(now_ms());
                    }
                }
            }
            Fault::PauseLeader { .. } => {
                for s in &mut p.servers {
                    if s.proc.paused {
                        s.proc.signal(Signal::SIGCONT);
                    }
                }
            }
            Fault::IsolateLeader { .. } | Fault::Split { .. } => p.links.heal_all(),
            Fault::DiskFull { .. } => {}
        }
    }
    lock(history).faults.push(FaultEvent {
        kind: fault.kind(),
        target,
        start_ms,
        end_ms: now_ms(),
        leader: killed_leader,
    });
}

/// Notes, every two seconds while the faults run, which runs the cluster says
/// succeeded: each must still be a success at the end.
async fn observe_loop(
    api: Arc<Api>,
    history: Arc<Mutex<History>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        for dag in workload::dags() {
            let Ok(runs) = api
                .starting_at(0)
                .dag_runs(dag.dag_id, Read::Consistent)
                .await
            else {
                continue;
            };
            let mut h = lock(&history);
            for run in runs.into_iter().filter(|r| r.state == "success") {
                let key = (dag.dag_id.to_string(), run.dag_run_id);
                h.seen_success.entry(key).or_insert_with(now_ms);
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Waits until every acknowledged run has finished (or `within` passes),
/// noting runs seen to succeed.
async fn settle(api: &Api, history: &Arc<Mutex<History>>, within: Duration) {
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
