//! A real cluster on one machine: `kairos server` processes on 127.0.0.1, each with
//! its own data dir and ports, killed (SIGKILL) when the handle is dropped. The
//! multi-node tests and the benchmark run clusters this way: real processes and
//! real sockets, never in-process mocks. Waits poll a condition until a deadline.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use kairos_proto::v1::NodeStatus;
use kairos_state::Query;

use kairos_server::client::ClusterClient;

use crate::ports::free_addr;

/// Raft timings for a machine busy with many servers and debug builds (the test
/// suite on two cores): slower to notice a dead leader than the defaults, and
/// immune to scheduling hiccups of a few hundred milliseconds.
pub const CALM_TIMINGS: [&str; 4] = ["--heartbeat-ms", "100", "--election-timeout-ms", "600-1200"];

pub struct Node {
    pub id: u64,
    pub grpc: String,
    pub http: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    pub child: Option<Child>,
    /// Extra flags (e.g. snapshot settings) given on every start.
    pub extra: Vec<String>,
    /// Whether to pass `--peers` (a node re-added by `cluster add-node` starts without).
    pub with_peers: bool,
}

/// See [`Cluster::use_tls_by_default`].
static TLS_BY_DEFAULT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub struct Cluster {
    pub nodes: Vec<Node>,
    pub peers: String,
    /// The `kairos` binary the servers run.
    pub binary: PathBuf,
    pub dir: tempfile::TempDir,
    /// The cluster's certificates when it runs mutual TLS (`start_tls`);
    /// `None`: every process gets `--insecure`.
    pub certs: Option<crate::certs::TestCerts>,
    /// The client certificate the harness's own clients present.
    pub client_tls: Option<kairos_tls::Tls>,
}

/// A wait that ran out, with what was seen.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClusterError(pub String);

impl Cluster {
    /// Starts `n` servers of `binary` that bootstrap one cluster together; `extra`
    /// flags go to every server.
    pub fn start(binary: &Path, n: u64, extra: &[&str]) -> std::io::Result<Cluster> {
        Cluster::start_with(binary, n, extra, true)
    }

    /// Makes every later [`Cluster::start`] and [`Cluster::start_with`] of this
    /// process run mutual TLS, as [`Cluster::start_tls`] does (the benchmark's
    /// `--tls`, to measure what TLS costs).
    pub fn use_tls_by_default(on: bool) {
        TLS_BY_DEFAULT.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// [`Cluster::start`] with mutual TLS: a CA made in the cluster's temp dir,
    /// a server certificate per node, a worker certificate per
    /// [`Cluster::spawn_worker`], and a client certificate (`admin`) for the
    /// harness's clients ([`Cluster::client`], [`Cluster::cluster_cli`]).
    pub fn start_tls(binary: &Path, n: u64, extra: &[&str]) -> std::io::Result<Cluster> {
        Cluster::start_full(binary, n, extra, true, true)
    }

    /// Starts `n` servers; without `peers` they bootstrap nothing and wait for
    /// `kairos cluster init` or `add-node`.
    pub fn start_with(
        binary: &Path,
        n: u64,
        extra: &[&str],
        peers: bool,
    ) -> std::io::Result<Cluster> {
        let tls = TLS_BY_DEFAULT.load(std::sync::atomic::Ordering::SeqCst);
        Cluster::start_full(binary, n, extra, peers, tls)
    }

    fn start_full(
        binary: &Path,
        n: u64,
        extra: &[&str],
        peers: bool,
        tls: bool,
    ) -> std::io::Result<Cluster> {
        let dir = tempfile::tempdir()?;
        let certs = if tls {
            Some(crate::certs::TestCerts::new(&dir.path().join("certs"))?)
        } else {
            None
        };
        let client_tls = match &certs {
            Some(certs) => Some(certs.client("admin")?),
            None => None,
        };
        let mut nodes = Vec::new();
        for id in 1..=n {
            nodes.push(Node {
                id,
                grpc: free_addr()?,
                http: free_addr()?,
                data_dir: dir.path().join(format!("node{id}")),
                log: dir.path().join(format!("node{id}.log")),
                child: None,
                extra: extra.iter().map(|s| s.to_string()).collect(),
                with_peers: peers,
            });
        }
        let peers = nodes
            .iter()
            .map(|node| format!("{}={}", node.id, node.grpc))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            nodes,
            peers,
            binary: binary.to_path_buf(),
            dir,
            certs,
            client_tls,
        };
        for id in 1..=n {
            cluster.spawn(id)?;
        }
        Ok(cluster)
    }

