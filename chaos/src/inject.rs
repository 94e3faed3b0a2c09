//! One planned fault at a time: applied to the processes or the links between
//! them, held for its length, undone, and recorded in the history.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::Signal;

use kairos_client::Client as Api;

use crate::faults::Fault;
use crate::history::{FaultEvent, History, now_ms};
use crate::leader;
use crate::procs::Procs;
use crate::shared::{Shared, lock};

/// Applies one fault, waits its length, and undoes it.
pub async fn apply(
    procs: &Shared<Procs>,
    api: &Api,
    n: usize,
    history: &Arc<Mutex<History>>,
    fault: Fault,
) {
    let leader = leader::find_leader(api, n).await;
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
                for id in p.restart_dead_workers() {
                    lock(history)
                        .worker_starts
                        .entry(id)
                        .or_default()
                        .push(now_ms());
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
