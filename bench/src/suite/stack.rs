//! What every phase of the suite runs on: three `kairos server` processes with the
//! default timings, two real `kairos worker` processes that keep attempt logs, and
//! the small readings taken from them (runs, attempt events, metrics, RSS, disk).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use kairos_state::Query;
use kairos_state::records::DagRunRecord;
use kairos_testkit::Cluster;
use kairos_worker::attempt_log::{AttemptEvent, AttemptLog};

use super::Error;

/// Attempts each worker runs at once: two workers give 32, Airflow's default
/// `parallelism` for the LocalExecutor.
pub const WORKER_SLOTS: &str = "16";

pub struct Stack {
    pub cluster: Cluster,
    workers: Vec<Child>,
    logs: Vec<PathBuf>,
}

impl Stack {
    /// Three servers with `extra` flags and, when `workers` > 0, that many workers.
    pub async fn start(binary: &Path, workers: usize, extra: &[&str]) -> Result<Stack, Error> {
        let cluster = Cluster::start(binary, 3, extra)?;
        cluster.wait_leader(Duration::from_secs(30)).await?;
        let dir = cluster.path().join("workers");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("no-kairos.toml"), "")?;
        let mut stack = Stack {
            cluster,
            workers: Vec::new(),
            logs: Vec::new(),
        };
        for n in 1..=workers {
            let log = dir.join(format!("w{n}.attempts.jsonl"));
            let log_arg = log.display().to_string();
            let child = stack.cluster.spawn_worker(
                &format!("w{n}"),
                &dir,
                &["--slots", WORKER_SLOTS, "--attempt-log", &log_arg],
            )?;
            stack.workers.push(child);
            stack.logs.push(log);
        }
        Ok(stack)
    }

    /// The processes of a throughput round by role: the leader `leader`, the
    /// other servers, the `kairos worker` processes and this bench.
    pub fn roles(&self, leader: u64) -> super::cpu::Roles {
        let pid = |id: u64| self.cluster.node(id).child.as_ref().map(Child::id);
        super::cpu::Roles {
            leader: pid(leader),
            followers: (1..=3).filter(|&id| id != leader).filter_map(pid).collect(),
            workers: self.workers.iter().map(Child::id).collect(),
            bench: std::process::id(),
        }
    }

    pub async fn leader(&self) -> Result<u64, Error> {
        Ok(self.cluster.wait_leader(Duration::from_secs(30)).await?)
    }

    /// The highest Raft term any node answers with: every election started
    /// (won or not) raises it by one.
    pub async fn term(&self) -> u64 {
        let mut term = 0;
        for id in 1..=3 {
            if let Some(status) = self.cluster.status(id).await {
                term = term.max(status.term);
            }
        }
        term
    }

    /// Every attempt event the workers logged for one run.
    pub fn attempts(&self, dag_id: &str, run_id: &str) -> Result<Vec<AttemptEvent>, Error> {
        let mut out = Vec::new();
        for log in &self.logs {
            if log.exists() {
                out.extend(
                    AttemptLog::read(log)?
                        .into_iter()
                        .filter(|e| e.dag_id == dag_id && e.run_id == run_id),
                );
            }
        }
        out.sort_by_key(|e| e.at_us);
        Ok(out)
    }

    pub async fn run(&self, dag_id: &str, run_id: &str) -> Result<Option<DagRunRecord>, Error> {
        let value = self
            .cluster
            .client()
            .query(
                &Query::Run {
                    dag_id: dag_id.into(),
                    run_id: run_id.into(),
                },
                false,
            )
            .await?;
        Ok(serde_json::from_value(value)?)
    }

    /// Waits for a run to finish; an error unless it succeeded.
    pub async fn run_to_success(
        &self,
        dag_id: &str,
        run_id: &str,
        timeout: Duration,
    ) -> Result<DagRunRecord, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            // A node may be down (the failover phase): the client tries the others.
            if let Ok(Some(run)) = self.run(dag_id, run_id).await {
                if run.state.is_finished() {
                    if run.state != kairos_dag::lifecycle::DagRunState::Success {
                        return Err(format!("run {dag_id}/{run_id} ended {}", run.state).into());
                    }
                    return Ok(run);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "run {dag_id}/{run_id} did not finish in {timeout:?}; {}",
                    self.unfinished(dag_id, run_id).await
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What a run that does not finish waits on: its task instances not yet
    /// finished (state, try, worker, the attempt's tag), as every server sees
    /// them, so that a stall can be told apart (a queued task no poll takes, a
    /// running one whose worker never reports).
    async fn unfinished(&self, dag_id: &str, run_id: &str) -> String {
        let mut out = Vec::new();
        for node in 1..=3u64 {
            let read = self
                .cluster
                .client_via(node)
                .query(
                    &Query::TaskInstances {
                        dag_id: dag_id.into(),
                        run_id: run_id.into(),
                        after: None,
                        limit: None,
                    },
                    false,
                )
                .await;
            let tis: Vec<kairos_state::records::TaskInstanceRecord> = match read
                .map_err(|e| e.to_string())
                .and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
            {
                Ok(tis) => tis,
                Err(e) => {
                    out.push(format!("node {node}: cannot read its task instances ({e})"));
                    continue;
                }
            };
            let waiting: Vec<String> = tis
                .iter()
                .filter(|t| !t.state.is_finished())
                .map(|t| {
                    format!(
                        "{} {} try {} on {} ({})",
                        t.task_id,
                        t.state,
                        t.try_number,
                        t.worker.as_deref().unwrap_or("-"),
                        t.attempt
                            .as_deref()
                            .map(kairos_dag::identity::token_tag)
                            .unwrap_or_default()
                    )
                })
                .collect();
            out.push(format!("node {node}: {}", waiting.join(", ")));
        }
        out.join("; ")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for child in &mut self.workers {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Counters of a node's `/metrics` (name without labels → value), over HTTPS
/// with the cluster's client certificate when it runs with TLS.
pub async fn metrics(
    http: &str,
    tls: Option<&kairos_tls::Tls>,
) -> Result<BTreeMap<String, f64>, Error> {
    let mut client = reqwest::Client::builder();
    let mut scheme = "http";
    if let Some(tls) = tls {
        let config = tls.client_config(kairos_tls::Role::Server, kairos_tls::Alpn::Http);
        client = client.use_preconfigured_tls((*config).clone());
        scheme = "https";
    }
    let text = client
        .build()?
        .get(format!("{scheme}://{http}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect())
}

/// Resident memory of a process, in MiB (Linux).
pub fn rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmRSS:")
}

/// The most resident memory the process ever had (VmHWM), in MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmHWM:")
}

fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Bytes of every file under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The value at quantile `q` of `values` (nearest rank, as the Airflow peer's
/// gaps.py computes it, so both columns mean the same thing).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