    pub fn node(&self, id: u64) -> &Node {
        &self.nodes[(id - 1) as usize]
    }

    fn node_mut(&mut self, id: u64) -> &mut Node {
        &mut self.nodes[(id - 1) as usize]
    }

    /// Starts (or restarts) node `id` from its data dir.
    pub fn spawn(&mut self, id: u64) -> std::io::Result<()> {
        let peers = self.peers.clone();
        let config = self.dir.path().join("no-such-kairos.toml");
        let binary = self.binary.clone();
        let tls_flags = match &self.certs {
            Some(certs) => crate::certs::flags(&certs.server(id)?),
            None => vec!["--insecure".to_string()],
        };
        let node = self.node_mut(id);
        let log = File::options().create(true).append(true).open(&node.log)?;
        let mut command = Command::new(binary);
        command
            .arg("server")
            .args(["--node-id", &id.to_string()])
            .arg("--data-dir")
            .arg(&node.data_dir)
            .args(["--grpc-addr", &node.grpc, "--http-addr", &node.http])
            .arg("--config")
            .arg(&config)
            .args(&node.extra)
            .args(&tls_flags)
            .env("KAIROS_LOG", "info,openraft=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if node.with_peers {
            command.args(["--peers", &peers]);
        }
        node.child = Some(command.spawn()?);
        Ok(())
    }

    /// `kill -9`.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.node_mut(id).child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal by name (TERM, STOP, CONT) with `kill`.
    pub fn signal(&self, id: u64, signal: &str) -> Result<(), ClusterError> {
        let Some(child) = &self.node(id).child else {
            return Err(ClusterError(format!("node {id} is not running")));
        };
        let status = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .map_err(|e| ClusterError(format!("cannot run kill: {e}")))?;
        if !status.success() {
            return Err(ClusterError(format!("kill -{signal} of node {id} failed")));
        }
        Ok(())
    }

    /// Waits for node `id` to exit by itself and returns how it exited.
    pub fn wait_exit(&mut self, id: u64, timeout: Duration) -> Result<ExitStatus, ClusterError> {
        let deadline = Instant::now() + timeout;
        let node = self.node_mut(id);
        let Some(child) = node.child.as_mut() else {
            return Err(ClusterError(format!("node {id} is not running")));
        };
        loop {
            if let Some(status) = child.try_wait().map_err(|e| ClusterError(e.to_string()))? {
                node.child = None;
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(ClusterError(format!(
                    "node {id} did not exit within {timeout:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.grpc.clone()).collect()
    }

    /// A client that asks node `first` first, then the others.
    pub fn client_via(&self, first: u64) -> ClusterClient {
        let mut addrs = self.addrs();
        addrs.rotate_left((first - 1) as usize);
        ClusterClient::new(addrs)
            .with_patience(Duration::from_secs(30))
            .with_tls(self.client_tls.clone())
    }

    pub fn client(&self) -> ClusterClient {
        self.client_via(1)
    }

    pub async fn status(&self, id: u64) -> Option<NodeStatus> {
        ClusterClient::new(vec![])
            .with_tls(self.client_tls.clone())
            .status(&self.node(id).grpc)
            .await
            .ok()
    }

    /// Waits until one of the running nodes says it is the leader and the others
    /// that answer agree; returns its id.
    ///
    /// A node that has not yet received the membership log calls itself a learner
    /// while already naming the leader, so agreement alone is not enough: every
    /// node that answers must also be a voter by then (the nodes this helper
    /// starts all are), or callers race the leader's first replication. A
    /// running node that does not answer yet (still opening its store) is not
    /// ready either: skipping it let a test read a node that had not yet heard
    /// of the cluster at all.
    pub async fn wait_leader(&self, timeout: Duration) -> Result<u64, ClusterError> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut leaders = Vec::new();
            let mut views = Vec::new();
            let mut all_voters = true;
            for node in self.nodes.iter().filter(|n| n.child.is_some()) {
                let Some(status) = self.status(node.id).await else {
                    all_voters = false;
                    continue;
                };
                if status.role == "leader" {
                    leaders.push(status.node_id);
                }
                all_voters &= status.role == "leader" || status.role == "follower";
                views.push(status.leader_id);
            }
            if let [leader] = leaders.as_slice() {
                if all_voters && views.iter().all(|v| v == leader) {
                    return Ok(*leader);
                }
            }
            if Instant::now() >= deadline {
                return Err(ClusterError(format!(
                    "no leader within {timeout:?}:\n{}",
                    self.logs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every running node has applied the same index (and at least
    /// `at_least`); returns it.
    pub async fn wait_converged(
        &self,
        at_least: u64,
        timeout: Duration,
    ) -> Result<u64, ClusterError> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut applied = Vec::new();
            for node in self.nodes.iter().filter(|n| n.child.is_some()) {
                applied.push(self.status(node.id).await.map(|s| s.last_applied));
            }
            if let Some(Some(first)) = applied.first() {
                if *first >= at_least && applied.iter().all(|a| *a == Some(*first)) {
                    return Ok(*first);
                }
            }
            if Instant::now() >= deadline {
                return Err(ClusterError(format!(
                    "nodes did not converge within {timeout:?}: {applied:?}\n{}",
                    self.logs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Each running node's state digest, read from that node alone.
    pub async fn digests(&self) -> Result<Vec<(u64, String)>, ClusterError> {
        let client = ClusterClient::new(vec![]).with_tls(self.client_tls.clone());
        let mut out = Vec::new();
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            let digest = client
                .query_node(&node.grpc, &Query::Digest, false)
                .await
                .map_err(|e| ClusterError(format!("digest of node {}: {e}", node.id)))?;
            out.push((node.id, digest.as_str().unwrap_or_default().to_string()));
        }
        Ok(out)
    }

    /// Every node's server log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let text = std::fs::read_to_string(&node.log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            out.push_str(&format!(
                "--- node {} ({}) ---\n",
                node.id,
                node.log.display()
            ));
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Cluster {
    /// Starts a `kairos worker` following every node, with its data under `dir`
    /// and its output discarded (`extra` adds flags). The caller kills it.
    pub fn spawn_worker(&self, id: &str, dir: &Path, extra: &[&str]) -> std::io::Result<Child> {
        Command::new(&self.binary)
            .args(["worker", "--servers", &self.addrs().join(",")])
            .args(self.worker_tls_flags(id)?)
            .args(["--worker-id", id, "--http-addr", "127.0.0.1:0"])
            .args(extra)
            .arg("--data-dir")
            .arg(dir.join(id))
            .arg("--config")
            .arg(dir.join("no-kairos.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    }

    /// Runs `kairos cluster ...` against `server` (a node's HTTP address); returns
    /// (success, stdout, stderr).
    pub fn cluster_cli(
        &self,
        server: &str,
        args: &[&str],
    ) -> std::io::Result<(bool, String, String)> {
        let mut all = vec!["cluster"];
        all.extend_from_slice(args);
        all.extend(["--server", server]);
        self.cli(&all)
    }

    /// Runs `kairos ARGS` as this cluster's admin client (its certificate when
    /// the cluster has them); returns (success, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> std::io::Result<(bool, String, String)> {
        let output = Command::new(&self.binary)
            .args(args)
            .args(self.cli_tls_flags()?)
            .output()?;
        Ok((
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
    }
}

impl Cluster {
    /// The TLS flags of a `kairos worker` with id `id` (`--insecure` when the
    /// cluster has no certificates).
    pub fn worker_tls_flags(&self, id: &str) -> std::io::Result<Vec<String>> {
        match &self.certs {
            Some(certs) => Ok(crate::certs::flags(&certs.worker(id)?)),
            None => Ok(vec!["--insecure".to_string()]),
        }
    }

    /// The flags a CLI command (`kairos dags ...`) needs to reach the REST API
    /// over HTTPS with the `admin` client certificate (none without TLS).
    pub fn cli_tls_flags(&self) -> std::io::Result<Vec<String>> {
        match &self.certs {
            Some(certs) => Ok(crate::certs::flags(&certs.client_files("admin")?)),
            None => Ok(Vec::new()),
        }
    }
}

impl Cluster {
    /// A protocol-level [`crate::LocalWorker`] of this cluster, presenting a
    /// worker certificate for `id` when the cluster runs TLS.
    pub fn local_worker(
        &self,
        id: &str,
        queue: &str,
        slots: u32,
        work: Duration,
    ) -> Result<crate::LocalWorker, String> {
        let tls = match &self.certs {
            Some(certs) => Some(
                certs
                    .worker(id)
                    .map_err(|e| e.to_string())
                    .and_then(|files| kairos_tls::Tls::load(files).map_err(|e| e.to_string()))?,
            ),
            None => None,
        };
        crate::LocalWorker::start_with(self.addrs(), id, queue, slots, work, tls)
    }

    /// A REST client of node `id` (HTTPS with the harness's client certificate
    /// when the cluster runs TLS).
    pub fn api(&self, id: u64) -> Result<kairos_client::Client, kairos_client::Error> {
        let node = self.node(id);
        kairos_client::Client::builder(&node.http)
            .tls(self.client_tls.clone())
            .build()
    }
}
